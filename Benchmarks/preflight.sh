#!/usr/bin/env bash
# Preflight on a 5,000-object manifest stream (release build): median wall time and peak RSS of
# `upgrade-gate preflight --manifests -` over several runs, for the table and the JSON output.
# The stream is what `helm template` prints for a large platform: Deployments with pinned and unpinned
# images, Services, ConfigMaps, CronJobs in a removed API version, Ingresses, HPAs, a few CRDs.
# Usage: Benchmarks/preflight.sh PATH/TO/upgrade-gate [runs] [objects]
# No network: everything is read from standard input.
set -euo pipefail
gate=${1:?usage: preflight.sh PATH/TO/upgrade-gate [runs] [objects]}
runs=${2:-7}
objects=${3:-5000}
work=$(mktemp -d /tmp/upgrade-gate-preflight-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

python3 - "$objects" > "$work/stream.yaml" <<'PY'
import sys
n = int(sys.argv[1])
digest = "sha256:" + "ab" * 32
kinds = ["deployment", "service", "configmap", "cronjob", "ingress", "hpa", "crd"]
out = []
for i in range(n):
    kind = kinds[i % len(kinds)]
    ns = f"team-{i % 40}"
    out.append(f"---\n# Source: platform/templates/{kind}-{i}.yaml")
    if kind == "deployment":
        image = f"ghcr.io/example/app-{i}:1.{i % 30}.{i % 7}@{digest}" if i % 10 else f"ghcr.io/example/app-{i}:latest"
        out.append(f"""apiVersion: apps/v1
kind: Deployment
metadata:
  name: app-{i}
  namespace: {ns}
  labels: {{app.kubernetes.io/name: app-{i}, app.kubernetes.io/version: "1.{i % 30}.{i % 7}"}}
spec:
  replicas: 2
  selector: {{matchLabels: {{app: app-{i}}}}}
  template:
    metadata: {{labels: {{app: app-{i}}}}}
    spec:
      initContainers:
        - name: migrate
          image: ghcr.io/example/migrate:2.4.1@{digest}
      containers:
        - name: app
          image: {image}
          ports: [{{containerPort: 8080, name: http}}]
          env:
            - {{name: LOG_LEVEL, value: info}}
            - {{name: REGION, value: eu-west-1}}
          resources: {{requests: {{cpu: 100m, memory: 128Mi}}, limits: {{memory: 256Mi}}}}""")
    elif kind == "service":
        out.append(f"""apiVersion: v1
kind: Service
metadata: {{name: app-{i}, namespace: {ns}}}
spec:
  selector: {{app: app-{i}}}
  ports: [{{port: 80, targetPort: http}}]""")
    elif kind == "configmap":
        data = "\n".join(f"  key-{k}: value-{i}-{k}" for k in range(10))
        out.append(f"""apiVersion: v1
kind: ConfigMap
metadata: {{name: config-{i}, namespace: {ns}}}
data:
{data}""")
    elif kind == "cronjob":
        api = "batch/v1beta1" if i % 3 == 0 else "batch/v1"
        out.append(f"""apiVersion: {api}
kind: CronJob
metadata: {{name: job-{i}, namespace: {ns}}}
spec:
  schedule: "*/5 * * * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: OnFailure
          containers: [{{name: job, image: "ghcr.io/example/job:3.1.0@{digest}"}}]""")
    elif kind == "ingress":
        api = "networking.k8s.io/v1beta1" if i % 5 == 0 else "networking.k8s.io/v1"
        out.append(f"""apiVersion: {api}
kind: Ingress
metadata: {{name: web-{i}, namespace: {ns}}}
spec:
  rules:
    - host: app-{i}.example.com
      http:
        paths: [{{path: /, pathType: Prefix, backend: {{service: {{name: app-{i}, port: {{number: 80}}}}}}}}]""")
    elif kind == "hpa":
        api = "autoscaling/v2beta2" if i % 4 == 0 else "autoscaling/v2"
        out.append(f"""apiVersion: {api}
kind: HorizontalPodAutoscaler
metadata: {{name: app-{i}, namespace: {ns}}}
spec:
  scaleTargetRef: {{apiVersion: apps/v1, kind: Deployment, name: app-{i}}}
  minReplicas: 2
  maxReplicas: 10""")
    else:
        out.append(f"""apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {{name: widgets{i}.example.com}}
spec:
  group: example.com
  names: {{kind: Widget{i}, plural: widgets{i}}}
  scope: Namespaced
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          properties:
            spec:
              type: object
              properties:
                size: {{type: integer}}
                color: {{type: string}}""")
print("\n".join(out))
PY
bytes=$(wc -c < "$work/stream.yaml")
echo "stream: $objects objects, $bytes bytes"

for output in table json; do
    times=(); rss=()
    for _ in $(seq "$runs"); do
        # GNU time is not always installed: python measures wall time and the child's peak RSS.
        read -r seconds kilobytes code < <(python3 - "$gate" "$output" "$work/stream.yaml" <<'PY'
import resource, subprocess, sys, time
gate, output, stream = sys.argv[1:4]
with open(stream, "rb") as f:
    start = time.monotonic()
    proc = subprocess.run([gate, "preflight", "--manifests", "-", "--kubernetes-version", "1.32", "--output", output],
                          stdin=f, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=300)
    elapsed = time.monotonic() - start
print(f"{elapsed:.3f} {resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss} {proc.returncode}")
PY
        )
        [ "$code" = 1 ] || { echo "unexpected exit code $code (the stream has failing findings)"; exit 1; }
        times+=("$seconds"); rss+=("$kilobytes")
    done
    printf 'preflight --output %-5s median %ss over %d runs (min %ss, max %ss), peak RSS median %s MiB\n' "$output" \
        "$(printf '%s\n' "${times[@]}" | median)" "$runs" \
        "$(printf '%s\n' "${times[@]}" | sort -g | head -1)" "$(printf '%s\n' "${times[@]}" | sort -g | tail -1)" \
        "$(printf '%s\n' "${rss[@]}" | median | awk '{printf "%.1f", $1/1024}')"
done
"$gate" preflight --manifests - --kubernetes-version 1.32 --output json < "$work/stream.yaml" \
    | python3 -c 'import json,sys; r=json.load(sys.stdin); print("findings:", r["summary"], "objects:", r["objects"])' || true
