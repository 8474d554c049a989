"""Figures of Steward's MLflow-compatible API through the real client, one process (not a test:
run it by hand), optionally side by side with a real MLflow tracking server on SQLite measured
in the same run on the same machine.

Measures, with the same `MlflowClient` code and the same N for every server:
  * `create_model_version` rate: N versions of one model in batches of 500, median of the
    per-batch rates. Servers alternate every 25 calls within a batch, so each server's batch
    spans the same stretch of wall time and outside load hits all of them alike;
  * `search_model_versions("name='bench'", max_results=100)` p50/p99 (nearest rank) over
    BENCH_SEARCHES runs (default 200) once the model has N versions, alternating call by call;
  * the client's own CPU time per call (time.process_time of this process; the servers are
    other processes), and wall time minus that, which is roughly the server plus the wire.

Steward only:

    STEWARD_BIN=target/release/steward BENCH_VERSIONS=10000 \\
      /var/tmp/steward-mlflow-venv/bin/python tests/mlflow/bench_registry.py

Against MLflow (MLFLOW_SERVER_BIN is the `mlflow` executable of a venv holding the full
`mlflow` package; the client venv only has mlflow-skinny, which has no server):

    python3.11 -m venv /var/tmp/steward-mlflow-server-venv
    /var/tmp/steward-mlflow-server-venv/bin/pip install mlflow==3.17.2
    STEWARD_BIN=target/release/steward \\
      MLFLOW_SERVER_BIN=/var/tmp/steward-mlflow-server-venv/bin/mlflow BENCH_VERSIONS=10000 \\
      /var/tmp/steward-mlflow-venv/bin/python tests/mlflow/bench_registry.py

The MLflow server runs as `mlflow server --backend-store-uri sqlite:///<tmp>/mlflow.db
--default-artifact-root <tmp>/artifacts --host 127.0.0.1 --port <free> --workers 1` (uvicorn,
its default server), with MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false unless the environment sets
it: otherwise it also starts a job runner with seven huey consumer processes that have nothing to
do with the registry and would only take CPU from MLflow itself on a small machine. Both clients
send the Steward bearer token (the client reads MLFLOW_TRACKING_TOKEN from the environment on
every request); an MLflow server without `--app-name basic-auth` ignores the Authorization
header. The figures depend on outside load: the header prints the load average.
"""

import math
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from conftest import Steward  # noqa: E402

DIGEST = "sha256:" + "ab" * 32
BATCH = 500
CHUNK = 25


class MlflowServer:
    """`mlflow server` on a fresh SQLite database, in its own process group so that stop() ends
    the CLI process and the uvicorn worker it spawns."""

    def __init__(self, bin_path):
        self.dir = tempfile.mkdtemp(prefix="steward-bench-mlflow-")
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        env = dict(os.environ)
        env.setdefault("MLFLOW_SERVER_ENABLE_JOB_EXECUTION", "false")
        env.pop("MLFLOW_TRACKING_URI", None)
        self.log = open(os.path.join(self.dir, "server.log"), "w")
        self.proc = subprocess.Popen(
            [
                bin_path, "server",
                "--backend-store-uri", f"sqlite:///{self.dir}/mlflow.db",
                "--default-artifact-root", f"{self.dir}/artifacts",
                "--host", "127.0.0.1",
                "--port", str(port),
                "--workers", "1",
            ],
            cwd=self.dir,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_ready(self):
        deadline = time.monotonic() + 120
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"mlflow server exited with {self.proc.returncode}:\n{self.tail()}")
            try:
                with urllib.request.urlopen(f"{self.url}/health", timeout=1) as resp:
                    if resp.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"mlflow server did not answer /health within 120 s:\n{self.tail()}")
            time.sleep(0.25)
        with urllib.request.urlopen(f"{self.url}/version", timeout=5) as resp:
            self.version = resp.read().decode().strip()

    def tail(self):
        self.log.flush()
        with open(self.log.name) as f:
            return "".join(f.readlines()[-20:])

    def stop(self):
        if self.proc.poll() is None or _group_alive(self.proc.pid):
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            deadline = time.monotonic() + 10
            while _group_alive(self.proc.pid) and time.monotonic() < deadline:
                self.proc.poll()
                time.sleep(0.1)
            if _group_alive(self.proc.pid):
                os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def _group_alive(pgid):
    try:
        os.killpg(pgid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


def percentile(sorted_values, p):
    return sorted_values[max(0, math.ceil(p * len(sorted_values)) - 1)]


def main():
    n = int(os.environ.get("BENCH_VERSIONS", "2000"))
    searches = int(os.environ.get("BENCH_SEARCHES", "200"))
    mlflow_bin = os.environ.get("MLFLOW_SERVER_BIN")
    servers = {}
    try:
        s = Steward()
        servers["steward"] = s
        admin = s.token("acme", "platform_admin", sub="ops")
        s.graphql(admin, 'mutation { createTenant(input: {slug: "acme", name: "acme"}) { slug } }')
        os.environ["MLFLOW_TRACKING_TOKEN"] = s.token("acme", "model_owner")
        os.environ["MLFLOW_HTTP_REQUEST_MAX_RETRIES"] = "0"
        if mlflow_bin:
            servers["mlflow"] = MlflowServer(mlflow_bin)
            servers["mlflow"].wait_ready()
        run(servers, n, searches)
    finally:
        for server in servers.values():
            server.stop()
        if "steward" in servers:
            shutil.rmtree(servers["steward"].dir, ignore_errors=True)


def run(servers, n, searches):
    import logging

    import mlflow
    from mlflow import MlflowClient

    # The client logs "Waiting up to 300 seconds for model version to finish creation" at INFO
    # on every create_model_version, whatever the server; keep the output readable.
    logging.getLogger("mlflow.store.model_registry.abstract_store").setLevel(logging.WARNING)

    names = list(servers)
    clients = {k: MlflowClient(tracking_uri=v.url, registry_uri=v.url) for k, v in servers.items()}
    for c in clients.values():
        c.create_registered_model("bench")

    # Each batch of BATCH versions per server is created in chunks of CHUNK calls, alternating
    # servers chunk by chunk (and which one goes first), so every server's batch spans the same
    # stretch of wall time and a burst of outside load hits all of them alike.
    rates = {k: [] for k in names}
    create_cpu = {k: 0.0 for k in names}
    create_wall = {k: 0.0 for k in names}
    load_start = os.getloadavg()[0]
    done = 0
    while done < n:
        batch = min(BATCH, n - done)
        wall = {k: 0.0 for k in names}
        for chunk_index, chunk_start in enumerate(range(0, batch, CHUNK)):
            order = names if chunk_index % 2 == 0 else names[::-1]
            for k in order:
                c = clients[k]
                cpu0, start = time.process_time(), time.perf_counter()
                for i in range(chunk_start, min(chunk_start + CHUNK, batch)):
                    c.create_model_version("bench", f"s3://m/bench/{done + i}", tags={"steward.artifact_digest": DIGEST})
                wall[k] += time.perf_counter() - start
                create_cpu[k] += time.process_time() - cpu0
        for k in names:
            rates[k].append(batch / wall[k])
            create_wall[k] += wall[k]
        done += batch
        print(f"  {done}/{n} versions: " + ", ".join(f"{k} {rates[k][-1]:.0f}/s" for k in names) + f" (load {os.getloadavg()[0]:.2f})", flush=True)
    for k, c in clients.items():
        latest = c.get_model_version("bench", str(n))
        assert latest.source == f"s3://m/bench/{n - 1}", (k, latest.source)

    times = {k: [] for k in names}
    search_cpu = {k: 0.0 for k in names}
    for j in range(searches):
        for k in names if j % 2 == 0 else names[::-1]:
            cpu0, start = time.process_time(), time.perf_counter()
            found = clients[k].search_model_versions("name='bench'", max_results=100)
            times[k].append(time.perf_counter() - start)
            search_cpu[k] += time.process_time() - cpu0
            assert len(found) == min(100, n), (k, len(found))
    for t in times.values():
        t.sort()

    header = (
        f"N={n} versions, {len(rates[names[0]])} batches of <= {BATCH} (interleaved by {CHUNK}), {searches} searches, "
        f"{os.cpu_count()} CPUs, load avg {load_start:.2f} -> {os.getloadavg()[0]:.2f}, client mlflow {mlflow.__version__}"
    )
    if "mlflow" in servers:
        header += f", server mlflow {servers['mlflow'].version} (SQLite)"
    print(header)
    rows = [
        ("create_model_version median (/s)", {k: statistics.median(rates[k]) for k in names}, "{:.0f}", True),
        ("create_model_version min batch (/s)", {k: min(rates[k]) for k in names}, "{:.0f}", True),
        ("create_model_version max batch (/s)", {k: max(rates[k]) for k in names}, "{:.0f}", True),
        ("create: client CPU per call (ms)", {k: create_cpu[k] * 1000 / n for k in names}, "{:.2f}", False),
        ("create: wall - client CPU per call (ms)", {k: (create_wall[k] - create_cpu[k]) * 1000 / n for k in names}, "{:.2f}", False),
        ("search_model_versions p50 (ms)", {k: percentile(times[k], 0.50) * 1000 for k in names}, "{:.1f}", False),
        ("search_model_versions p99 (ms)", {k: percentile(times[k], 0.99) * 1000 for k in names}, "{:.1f}", False),
        ("search_model_versions max (ms)", {k: times[k][-1] * 1000 for k in names}, "{:.1f}", False),
        ("search: client CPU per call (ms)", {k: search_cpu[k] * 1000 / searches for k in names}, "{:.2f}", False),
    ]
    cols = ["metric"] + names + (["ratio"] if "mlflow" in servers else [])
    table = []
    for label, values, fmt, higher_better in rows:
        line = [label] + [fmt.format(values[k]) for k in names]
        if "mlflow" in servers:
            ratio = values["steward"] / values["mlflow"] if higher_better else values["mlflow"] / values["steward"]
            line.append(f"{ratio:.1f}x")
        table.append(line)
    widths = [max(len(r[i]) for r in [cols] + table) for i in range(len(cols))]
    fmt_row = lambda r: "| " + " | ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))) + " |"  # noqa: E731
    print(fmt_row(cols))
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for r in table:
        print(fmt_row(r))
    if "mlflow" in servers:
        per_batch = sorted(a / b for a, b in zip(rates["steward"], rates["mlflow"]))
        print(f"create_model_version steward/mlflow per batch: median {statistics.median(per_batch):.1f}x, min {per_batch[0]:.1f}x, max {per_batch[-1]:.1f}x")
        print("ratio: steward/mlflow for rates, mlflow/steward for times (higher = Steward better)")


if __name__ == "__main__":
    main()
