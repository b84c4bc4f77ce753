# The README's commands. Each installs the Debian packages it needs if they are missing.
SHELL := /bin/bash
APT_PACKAGES := prometheus prometheus-alertmanager etcd-server libcurl4-openssl-dev libsqlite3-dev libre2-dev openssl python3 lua5.4
SUDO := $(shell [ "$$(id -u)" -eq 0 ] || echo sudo)
SWIFT_TEST_FLAGS ?=

.PHONY: deps build release test demo bench fault clean

deps:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  $(SUDO) apt-get update -qq && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi
	@python3 -c 'import kubernetes_validate' 2>/dev/null || python3 -m pip install --quiet kubernetes-validate==1.37.0

build: deps
	swift build

release: deps
	swift build -c release

# Unit tests, tests against real Prometheus/Alertmanager/etcd started on loopback, promtool rule tests.
test: deps
	swift build --build-tests
	# One test at a time: the integration tests serve Prometheus exporters and a fake Kubernetes API from this test
	# process, and on a 2-core machine CPU-heavy suites running beside them (statistics corpus, fuzzing, RE2 on 100 kB
	# values) kept those servers from answering Prometheus's 1 s scrapes in time (up = 0, false fails).
	swift test --skip-build --no-parallel $(SWIFT_TEST_FLAGS)

# The etcd-upgrade story on loopback: 3-member etcd, Prometheus with alert-rules/, Alertmanager → the gate.
demo: deps
	swift build -c release --product upgrade-gate
	deploy/local/demo.sh "$$(swift build -c release --show-bin-path)/upgrade-gate"

clean:
	rm -rf .build

# Benchmarks (release build, loopback only; needs wrk, and webhook, which the script installs).
bench: release
	@command -v wrk >/dev/null || $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk
	Benchmarks/gate-poll.sh "$$(swift build -c release --show-bin-path)/upgrade-gate"
	Benchmarks/connections.sh "$$(swift build -c release --show-bin-path)/upgrade-gate"
	Benchmarks/alertmanager-ingest.sh "$$(swift build -c release --show-bin-path)/upgrade-gate"
	swift build -c release --product statistical-judging-benchmark
	"$$(swift build -c release --show-bin-path)/statistical-judging-benchmark"
	Benchmarks/preflight.sh "$$(swift build -c release --show-bin-path)/upgrade-gate"
	Benchmarks/regex.sh "$$(swift build -c release --show-bin-path)/upgrade-gate" "$$(swift build -c release --show-bin-path)/RegexBenchmark"

# Fault script: random kill -9 under load, then check nothing acknowledged was lost.
fault: release
	Benchmarks/fault.sh "$$(swift build -c release --show-bin-path)/upgrade-gate"
