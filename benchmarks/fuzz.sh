#!/usr/bin/env bash
# Fuzz the entry points that read strangers' bytes for MINUTES minutes in all, then print
# a summary (see benchmarks/fuzz_targets.py for the targets and what counts as a crash).
#
#   benchmarks/fuzz.sh MINUTES [TARGET ...]      targets: extract worker discovery urls decode
#
# Uses atheris (coverage-guided libFuzzer; `pip install atheris`, a dev tool, not a
# dependency of newsarchive) when it imports, else hypothesis at a high example count.
# The minutes are shared out evenly between the targets, run one after another under
# `nice` (FUZZ_NICE, default 10). Results and reproducers go to FUZZ_OUT (default: a new
# directory under /tmp). FUZZ_ENGINE=atheris|hypothesis forces an engine.
# Exit status: 0 no new crash, 1 a new crash (known bugs, pinned by xfail tests, are
# listed but do not count), 2 usage.
set -euo pipefail

if [[ $# -lt 1 || ! $1 =~ ^[0-9]+([.][0-9]+)?$ ]]; then
    sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
fi
minutes=$1
shift
targets=("$@")
if [[ ${#targets[@]} -eq 0 ]]; then
    targets=(extract worker discovery urls decode)
fi

here=$(cd "$(dirname "$0")" && pwd)
python=${PYTHON:-python}
engine=${FUZZ_ENGINE:-auto}
out=${FUZZ_OUT:-$(mktemp -d /tmp/newsarchive-fuzz.XXXXXX)}
mkdir -p "$out"
seconds=$(awk -v m="$minutes" -v n="${#targets[@]}" 'BEGIN { printf "%d", m * 60 / n }')
if [[ $seconds -lt 1 ]]; then seconds=1; fi

echo "fuzzing ${targets[*]} for $minutes min ($seconds s each) into $out" >&2
for target in "${targets[@]}"; do
    start=$(date +%s)
    # A target process that dies (libFuzzer timeout or out-of-memory) leaves its artifact
    # and summary behind; the next target still runs.
    nice -n "${FUZZ_NICE:-10}" "$python" "$here/fuzz_targets.py" --engine "$engine" \
        --target "$target" --seconds "$seconds" --out "$out/$target" \
        >"$out/$target.log" 2>&1 || echo "$target: the fuzzer exited with status $?" >&2
    echo "$target: done in $(( $(date +%s) - start )) s" >&2
done
"$python" "$here/fuzz_targets.py" --summarize "$out"
