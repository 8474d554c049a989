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
import sys
import uuid
from typing import Any, Dict, Iterator, List, Optional

import pyarrow as pa
import pytest

from steward_client import Client, ModelVersion, RetryPolicy

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

#: Small pauses between attempts, so that retry tests take milliseconds.
FAST_RETRY = RetryPolicy(max_attempts=4, backoff_initial=0.01, backoff_max=0.05)
UPLOAD_LIMIT = 1024 * 1024


# The same `steward serve` harness as the repository's other client suites (tests/).
sys.path.insert(0, os.path.join(ROOT, "tests"))
from steward_server import Steward  # noqa: E402


@pytest.fixture(scope="session")
def steward() -> Iterator[Steward]:
    s = Steward(env={"STEWARD_API_MAX_UPLOAD_BYTES": str(UPLOAD_LIMIT)})
    try:
        s.create_tenants("acme", "globex")
        yield s
    finally:
        s.stop()


@pytest.fixture(scope="session")
def owner_token(steward: Steward) -> str:
    return steward.token("acme", "model_owner", sub="pyclient")


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
