#!/usr/bin/env bash
# The Grafana dashboards read into Grafana's own models (grafana_models.py), and Debian's
# Prometheus scraping `steward serve --demo`: the alert rules checked and unit-tested
# with promtool, the example Prometheus and Alertmanager configurations checked, then every
# Grafana dashboard query asked of the Prometheus that scraped Steward (check_dashboards.py).
# Needs `prometheus`, `promtool` and `amtool` (Debian: prometheus, prometheus-alertmanager) and
# a built `steward` (STEWARD_BIN, default target/debug/steward). A missing tool is a failure.
set -euo pipefail
cd "$(dirname "$0")/../.."
STEWARD_BIN=${STEWARD_BIN:-target/debug/steward}
for tool in prometheus promtool amtool; do
  command -v "$tool" >/dev/null || { echo "missing $tool (apt-get install prometheus prometheus-alertmanager)"; exit 1; }
done
[ -x "$STEWARD_BIN" ] || { echo "missing $STEWARD_BIN (cargo build -p steward-server)"; exit 1; }

# Grafana's own dashboard models (the Foundation SDK, pinned) in a virtual environment outside
# the clone, reused when present.
GRAFANA_VENV=${STEWARD_GRAFANA_VENV:-/var/tmp/steward-grafana-venv}
GRAFANA_SDK='grafana-foundation-sdk==1769699379!11.6.0'
if ! "$GRAFANA_VENV/bin/python" -c "import sys; from importlib.metadata import version; sys.exit(version('grafana-foundation-sdk') != '1769699379!11.6.0')" 2>/dev/null; then
  python3 -m venv "$GRAFANA_VENV"
  "$GRAFANA_VENV/bin/pip" install -q "$GRAFANA_SDK"
fi
"$GRAFANA_VENV/bin/python" tests/prometheus/grafana_models.py deploy/grafana/dashboards

promtool check rules deploy/prometheus/steward-rules.yml
promtool test rules deploy/prometheus/steward-rules.test.yml
promtool check config deploy/prometheus/prometheus.yml
amtool check-config deploy/alertmanager/alertmanager.yml

WORK=$(mktemp -d /tmp/steward-prometheus.XXXXXX)
free_port() { python3 -c "import socket; s = socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])"; }
STEWARD_PORT=$(free_port)
PROM_PORT=$(free_port)
TOKEN=check-dashboards-$(date +%s)-token
BIN=$(realpath "$STEWARD_BIN")
# `exec` makes the background job the server itself, so the trap's kill reaches it.
(cd "$WORK" && exec env STEWARD_METRICS_TOKEN="$TOKEN" STEWARD_DATABASE_URL="sqlite://$WORK/steward.db?mode=rwc" \
  "$BIN" serve --demo --listen "127.0.0.1:$STEWARD_PORT" >"$WORK/steward.log" 2>&1) &
STEWARD_PID=$!
trap 'kill $STEWARD_PID 2>/dev/null || true; kill ${PROM_PID:-} 2>/dev/null || true' EXIT
# The demo replays two weeks of monitoring in the background; the dashboards need all of it.
for _ in $(seq 1 300); do
  grep -q "demo: replayed two weeks" "$WORK/steward.log" && break
  kill -0 "$STEWARD_PID" 2>/dev/null || { cat "$WORK/steward.log"; exit 1; }
  sleep 1
done
grep -q "demo: replayed two weeks" "$WORK/steward.log" || { tail -30 "$WORK/steward.log"; exit 1; }

cat >"$WORK/prometheus.yml" <<YAML
global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files:
  - $PWD/deploy/prometheus/steward-rules.yml
scrape_configs:
  - job_name: steward
    authorization:
      credentials: $TOKEN
    static_configs:
      - targets: ["127.0.0.1:$STEWARD_PORT"]
YAML
prometheus --config.file="$WORK/prometheus.yml" --storage.tsdb.path="$WORK/data" \
  --web.listen-address="127.0.0.1:$PROM_PORT" >"$WORK/prometheus.log" 2>&1 &
PROM_PID=$!
PROM=http://127.0.0.1:$PROM_PORT
for _ in $(seq 1 60); do
  curl -sf "$PROM/api/v1/query?query=up%7Bjob%3D%22steward%22%7D%3D%3D1" | grep -q '"value"' && break
  sleep 1
done
curl -sf "$PROM/api/v1/query?query=up%7Bjob%3D%22steward%22%7D%3D%3D1" | grep -q '"value"' \
  || { tail -20 "$WORK/prometheus.log"; curl -s "$PROM/api/v1/targets"; exit 1; }
# Traffic for the rate() panels while Prometheus scrapes every second.
DEMO_TOKEN=$(grep -o 'STEWARD_TOKEN=[^ ]*' "$WORK/steward.log" | head -1 | cut -d= -f2)
for _ in $(seq 1 15); do
  curl -sf "http://127.0.0.1:$STEWARD_PORT/graphql" -H "Authorization: Bearer $DEMO_TOKEN" \
    -H 'Content-Type: application/json' -d '{"query":"{ models(first: 10) { nodes { name } } }"}' >/dev/null
  sleep 1
done
python3 tests/prometheus/check_dashboards.py "$PROM" deploy/grafana/dashboards
