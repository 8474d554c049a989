"""A real `steward serve` for the tests that drive Steward with real clients: the `mlflow`
client (tests/mlflow), `openlineage-python` (tests/openlineage) and Steward's own Python client
(clients/python/tests).

STEWARD_BIN names the binary (`target/debug/steward` under the repository root by default).
Each instance gets a fresh SQLite database in a temporary directory (removed by `stop`), the
scheduler and the outbox relay off (tests evaluate and deliver when they choose), and its log in
`serve.log` there; `token` mints development tokens, `graphql` asks without any client under
test.
"""

import json
import os
import shutil
import subprocess
import tempfile
import threading
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class Steward:
    """One `steward serve` process; `env` adds or overrides STEWARD_* settings."""

    def __init__(self, env=None):
        self.bin = os.path.abspath(os.environ.get("STEWARD_BIN", os.path.join(ROOT, "target", "debug", "steward")))
        if not os.path.exists(self.bin):
            raise RuntimeError(f"no steward binary at {self.bin}: build it or set STEWARD_BIN")
        self.dir = tempfile.mkdtemp(prefix="steward-test-")
        self.env = dict(os.environ)
        self.env.update(
            STEWARD_DATABASE_URL=f"sqlite://{self.dir}/steward.db?mode=rwc",
            STEWARD_CONFIG=os.path.join(self.dir, "steward.toml"),
            STEWARD_MONITORING_SCHEDULER_INTERVAL_MS="0",
            STEWARD_OUTBOX_INTERVAL_MS="0",
        )
        self.env.update(env or {})
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
        for line in self.proc.stdout:
            if line.startswith("steward listening on "):
                self.url = line.split("steward listening on ", 1)[1].strip()
                break
        else:
            raise RuntimeError(f"steward serve exited before listening; see {self.dir}/serve.log")
        # The server logs to standard output: keep draining it into a file, or the pipe fills
        # and the server blocks on its next log line.
        self.out = open(os.path.join(self.dir, "serve.out"), "w")
        self.drain = threading.Thread(target=self._drain, daemon=True)
        self.drain.start()

    def _drain(self):
        for line in self.proc.stdout:
            self.out.write(line)

    def token(self, tenant, role, sub="test-user"):
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

    def graphql(self, token, query, variables=None):
        """A GraphQL call that must succeed; its `data`."""
        req = urllib.request.Request(
            f"{self.url}/graphql",
            data=json.dumps({"query": query, "variables": variables or {}}).encode(),
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req) as resp:
            body = json.load(resp)
        assert "errors" not in body, body
        return body["data"]

    def create_tenants(self, *slugs):
        """Creates tenants through the API, as a platform admin of each."""
        for slug in slugs:
            admin = self.token(slug, "platform_admin", sub="ops")
            self.graphql(
                admin,
                "mutation($i: CreateTenantInput!) { createTenant(input: $i) { slug } }",
                {"i": {"slug": slug, "name": slug}},
            )

    def stop(self):
        self.proc.kill()
        self.proc.wait()
        self.drain.join(timeout=5)
        self.proc.stdout.close()
        self.out.close()
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)
