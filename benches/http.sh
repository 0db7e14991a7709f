#!/usr/bin/env bash
# Load test: the hyper "Hello, World!" example served by Moirai and by tokio, one after the other,
# each hit by `wrk -t2 -c256 -d10s` over loopback. Prints a markdown table with requests/s, p50,
# p99 and the Moirai/tokio ratios.
#
#   benches/http.sh            # from the repository root
#   DURATION=30s benches/http.sh
set -euo pipefail

cd "$(dirname "$0")/.."
DURATION=${DURATION:-10s}
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

# Starts the server for runtime $1 on a free port, waits until it accepts, runs wrk, stops it.
# Leaves "req_per_s p50_ms p99_ms" in $WORK/$1.result.
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
    echo "$rps $p50 $p99" >"$WORK/$rt.result"
}

bench moirai
bench tokio

read -r m_rps m_p50 m_p99 <"$WORK/moirai.result"
read -r t_rps t_p50 t_p99 <"$WORK/tokio.result"
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2fx", a / b; else print "n/a" }'; }

echo
echo "wrk -t$THREADS -c$CONNECTIONS -d$DURATION, $(nproc) CPUs"
echo
echo "| runtime | requests/s | p50 (ms) | p99 (ms) |"
echo "|---|---:|---:|---:|"
echo "| moirai | $m_rps | $m_p50 | $m_p99 |"
echo "| tokio | $t_rps | $t_p50 | $t_p99 |"
echo "| moirai/tokio | $(ratio "$m_rps" "$t_rps") | $(ratio "$m_p50" "$t_p50") | $(ratio "$m_p99" "$t_p99") |"
