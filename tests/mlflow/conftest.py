"""A real `steward serve` for the real `mlflow` client (docs/ecosystem.md).

STEWARD_BIN names the binary (`target/debug/steward` by default). Each test session gets a
fresh SQLite database in a temporary directory, tenants `acme` and `globex`, and the client's
environment: MLFLOW_TRACKING_URI, MLFLOW_TRACKING_TOKEN (a model owner of `acme`) and
MLFLOW_HTTP_REQUEST_MAX_RETRIES=0, so a 5xx fails at once instead of being retried.
"""

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from steward_server import Steward  # noqa: E402


@pytest.fixture(scope="session")
def steward():
    s = Steward()
    s.create_tenants("acme", "globex")
    os.environ["MLFLOW_TRACKING_URI"] = s.url
    os.environ["MLFLOW_TRACKING_TOKEN"] = s.token("acme", "model_owner")
    os.environ["MLFLOW_HTTP_REQUEST_MAX_RETRIES"] = "0"
    yield s
    s.stop()


@pytest.fixture
def client(steward):
    from mlflow import MlflowClient

    return MlflowClient(tracking_uri=steward.url, registry_uri=steward.url)
