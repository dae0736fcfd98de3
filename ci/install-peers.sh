#!/usr/bin/env bash
# Install the real SMTP servers that the tests talk to on 127.0.0.1.
#
#   - Exim 4 (Debian exim4-daemon-light), installed with apt. Tests run it
#     with their own config file (exim4 -C FILE), never the system daemon.
#   - Postfix's smtp-sink / smtp-source, and Postfix itself (master, smtpd,
#     postcat), taken from the Debian postfix .deb
#     with `dpkg -x` into $PEERS_DIR/postfix (postfix itself conflicts with
#     exim4, so it is never installed as a package).
#   - OpenSMTPD's smtpd, likewise extracted into $PEERS_DIR/opensmtpd.
#   - aiosmtpd (Python), pip-installed into the venv $PEERS_DIR/venv, with
#     scramp beside it (the server side of SCRAM, for the aiosmtpd peer's
#     SCRAM-SHA-1 / SCRAM-SHA-256 AUTH handlers), and dkimpy with PyNaCl
#     (a DKIM verifier, for the signing tests).
#
# Idempotent: each step checks whether its result is already present.
# Environment:
#   SMTP_PEERS_DIR   where extracted peers go (default /opt/smtp-peers)
#   PYTHON           interpreter used to create the venv (default python3)
set -euo pipefail

PEERS_DIR="${SMTP_PEERS_DIR:-/opt/smtp-peers}"
PYTHON="${PYTHON:-python3}"
AIOSMTPD_VERSION="1.4.6"
SCRAMP_VERSION="1.5.0"
DKIMPY_VERSION="1.1.8"
PYNACL_VERSION="1.5.0"
export DEBIAN_FRONTEND=noninteractive

log() { printf 'install-peers: %s\n' "$*" >&2; }

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi

mkdir -p "$PEERS_DIR" 2>/dev/null || $SUDO mkdir -p "$PEERS_DIR"

# ---------------------------------------------------------------- apt packages
apt_updated=0
apt_update_once() {
    if [ "$apt_updated" -eq 0 ]; then
        log "apt-get update"
        $SUDO apt-get update -qq
        apt_updated=1
    fi
}

need_pkgs=()
# The libraries the extracted Postfix links (the postfix package's own dependencies, which
# dpkg -x does not pull in).
for pkg in exim4-daemon-light openssl libdb5.3 libsasl2-2 libicu72 libnsl2 libssl3; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
        need_pkgs+=("$pkg")
    fi
done
if [ "${#need_pkgs[@]}" -gt 0 ]; then
    apt_update_once
    log "apt-get install ${need_pkgs[*]}"
    # The package's postinst may try to start the system daemon; that is
    # harmless (tests use their own ports) and stopped below.
    $SUDO apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >/dev/null
fi

# Tests never use the system Exim daemon (port 25); stop it so it holds no
# port and no spool lock. Ignore failures (no init system in containers).
if pgrep -x exim4 >/dev/null 2>&1 && [ -z "$(pgrep -f 'exim4 -C' || true)" ]; then
    log "stopping system exim4 daemon"
    $SUDO service exim4 stop >/dev/null 2>&1 || $SUDO invoke-rc.d exim4 stop >/dev/null 2>&1 || true
fi

# ------------------------------------------------- extracted .deb packages
# extract PACKAGE DEST MARKER: apt-get download + dpkg -x, unless MARKER exists.
extract_deb() {
    local pkg="$1" dest="$2" marker="$3"
    if [ -x "$dest/$marker" ]; then
        return 0
    fi
    apt_update_once
    log "extracting $pkg into $dest"
    local tmp
    tmp="$(mktemp -d)"
    # apt-get download writes into the current directory; _apt cannot read
    # a root-owned mktemp dir, so make it world-accessible.
    chmod 755 "$tmp"
    (cd "$tmp" && apt-get download -qq "$pkg" 2>/dev/null)
    rm -rf "$dest.partial"
    mkdir -p "$dest.partial"
    dpkg -x "$tmp"/"$pkg"_*.deb "$dest.partial"
    rm -rf "$tmp" "$dest"
    mv "$dest.partial" "$dest"
}

extract_deb postfix "$PEERS_DIR/postfix" usr/sbin/smtp-sink
extract_deb opensmtpd "$PEERS_DIR/opensmtpd" usr/sbin/smtpd

# Check that the extracted binaries find their libraries.
sink_usage="$(LD_LIBRARY_PATH="$PEERS_DIR/postfix/usr/lib/postfix" \
    "$PEERS_DIR/postfix/usr/sbin/smtp-sink" 2>&1 || true)"
case "$sink_usage" in
*usage*) ;;
*)
    log "smtp-sink does not run: $sink_usage"
    exit 1
    ;;
esac
# The whole Postfix (testkit's Postfix: master, smtpd and the queue's daemons, run as root
# with a configuration and queue of its own; postcat reads what it holds) is in the same .deb.
for bin in usr/lib/postfix/sbin/master usr/lib/postfix/sbin/smtpd usr/sbin/postcat; do
    if LD_LIBRARY_PATH="$PEERS_DIR/postfix/usr/lib/postfix" \
        ldd "$PEERS_DIR/postfix/$bin" | grep -q 'not found'; then
        log "postfix $bin has missing libraries"
        exit 1
    fi
done
if ldd "$PEERS_DIR/opensmtpd/usr/sbin/smtpd" | grep -q 'not found'; then
    log "opensmtpd smtpd has missing libraries:"
    ldd "$PEERS_DIR/opensmtpd/usr/sbin/smtpd" | grep 'not found' >&2
    exit 1
fi

# OpenSMTPD has its spool, control socket and helper folder compiled in; the
# testkit runs each smtpd in a private mount namespace with folders of its
# own bind-mounted over these paths, which must therefore exist. The chroot
# folder of its unprivileged processes must exist too.
for d in /var/spool/smtpd /usr/libexec/opensmtpd /var/lib/opensmtpd/empty; do
    [ -d "$d" ] || $SUDO mkdir -p "$d"
done
command -v unshare >/dev/null || log "warning: no unshare(1); OpenSMTPD tests will skip"

# OpenSMTPD refuses to start unless its privilege-separation users exist.
for user in opensmtpd opensmtpq; do
    if ! id "$user" >/dev/null 2>&1; then
        log "adding system user $user"
        $SUDO useradd --system --no-create-home --home-dir /nonexistent \
            --shell /usr/sbin/nologin "$user"
    fi
done

# ------------------------------------------------------------------ aiosmtpd
VENV="$PEERS_DIR/venv"
if ! "$VENV/bin/python" -c "import aiosmtpd, sys; sys.exit(aiosmtpd.__version__ != '$AIOSMTPD_VERSION')" 2>/dev/null; then
    log "installing aiosmtpd==$AIOSMTPD_VERSION into $VENV"
    rm -rf "$VENV"
    "$PYTHON" -m venv "$VENV"
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check "aiosmtpd==$AIOSMTPD_VERSION"
fi
# Checked on its own, so that a venv made before scramp was added gains it
# without being rebuilt.
if ! "$VENV/bin/python" -c "import importlib.metadata as m, sys; sys.exit(m.version('scramp') != '$SCRAMP_VERSION')" 2>/dev/null; then
    log "installing scramp==$SCRAMP_VERSION into $VENV"
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check "scramp==$SCRAMP_VERSION"
fi

# dkimpy (with PyNaCl for Ed25519): a DKIM verifier not ours, for the signing tests.
if ! "$VENV/bin/python" -c "import importlib.metadata as m, sys; sys.exit(m.version('dkimpy') != '$DKIMPY_VERSION' or m.version('pynacl') != '$PYNACL_VERSION')" 2>/dev/null; then
    log "installing dkimpy==$DKIMPY_VERSION pynacl==$PYNACL_VERSION into $VENV"
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check "dkimpy==$DKIMPY_VERSION" "pynacl==$PYNACL_VERSION"
fi

# -------------------------------------------------------------------- report
EXIM="$(command -v exim4 || echo /usr/sbin/exim4)"
log "exim:      $EXIM ($("$EXIM" -bV 2>/dev/null | head -n1))"
log "smtp-sink: $PEERS_DIR/postfix/usr/sbin/smtp-sink"
log "postfix:   $PEERS_DIR/postfix/usr/lib/postfix/sbin/master"
log "smtpd:     $PEERS_DIR/opensmtpd/usr/sbin/smtpd"
log "aiosmtpd:  $VENV/bin/python -m aiosmtpd ($AIOSMTPD_VERSION, scramp $SCRAMP_VERSION)"
echo "SMTP_PEERS_DIR=$PEERS_DIR"
if [ -n "${GITHUB_ENV:-}" ]; then
    echo "SMTP_PEERS_DIR=$PEERS_DIR" >>"$GITHUB_ENV"
fi
