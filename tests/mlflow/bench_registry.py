"""Figures of Steward's MLflow-compatible API through the real client, one process (not a test:
run it by hand). Prints the median rate of `create_model_version` and the p50/p99 of
`search_model_versions("name='...'")` on a model with N versions.

    STEWARD_BIN=target/release/steward BENCH_VERSIONS=10000 \\
      /var/tmp/steward-mlflow-venv/bin/python tests/mlflow/bench_registry.py
"""

import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from conftest import Steward  # noqa: E402

DIGEST = "sha256:" + "ab" * 32


def main():
    n = int(os.environ.get("BENCH_VERSIONS", "2000"))
    s = Steward()
    admin = s.token("acme", "platform_admin", sub="ops")
    s.graphql(admin, 'mutation { createTenant(input: {slug: "acme", name: "acme"}) { slug } }')
    os.environ["MLFLOW_TRACKING_URI"] = s.url
    os.environ["MLFLOW_TRACKING_TOKEN"] = s.token("acme", "model_owner")
    os.environ["MLFLOW_HTTP_REQUEST_MAX_RETRIES"] = "0"
    from mlflow import MlflowClient

    c = MlflowClient(tracking_uri=s.url, registry_uri=s.url)
    c.create_registered_model("bench")
    rates = []
    done = 0
    while done < n:
        batch = min(500, n - done)
        start = time.perf_counter()
        for i in range(batch):
            c.create_model_version("bench", f"s3://m/bench/{done + i}", tags={"steward.artifact_digest": DIGEST})
        rates.append(batch / (time.perf_counter() - start))
        done += batch
    times = []
    for _ in range(50):
        start = time.perf_counter()
        found = c.search_model_versions("name='bench'", max_results=100)
        times.append(time.perf_counter() - start)
        assert len(found) == 100
    times.sort()
    print(f"create_model_version: median {statistics.median(rates):.0f}/s over {len(rates)} batches")
    print(f"search_model_versions over {n} versions (first page of 100): p50 {times[len(times) // 2] * 1000:.1f} ms, p99 {times[-1] * 1000:.1f} ms")
    s.stop()


if __name__ == "__main__":
    main()
