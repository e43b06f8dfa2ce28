#!/usr/bin/env bash
# Smoke-fuzz every rspd fuzz target (or the ones named) for N seconds each; exits non-zero on the first
# crash, leak-free timeout or build failure. For developers — not part of .ci/run.
#
#   conformance/fuzz/smoke.sh [SECONDS] [TARGET...]      (default: 10 s, every target)
#
# Works on a stable-only toolchain (`--sanitizer none`; see README.md). Corpora grow in the git-ignored
# corpus/<target>/, seeded from seeds/<target>/ and, when ../shared is present next to the repository, from
# the public TS.48 profiles and SGP.26 certificates (copied at run time, never committed).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"
seconds="${1:-10}"
shift || true
if [ "$#" -gt 0 ]; then
    targets=("$@")
else
    mapfile -t targets < <(cargo fuzz list)
fi
shared="$here/../../../shared/interop"

command -v cargo-fuzz >/dev/null || { echo "cargo-fuzz is not installed: cargo install cargo-fuzz" >&2; exit 2; }

cargo fuzz build --sanitizer none

copy_shared() {
    local target="$1" dest="corpus/$1"
    [ -d "$shared" ] || return 0
    case "$target" in
        saip_profile) cp -n "$shared"/ts48/*.der "$dest"/ 2>/dev/null || true ;;
        certificate) cp -n "$shared"/sgp26/*/*.der "$dest"/ 2>/dev/null || true ;;
    esac
}

status=0
summary=()
for target in "${targets[@]}"; do
    mkdir -p "corpus/$target"
    copy_shared "$target"
    log="$(mktemp)"
    echo "== $target: ${seconds}s"
    if cargo fuzz run --sanitizer none "$target" "corpus/$target" "seeds/$target" -- \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 >"$log" 2>&1; then
        result="ok"
    else
        result="CRASH (see artifacts/$target/ and $log)"
        status=1
        tail -n 40 "$log" >&2
    fi
    execs="$(grep -oE 'stat::average_exec_per_sec: *[0-9]+' "$log" | grep -oE '[0-9]+$' || echo '?')"
    runs="$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -oE '[0-9]+$' || echo '?')"
    summary+=("$(printf '%-14s %-8s exec/s %8s  runs %10s' "$target" "$result" "$execs" "$runs")")
    [ "$result" = ok ] && rm -f "$log"
done

printf '%s\n' "${summary[@]}"
exit "$status"
