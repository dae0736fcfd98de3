#!/usr/bin/env bash
# Bulk-sending benchmark: smtp-bulk (mailwire-mio) side by side with Postfix's smtp-source, both
# against one Postfix smtp-sink on 127.0.0.1, for K = 1, 8, 64 connections, 1 KiB messages.
#
#   mailwire-mio/scripts/bench-bulk.sh [MESSAGES] [REPEATS] [K...]
#
# Defaults: 20000 messages, 3 repeats, K = 1 8 64. Prints a Markdown table: the median of the
# repeats for messages/s (wall clock) and client CPU (user + system) per message. Needs the
# peers from ci/install-peers.sh (SMTP_PEERS_DIR, default /opt/smtp-peers). Not a test: every
# run is bounded (timeout 120 s each) and talks to 127.0.0.1 only.
set -euo pipefail
cd "$(dirname "$0")/../.."

MESSAGES="${1:-20000}"
REPEATS="${2:-3}"
shift $(( $# > 2 ? 2 : $# )) || true
KS=("$@")
[ "${#KS[@]}" -gt 0 ] || KS=(1 8 64)

PEERS="${SMTP_PEERS_DIR:-/opt/smtp-peers}"
export LD_LIBRARY_PATH="$PEERS/postfix/usr/lib/postfix"
SINK="$PEERS/postfix/usr/sbin/smtp-sink"
SOURCE="$PEERS/postfix/usr/sbin/smtp-source"
for p in "$SINK" "$SOURCE"; do
    [ -x "$p" ] || { echo "bench-bulk: $p missing: run ci/install-peers.sh" >&2; exit 1; }
done

cargo build --release -q -p mailwire-cli --bin smtp-bulk
cargo build --release -q -p mailwire-benches --bin lettre_pool
BULK="${CARGO_TARGET_DIR:-target}/release/smtp-bulk"
LETTRE="${CARGO_TARGET_DIR:-target}/release/lettre_pool"

PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
USER_ARGS=()
[ "$(id -u)" -ne 0 ] || USER_ARGS=(-u nobody)
# -m: connections handled at once; backlog 1024: nothing queues in the kernel.
"$SINK" "${USER_ARGS[@]}" -m 1000 "127.0.0.1:$PORT" 1024 >/dev/null 2>&1 &
SINK_PID=$!
trap 'kill "$SINK_PID" 2>/dev/null || true' EXIT
for _ in $(seq 50); do
    (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break
    sleep 0.1
done

FROM=bench@example.org
TO=sink@example.net

# run CMD...: prints "wall user sys" in seconds.
run() {
    local TIMEFORMAT='%R %U %S'
    { time timeout 120 "$@" >/dev/null 2>&1; } 2>&1 | tail -n1
}

# median of the numbers on stdin.
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# CPU time smtp-sink has used so far, in clock ticks.
sink_ticks() { awk '{print $14 + $15}' "/proc/$SINK_PID/stat"; }
TICK_HZ="$(getconf CLK_TCK)"

measure() { # N NAME CMD...: prints "msgs_per_s cpu_us_per_msg sink_cpu_us_per_msg" for N
            # messages a run (medians; the server's CPU averaged over the repeats)
    local n="$1"
    shift
    local rates=() cpus=() line wall user sys t0 t1
    t0="$(sink_ticks)"
    for _ in $(seq "$REPEATS"); do
        line="$(run "${@:2}")"
        read -r wall user sys <<<"$line"
        rates+=("$(awk -v n="$n" -v w="$wall" 'BEGIN {printf "%.0f", n / w}')")
        cpus+=("$(awk -v n="$n" -v u="$user" -v s="$sys" 'BEGIN {printf "%.1f", (u + s) * 1e6 / n}')")
    done
    t1="$(sink_ticks)"
    local sink
    sink="$(awk -v t="$((t1 - t0))" -v hz="$TICK_HZ" -v n="$((n * REPEATS))" 'BEGIN {printf "%.1f", t / hz * 1e6 / n}')"
    echo "$(printf '%s\n' "${rates[@]}" | median) $(printf '%s\n' "${cpus[@]}" | median) $sink"
}

echo "messages per run: $MESSAGES, repeats: $REPEATS (medians), message size: 1024 bytes"
echo
echo "lettre's pool (as shipped) stalls about 40 ms per message on each connection (Nagle and"
echo "delayed ACK, see above), so it sends at most 100 messages per connection a run."
echo
echo "| K | smtp-source msg/s | CPU µs/msg | sink CPU µs/msg | lettre pool msg/s | CPU µs/msg | smtp-bulk msg/s | CPU µs/msg | sink CPU µs/msg | smtp-bulk ÷ smtp-source |"
echo "|---|---|---|---|---|---|---|---|---|---|"
for K in "${KS[@]}"; do
    # smtp-source: -d reuses each connection for many messages; it does not pipeline.
    read -r src_rate src_cpu src_sink <<<"$(measure "$MESSAGES" smtp-source "$SOURCE" -d -s "$K" -m "$MESSAGES" -l 1024 \
        -f "$FROM" -t "$TO" "127.0.0.1:$PORT")"
    lettre_n=$(( MESSAGES < 100 * K ? MESSAGES : 100 * K ))
    read -r lettre_rate lettre_cpu _ <<<"$(measure "$lettre_n" lettre-pool "$LETTRE" "$PORT" "$K" "$lettre_n" 1024)"
    read -r bulk_rate bulk_cpu bulk_sink <<<"$(measure "$MESSAGES" smtp-bulk "$BULK" --server "127.0.0.1:$PORT" \
        --connections "$K" --messages "$MESSAGES" --size 1024 --from "$FROM" --to "$TO" \
        --starttls never)"
    ratio="$(awk -v a="$bulk_rate" -v b="$src_rate" 'BEGIN {printf "%.1f×", a / b}')"
    echo "| $K | $src_rate | $src_cpu | $src_sink | $lettre_rate | $lettre_cpu | $bulk_rate | $bulk_cpu | $bulk_sink | $ratio |"
done
