#!/usr/bin/env bash
# The etcd-upgrade story on real parts, loopback only — the same stack as the end-to-end test
# (Tests/IntegrationTests/EtcdUpgradeScenarioTests.swift):
#   a 3-member etcd cluster (Debian's etcd-server, fast elections),
#   Prometheus scraping it every second and loading alert-rules/*.rules.yml,
#   Alertmanager routing every alert to the gate's webhook with the gate's bearer token,
#   and `upgrade-gate serve` judging an upgrade window on etcd's metrics and on those alerts.
# The upgrade "goes wrong": the etcd leader is killed with SIGKILL, and the gate fails the window
# through the metric path (leader changes, a member down) and then through the alert path
# (UpgradeEtcdLeaderChanged, from alert-rules/upgrade-window.rules.yml).
# Needs: etcd, prometheus, prometheus-alertmanager, python3 (`make deps` installs them).
# Usage: deploy/local/demo.sh PATH/TO/upgrade-gate
set -euo pipefail
gate=${1:?usage: demo.sh PATH/TO/upgrade-gate}
gate=$(cd "$(dirname "$gate")" && pwd)/$(basename "$gate")
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
for tool in etcd prometheus prometheus-alertmanager python3; do
    command -v "$tool" >/dev/null || { echo "demo.sh: $tool is missing (make deps installs it)" >&2; exit 1; }
done
rules=("$repo"/alert-rules/*.rules.yml)
[ -e "${rules[0]}" ] || { echo "demo.sh: no rule files in $repo/alert-rules" >&2; exit 1; }

work=$(mktemp -d /tmp/upgrade-gate-demo.XXXXXX)
pids=(); etcd_pids=()
cleanup() {
    {
        # etcd gets SIGKILL: on SIGTERM the last member tries a leadership transfer for ~6s, and
        # its data dir is thrown away anyway. The others get SIGTERM.
        for pid in "${etcd_pids[@]}"; do [ -n "$pid" ] && kill -KILL "$pid" || true; done
        for pid in "${pids[@]}"; do kill "$pid" || true; done
        wait || true
    } 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
started=$(date +%s.%N)

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
since() { python3 -c 'import sys,time; print(f"{time.time()-float(sys.argv[1]):.1f}s")' "$1"; }
now() { date +%s.%N; }
# Say what went wrong, show the end of the log that tells why, and stop.
die() { echo "demo.sh: $1" >&2; [ -n "${2:-}" ] && tail -n 30 "$2" >&2; exit 1; }

# Small HTTP helpers (python3's standard library: no curl needed).
cat > "$work/h.py" <<'PY'
import json, sys, time, urllib.parse, urllib.request

def get(url, timeout=2):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.read().decode()

def gate_body(base, window):
    return json.loads(get(f"{base}/api/v1/gate/{window}"))

cmd, args = sys.argv[1], sys.argv[2:]
if cmd == "wait":            # wait URL SECONDS: until it answers 2xx
    deadline = time.monotonic() + float(args[1])
    while time.monotonic() < deadline:
        try:
            get(args[0], timeout=1); sys.exit(0)
        except Exception:
            time.sleep(0.1)
    sys.exit(1)
elif cmd == "leader":        # leader URL...: index of the member reporting etcd_server_is_leader 1
    for i, url in enumerate(args):
        try:
            if "etcd_server_is_leader 1" in get(url + "/metrics").splitlines():
                print(i); sys.exit(0)
        except Exception:
            pass
    sys.exit(1)
elif cmd == "series":        # series PROMETHEUS EXPR: how many series the instant query returns
    body = json.loads(get(f"{args[0]}/api/v1/query?" + urllib.parse.urlencode({"query": args[1]})))
    print(len(body["data"]["result"]))
elif cmd == "verdict":       # verdict GATE WINDOW
    print(gate_body(args[0], args[1])["verdict"])
elif cmd == "has-alert":     # has-alert GATE WINDOW ALERTNAME: exit 0 when the gate body lists it
    alerts = gate_body(args[0], args[1]).get("alerts") or []
    sys.exit(0 if any(a.get("alertname") == args[2] or (a.get("labels") or {}).get("alertname") == args[2] for a in alerts) else 1)
elif cmd == "body":          # body GATE WINDOW: what Flagger / Argo Rollouts read
    b = gate_body(args[0], args[1])
    print(json.dumps({k: b.get(k) for k in ("window", "verdict", "healthy", "reasons", "alerts")}, indent=2))
PY
h() { python3 "$work/h.py" "$@"; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

# ---------------------------------------------------------------------------------------------
say "A 3-member etcd cluster on loopback (etcd $(etcd --version 2>/dev/null | awk '/etcd Version/ {print $3}'), heartbeat 50ms, election timeout 500ms)"
members=(m0 m1 m2)
client_ports=(); peer_ports=(); etcd_urls=()
for i in 0 1 2; do client_ports+=("$(free_port)"); peer_ports+=("$(free_port)"); done
initial_cluster=""
for i in 0 1 2; do initial_cluster+="${initial_cluster:+,}${members[$i]}=http://127.0.0.1:${peer_ports[$i]}"; done
for i in 0 1 2; do
    etcd --name "${members[$i]}" --data-dir "$work/etcd-${members[$i]}" \
        --listen-client-urls "http://127.0.0.1:${client_ports[$i]}" --advertise-client-urls "http://127.0.0.1:${client_ports[$i]}" \
        --listen-peer-urls "http://127.0.0.1:${peer_ports[$i]}" --initial-advertise-peer-urls "http://127.0.0.1:${peer_ports[$i]}" \
        --initial-cluster "$initial_cluster" --initial-cluster-state new --initial-cluster-token upgrade-gate-demo \
        --heartbeat-interval 50 --election-timeout 500 --log-level warn >"$work/etcd-${members[$i]}.log" 2>&1 &
    etcd_pids+=($!); pids+=($!); etcd_urls+=("http://127.0.0.1:${client_ports[$i]}")
done
leader=""
for _ in $(seq 1 300); do leader=$(h leader "${etcd_urls[@]}") && break; sleep 0.1; done
[ -n "$leader" ] || die "the etcd cluster elected no leader within 30s" "$work/etcd-m0.log"
for i in 0 1 2; do
    echo "  ${members[$i]}: ${etcd_urls[$i]} (pid ${etcd_pids[$i]})$([ "$i" = "$leader" ] && echo "  ← leader")"
done

# ---------------------------------------------------------------------------------------------
prom_port=$(free_port); am_port=$(free_port); gate_port=$(free_port)
prom=http://127.0.0.1:$prom_port; am=http://127.0.0.1:$am_port; url=http://127.0.0.1:$gate_port
say "Prometheus ($prom) scraping etcd every second, with alert-rules/ → Alertmanager ($am) → the gate's webhook"
etcd_targets=$(printf "'127.0.0.1:%s', " "${client_ports[@]}"); etcd_targets=${etcd_targets%, }
{
    cat <<YAML
global: {scrape_interval: 1s, scrape_timeout: 900ms, evaluation_interval: 1s}
scrape_configs:
  - job_name: etcd
    static_configs: [{targets: [$etcd_targets]}]
  - job_name: upgrade-gate
    static_configs: [{targets: ['127.0.0.1:$gate_port']}]
alerting:
  alertmanagers: [{static_configs: [{targets: ['127.0.0.1:$am_port']}]}]
rule_files:
YAML
    for f in "${rules[@]}"; do echo "  - '$f'"; done
} > "$work/prometheus.yml"
# A short lookback delta (as in the tests): a killed member's series go stale within seconds.
prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/prometheus" \
    --web.listen-address="127.0.0.1:$prom_port" --query.lookback-delta=5s --log.level=warn >"$work/prometheus.log" 2>&1 &
pids+=($!)

printf 'demo-token-%s\n' "$(python3 -c 'import secrets; print(secrets.token_hex(16))')" > "$work/token"
chmod 600 "$work/token"
cat > "$work/alertmanager.yml" <<YAML
route:
  receiver: upgrade-gate
  group_by: ['alertname']
  group_wait: 0s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: upgrade-gate
    webhook_configs:
      - url: $url/api/v1/alertmanager
        send_resolved: true
        http_config:
          authorization: {type: Bearer, credentials_file: $work/token}
YAML
prometheus-alertmanager --config.file="$work/alertmanager.yml" --storage.path="$work/alertmanager" \
    --web.listen-address="127.0.0.1:$am_port" --cluster.listen-address= --log.level=warn >"$work/alertmanager.log" 2>&1 &
pids+=($!)
h wait "$prom/-/ready" 30 || die "Prometheus did not become ready" "$work/prometheus.log"
h wait "$am/-/ready" 30 || die "Alertmanager did not become ready" "$work/alertmanager.log"
echo "  rule files: ${rules[*]#"$repo"/}"
echo "  collecting a baseline: waiting until Prometheus holds 6s of samples from all 3 members"
for _ in $(seq 1 300); do
    [ "$(h series "$prom" 'count_over_time(etcd_server_has_leader{job="etcd"}[10s]) >= 6' 2>/dev/null)" = 3 ] && break
    sleep 0.1
done

# ---------------------------------------------------------------------------------------------
cat > "$work/gate.yaml" <<YAML
listen: 127.0.0.1:$gate_port
state: $work/gate.sqlite
auth: {tokenFile: $work/token}
prometheus: {url: "$prom", timeout: 2s}
alertmanager:
  url: $am                                   # alerts already firing at open are baseline, not news
  matchers: ['severity=~"critical|warning"']
  ignore: ['alertname=~"UpgradeGate.+"']     # the gate's own alerts never fail a window
evaluation: {interval: 1s, warmup: 0s, failAfter: 2}
baseline: {lookback: 5s, aggregate: mean}
windows: {duration: 1h, soak: 30m, policy: {patch: {soak: 8s}, minor: {soak: 1h}}}
checks:
  - name: etcd-leader-changes
    query: etcd_server_leader_changes_seen_total{job="etcd"}
    counter: true          # the increase since the window opened
    maxIncrease: 0
    missingSeries: ignore  # a dead member's counter vanishing is etcd-members-up's business
  - name: etcd-members-up
    query: up{job="etcd"}
    min: 1
  - name: etcd-has-leader
    query: etcd_server_has_leader{job="etcd"}
    min: 1
    missingSeries: ignore
YAML

say "Before the upgrade: a one-shot check for CI (upgrade-gate check; baseline = the last 5s)"
set +e
"$gate" check --config "$work/gate.yaml"
code=$?
set -e
echo "exit code $code$([ "$code" = 0 ] && echo ": pass")"
[ "$code" = 0 ] || die "the pre-upgrade check did not pass"

say "The gate daemon: upgrade-gate serve on $url (text gate log, shown at the end)"
"$gate" serve --config "$work/gate.yaml" --log-format text >"$work/gate.log" 2>&1 &
pids+=($!)
h wait "$url/readyz" 30 || die "the gate did not become ready" "$work/gate.log"

say "A pipeline opens the upgrade window: etcd 3.4.23 → 3.4.24 (a patch bump: the policy gives it an 8s soak)"
"$gate" window open etcd-3-4-24 --url "$url" --token-file "$work/token" --component etcd --from 3.4.23 --to 3.4.24
echo
"$gate" status --url "$url"
opened=$(now)
for _ in $(seq 1 300); do [ "$(h verdict "$url" etcd-3-4-24)" = pass ] && break; sleep 0.1; done
[ "$(h verdict "$url" etcd-3-4-24)" = pass ] || die "the window did not pass" "$work/gate.log"
echo
echo "soak done after $(since "$opened"): PASS — Flagger / Argo Rollouts may promote"
"$gate" status --url "$url"

# ---------------------------------------------------------------------------------------------
leader=$(h leader "${etcd_urls[@]}") || die "no etcd leader before the upgrade"
say "The upgrade goes wrong: the etcd leader ${members[$leader]} (pid ${etcd_pids[$leader]}) dies (SIGKILL)"
# (in one group with stderr silenced, so bash does not print its "Killed" job notice)
{ kill -KILL "${etcd_pids[$leader]}"; killed=$(now); wait "${etcd_pids[$leader]}"; } 2>/dev/null || true
dead=${etcd_pids[$leader]}; etcd_pids[$leader]=""; mapfile -t pids < <(printf '%s\n' "${pids[@]}" | grep -vx "$dead")
new_leader=""
for _ in $(seq 1 100); do new_leader=$(h leader "${etcd_urls[@]}") && break; sleep 0.05; done
echo "  new leader: ${new_leader:+${members[$new_leader]}} after $(since "$killed")"

for _ in $(seq 1 600); do [ "$(h verdict "$url" etcd-3-4-24)" = fail ] && break; sleep 0.05; done
[ "$(h verdict "$url" etcd-3-4-24)" = fail ] || die "the gate never failed the window" "$work/gate.log"
echo "  gate verdict FAIL $(since "$killed") after the kill (metric path: interval 1s, failAfter 2)"

say "What Flagger / Argo Rollouts poll: GET /api/v1/gate/etcd-3-4-24"
h body "$url" etcd-3-4-24

say "What on-call reads: upgrade-gate status etcd-3-4-24"
"$gate" status --url "$url" etcd-3-4-24

say "The alert path: Prometheus rule UpgradeEtcdLeaderChanged → Alertmanager → POST /api/v1/alertmanager"
echo "  (rule group evaluated every 15s, so this takes up to ~15s after the election)"
for _ in $(seq 1 900); do h has-alert "$url" etcd-3-4-24 UpgradeEtcdLeaderChanged && break; sleep 0.1; done
h has-alert "$url" etcd-3-4-24 UpgradeEtcdLeaderChanged || die "UpgradeEtcdLeaderChanged never reached the gate" "$work/alertmanager.log"
echo "  the gate body lists UpgradeEtcdLeaderChanged $(since "$killed") after the kill:"
h body "$url" etcd-3-4-24

say "The gate log (lines about the window)"
{ grep -E "etcd-3-4-24|UpgradeEtcdLeaderChanged" "$work/gate.log" || true; } | cut -c1-400

say "Done in $(since "$started"); stopping etcd, Prometheus, Alertmanager and the gate"
