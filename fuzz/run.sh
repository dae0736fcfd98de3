#!/bin/sh
# Runs each fuzz target for a bounded time: fuzz/run.sh [SECONDS] [TARGET...]
# (default 60 s each, every target). Exits 0 without fuzzing, saying why, when cargo-fuzz or a
# toolchain able to build it (nightly, or stable with RUSTC_BOOTSTRAP=1) is missing. A crash (or a
# build failure) exits non-zero; the input is left in fuzz/artifacts/<target>/.
#
# New corpus entries go to fuzz/corpus-run/<target>/ (not committed); the committed seeds in
# fuzz/corpus/<target>/ are read only. Builds go to $CARGO_TARGET_DIR when set.
# FUZZ_TOOLCHAIN=stable skips the nightly check and goes straight to RUSTC_BOOTSTRAP=1.
set -eu

seconds=${1:-60}
[ $# -gt 0 ] && shift
targets=${*:-"reply_parser body_encoder commands client_session caller_api dkim_sign"}

cd "$(dirname "$0")/.."

if ! command -v cargo-fuzz >/dev/null 2>&1; then
    echo "fuzz/run.sh: cargo-fuzz is not installed (cargo install cargo-fuzz --locked); not fuzzing."
    exit 0
fi

# cargo-fuzz needs nightly flags (-Zsanitizer, -Cpasses=sancov). Prefer a nightly toolchain;
# else try stable with RUSTC_BOOTSTRAP=1, which unlocks the same flags.
if [ "${FUZZ_TOOLCHAIN:-}" != stable ] && cargo +nightly --version >/dev/null 2>&1; then
    toolchain=+nightly
    echo "fuzz/run.sh: using $(cargo +nightly --version)"
elif (RUSTC_BOOTSTRAP=1 cargo fuzz build -s none -a reply_parser ${CARGO_TARGET_DIR:+--target-dir "$CARGO_TARGET_DIR"}) >/dev/null 2>&1; then
    toolchain=
    export RUSTC_BOOTSTRAP=1
    echo "fuzz/run.sh: no nightly toolchain; using $(cargo --version) with RUSTC_BOOTSTRAP=1"
else
    echo "fuzz/run.sh: no nightly toolchain and RUSTC_BOOTSTRAP=1 does not build the targets; not fuzzing."
    exit 0
fi

for target in $targets; do
    mkdir -p "fuzz/corpus-run/$target" "fuzz/corpus/$target"
    echo "fuzz/run.sh: $target for ${seconds}s"
    # -s none: the crate forbids unsafe code, so AddressSanitizer finds nothing the checks do not,
    # at several times the cost. -a: debug assertions and overflow checks stay on.
    cargo $toolchain fuzz run -s none -a ${CARGO_TARGET_DIR:+--target-dir "$CARGO_TARGET_DIR"} \
        "$target" "fuzz/corpus-run/$target" "fuzz/corpus/$target" -- \
        -max_total_time="$seconds" -dict=fuzz/smtp.dict -print_final_stats=1 -timeout=10 -rss_limit_mb=1024
done
echo "fuzz/run.sh: no crash"
