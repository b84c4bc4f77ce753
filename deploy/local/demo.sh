#!/usr/bin/env bash
# A local upgrade, end to end, on loopback only: two demo targets, a real Prometheus scraping them
# every second, and `upgrade-gate check` judging "after" against a baseline taken "before".
# Usage: deploy/local/demo.sh PATH/TO/upgrade-gate
set -euo pipefail
gate=${1:?usage: demo.sh PATH/TO/upgrade-gate}
work=$(mktemp -d /tmp/upgrade-gate-demo.XXXXXX)
pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

# Two "components" exposing metrics as static files; rewriting a file changes what Prometheus sees.
api_port=$(free_port); worker_port=$(free_port); prom_port=$(free_port); gate_port=$(free_port)
mkdir -p "$work/api" "$work/worker" "$work/prometheus"
write_metrics() { # dir error_ratio restarts
    printf 'demo_error_ratio %s\ndemo_restarts_total %s\n' "$2" "$3" > "$1/metrics.tmp" && mv "$1/metrics.tmp" "$1/metrics"
}
write_metrics "$work/api" 0.01 3
write_metrics "$work/worker" 0 0
(cd "$work/api" && exec python3 -m http.server "$api_port" --bind 127.0.0.1 >/dev/null 2>&1) & pids+=($!)
(cd "$work/worker" && exec python3 -m http.server "$worker_port" --bind 127.0.0.1 >/dev/null 2>&1) & pids+=($!)

cat > "$work/prometheus.yml" <<YAML
global: {scrape_interval: 1s, evaluation_interval: 1s}
scrape_configs:
  - job_name: demo
    static_configs: [{targets: ['127.0.0.1:$api_port', '127.0.0.1:$worker_port']}]
YAML
prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/prometheus" \
    --web.listen-address="127.0.0.1:$prom_port" --log.level=warn >"$work/prometheus.log" 2>&1 & pids+=($!)

printf 'demo-token-%s\n' "$RANDOM$RANDOM" > "$work/token"
cat > "$work/gate.yaml" <<YAML
listen: 127.0.0.1:$gate_port
state: $work/gate.sqlite
auth: {tokenFile: $work/token}
prometheus:
  url: http://127.0.0.1:$prom_port
  timeout: 5s
evaluation: {interval: 1s, warmup: 0s, failAfter: 2}
windows: {soak: 30m, policy: {patch: {soak: 6s}}}
baseline: {lookback: 5s, aggregate: mean}
checks:
  - name: critical-targets-up
    query: up{job="{{job}}"}
    min: 1
    missingSeries: fail
  - name: restarts
    query: demo_restarts_total{job="{{job}}"}
    counter: true
    maxIncrease: 0
  - name: error-ratio
    query: demo_error_ratio{job="{{job}}"}
    maxIncrease: 50%
    max: 0.2
    floor: 0.02
YAML

say "Prometheus on 127.0.0.1:$prom_port scraping two demo targets; collecting a baseline"
for _ in $(seq 1 100); do python3 -c "import urllib.request,sys; urllib.request.urlopen(sys.argv[1])" "http://127.0.0.1:$prom_port/-/ready" 2>/dev/null && break; sleep 0.1; done
sleep 8

say "Before the upgrade: a one-shot check for CI (baseline = the last 5s)"
"$gate" check --config "$work/gate.yaml" --label job=demo && echo "exit code 0: pass"


say "The gate daemon: upgrade-gate serve on 127.0.0.1:$gate_port (gate log: text format below)"
"$gate" serve --config "$work/gate.yaml" --log-format text >"$work/gate.log" 2>&1 & pids+=($!)
for _ in $(seq 1 100); do python3 -c "import urllib.request,sys; urllib.request.urlopen(sys.argv[1])" "http://127.0.0.1:$gate_port/readyz" 2>/dev/null && break; sleep 0.1; done

say "A pipeline opens the upgrade window (a patch bump: the policy gives it a 6s soak)"
"$gate" window open demo-upgrade --url "http://127.0.0.1:$gate_port" --token-file "$work/token" \
    --component demo --from v1.4.2 --to v1.4.3 --label job=demo
sleep 8
"$gate" status --url "http://127.0.0.1:$gate_port"

say "The upgrade breaks things: the worker stops answering scrapes, the api restarts and errors triple"
rm "$work/worker/metrics"
write_metrics "$work/api" 0.03 4
verdict() { python3 -c "import json,sys,urllib.request; print(json.load(urllib.request.urlopen(sys.argv[1]))['verdict'])" "http://127.0.0.1:$gate_port/api/v1/gate/demo-upgrade"; }
for _ in $(seq 1 60); do [ "$(verdict)" = fail ] && break; sleep 0.5; done

say "What Flagger / Argo Rollouts poll: GET /api/v1/gate/demo-upgrade"
python3 -c "import json,sys,urllib.request; b=json.load(urllib.request.urlopen(sys.argv[1])); print(json.dumps({k: b[k] for k in ('verdict','healthy','pass','reasons')}, indent=2))" \
    "http://127.0.0.1:$gate_port/api/v1/gate/demo-upgrade"

say "What on-call reads: upgrade-gate status demo-upgrade"
"$gate" status --url "http://127.0.0.1:$gate_port" demo-upgrade

say "The gate log"
grep -E "opened|verdict" "$work/gate.log" | cut -c1-400
