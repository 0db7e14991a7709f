#!/usr/bin/env bash
# Load test: the hyper "Hello, World!" example served by Moirai and by tokio, each hit by
# `wrk -t2 -c256 -d10s` over loopback, in alternating rounds. Prints every round and a markdown
# table with the median requests/s, p50 and p99 of each runtime and the medians of the per-round
# Moirai/tokio ratios.
#
#   benches/http.sh                       # from the repository root; 5 rounds
#   ROUNDS=9 DURATION=30s benches/http.sh
#
# Why rounds: on a shared 2-core VM one 10 s run of either server swings by +-15% from one
# minute to the next (tokio alone: 82k to 111k requests/s in four runs), more than the
# difference being measured. Each round serves from both runtimes back to back (the order
# alternates, ABBA), and each server gets a short warm-up (connections accepted, buffers grown)
# that is not counted, so a ratio compares two runs made under the same conditions.
set -euo pipefail

cd "$(dirname "$0")/.."
DURATION=${DURATION:-10s}
ROUNDS=${ROUNDS:-5}
WARMUP=${WARMUP:-2s}
CONNECTIONS=${CONNECTIONS:-256}
THREADS=${THREADS:-2}
WORK=$(mktemp -d)
SERVER_PID=

cleanup() {
    if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT

if ! command -v wrk >/dev/null; then
    echo "installing wrk" >&2
    if [[ $(id -u) -eq 0 ]]; then SUDO=; else SUDO=sudo; fi
    $SUDO apt-get install -y wrk >/dev/null || { $SUDO apt-get update >/dev/null && $SUDO apt-get install -y wrk >/dev/null; }
fi

cargo build --release --example http
BIN=target/release/examples/http

# Converts a wrk latency ("812.00us", "1.52ms", "2.10s") to milliseconds.
to_ms() {
    awk -v v="$1" 'BEGIN {
        n = v + 0; u = v; sub(/^[0-9.]+/, "", u)
        if (u == "us") n /= 1000; else if (u == "s") n *= 1000; else if (u == "m") n *= 60000
        printf "%.3f", n
    }'
}

# Starts the server for runtime $1 on a free port, waits until it accepts, warms it up, runs wrk,
# stops it. Appends "req_per_s p50_ms p99_ms" to $WORK/$1.results.
bench() {
    local rt=$1 log="$WORK/$1.server" port= i
    "$BIN" --runtime "$rt" --port 0 >"$log" 2>&1 &
    SERVER_PID=$!
    # The server binds port 0 (the system picks a free port) and prints the address it got.
    for i in $(seq 100); do
        port=$(grep -o 'listening on 127\.0\.0\.1:[0-9]*' "$log" 2>/dev/null | sed 's/.*://' || true)
        [[ -n "$port" ]] && break
        kill -0 "$SERVER_PID" 2>/dev/null || { cat "$log" >&2; echo "$rt server died" >&2; exit 1; }
        sleep 0.1
    done
    [[ -n "$port" ]] || { echo "$rt server never said where it listens" >&2; exit 1; }
    for i in $(seq 100); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then break; fi
        [[ $i -eq 100 ]] && { echo "$rt server does not accept on $port" >&2; exit 1; }
        sleep 0.1
    done

    echo "== $rt on 127.0.0.1:$port" >&2
    timeout 120 wrk -t"$THREADS" -c"$CONNECTIONS" -d"$WARMUP" "http://127.0.0.1:$port/" >/dev/null
    timeout 120 wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency "http://127.0.0.1:$port/" | tee "$WORK/$rt.wrk" >&2

    kill "$SERVER_PID"
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=

    local rps p50 p99
    rps=$(awk '/^Requests\/sec:/ {print $2}' "$WORK/$rt.wrk")
    p50=$(to_ms "$(awk '$1 == "50%" {print $2}' "$WORK/$rt.wrk")")
    p99=$(to_ms "$(awk '$1 == "99%" {print $2}' "$WORK/$rt.wrk")")
    if grep -q 'Non-2xx\|Socket errors' "$WORK/$rt.wrk"; then
        echo "warning: $rt had errors (see above)" >&2
    fi
    echo "$rps $p50 $p99" >>"$WORK/$rt.results"
}

for round in $(seq "$ROUNDS"); do
    if ((round % 4 == 1 || round % 4 == 0)); then
        bench moirai
        bench tokio
    else
        bench tokio
        bench moirai
    fi
done

# Median of the numbers on standard input.
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
# Column $1 of a results file.
col() { awk -v c="$1" '{ print $c }' "$2"; }
# Per-round ratios moirai/tokio of column $1, one per line.
ratios() {
    paste -d' ' <(col "$1" "$WORK/moirai.results") <(col "$1" "$WORK/tokio.results") |
        awk '{ if ($2 > 0) printf "%.4f\n", $1 / $2 }'
}

echo
echo "wrk -t$THREADS -c$CONNECTIONS -d$DURATION (after a $WARMUP warm-up), $ROUNDS rounds, $(nproc) CPUs"
echo
echo "| round | moirai req/s | tokio req/s | req/s ratio | p50 ratio | p99 ratio |"
echo "|---|---:|---:|---:|---:|---:|"
paste -d' ' "$WORK/moirai.results" "$WORK/tokio.results" | awk '{
    printf "| %d | %.0f | %.0f | %.2fx | %.2fx | %.2fx |\n", NR, $1, $4, $1 / $4, $2 / $5, $3 / $6
}'
echo
echo "| runtime | requests/s | p50 (ms) | p99 (ms) |"
echo "|---|---:|---:|---:|"
for rt in moirai tokio; do
    echo "| $rt (median) | $(col 1 "$WORK/$rt.results" | median | xargs printf "%.0f") | $(col 2 "$WORK/$rt.results" | median) | $(col 3 "$WORK/$rt.results" | median) |"
done
printf '| moirai/tokio (median of per-round ratios) | %.2fx | %.2fx | %.2fx |\n' \
    "$(ratios 1 | median)" "$(ratios 2 | median)" "$(ratios 3 | median)"
