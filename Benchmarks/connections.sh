#!/usr/bin/env bash
# Footprint under hostile connections, release build, loopback only: RSS growth of the daemon while it holds
# 500 idle connections (connect, send nothing) and 500 slow ones (a request head sent one byte at a time), the
# /healthz latency meanwhile, and whether every connection is closed after limits.idleTimeout.
# Target: RSS grows by at most 16 MB with 500 idle or slow connections held open.
# Usage: Benchmarks/connections.sh PATH/TO/upgrade-gate [runs] [connections]
# Every loop is bounded in count and time; every address is 127.0.0.1.
set -euo pipefail
gate=${1:?usage: connections.sh PATH/TO/upgrade-gate [runs] [connections]}
runs=${2:-5}
connections=${3:-500}
work=$(mktemp -d /tmp/upgrade-gate-conn.XXXXXX)
pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
ulimit -n 4096 2>/dev/null || true

cat > "$work/hold.py" <<'PY'
# Opens N connections of one kind to the gate, holds them, measures the gate's RSS and /healthz, reports closures.
import socket, sys, time, urllib.request
pid, port, kind, count, hold = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), float(sys.argv[5])
def rss_kib():
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"): return int(line.split()[1])
def healthz_ms():
    start = time.monotonic()
    urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10).read()
    return (time.monotonic() - start) * 1000
for _ in range(20): healthz_ms()
before = rss_kib()
socks = []
head = b"POST /api/v1/alertmanager HTTP/1.1\r\nHost: gate\r\nContent-Type: application/json\r\nContent-Length: 1000000\r\n"
for i in range(count):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.setblocking(False)
    socks.append(s)
deadline = time.monotonic() + hold
sent = 0
while time.monotonic() < deadline:
    if kind == "slow":
        # One more byte of the head on every connection, never the blank line that ends it.
        for s in socks:
            try: s.send(head[sent % len(head):sent % len(head) + 1])
            except OSError: pass
        sent += 1
    time.sleep(0.25)
during = rss_kib()
latencies = sorted(healthz_ms() for _ in range(50))
p99 = latencies[int(len(latencies) * 0.99) - 1]
closed = 0
for s in socks:
    try:
        if s.recv(1) == b"": closed += 1
    except BlockingIOError: pass
    except OSError: closed += 1
for s in socks: s.close()
print(f"{(during - before) / 1024:.2f} {p99:.2f} {closed}")
PY

port=$(free_port)
printf 'token-%s\n' "$RANDOM$RANDOM" > "$work/token"
cat > "$work/gate.yaml" <<YAML
listen: 127.0.0.1:$port
state: $work/gate.sqlite
auth: {tokenFile: $work/token}
prometheus: {url: "http://127.0.0.1:1", timeout: 1s}
limits: {idleTimeout: ${IDLE_TIMEOUT:-60s}}
YAML
"$gate" serve --config "$work/gate.yaml" --log-level warning >"$work/gate.log" 2>&1 & gate_pid=$!; pids+=($gate_pid)
for _ in $(seq 1 200); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break; sleep 0.1; done
idle_rss=$(awk '/VmRSS/ {print $2/1024}' /proc/$gate_pid/status)
echo "idle RSS before any connection: ${idle_rss} MB"

for kind in idle slow; do
    : > "$work/$kind.txt"
    for run in $(seq 1 "$runs"); do
        python3 "$work/hold.py" "$gate_pid" "$port" "$kind" "$connections" "${HOLD_SECONDS:-10}" >> "$work/$kind.txt"
        sleep 1
    done
    growth=$(awk '{print $1}' "$work/$kind.txt" | median)
    p99=$(awk '{print $2}' "$work/$kind.txt" | median)
    echo "$connections $kind connections: RSS growth median ${growth} MB over $runs runs (runs: $(awk '{printf "%s ", $1}' "$work/$kind.txt")); /healthz p99 median ${p99} ms while held"
done
echo "RSS after all runs: $(awk '/VmRSS/ {print $2/1024}' /proc/$gate_pid/status) MB"

# With a short idle timeout, every held connection is closed by the daemon (the last field: how many of N).
port2=$(free_port)
sed -e "s/127.0.0.1:$port/127.0.0.1:$port2/" -e "s/idleTimeout: .*}/idleTimeout: 2s}/" -e "s#$work/gate.sqlite#$work/gate2.sqlite#" "$work/gate.yaml" > "$work/gate2.yaml"
"$gate" serve --config "$work/gate2.yaml" --log-level warning >"$work/gate2.log" 2>&1 & gate2=$!; pids+=($gate2)
for _ in $(seq 1 200); do curl -sf "http://127.0.0.1:$port2/readyz" >/dev/null 2>&1 && break; sleep 0.1; done
for kind in idle slow; do
    read -r _ _ closed < <(python3 "$work/hold.py" "$gate2" "$port2" "$kind" "$connections" 5)
    echo "idleTimeout 2s, $kind: $closed of $connections connections closed by the daemon after 5 s"
done
