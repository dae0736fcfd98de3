#!/usr/bin/env bash
# Reproduces "smtp-bulk --dir again" in docs/PERFORMANCE.md: where `smtp-bulk --dir` spends its
# CPU against smtp-sink on 127.0.0.1, beside `smtp-bulk --messages --size` (generated).
#
#   scripts/dir-profile.sh [MESSAGES]     (default 2000; 1 MiB each, one connection)
#
# 1. `perf record -e cpu-clock -F 10000 -g` of each, and per message the µs of the three passes
#    over the content: the page-cache copy (`_copy_to_iter`), the fused scan and copy into the
#    body buffer (`copy_avx512bw` or the variant this CPU runs), the copy into the socket
#    (`_copy_from_iter`).
# 2. `pagecache_read` (benches/src/bin/pagecache_read.rs): the page-cache read alone, by buffer
#    offset and read size.
# 3. With valgrind: `valgrind --tool=dhat` of `--dir` over 200 messages (blocks and bytes).
# Needs perf (Debian: linux-perf), the peers (ci/install-peers.sh) and python3. Output and data
# stay in $OUT (default target/dir-profile).
set -euo pipefail
cd "$(dirname "$0")/.."
MESSAGES="${1:-2000}"
PEERS_DIR="${SMTP_PEERS_DIR:-/opt/smtp-peers}"
OUT="${OUT:-target/dir-profile}"
SINK="$PEERS_DIR/postfix/usr/sbin/smtp-sink"
command -v perf >/dev/null || { echo "dir-profile: perf is not installed" >&2; exit 1; }
[ -x "$SINK" ] || { echo "dir-profile: no smtp-sink at $SINK (run ci/install-peers.sh)" >&2; exit 1; }

cargo build --release -q -p mailwire-cli --bin smtp-bulk
cargo build --release -q -p mailwire-benches --bin pagecache_read
BULK="$(pwd)/target/release/smtp-bulk"
mkdir -p "$OUT"
rm -rf "$OUT/links" && mkdir -p "$OUT/links"

# The body: 1 MiB of 70-byte CRLF lines, every 20th starting with a dot (as the benches' body).
python3 - "$OUT/m.eml" <<'EOF'
import sys
size = 1 << 20
alphabet = b"abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ 0123456789,;:!?"
out = bytearray(b"From: <sender@bench.example>\r\nTo: <r0@bench.example>\r\nSubject: x\r\n\r\n")
x, n = 0x2545F491, 0
while len(out) < size:
    line = bytearray()
    for i in range(70):
        x ^= (x << 13) & 0xFFFFFFFF; x ^= x >> 17; x ^= (x << 5) & 0xFFFFFFFF
        line.append(ord(".") if i == 0 and n % 20 == 0 else alphabet[x % len(alphabet)])
    out += line + b"\r\n"
    n += 1
out = out[:size]
out[-2:] = b"\r\n"
if out[-3] == 13:
    out[-3] = ord("x")
open(sys.argv[1], "wb").write(out)
EOF
for i in $(seq 0 $((MESSAGES - 1))); do ln "$OUT/m.eml" "$OUT/links/$(printf %06d "$i").eml"; done
cat "$OUT/m.eml" >/dev/null   # in the page cache before anything is timed

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
user=()
[ "$(id -u)" = 0 ] && user=(-u nobody)
LD_LIBRARY_PATH="$PEERS_DIR/postfix/usr/lib/postfix" "$SINK" "${user[@]}" "127.0.0.1:$port" 256 \
    >/dev/null 2>&1 &
sink=$!
trap 'kill $sink 2>/dev/null || true' EXIT
sleep 0.5
common=(--server "127.0.0.1:$port" --from sender@bench.example --to r0@bench.example
    --helo client.bench.example --starttls never --json --timeout 60)

per_message() {  # DATA LABEL: µs per message of the passes, from the samples (10 kHz = 100 µs)
    echo "$2 ($MESSAGES messages): µs per message"
    perf report -i "$1" -n --no-children --sort sym --stdio -g none 2>/dev/null |
        awk -v m="$MESSAGES" '/^# Samples:/ {print "  samples in all: " $3}
            /_copy_to_iter|_copy_from_iter|mailwire_simd::.*copy/ {
                printf "  %-45s %7.1f\n", $NF, $2 * 100 / m }'
}
perf record -q -e cpu-clock -F 10000 -g -o "$OUT/dir.data" "$BULK" "${common[@]}" \
    --dir "$OUT/links" >/dev/null
perf record -q -e cpu-clock -F 10000 -g -o "$OUT/gen.data" "$BULK" "${common[@]}" \
    --messages "$MESSAGES" --size 1048576 >/dev/null
per_message "$OUT/dir.data" "smtp-bulk --dir"
per_message "$OUT/gen.data" "smtp-bulk --messages --size (generated)"

echo "page-cache reads alone (target/release/pagecache_read):"
target/release/pagecache_read "$OUT/m.eml"

if command -v valgrind >/dev/null; then
    rm -rf "$OUT/links200" && mkdir -p "$OUT/links200"
    for i in $(seq 0 199); do ln "$OUT/m.eml" "$OUT/links200/$(printf %06d "$i").eml"; done
    valgrind --tool=dhat --dhat-out-file="$OUT/dhat.json" "$BULK" "${common[@]}" \
        --dir "$OUT/links200" >/dev/null 2>"$OUT/dhat.txt"
    echo "dhat, smtp-bulk --dir, 200 messages:"
    grep -E "Total:" "$OUT/dhat.txt"
fi
