#!/usr/bin/env bash
# Fault script of the high-availability mode: three replicas against the fake Kubernetes API server
# of the test suite and a real Prometheus, the leader killed with kill -9 again and again (right
# after an accepted alert, between a restore intent and its Restore, at random). It checks that
# every failed window is restored exactly once, no accepted alert and no window is lost, and that
# every replica's gate answer follows the leader's; it prints failover and follower-lag numbers.
# Usage: Benchmarks/ha-fault.sh [kills]   (default 20; loopback only; every wait is bounded)
set -euo pipefail
kills=${1:-20}
cd "$(dirname "$0")/.."
swift build --build-tests
UPGRADE_GATE_HA_KILLS=$kills swift test --skip-build --filter HighAvailabilityFaultTests 2>&1 | grep -E 'HA-REPORT|✔|✘'
