#!/usr/bin/env bash
# Linear-time label matching, on loopback:
#  1. RE2 (the gate's engine) against catastrophic patterns — (a*)*b, (.*.*)*x and nested repeats — on
#     1 kB, 10 kB and 100 kB values: median of 9 matches each; time per kB stays flat (linear).
#  2. The same patterns on Swift `Regex` (the backtracking engine used before), each case in its own
#     process under `timeout`: sizes grow until one does not finish in the time limit.
#  3. The release daemon with catastrophic matchers in its config and in three open windows, fed alerts
#     whose labels are 10 kB values: latency of GET /healthz and GET /api/v1/windows meanwhile (goal:
#     every answer within 100 ms), then kill -9, restart on the same state: time until /readyz is 200,
#     and the same latencies again.
# Usage: Benchmarks/regex.sh PATH/TO/upgrade-gate PATH/TO/RegexBenchmark
# Every loop is bounded in count and time; every address is 127.0.0.1.
set -euo pipefail
gate=${1:?usage: regex.sh PATH/TO/upgrade-gate PATH/TO/RegexBenchmark}
bench=${2:?usage: regex.sh PATH/TO/upgrade-gate PATH/TO/RegexBenchmark}
limit=${SWIFT_REGEX_LIMIT:-10}   # seconds each Swift Regex case may run

echo "== 1. RE2"
"$bench"

echo
echo "== 2. Swift Regex (backtracking), median of 3 matches; killed after ${limit}s"
for pattern in '(a*)*b' '(.*.*)*x' '((a+)+)+b' '(a|aa)*c' '(x+x+)+y' '(.*a){20}'; do
    for size in 16 20 24 28 1000 10000; do
        if out=$(timeout "$limit" "$bench" --engine swift-regex --pattern "$pattern" --size "$size" --runs 3); then
            echo "$out"
        else
            printf 'swift-regex\t%s\t%s\tdid not finish in %ss\n' "$pattern" "$size" "$limit"
            break
        fi
    done
done

echo
echo "== 3. The daemon under catastrophic matchers and 10 kB label values"
work=$(mktemp -d /tmp/upgrade-gate-regex.XXXXXX)
pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
trap 'exit 130' INT TERM
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
wait_http() { # URL: until it answers 200, at most 30s; prints the seconds waited
    python3 - "$1" <<'PY'
import sys, time, urllib.request
start = time.monotonic()
while time.monotonic() - start < 30:
    try:
        if urllib.request.urlopen(sys.argv[1], timeout=1).status == 200:
            print(f"{time.monotonic() - start:.3f}"); sys.exit(0)
    except Exception:
        time.sleep(0.02)
sys.exit(1)
PY
}

prom_port=$(free_port); gate_port=$(free_port)
cat > "$work/prometheus.yml" <<YAML
global: {scrape_interval: 1s}
scrape_configs:
  - job_name: prometheus
    static_configs: [{targets: ['127.0.0.1:$prom_port']}]
YAML
prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/tsdb" --web.listen-address="127.0.0.1:$prom_port" \
    --log.level=warn >"$work/prometheus.log" 2>&1 & pids+=($!)
wait_http "http://127.0.0.1:$prom_port/-/ready" >/dev/null
sleep 2

printf 'token-%s\n' "$(python3 -c 'import secrets; print(secrets.token_hex(16))')" > "$work/token"
cat > "$work/gate.yaml" <<YAML
listen: 127.0.0.1:$gate_port
state: $work/gate.sqlite
auth: {tokenFile: $work/token}
prometheus: {url: "http://127.0.0.1:$prom_port", timeout: 5s}
alertmanager:
  matchers: ['alertname=~"(.*.*)*x|(a*)*.+"']
  ignore: ['alertname=~"(a|aa)*c"', 'severity=~"((a+)+)+c"']
evaluation: {interval: 1s, warmup: 0s, failAfter: 2}
baseline: {lookback: 2s}
windows: {soak: 1h, duration: 2h}
checks:
  - {name: prometheus-up, query: 'up{job="prometheus"}', min: 1, noData: pass}
YAML
start_gate() { "$gate" serve --config "$work/gate.yaml" >>"$work/gate.log" 2>&1 & gate_pid=$!; pids+=($gate_pid); }
start_gate
wait_http "http://127.0.0.1:$gate_port/readyz" >/dev/null

# Opens the windows, then measures: a poster thread sends POSTS alerts with 10 kB labels while the main
# thread times SAMPLES requests to /healthz and /api/v1/windows.
cat > "$work/load.py" <<'PY'
import json, statistics, sys, threading, time, urllib.request
base, token, mode = sys.argv[1], open(sys.argv[2]).read().strip(), sys.argv[3]
POSTS, SAMPLES = 60, 300
def call(method, path, body=None, timeout=30):
    request = urllib.request.Request(base + path, method=method, data=body and json.dumps(body).encode(),
                                     headers={"Authorization": "Bearer " + token, "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
if mode == "open":
    for name, matchers in [("redos-nested", ['alertname=~"(.*.*)*x"']), ("redos-star", ['alertname=~"(a*)*b"']),
                           ("redos-alternation", ['alertname=~"((a|aa)+)+(b|x)"', 'severity=~"(a*)*"'])]:
        status = call("POST", "/api/v1/windows", {"name": name, "matchers": matchers})
        assert status == 201, (name, status)
long = "a" * 10_000
posted = []
def poster():
    for i in range(POSTS):
        alert = {"status": "firing", "labels": {"alertname": long + str(i), "severity": long, "instance": long},
                 "annotations": {}, "startsAt": "2026-11-25T10:00:00Z", "endsAt": "0001-01-01T00:00:00Z", "fingerprint": f"{mode}{i}"}
        body = {"version": "4", "groupKey": f"{{}}:{{g=\"{mode}{i}\"}}", "receiver": "gate", "status": "firing", "alerts": [alert],
                "groupLabels": {}, "commonLabels": {}, "commonAnnotations": {}, "externalURL": "http://am"}
        start = time.monotonic()
        posted.append((call("POST", "/api/v1/alertmanager", body), time.monotonic() - start))
thread = threading.Thread(target=poster)
thread.start()
latencies = []
for i in range(SAMPLES):
    path = "/healthz" if i % 2 == 0 else "/api/v1/windows"
    start = time.monotonic()
    status = call("GET", path, timeout=10)
    latencies.append(time.monotonic() - start)
    assert status == 200, (path, status)
    if not thread.is_alive() and i >= 100:
        break
thread.join(timeout=120)
ms = sorted(l * 1000 for l in latencies)
post_ms = sorted(p[1] * 1000 for p in posted)
print(f"  other requests: n={len(ms)} median {statistics.median(ms):.1f} ms, p99 {ms[int(len(ms) * 0.99) - 1]:.1f} ms, "
      f"max {ms[-1]:.1f} ms, over 100 ms: {sum(1 for l in ms if l > 100)}")
print(f"  alert posts with 10 kB labels: n={len(posted)}, all 200: {all(p[0] == 200 for p in posted)}, "
      f"median {statistics.median(post_ms):.1f} ms, max {post_ms[-1]:.1f} ms")
PY
echo "before a restart:"
python3 "$work/load.py" "http://127.0.0.1:$gate_port" "$work/token" open
kill -9 "$gate_pid"; wait "$gate_pid" 2>/dev/null || true
start_gate
ready=$(wait_http "http://127.0.0.1:$gate_port/readyz")
echo "after kill -9 and restart with the windows open: ready in ${ready}s"
python3 "$work/load.py" "http://127.0.0.1:$gate_port" "$work/token" again
