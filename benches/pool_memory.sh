#!/usr/bin/env bash
# Peak memory of the task pool: runs a workload (default: both skynet variants) with the pool on
# and off, alternating, PAIRS times each, and prints every pair's peak RSS (`/usr/bin/time`'s
# "Maximum resident set size") with the pooled/unpooled ratio, then the median ratio.
#
#   benches/pool_memory.sh                  # from the repository root
#   PAIRS=15 WORKLOADS="skynet" benches/pool_memory.sh
#
# Each process runs the workload twice on one runtime (`bench_report --profile --runs 2`), so the
# second run starts with the carriers the first one left in the pool. The peak depends on how the
# tree unfolds on the two workers, which varies from run to run: quote the median.
set -euo pipefail

cd "$(dirname "$0")/.."
PAIRS=${PAIRS:-9}
WORKLOADS=${WORKLOADS:-"skynet skynet_boxed"}

cargo build --release --example bench_report >&2
BIN=target/release/examples/bench_report

peak_kb() {
    /usr/bin/time -f "%M" "$BIN" --profile --workload "$1" --runs 2 ${2:+"$2"} 2>&1 >/dev/null | tail -1
}

for w in $WORKLOADS; do
    echo "### $w: peak RSS, pooled against unpooled ($PAIRS pairs)"
    echo
    echo "| pair | pooled MB | unpooled MB | ratio |"
    echo "|---:|---:|---:|---:|"
    ratios=()
    for i in $(seq "$PAIRS"); do
        p=$(peak_kb "$w")
        u=$(peak_kb "$w" --unpooled)
        r=$(awk -v p="$p" -v u="$u" 'BEGIN { printf "%.2f", p / u }')
        ratios+=("$r")
        awk -v i="$i" -v p="$p" -v u="$u" -v r="$r" \
            'BEGIN { printf "| %d | %.1f | %.1f | %sx |\n", i, p / 1000, u / 1000, r }'
    done
    median=$(printf '%s\n' "${ratios[@]}" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }')
    echo
    echo "median ratio: ${median}x"
    echo
done
