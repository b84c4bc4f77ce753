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

printf 'token-%s\n' "$RANDOM$RANDOM" > "$work/token"
# Starts a fresh daemon (own port and state) with limits.idleTimeout $1; sets gate_pid and gate_port.
start_gate() {
    gate_port=$(free_port)
    local name="gate-$gate_port"
    cat > "$work/$name.yaml" <<YAML
listen: 127.0.0.1:$gate_port
state: $work/$name.sqlite
auth: {tokenFile: $work/token}
prometheus: {url: "http://127.0.0.1:1", timeout: 1s}
limits: {idleTimeout: $1}
YAML
    "$gate" serve --config "$work/$name.yaml" --log-level warning >"$work/$name.log" 2>&1 & gate_pid=$!; pids+=($gate_pid)
    for _ in $(seq 1 300); do curl -sf "http://127.0.0.1:$gate_port/readyz" >/dev/null 2>&1 && return; sleep 0.1; done
    echo "the gate did not become ready:"; cat "$work/$name.log"; exit 1
}
stop_gate() { kill "$gate_pid" 2>/dev/null || true; wait "$gate_pid" 2>/dev/null || true; }

# Each run on a fresh daemon, so memory the allocator kept from an earlier run cannot hide growth.
for kind in idle slow; do
    : > "$work/$kind.txt"
    for run in $(seq 1 "$runs"); do
        start_gate "${IDLE_TIMEOUT:-60s}"
        echo "$(awk '/VmRSS/ {print $2/1024}' /proc/$gate_pid/status) $(python3 "$work/hold.py" "$gate_pid" "$gate_port" "$kind" "$connections" "${HOLD_SECONDS:-10}")" >> "$work/$kind.txt"
        stop_gate
    done
    base=$(awk '{print $1}' "$work/$kind.txt" | median)
    growth=$(awk '{print $2}' "$work/$kind.txt" | median)
    p99=$(awk '{print $3}' "$work/$kind.txt" | median)
    echo "$connections $kind connections: RSS growth median ${growth} MB over $runs fresh daemons (runs: $(awk '{printf "%s ", $2}' "$work/$kind.txt")); RSS before median ${base} MB; /healthz p99 median ${p99} ms while held"
done

# With a short idle timeout, every held connection is closed by the daemon (the last field: how many of N).
start_gate 2s
for kind in idle slow; do
    read -r _ _ closed < <(python3 "$work/hold.py" "$gate_pid" "$gate_port" "$kind" "$connections" 5)
    echo "idleTimeout 2s, $kind: $closed of $connections connections closed by the daemon after 5 s"
done
stop_gate
