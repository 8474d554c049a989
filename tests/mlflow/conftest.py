"""A real `steward serve` for the real `mlflow` client (docs/ecosystem.md).

STEWARD_BIN names the binary (`target/debug/steward` by default). Each test session gets a
fresh SQLite database in a temporary directory, tenants `acme` and `globex`, and the client's
environment: MLFLOW_TRACKING_URI, MLFLOW_TRACKING_TOKEN (a model owner of `acme`) and
MLFLOW_HTTP_REQUEST_MAX_RETRIES=0, so a 5xx fails at once instead of being retried.
"""

import json
import os
import subprocess
import tempfile
import urllib.request

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class Steward:
    def __init__(self):
        self.bin = os.path.abspath(os.environ.get("STEWARD_BIN", os.path.join(ROOT, "target", "debug", "steward")))
        if not os.path.exists(self.bin):
            raise RuntimeError(f"no steward binary at {self.bin}: build it or set STEWARD_BIN")
        self.dir = tempfile.mkdtemp(prefix="steward-mlflow-")
        self.env = dict(os.environ)
        self.env.update(
            STEWARD_DATABASE_URL=f"sqlite://{self.dir}/steward.db?mode=rwc",
            STEWARD_CONFIG=os.path.join(self.dir, "steward.toml"),
            STEWARD_MONITORING_SCHEDULER_INTERVAL_MS="0",
            STEWARD_OUTBOX_INTERVAL_MS="0",
        )
        open(self.env["STEWARD_CONFIG"], "w").close()
        self.proc = subprocess.Popen(
            [self.bin, "serve", "--listen", "127.0.0.1:0"],
            cwd=self.dir,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        for line in self.proc.stdout:
            if line.startswith("steward listening on "):
                self.url = line.split("steward listening on ", 1)[1].strip()
                break
        else:
            raise RuntimeError("steward serve exited before listening")

    def token(self, tenant, role, sub="mlflow-user"):
        out = subprocess.run(
            [self.bin, "token", "--tenant", tenant, "--role", role, "--sub", sub, "--ttl", "1h"],
            cwd=self.dir,
            env=self.env,
            check=True,
            capture_output=True,
            text=True,
        )
        return out.stdout.strip()

    def graphql(self, token, query):
        req = urllib.request.Request(
            f"{self.url}/graphql",
            data=json.dumps({"query": query}).encode(),
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req) as resp:
            body = json.load(resp)
        assert "errors" not in body, body
        return body["data"]

    def stop(self):
        self.proc.kill()
        self.proc.wait()


@pytest.fixture(scope="session")
def steward():
    s = Steward()
    for slug in ("acme", "globex"):
        admin = s.token(slug, "platform_admin", sub="ops")
        s.graphql(admin, f'mutation {{ createTenant(input: {{slug: "{slug}", name: "{slug}"}}) {{ slug }} }}')
    os.environ["MLFLOW_TRACKING_URI"] = s.url
    os.environ["MLFLOW_TRACKING_TOKEN"] = s.token("acme", "model_owner")
    os.environ["MLFLOW_HTTP_REQUEST_MAX_RETRIES"] = "0"
    yield s
    s.stop()


@pytest.fixture
def client(steward):
    from mlflow import MlflowClient

    return MlflowClient(tracking_uri=steward.url, registry_uri=steward.url)
