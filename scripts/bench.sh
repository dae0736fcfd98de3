#!/usr/bin/env bash
# Reruns every benchmark of the workspace and writes docs/PERFORMANCE.md and docs/performance.svg.
#
#   scripts/bench.sh           the full run (under 10 minutes on 2 cores, build included)
#   scripts/bench.sh --quick   a tenth of the end-to-end messages, 200 MiB instead of 1 GiB
#
# Micro-benchmarks: criterion (reply parsing, body encoding). End to end: the `e2e` binary against
# Postfix's smtp-sink on 127.0.0.1 only, each client a subprocess with a time limit. Needs the
# peers from ci/install-peers.sh (run here if smtp-sink is missing) and python3 (standard library
# only). Raw results stay in $BENCH_RESULTS (default target/bench-results).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$(pwd)"

QUICK=0
if [ "${1:-}" = "--quick" ]; then
    QUICK=1
fi
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
export CARGO_TERM_COLOR=never
PEERS_DIR="${SMTP_PEERS_DIR:-/opt/smtp-peers}"
export SMTP_PEERS_DIR="$PEERS_DIR"
RESULTS="${BENCH_RESULTS:-$CARGO_TARGET_DIR/bench-results}"
PYTHON="${PYTHON:-python3}"
export PYTHON
start=$(date +%s)
step() { printf '\n== %s (t+%ss)\n' "$*" "$(($(date +%s) - start))" >&2; }

if [ ! -x "$PEERS_DIR/postfix/usr/sbin/smtp-sink" ]; then
    step "installing the peer servers (ci/install-peers.sh)"
    bash ci/install-peers.sh
fi

# swaks is the handshake case's peer in the TLS runs (one process per message); with Perl's TLS
# modules it can do STARTTLS and check the certificate. Debian's packages, when apt may install.
if ! command -v swaks >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    step "installing swaks (Debian: swaks, libnet-ssleay-perl, libio-socket-ssl-perl)"
    apt-get update -qq >/dev/null || true
    apt-get install -y -qq --no-install-recommends swaks libnet-ssleay-perl libio-socket-ssl-perl \
        >/dev/null || echo "bench.sh: swaks could not be installed: its TLS rows are skipped" >&2
fi

rm -rf "$RESULTS"
mkdir -p "$RESULTS"
date_start="$(date -u '+%Y-%m-%d %H:%M:%S UTC')"
load_start="$(cut -d' ' -f1-3 /proc/loadavg)"

step "build (release)"
cargo build --release -p mailwire-benches --bins
cargo build --release -p mailwire-cli --bins   # smtp-bulk: the drive's smtp-bulk rows and e2e many
cargo bench -p mailwire-benches --no-run

E2E="$CARGO_TARGET_DIR/release/e2e"
ALLOCS="$CARGO_TARGET_DIR/release/reply_allocs"
quick_flag=()
mem_mib=1024
bulk_messages=20000
many_k=1,100,1000
if [ "$QUICK" = 1 ]; then
    quick_flag=(--quick)
    mem_mib=200
    bulk_messages=2000
    many_k=1,100
fi
commands=(
    "cargo bench -p mailwire-benches --bench reply_parse -- --noplot"
    "cargo bench -p mailwire-benches --bench body_encode -- --noplot"
    "target/release/reply_allocs > allocs.json"
    "target/release/e2e drive ${quick_flag[*]} --out e2e.json"
    "target/release/e2e cpu ${quick_flag[*]} --out cpu.json"
    "target/release/e2e cpu ${quick_flag[*]} --server fast --out cpu-fast.json"
    "sysctl -w net.ipv4.tcp_congestion_control=cubic  # only if it was not and may be set; put back after"
    "target/release/e2e cpu ${quick_flag[*]} --out cpu-cubic.json"
    "target/release/e2e memory --mib $mem_mib --out memory.json"
    "target/release/e2e tls ${quick_flag[*]} --out tls.json"
    "target/release/e2e many --k $many_k --per 100 --out many.json"
    "python3 scripts/bench_report.py --results DIR --md docs/PERFORMANCE.md --svg docs/performance.svg"
    "bash mailwire-mio/scripts/bench-bulk.sh $bulk_messages 3 1 8 64 >> docs/PERFORMANCE.md"
)

# Old criterion results must not leak into this run's report.
rm -rf "$CARGO_TARGET_DIR/criterion/reply_parse" "$CARGO_TARGET_DIR/criterion/body_encode"

# Runs one criterion bench with a time limit; its full output goes to $RESULTS/NAME.log and a
# summary to stderr; a failing bench fails the script.
criterion_bench() {
    local name="$1"
    if ! timeout 300 cargo bench -p mailwire-benches --bench "$name" -- --noplot >"$RESULTS/$name.log" 2>&1; then
        tail -n 30 "$RESULTS/$name.log" >&2
        echo "bench.sh: the $name benchmark failed (log: $RESULTS/$name.log)" >&2
        exit 1
    fi
    grep -E "^$name/|time:|thrpt:" "$RESULTS/$name.log" >&2 || true
}
step "reply parsing (criterion)"
criterion_bench reply_parse
step "body encoding (criterion)"
criterion_bench body_encode
mkdir -p "$RESULTS/criterion"
cp -r "$CARGO_TARGET_DIR/criterion/reply_parse" "$CARGO_TARGET_DIR/criterion/body_encode" \
    "$RESULTS/criterion/"

step "allocations per reply"
timeout 60 "$ALLOCS" >"$RESULTS/allocs.json"
cat "$RESULTS/allocs.json" >&2

step "end to end against smtp-sink"
timeout 600 "$E2E" drive "${quick_flag[@]}" --out "$RESULTS/e2e.json"

# How much of the kernel's transmit work a client is charged for depends on the TCP congestion
# control (BBR paces, and its timers bill whoever is on the CPU when they fire: see "Where the
# CPU goes" in the report). So the comparison runs under this machine's congestion control and,
# when that is not cubic (Linux's default) and this script may change it, again under cubic;
# the machine's setting is put back whatever happens.
CC_FILE=/proc/sys/net/ipv4/tcp_congestion_control
cc_machine="$(cat "$CC_FILE" 2>/dev/null || echo unknown)"
step "CPU per 1 MiB message: the reference and ours, interleaved (congestion control $cc_machine)"
timeout 600 "$E2E" cpu "${quick_flag[@]}" --out "$RESULTS/cpu.json"
# The same against a server cheap enough that the client's CPU and the server's add up to what
# the machine spent (the kernel's loopback work is billed to one side or the other).
step "CPU per 1 MiB message against the fast sink, client and server"
timeout 600 "$E2E" cpu "${quick_flag[@]}" --server fast --out "$RESULTS/cpu-fast.json"
if [ "$cc_machine" != cubic ] && [ -w "$CC_FILE" ] &&
    grep -qw cubic /proc/sys/net/ipv4/tcp_available_congestion_control 2>/dev/null; then
    step "CPU per 1 MiB message again, under cubic"
    trap 'echo "$cc_machine" >"$CC_FILE"' EXIT
    echo cubic >"$CC_FILE"
    timeout 600 "$E2E" cpu "${quick_flag[@]}" --out "$RESULTS/cpu-cubic.json"
    echo "$cc_machine" >"$CC_FILE"
    trap - EXIT
fi

step "memory: one ${mem_mib} MiB message streamed"
timeout 300 "$E2E" memory --mib "$mem_mib" --out "$RESULTS/memory.json"

step "TLS: STARTTLS + AUTH PLAIN against aiosmtpd"
timeout 900 "$E2E" tls "${quick_flag[@]}" --out "$RESULTS/tls.json"

step "many sessions on one mailwire-mio thread (K = $many_k)"
timeout 600 "$E2E" many --k "$many_k" --per 100 --out "$RESULTS/many.json"

step "many connections: smtp-bulk (mailwire-mio) against smtp-source, K = 1, 8, 64"
timeout 900 bash mailwire-mio/scripts/bench-bulk.sh "$bulk_messages" 3 1 8 64 >"$RESULTS/bulk.md"
cat "$RESULTS/bulk.md" >&2

step "report"
cpu="$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
# Which CPU, beyond its name: the figures have moved with the family, the L2 and the widest
# vectors the scan can use (AVX-512BW or AVX2), so the report says which this run had.
cpu_family="$(awk -F': *' '/^cpu family/ {print $2; exit}' /proc/cpuinfo)"
cpu_model="$(awk -F': *' '/^model[[:space:]]*:/ {print $2; exit}' /proc/cpuinfo)"
l2="$(lscpu 2>/dev/null | awk -F': *' '/^L2 cache/ {print $2; exit}')"
if grep -qw avx512bw /proc/cpuinfo; then vectors="AVX-512BW"; elif grep -qw avx2 /proc/cpuinfo; then vectors="AVX2"; else vectors="SSE2"; fi
cpu_detail="family ${cpu_family:-?} model ${cpu_model:-?}, L2 ${l2:-?}, widest vectors: $vectors (the scans run AVX2 where there is AVX2, the tally the widest)"
mem="$(awk '/MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)"
lock_version() { awk -v n="$1" -v v="$2" '$0 == "name = \"" n "\"" {getline; if (index($0, v)) print $3}' Cargo.lock | tr -d '"' | head -n1; }
sink_version="$(apt-cache policy postfix 2>/dev/null | awk '/Candidate:/ {print $2}')"
peers="lettre $(lock_version lettre 0.), Stalwart smtp-proto $(lock_version smtp-proto 0.2), criterion $(lock_version criterion 0.), Postfix smtp-sink/smtp-source ${sink_version:+(Debian postfix $sink_version) }from $PEERS_DIR"
"$PYTHON" - "$RESULTS/machine.json" <<EOF
import json, sys
json.dump({
    "date": "$date_start",
    "end_date": "$(date -u '+%Y-%m-%d %H:%M:%S UTC')",
    "quick": $QUICK == 1,
    "nproc": "$(nproc)",
    "cpu": """$cpu""",
    "cpu_detail": """$cpu_detail""",
    "mem": "$mem",
    "kernel": "$(uname -sr)",
    "rustc": "$(rustc --version)",
    "python": "$("$PYTHON" --version 2>&1)",
    "peers": """$peers""",
    "load_start": "$load_start",
    "load_end": "$(cut -d' ' -f1-3 /proc/loadavg)",
    "commands": $(printf '%s\n' "${commands[@]}" | "$PYTHON" -c 'import json,sys; print(json.dumps(sys.stdin.read().splitlines()))'),
}, open(sys.argv[1], "w"), indent=1)
EOF
"$PYTHON" scripts/bench_report.py --results "$RESULTS" --md docs/PERFORMANCE.md --svg docs/performance.svg
{
    echo
    echo "## Many connections: smtp-bulk (mailwire-mio) against smtp-source"
    echo
    echo "Both against one smtp-sink (PIPELINING, no CHUNKING) on 127.0.0.1, 1 KiB messages, K"
    echo "connections, each connection reused for many messages (smtp-source \`-d -s K\`, which does"
    echo "not pipeline; smtp-bulk pipelines up to 32 messages per connection). Wall-clock rate and"
    echo "client CPU (user + system) per message are medians of 3 runs; \"sink CPU\" is smtp-sink's own"
    echo "CPU per message. Command: \`bash mailwire-mio/scripts/bench-bulk.sh $bulk_messages 3 1 8 64\`."
    echo
    cat "$RESULTS/bulk.md"
} >>docs/PERFORMANCE.md
step "done: docs/PERFORMANCE.md, docs/performance.svg (raw results in $RESULTS)"
