#!/usr/bin/env bash
# Alertmanager ingest, durable (every accepted payload survives kill -9), on loopback:
#  1. throughput: the gate's POST /api/v1/alertmanager (bearer token; persisted before the 200) vs.
#     Debian's `webhook` receiver (adnanh/webhook, one hook running /bin/true), both fed the same
#     10-alert version-4 payloads by wrk, runs interleaved; req/s per run, medians, ratio gate/webhook.
#     The gate is measured twice: with no window open, and with one open window that every
#     notification is judged against. webhook answers before running its hook, so its /bin/true
#     backlog is waited out after each run (and reported as a second, "completed" rate).
#  2. durability: K payloads posted one by one, then kill -9 of the gate in the middle of a
#     concurrent burst, restart on the same state file: every payload that got 200 must be there
#     (read back as the baseline alerts of a window opened after the restart).
# Usage: Benchmarks/alertmanager-ingest.sh PATH/TO/upgrade-gate [runs]
# Every load loop is bounded (wrk -d, a fixed K, a burst that ends at the kill), every address is 127.0.0.1.
set -euo pipefail
gate=${1:?usage: alertmanager-ingest.sh PATH/TO/upgrade-gate [runs]}
runs=${2:-3}
duration=${DURATION:-8s}
sequential=${SEQUENTIAL:-300}     # payloads posted one by one before the burst
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
fixture=$repo/Tests/IntegrationTests/Fixtures/alertmanager/webhook-firing.json
SUDO=$([ "$(id -u)" -eq 0 ] || echo sudo)
command -v wrk >/dev/null || $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk
command -v webhook >/dev/null || $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq webhook

work=$(mktemp -d /tmp/upgrade-gate-bench.XXXXXX)
pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
trap 'exit 130' INT TERM
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
wait_http() { # URL: until it answers (any HTTP status), at most 20s
    python3 - "$1" <<'PY'
import sys, time, urllib.error, urllib.request
for _ in range(400):
    try:
        urllib.request.urlopen(sys.argv[1], timeout=1); sys.exit(0)
    except urllib.error.HTTPError:
        sys.exit(0)
    except Exception:
        time.sleep(0.05)
sys.exit(1)
PY
}
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

# A throwaway Prometheus: the gate needs one that answers to open windows (baseline capture).
prom_port=$(free_port); gate_port=$(free_port); gate2_port=$(free_port); hook_port=$(free_port)
cat > "$work/prometheus.yml" <<YAML
global: {scrape_interval: 1s}
scrape_configs:
  - job_name: prometheus
    static_configs: [{targets: ['127.0.0.1:$prom_port']}]
YAML
prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/tsdb" --web.listen-address="127.0.0.1:$prom_port" \
    --log.level=warn >"$work/prometheus.log" 2>&1 & pids+=($!)
wait_http "http://127.0.0.1:$prom_port/-/ready"
sleep 2

printf 'token-%s\n' "$(python3 -c 'import secrets; print(secrets.token_hex(16))')" > "$work/token"
cat > "$work/gate.yaml" <<YAML
listen: 127.0.0.1:$gate_port
state: $work/gate.sqlite
auth: {tokenFile: $work/token}
prometheus: {url: "http://127.0.0.1:$prom_port", timeout: 5s}
alertmanager: {matchers: ['severity=~"critical|warning"']}
evaluation: {interval: 1s, warmup: 0s, failAfter: 2}
baseline: {lookback: 2s}
windows: {soak: 5s, duration: 1h}
limits: {maxBodyBytes: 1048576, maxOpenWindows: 50}
checks:
  - {name: prometheus-up, query: 'up{job="prometheus"}', min: 1, noData: pass}
YAML

# The payloads: the contract's shape with 10 alerts (distinct label sets), version 4, startsAt now.
# Throughput: 4 payloads that differ in groupKey (and alertname). Durability: one per groupKey.
python3 - "$fixture" "$work" <<'PY'
import copy, datetime, json, sys, zlib
fixture, work = sys.argv[1:3]
template = json.load(open(fixture))
now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
def payload(alertname, group):
    p = copy.deepcopy(template)
    base = template["alerts"][0]
    p["alerts"] = []
    for i in range(10):
        a = copy.deepcopy(base)
        a["labels"].update({"alertname": alertname, "instance": f"10.0.0.{i + 1}:2379", "member": f"etcd-{i}"})
        a["fingerprint"] = f"{zlib.crc32(alertname.encode()):08x}{i:08x}"
        a["startsAt"] = now
        p["alerts"].append(a)
    p["version"] = "4"
    p["status"] = "firing"
    p["groupLabels"] = {"alertname": alertname}
    p["commonLabels"] = {k: v for k, v in p["alerts"][0]["labels"].items() if k not in ("instance", "member")}
    p["groupKey"] = f'{{}}/{{job="etcd"}}:{{alertname="{alertname}", group="{group}"}}'
    return json.dumps(p, separators=(",", ":"))
for g in range(4):
    open(f"{work}/payload-{g}.json", "w").write(payload(f"BenchAlert{g}", f"g{g}"))
with open(f"{work}/durable.jsonl", "w") as f:
    for k in range(20000):
        f.write(payload(f"Durable{k:05d}", f"d{k:05d}") + "\n")
PY
ls "$work"/payload-*.json > "$work/payloads.txt"

cat > "$work/post.lua" <<'LUA'
-- POST the payloads round-robin (each thread starts at a different one) with the bearer token.
local bodies = {}
for path in io.lines(os.getenv("PAYLOADS")) do
  local f = assert(io.open(path, "rb")); bodies[#bodies + 1] = f:read("*a"); f:close()
end
local headers = {["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. os.getenv("TOKEN")}
local i = math.random(#bodies)
request = function()
  i = i % #bodies + 1
  return wrk.format("POST", nil, headers, bodies[i])
end
LUA

# webhook: one hook, /bin/true, answering as soon as the command is started (its default).
echo '[{"id": "alertmanager", "execute-command": "/bin/true"}]' > "$work/hooks.json"
webhook -hooks "$work/hooks.json" -ip 127.0.0.1 -port "$hook_port" >"$work/webhook.log" 2>&1 & webhook_pid=$!; pids+=($webhook_pid)
# Two gates on their own state files: one with no window open (pure ingest: decode, persist,
# reply), one with a window open before the storm, so every notification is judged against it
# right away (its alerts are new: the window fails at the first one and stays failed).
"$gate" serve --config "$work/gate.yaml" >"$work/gate.log" 2>&1 & gate_pid=$!; pids+=($gate_pid)
"$gate" serve --config "$work/gate.yaml" --listen "127.0.0.1:$gate2_port" --state "$work/gate-window.sqlite" \
    >"$work/gate-window.log" 2>&1 & gate2_pid=$!; pids+=($gate2_pid)
wait_http "http://127.0.0.1:$hook_port/hooks/alertmanager"
wait_http "http://127.0.0.1:$gate_port/readyz"
wait_http "http://127.0.0.1:$gate2_port/readyz"
"$gate" window open bench --url "http://127.0.0.1:$gate2_port" --token-file "$work/token" >/dev/null

token=$(tr -d '\n' < "$work/token")
sanity() { # URL: the HTTP status of one payload
    python3 - "$1" "$work/payload-0.json" "$token" <<'PY'
import sys, urllib.error, urllib.request
url, path, token = sys.argv[1:4]
req = urllib.request.Request(url, data=open(path, "rb").read(), method="POST",
                             headers={"Content-Type": "application/json", "Authorization": "Bearer " + token})
try:
    print(urllib.request.urlopen(req, timeout=5).status)
except urllib.error.HTTPError as e:
    print(e.code, e.read().decode()[:200])
PY
}
gate_url="http://127.0.0.1:$gate_port/api/v1/alertmanager"
gate2_url="http://127.0.0.1:$gate2_port/api/v1/alertmanager"
hook_url="http://127.0.0.1:$hook_port/hooks/alertmanager"
echo "== gate: $gate"
echo "== payloads: 10 alerts each, $(wc -c < "$work/payload-0.json") bytes, 4 groupKeys; one payload → gate $(sanity "$gate_url"), gate with a window $(sanity "$gate2_url"), webhook $(sanity "$hook_url")"

load() { # URL → "req/s requests non2xx socket-errors"
    PAYLOADS="$work/payloads.txt" TOKEN="$token" wrk -t2 -c32 -d"$duration" -s "$work/post.lua" "$1" | awk '
        / requests in / {n = $1}
        /Requests\/sec/ {rps = $2}
        /Non-2xx or 3xx responses/ {bad = $NF}
        /Socket errors/ {gsub(",", ""); err = $4 + $6 + $8 + $10}
        END {print rps, n, bad + 0, err + 0}'
}
# webhook answers before it runs the command (its default), so a burst leaves a backlog of
# /bin/true runs that goes on using the CPU after wrk stops. settle PID waits (at most 60s) until
# the process and its reaped children use no more CPU, and prints how long that took.
settle() {
    python3 - "$1" <<'PY'
import sys, time
pid, start = sys.argv[1], time.monotonic()
def ticks():
    f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return sum(int(x) for x in f[11:15])
last, quiet = ticks(), 0
while quiet < 2 and time.monotonic() - start < 60:
    time.sleep(0.2)
    now = ticks()
    quiet = quiet + 1 if now - last <= 1 else 0
    last = now
print(f"{max(0.0, time.monotonic() - start - 0.4):.1f}")
PY
}
rss() { awk '/VmRSS/ {printf "%.1f MB", $2/1024}' "/proc/$1/status"; }
accepted() { python3 -c "import sys,urllib.request; print(next((l.split()[-1] for l in urllib.request.urlopen(sys.argv[1]).read().decode().splitlines() if l.startswith('upgrade_gate_alertmanager_notifications_total') and 'accepted' in l), '?'))" "$1/metrics"; }
gate_rps=(); gate2_rps=(); hook_rps=(); hook_done=()
secs=${duration%s}
for run in $(seq 1 "$runs"); do
    read -r g _ g_bad g_err < <(load "$gate_url"); settle "$gate_pid" >/dev/null
    read -r g2 _ g2_bad g2_err < <(load "$gate2_url"); settle "$gate2_pid" >/dev/null
    read -r w w_n w_bad w_err < <(load "$hook_url"); drain=$(settle "$webhook_pid")
    done_rate=$(echo "$w_n $secs $drain" | awk '{printf "%.2f", $1/($2+$3)}')
    gate_rps+=("$g"); gate2_rps+=("$g2"); hook_rps+=("$w"); hook_done+=("$done_rate")
    echo "run $run: gate $g req/s (non-2xx $g_bad, socket errors $g_err) | gate, 1 window $g2 req/s (non-2xx $g2_bad, socket errors $g2_err)" \
        "| webhook $w req/s (non-2xx $w_bad, socket errors $w_err; its /bin/true backlog ran ${drain}s more: $done_rate/s completed)"
done
g=$(printf '%s\n' "${gate_rps[@]}" | median); g2=$(printf '%s\n' "${gate2_rps[@]}" | median)
w=$(printf '%s\n' "${hook_rps[@]}" | median); wd=$(printf '%s\n' "${hook_done[@]}" | median)
ratio() { echo "$1 $2" | awk '{printf "%.2f", $1/$2}'; }
echo "== medians over $runs interleaved runs (wrk -t2 -c32 -d$duration, 10-alert payloads)"
echo "gate, no window open:        $g req/s ($(echo "$g" | awk '{printf "%.0f", $1*10}') alerts/s), each persisted before its 200"
echo "gate, 1 window judging them: $g2 req/s ($(echo "$g2" | awk '{printf "%.0f", $1*10}') alerts/s)"
echo "webhook (/bin/true):         $w req/s answered; $wd/s with the hook actually run (until its backlog drained)"
echo "ratio gate/webhook:          $(ratio "$g" "$w")x with no window, $(ratio "$g2" "$w")x with 1 window   (target: ≥ 2x)"
echo "  vs. hooks completed:       $(ratio "$g" "$wd")x with no window, $(ratio "$g2" "$wd")x with 1 window"
echo "gate RSS after load:         $(rss $gate_pid) / $(rss $gate2_pid) with the window; accepted notifications $(accepted "http://127.0.0.1:$gate_port") / $(accepted "http://127.0.0.1:$gate2_port")"
for pid in "$webhook_pid" "$gate_pid" "$gate2_pid"; do kill "$pid" 2>/dev/null || true; { wait "$pid"; } 2>/dev/null || true; done

# ---------------------------------------------------------------------------------------------
echo "== durability: $sequential payloads one by one, then kill -9 in the middle of a concurrent burst (8 clients)"
rm -f "$work"/gate.sqlite*
python3 - "$gate" "$work/gate.yaml" "$gate_port" "$token" "$work/durable.jsonl" "$sequential" "$work/gate-durable.log" <<'PY'
import atexit, http.client, json, signal, subprocess, sys, threading, time
binary, config, port, token, payload_file, sequential, log_path = sys.argv[1:8]
port, sequential = int(port), int(sequential)
payloads = [line.rstrip("\n") for line in open(payload_file)]
name_of = lambda k: f"Durable{k:05d}"
log = open(log_path, "ab")
started = []
atexit.register(lambda: [p.kill() for p in started if p.poll() is None])

def start():
    p = subprocess.Popen([binary, "serve", "--config", config], stdout=log, stderr=log)
    started.append(p)
    for _ in range(400):
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=1); c.request("GET", "/readyz")
            if c.getresponse().status == 200: return p
        except OSError:
            pass
        time.sleep(0.05)
    sys.exit("the gate did not become ready")

def post(conn, body):
    conn.request("POST", "/api/v1/alertmanager", body=body,
                 headers={"Content-Type": "application/json", "Authorization": "Bearer " + token})
    r = conn.getresponse(); r.read()
    return r.status

accepted, unanswered, rejected = set(), set(), {}
gate = start()
conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
for k in range(sequential):
    status = post(conn, payloads[k])
    if status == 200: accepted.add(k)
    else: rejected[k] = status
conn.close()

# The burst: 8 clients take the next payload index until the gate dies under them.
lock, next_k, stop = threading.Lock(), [sequential], threading.Event()
def client():
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    while not stop.is_set():
        with lock:
            k = next_k[0]; next_k[0] += 1
        if k >= len(payloads): return
        try:
            status = post(c, payloads[k])
        except OSError:
            with lock: unanswered.add(k)
            return                      # the gate is gone
        with lock:
            if status == 200: accepted.add(k)
            else: rejected[k] = status
threads = [threading.Thread(target=client) for _ in range(8)]
for t in threads: t.start()
time.sleep(0.5)
gate.send_signal(signal.SIGKILL); gate.wait()
stop.set()
for t in threads: t.join()
burst_accepted = len([k for k in accepted if k >= sequential])
print(f"burst: {next_k[0] - sequential} payloads started, {burst_accepted} answered 200, {len(unanswered)} cut off by kill -9 (no answer)")

gate = start()
c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
c.request("POST", "/api/v1/windows", body=json.dumps({"name": "after-kill"}),
          headers={"Content-Type": "application/json", "Authorization": "Bearer " + token})
r = c.getresponse(); body = r.read()
if r.status != 201: sys.exit(f"opening a window after the restart: HTTP {r.status} {body[:300]!r}")
baseline = json.loads(body)["baseline"]["alerts"]
present_alerts = {}
for a in baseline:
    labels = a.get("labels") or {}
    present_alerts.setdefault(labels.get("alertname"), set()).add(labels.get("instance"))
present = {k for k in accepted if len(present_alerts.get(name_of(k), ())) == 10}
partial = {k for k in accepted if 0 < len(present_alerts.get(name_of(k), ())) < 10}
extra = {k for k in unanswered if name_of(k) in present_alerts}
gate.terminate(); gate.wait()
print(f"rejected (non-200): {len(rejected)} {dict(list(rejected.items())[:5]) if rejected else ''}".rstrip())
print(f"cut off by the kill but persisted anyway: {len(extra)} of {len(unanswered)} (allowed: not acknowledged)")
print(f"accepted {len(accepted)}, present after kill -9: {len(present)}, lost: {len(accepted) - len(present)}"
      + (f" (partially present: {len(partial)})" if partial else "")
      + f"   [{len(accepted) * 10} alerts; baseline after restart holds {len(baseline)} alerts]")
sys.exit(0 if len(present) == len(accepted) else 1)
PY
