"""A real `steward serve` for the tests that drive Steward with real third-party clients (the
`mlflow` client in tests/mlflow, `openlineage-python` in tests/openlineage).

STEWARD_BIN names the binary (`target/debug/steward` by default). Each instance gets a fresh
SQLite database in a temporary directory; `token` mints development tokens, `graphql` asks.
"""

import json
import os
import subprocess
import tempfile
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


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
