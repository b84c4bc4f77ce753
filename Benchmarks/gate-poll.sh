#!/usr/bin/env bash
# On loopback, release build: gate polls vs. querying Prometheus directly for the same
# 5 checks; Prometheus queries per interval with and without pollers; start-to-ready; idle RSS.
# Usage: Benchmarks/gate-poll.sh PATH/TO/upgrade-gate [runs]
# Every load loop is bounded (wrk -d), every address is 127.0.0.1.
set -euo pipefail
gate=${1:?usage: gate-poll.sh PATH/TO/upgrade-gate [runs]}
runs=${2:-3}
duration=${DURATION:-8s}
work=$(mktemp -d /tmp/upgrade-gate-bench.XXXXXX)
pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
get() { python3 -c "import sys,urllib.request; sys.stdout.write(urllib.request.urlopen(sys.argv[1]).read().decode())" "$1"; }
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

target_port=$(free_port); prom_port=$(free_port); gate_port=$(free_port)
mkdir -p "$work/target"
{
    echo "demo_error_ratio 0.01"; echo "demo_restarts_total 3"
    for q in a b c d e; do echo "demo_queue_depth{queue=\"$q\"} 5"; done
    echo "demo_requests_total{code=\"200\"} 1000"; echo "demo_requests_total{code=\"500\"} 2"
} > "$work/target/metrics"
(cd "$work/target" && exec python3 -m http.server "$target_port" --bind 127.0.0.1 >/dev/null 2>&1) & pids+=($!)
cat > "$work/prometheus.yml" <<YAML
global: {scrape_interval: 1s, evaluation_interval: 1s}
scrape_configs:
  - job_name: demo
    static_configs: [{targets: ['127.0.0.1:$target_port']}]
YAML
prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/tsdb" --web.listen-address="127.0.0.1:$prom_port" \
    --log.level=warn >"$work/prometheus.log" 2>&1 & pids+=($!)
for _ in $(seq 1 200); do get "http://127.0.0.1:$prom_port/-/ready" >/dev/null 2>&1 && break; sleep 0.1; done
sleep 4

queries=(
    'up{job="demo"}'
    'demo_error_ratio{job="demo"}'
    'demo_restarts_total{job="demo"}'
    'demo_queue_depth{job="demo"}'
    'sum(rate(demo_requests_total{code=~"5.."}[1m])) / sum(rate(demo_requests_total[1m]))'
)
printf 'token-%s\n' "$RANDOM$RANDOM" > "$work/token"
cat > "$work/gate.yaml" <<YAML
listen: 127.0.0.1:$gate_port
state: $work/gate.sqlite
auth: {tokenFile: $work/token}
prometheus: {url: "http://127.0.0.1:$prom_port", timeout: 5s}
evaluation: {interval: 1s, warmup: 0s, failAfter: 2}
baseline: {lookback: 3s}
windows: {soak: 5s, duration: 1h}
checks:
  - {name: targets-up, query: '${queries[0]}', min: 1}
  - {name: error-ratio, query: '${queries[1]}', maxIncrease: 50%, floor: 0.001}
  - {name: restarts, query: '${queries[2]}', counter: true, maxIncrease: 1}
  - {name: queues, query: '${queries[3]}', max: 100}
  - {name: http-errors, query: '${queries[4]}', max: 0.05, noData: pass}
YAML

echo "== start to ready (exec → first 200 from /readyz), $runs runs"
ready_ms=()
for _ in $(seq 1 "$runs"); do
    rm -f "$work"/gate.sqlite*
    ms=$(python3 - "$gate" "$work/gate.yaml" "$gate_port" <<'PY'
import subprocess, sys, time, urllib.request
binary, config, port = sys.argv[1:4]
start = time.monotonic()
p = subprocess.Popen([binary, "serve", "--config", config], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
while True:
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=1); break
    except Exception:
        time.sleep(0.002)
print(round((time.monotonic() - start) * 1000, 1))
p.terminate(); p.wait()
PY
)
    ready_ms+=("$ms")
done
printf '%s\n' "${ready_ms[@]}" | tr '\n' ' '; echo "ms; median $(printf '%s\n' "${ready_ms[@]}" | median) ms"

"$gate" serve --config "$work/gate.yaml" >"$work/gate.log" 2>&1 & gate_pid=$!; pids+=($gate_pid)
for _ in $(seq 1 200); do get "http://127.0.0.1:$gate_port/readyz" >/dev/null 2>&1 && break; sleep 0.05; done
"$gate" window open bench --url "http://127.0.0.1:$gate_port" --token-file "$work/token" --label job=demo >/dev/null
sleep 10
echo "== idle RSS with one open window: $(awk '/VmRSS/ {print $2/1024 " MB"}' /proc/$gate_pid/status)"

cat > "$work/prom.lua" <<'LUA'
local queries = {}
for line in io.lines(os.getenv("QUERIES_FILE")) do queries[#queries + 1] = line end
local i = 0
request = function()
  i = i % #queries + 1
  return wrk.format("POST", "/api/v1/query", {["Content-Type"] = "application/x-www-form-urlencoded"}, "query=" .. queries[i])
end
LUA
python3 -c "import sys,urllib.parse; [print(urllib.parse.quote(q, safe='')) for q in sys.argv[1:]]" "${queries[@]}" > "$work/queries.txt"

# Prometheus counts every query it evaluates (inner_eval); the gate's share must not grow with pollers.
prom_queries() { get "http://127.0.0.1:$prom_port/metrics" | awk '/^prometheus_engine_query_duration_seconds_count\{slice="inner_eval"\}/ {print $2}'; }
wrk_summary() { awk '/Requests\/sec/ {rps=$2} /^ +99%/ {p99=$2} END {print rps, p99}'; }
to_ms() { awk '{v=$1; if (v ~ /us$/) {sub(/us/,"",v); v/=1000} else if (v ~ /ms$/) {sub(/ms/,"",v)} else if (v ~ /s$/) {sub(/s/,"",v); v*=1000}; print v}'; }

gate_rps=(); gate_p99=(); prom_rps=(); idle_q=(); loaded_q=()
for run in $(seq 1 "$runs"); do
    q0=$(prom_queries); sleep 8; q1=$(prom_queries); idle_q+=("$(echo "$q0 $q1" | awk '{print ($2-$1)/8}')")
    q0=$(prom_queries)
    read -r rps p99 < <(wrk -t2 -c64 -d"$duration" --latency "http://127.0.0.1:$gate_port/api/v1/gate/bench" | wrk_summary)
    q1=$(prom_queries); loaded_q+=("$(echo "$q0 $q1 ${duration%s}" | awk '{print ($2-$1)/$3}')")
    gate_rps+=("$rps"); gate_p99+=("$(echo "$p99" | to_ms)")
    read -r rps p99 < <(QUERIES_FILE="$work/queries.txt" wrk -t2 -c64 -d"$duration" --latency -s "$work/prom.lua" "http://127.0.0.1:$prom_port" | wrk_summary)
    prom_rps+=("$rps")
    echo "run $run: gate ${gate_rps[-1]} req/s p99 ${gate_p99[-1]} ms | prometheus $rps queries/s | prometheus queries/s from the gate: idle ${idle_q[-1]}, under 64 pollers ${loaded_q[-1]}"
done
g=$(printf '%s\n' "${gate_rps[@]}" | median); p=$(printf '%s\n' "${prom_rps[@]}" | median)
echo "== medians over $runs runs (64 connections, $duration each)"
echo "gate polls:                 $g req/s, p99 $(printf '%s\n' "${gate_p99[@]}" | median) ms"
echo "prometheus direct:          $p queries/s = $(echo "$p" | awk '{printf "%.0f", $1/5}') polls/s (5 queries per poll)"
echo "ratio gate/direct:          $(echo "$g $p" | awk '{printf "%.1f", $1/($2/5)}')x"
echo "gate's prometheus queries/s: idle $(printf '%s\n' "${idle_q[@]}" | median), with 64 pollers $(printf '%s\n' "${loaded_q[@]}" | median)"
echo "RSS after load:             $(awk '/VmRSS/ {print $2/1024 " MB"}' /proc/$gate_pid/status)"

echo "== Alertmanager notification → verdict fail (the 200 is sent after the gate failed), 10 windows"
python3 - "$gate_port" "$(cat "$work/token")" <<'PY'
import json, statistics, sys, time, urllib.request
port, token = sys.argv[1], sys.argv[2]
def call(method, path, body=None):
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", method=method, data=json.dumps(body).encode() if body is not None else None,
                                     headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    with urllib.request.urlopen(request) as response:
        return json.load(response)
latencies = []
for i in range(10):
    call("POST", "/api/v1/windows", {"name": f"latency-{i}", "labels": {"job": "demo"}})
    payload = {"version": "4", "groupKey": f"latency-{i}", "receiver": "upgrade-gate", "status": "firing",
               "alerts": [{"status": "firing", "labels": {"alertname": f"LatencyProbe{i}", "severity": "critical"}, "annotations": {},
                           "startsAt": "2026-11-25T00:00:00Z", "endsAt": "0001-01-01T00:00:00Z"}]}
    start = time.monotonic()
    call("POST", "/api/v1/alertmanager", payload)
    latencies.append((time.monotonic() - start) * 1000)
    assert call("GET", f"/api/v1/gate/latency-{i}")["verdict"] == "fail"
    call("POST", f"/api/v1/windows/latency-{i}/close")
print(f"notification → fail: median {statistics.median(latencies):.1f} ms, max {max(latencies):.1f} ms (POST round trip, loopback)")
PY

echo "== a 50-check evaluation vs. its slowest query (target: ≤ 2×)"
gate50_port=$(free_port)
{
    printf 'listen: 127.0.0.1:%s\nstate: %s\nauth: {tokenFile: %s}\n' "$gate50_port" "$work/gate50.sqlite" "$work/token"
    printf 'prometheus: {url: "http://127.0.0.1:%s", timeout: 5s}\nevaluation: {interval: 1s, warmup: 0s}\nbaseline: {lookback: 3s}\nchecks:\n' "$prom_port"
    for i in $(seq 0 49); do
        q=${queries[$((i % 5))]}
        printf "  - {name: check-%02d, query: '%s', max: 1000000, noData: pass}\n" "$i" "$q"
    done
} > "$work/gate50.yaml"
"$gate" serve --config "$work/gate50.yaml" >"$work/gate50.log" 2>&1 & pids+=($!)
for _ in $(seq 1 200); do get "http://127.0.0.1:$gate50_port/readyz" >/dev/null 2>&1 && break; sleep 0.05; done
"$gate" window open fifty --url "http://127.0.0.1:$gate50_port" --token-file "$work/token" >/dev/null
sleep 12
python3 - "$prom_port" "$gate50_port" "${queries[@]}" <<'PY'
import re, statistics, sys, time, urllib.parse, urllib.request
prom, gate, queries = sys.argv[1], sys.argv[2], sys.argv[3:]
def query_ms(q):
    data = urllib.parse.urlencode({"query": q, "time": f"{time.time():.3f}"}).encode()
    start = time.monotonic()
    urllib.request.urlopen(f"http://127.0.0.1:{prom}/api/v1/query", data=data).read()
    return (time.monotonic() - start) * 1000
slowest = max(statistics.median(query_ms(q) for _ in range(20)) for q in queries)
metrics = urllib.request.urlopen(f"http://127.0.0.1:{gate}/metrics").read().decode()
total = float(re.search(r"^upgrade_gate_evaluation_duration_seconds_sum(?:\{\})? (\S+)", metrics, re.M).group(1))
count = float(re.search(r"^upgrade_gate_evaluation_duration_seconds_count(?:\{\})? (\S+)", metrics, re.M).group(1))
mean = total / count * 1000
print(f"50-check evaluation: mean {mean:.1f} ms over {int(count)} evaluations; slowest single query (median of 20): {slowest:.1f} ms; ratio {mean / slowest:.2f}x")
PY
