#!/usr/bin/env bash
# The NUMA evidence on a many-core machine (the device machine has 16 cores, one NUMA node):
# builds in release, runs bench_report for tokio and Moirai on 1xN and 2x(N/2), and numa_report
# (uniform, stranded, numa_model) on 2x(N/2) against 1xN, then prints one table. numa_report
# binds each synthetic node's workers to its half of the CPUs (the flat runtime stays unbound);
# pass NUMA_FLAGS=--unbound to compare without (NUMA.md, "Workers bound to their node").
#
#   benches/device.sh [THREADS]       (default: 16, or nproc if smaller)
#
# Environment: RUNS (bench_report runs per cell, default 7), NUMA_RUNS (numa_report runs,
# default 5), STEP_TIMEOUT (seconds per step, default 240). Full outputs go to $OUT (or
# target/device-report) as bench_report.md and numa_report.md.
set -euo pipefail

cd "$(dirname "$0")/.."
cores=$(nproc)
threads=${1:-$(( cores < 16 ? cores : 16 ))}
if (( threads < 2 || threads % 2 != 0 )); then
    echo "device.sh: need an even number of threads >= 2, got $threads" >&2
    exit 2
fi
half=$(( threads / 2 ))
runs=${RUNS:-7}
numa_runs=${NUMA_RUNS:-5}
step=${STEP_TIMEOUT:-240}
out=${OUT:-target/device-report}
mkdir -p "$out"

echo "# Moirai NUMA evidence: $threads workers, 2x$half vs 1x$threads"
echo
echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'),"\
     "$cores CPUs, $(ls -d /sys/devices/system/node/node* 2>/dev/null | wc -l) NUMA node(s)"\
     "(the 2x$half topology is synthetic), $(uname -r), $(rustc --version)"
echo

timeout 900 cargo build --release --example bench_report --example numa_report 2>&1 | tail -n 3

timeout "$step" target/release/examples/bench_report --threads "$threads" \
    --topology "1x$threads" --topology "2x$half" --runs "$runs" > "$out/bench_report.md"
timeout "$step" target/release/examples/numa_report --threads "$threads" \
    --topology "2x$half" --runs "$numa_runs" ${NUMA_FLAGS:-} > "$out/numa_report.md"

# One table: the hierarchy's cost on every bench_report workload (2x$half against 1x$threads,
# bar: at most 1.05x), then the NUMA workloads (bars in the last column).
echo "| workload | tokio | 1x$threads | 2x$half | 2x$half / 1x$threads | 2x$half / tokio | bar |"
echo "|---|---:|---:|---:|---:|---:|---|"
# bench_report rows: | name | tokio | flat ns | flat ratio | hier ns | hier ratio | hier / flat |
# (the last: median of the per-round ratios, which survives a machine whose speed drifts)
awk -F'|' 'NR > 2 && NF > 7 {
    gsub(/ /, "", $2); t = $3 + 0; f = $4 + 0; h = $6 + 0
    cost = $8 + 0
    printf "| %s (ns/op) | %.1f | %.1f | %.1f | %.2fx | %.2fx | %s |\n", $2, t, f, h, cost, $7 + 0,
        (cost <= 1.05 ? "PASS (<= 1.05x)" : "FAIL (> 1.05x)")
}' "$out/bench_report.md"
# numa_report summary rows: | name | hier ms | flat ms | time ratio | hier/s | flat/s | tp ratio |
# share | remote steals | away | modelled work | bar |
sed -n '/^## summary/,$p' "$out/numa_report.md" | awk -F'|' 'NR > 4 && NF > 11 {
    gsub(/^ +| +$/, "", $2); gsub(/^ +| +$/, "", $13)
    printf "| %s (ms; share %s, remote steals %s, away hier/flat %s, model %s) | - | %s | %s | %s | - | %s |\n",
        $2, $9, $10, $11, $12, $4, $3, $5, $13
}'
echo
echo "full outputs: $out/bench_report.md, $out/numa_report.md"
