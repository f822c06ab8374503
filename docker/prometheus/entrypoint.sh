#!/bin/sh
# The scrape config: every replica in TRIAGE_TARGETS (host:port,host:port), GET /metrics with
# the metrics key (a bearer token read from TRIAGE_METRICS_KEY_FILE at each scrape).
set -eu
: "${TRIAGE_TARGETS:?set TRIAGE_TARGETS, e.g. 127.0.0.1:8101,127.0.0.1:8102}"
key_file=${TRIAGE_METRICS_KEY_FILE:-/run/triage/metrics.key}
interval=${TRIAGE_SCRAPE_INTERVAL:-15s}
targets=$(echo "$TRIAGE_TARGETS" | sed 's/[^,][^,]*/"&"/g; s/,/, /g')
cat > /tmp/prometheus.yml <<YAML
global:
  scrape_interval: $interval
  evaluation_interval: $interval
scrape_configs:
  - job_name: triage
    metrics_path: /metrics
    authorization:
      type: Bearer
      credentials_file: $key_file
    static_configs:
      - targets: [$targets]
YAML
exec prometheus --config.file=/tmp/prometheus.yml --storage.tsdb.path=/prometheus \
    --web.listen-address="${PROMETHEUS_LISTEN:-127.0.0.1:9090}" "$@"
