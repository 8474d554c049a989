"""A real `steward serve` for the Python client's tests.

STEWARD_BIN names the binary (`target/debug/steward` under the repository root by default). The
session gets a fresh SQLite database in a temporary directory, the scheduler and the outbox relay
off (the tests evaluate windows themselves with `evaluateNow`), uploads limited to 1 MiB (so a
413 is cheap to provoke), and tenants `acme` and `globex` created by a platform admin.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import tempfile
import urllib.error
import urllib.request
import uuid
from typing import Any, Dict, Iterator, List, Optional

import pyarrow as pa
import pytest

from steward_client import Client, ModelVersion, RetryPolicy

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

#: Small pauses between attempts, so that retry tests take milliseconds.
FAST_RETRY = RetryPolicy(max_attempts=4, backoff_initial=0.01, backoff_max=0.05)
UPLOAD_LIMIT = 1024 * 1024


class Steward:
    """One `steward serve` process and the tools to talk to it outside the client."""

    def __init__(self) -> None:
        self.bin = os.path.abspath(
            os.environ.get("STEWARD_BIN", os.path.join(ROOT, "target", "debug", "steward"))
        )
        if not os.path.exists(self.bin):
            raise RuntimeError(f"no steward binary at {self.bin}: build it or set STEWARD_BIN")
        self.dir = tempfile.mkdtemp(prefix="steward-pyclient-")
        self.env = dict(os.environ)
        self.env.update(
            STEWARD_DATABASE_URL=f"sqlite://{self.dir}/steward.db?mode=rwc",
            STEWARD_CONFIG=os.path.join(self.dir, "steward.toml"),
            STEWARD_MONITORING_SCHEDULER_INTERVAL_MS="0",
            STEWARD_OUTBOX_INTERVAL_MS="0",
            STEWARD_API_MAX_UPLOAD_BYTES=str(UPLOAD_LIMIT),
        )
        open(self.env["STEWARD_CONFIG"], "w").close()
        self.log = open(os.path.join(self.dir, "serve.log"), "w")
        self.proc = subprocess.Popen(
            [self.bin, "serve", "--listen", "127.0.0.1:0"],
            cwd=self.dir,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=self.log,
            text=True,
        )
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if line.startswith("steward listening on "):
                self.url = line.split("steward listening on ", 1)[1].strip()
                break
        else:
            raise RuntimeError(f"steward serve exited before listening; see {self.dir}/serve.log")

    def token(self, tenant: str, role: str, sub: str = "pyclient") -> str:
        """A development token from `steward token`."""
        out = subprocess.run(
            [self.bin, "token", "--tenant", tenant, "--role", role, "--sub", sub, "--ttl", "1h"],
            cwd=self.dir,
            env=self.env,
            check=True,
            capture_output=True,
            text=True,
        )
        return out.stdout.strip()

    def graphql(
        self, token: str, query: str, variables: Optional[Dict[str, Any]] = None
    ) -> Dict[str, Any]:
        """A GraphQL call that does not go through the client under test."""
        req = urllib.request.Request(
            f"{self.url}/graphql",
            data=json.dumps({"query": query, "variables": variables or {}}).encode(),
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req) as resp:
            body = json.load(resp)
        assert "errors" not in body, body
        data: Dict[str, Any] = body["data"]
        return data

    def stop(self) -> None:
        self.proc.kill()
        self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="session")
def steward() -> Iterator[Steward]:
    s = Steward()
    try:
        for slug in ("acme", "globex"):
            admin = s.token(slug, "platform_admin", sub="ops")
            s.graphql(
                admin,
                "mutation($i: CreateTenantInput!) { createTenant(input: $i) { slug } }",
                {"i": {"slug": slug, "name": slug}},
            )
        yield s
    finally:
        s.stop()


@pytest.fixture(scope="session")
def owner_token(steward: Steward) -> str:
    return steward.token("acme", "model_owner")


@pytest.fixture(scope="session")
def sre_token(steward: Steward) -> str:
    return steward.token("acme", "sre", sub="oncall")


@pytest.fixture
def client(steward: Steward, owner_token: str) -> Client:
    """A model owner of `acme`."""
    return Client(steward.url, token=owner_token, retry=FAST_RETRY, timeout=30)


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


SCHEMA = {"amount": "FLOAT", "country": "CATEGORICAL"}
COUNTRIES = ["DE", "FR", "US", "BR"]


def reference_rows(n: int = 200) -> Dict[str, List[Any]]:
    """A reference data set for the baseline: the schema's features and a score."""
    return {
        "amount": [50.0 + (i * 37) % 100 for i in range(n)],
        "country": [COUNTRIES[i % len(COUNTRIES)] for i in range(n)],
        "prediction": [((i * 13) % 100) / 100 for i in range(n)],
    }


def previous_hour() -> dt.datetime:
    """Half past the previous hour: inside a window that has ended, so `evaluateNow` takes it
    (the versions made here wait a day for late rows, so the window is still open to rows)."""
    now = dt.datetime.now(dt.timezone.utc)
    return now.replace(minute=30, second=0, microsecond=0) - dt.timedelta(hours=1)


def production_rows(n: int, offset: int = 0) -> Dict[str, List[Any]]:
    """Production rows for the previous hour's window."""
    at = previous_hour().isoformat()
    return {
        "amount": [55.0 + ((i + offset) * 31) % 90 for i in range(n)],
        "country": [COUNTRIES[(i + offset) % len(COUNTRIES)] for i in range(n)],
        "prediction": [(((i + offset) * 7) % 100) / 100 for i in range(n)],
        "event_time": [at] * n,
    }


@pytest.fixture
def version(client: Client, steward: Steward, owner_token: str) -> ModelVersion:
    """A fresh model with one version and an active baseline, waiting a day for late rows."""
    model = client.register_model(unique("churn"), owner_team="growth", risk_tier="medium")
    steward.graphql(
        owner_token,
        "mutation($i: ConfigureMonitoringInput!) {"
        " configureMonitoring(input: $i) { latenessSeconds } }",
        {"i": {"modelId": model.id, "latenessSeconds": 86400}},
    )
    v = client.register_version(
        model,
        artifact_uri="s3://models/churn/1/model.pkl",
        artifact_digest="ab" * 32,
        framework="sklearn",
        input_schema=SCHEMA,
        metrics={"accuracy": 0.9, "auc": 0.95},
    )
    client.upload_baseline(v, pa.table(reference_rows()))
    return v


class Monitor:
    """What the server counted, read back through GraphQL (not through the client)."""

    def __init__(self, steward: Steward, owner_token: str, sre_token: str) -> None:
        self.steward = steward
        self.owner = owner_token
        self.sre = sre_token

    def evaluated_rows(self, version_id: str) -> int:
        """Evaluates the version's ended windows now and returns the rows counted in them."""
        self.steward.graphql(
            self.sre,
            "mutation($v: ID!) { evaluateNow(modelVersionId: $v) { windowId rows } }",
            {"v": version_id},
        )
        return sum(
            s["rows"] for w in self.windows(version_id) for s in w["slices"] if s["slice"] == ""
        )

    def windows(self, version_id: str) -> List[Dict[str, Any]]:
        windows: List[Dict[str, Any]] = self.steward.graphql(
            self.owner,
            "query($v: ID!) { windows(modelVersionId: $v) { id status lateRows"
            " slices { slice rows } performance { slice labelledRows }"
            " kpis { slice name total count } } }",
            {"v": version_id},
        )["windows"]
        return windows

    def labelled_rows(self, version_id: str) -> int:
        return sum(
            p["labelledRows"]
            for w in self.windows(version_id)
            for p in w["performance"]
            if p["slice"] == ""
        )


@pytest.fixture
def monitor(steward: Steward, owner_token: str, sre_token: str) -> Monitor:
    return Monitor(steward, owner_token, sre_token)
