"""Retries and idempotency keys, through a small local HTTP server that stands between the client
and the real Steward: it answers what each test scripts (503, 429, 400, a dropped connection, a
stall) and otherwise forwards the request to Steward and relays its answer."""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple, Type, Union
from urllib.parse import urlsplit

import pandas as pd
import pytest
from conftest import FAST_RETRY, Monitor, Steward, production_rows, unique

from steward_client import (
    Client,
    Conflict,
    ConnectionFailed,
    Invalid,
    ModelVersion,
    NotFound,
    RateLimited,
    RetryPolicy,
    StewardError,
    Unavailable,
    Unprocessable,
)

# A scripted answer: ("status", code, body, headers), or "forward" (to Steward), "forward-drop"
# (forward, then hang up without answering: the answer is lost after the server acted),
# "forward-stall" (forward, then say nothing past the client's timeout), "drop" (hang up at once).
Action = Union[str, Tuple[str, int, bytes, Dict[str, str]]]


def answer(status: int, body: Any = b"", headers: Optional[Dict[str, str]] = None) -> Action:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return ("status", status, raw, headers or {})


def steward_error(status: int, code: str, message: str) -> Action:
    return answer(status, {"errors": [{"message": message, "extensions": {"code": code}}]})


class Proxy:
    """Answers requests per its script, then forwards everything to `upstream`."""

    def __init__(self, upstream: str, script: Sequence[Action], stall_seconds: float = 1.0) -> None:
        self.script: List[Action] = list(script)
        self.seen: List[Dict[str, Any]] = []
        self.stall_seconds = stall_seconds
        self._lock = threading.Lock()
        target = urlsplit(upstream)
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with proxy._lock:
                    proxy.seen.append(
                        {"path": self.path, "headers": dict(self.headers), "body": body}
                    )
                    action = proxy.script.pop(0) if proxy.script else "forward"
                if action == "drop":
                    self.close_connection = True
                    return
                if isinstance(action, tuple):
                    _, status, payload, headers = action
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    for k, v in headers.items():
                        self.send_header(k, v)
                    self.end_headers()
                    self.wfile.write(payload)
                    return
                conn = http.client.HTTPConnection(target.hostname or "", target.port, timeout=30)
                forwarded = {
                    k: v
                    for k, v in self.headers.items()
                    if k.lower()
                    in ("authorization", "content-type", "idempotency-key", "x-steward-shadow")
                }
                conn.request("POST", self.path, body=body, headers=forwarded)
                resp = conn.getresponse()
                payload = resp.read()
                conn.close()
                if action == "forward-drop":
                    self.close_connection = True
                    return
                if action == "forward-stall":
                    time.sleep(proxy.stall_seconds)
                    self.close_connection = True
                    return
                self.send_response(resp.status)
                self.send_header(
                    "Content-Type", resp.getheader("Content-Type") or "application/json"
                )
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def keys(self) -> List[Optional[str]]:
        return [s["headers"].get("Idempotency-Key") for s in self.seen]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def proxy_for(steward: Steward) -> Iterator[Any]:
    made: List[Proxy] = []

    def make(*script: Action, stall_seconds: float = 1.0) -> Proxy:
        p = Proxy(steward.url, script, stall_seconds=stall_seconds)
        made.append(p)
        return p

    yield make
    for p in made:
        p.close()


def through(
    proxy: Proxy, token: str, retry: RetryPolicy = FAST_RETRY, timeout: float = 30
) -> Client:
    return Client(proxy.url, token=token, retry=retry, timeout=timeout)


def test_503_twice_then_success_sends_one_key(
    proxy_for: Any, owner_token: str, version: ModelVersion, monitor: Monitor
) -> None:
    proxy = proxy_for(answer(503, b""), steward_error(503, "UNAVAILABLE", "database unreachable"))
    result = through(proxy, owner_token).observe(version, pd.DataFrame(production_rows(25)))
    assert len(proxy.seen) == 3
    assert proxy.keys() == [result.idempotency_key] * 3
    assert len({s["body"] for s in proxy.seen}) == 1  # the same bytes every time
    assert (result.status, result.duplicate, result.rows) == (201, False, 25)
    assert monitor.evaluated_rows(version.id) == 25


@pytest.mark.parametrize("loss", ["forward-drop", "forward-stall"])
def test_a_lost_answer_is_retried_and_counted_once(
    proxy_for: Any, owner_token: str, version: ModelVersion, monitor: Monitor, loss: str
) -> None:
    proxy = proxy_for(loss, stall_seconds=4.0)
    client = through(proxy, owner_token, timeout=1.5 if loss == "forward-stall" else 30)
    result = client.observe(
        version, pd.DataFrame(production_rows(30)), idempotency_key=unique("job-17")
    )
    assert len(proxy.seen) == 2
    assert proxy.keys() == [result.idempotency_key] * 2
    # The first attempt was counted; the retry was told so.
    assert (result.status, result.duplicate) == (200, True)
    assert monitor.evaluated_rows(version.id) == 30


def test_labels_are_retried_under_one_key(
    proxy_for: Any, owner_token: str, client: Client, version: ModelVersion, monitor: Monitor
) -> None:
    client.observe(version, production_rows(3), prediction_ids=["a", "b", "c"])
    proxy = proxy_for(answer(503), "forward-drop")
    result = through(proxy, owner_token).label(
        version, prediction_ids=["a", "b", "c"], labels=[1, 0, 1]
    )
    assert len(proxy.seen) == 3 and len(set(proxy.keys())) == 1
    assert result.duplicate and result.matched == 3
    assert monitor.labelled_rows(version.id) == 3


@pytest.mark.parametrize(
    "status,code,error",
    [
        (400, "INVALID", Invalid),
        (404, "NOT_FOUND", NotFound),
        (409, "CONFLICT", Conflict),
        (422, "UNPROCESSABLE", Unprocessable),
    ],
)
def test_4xx_is_not_retried(
    proxy_for: Any,
    owner_token: str,
    version: ModelVersion,
    status: int,
    code: str,
    error: Type[StewardError],
) -> None:
    proxy = proxy_for(*[steward_error(status, code, "scripted")] * 3)
    with pytest.raises(error) as e:
        through(proxy, owner_token).observe(version, production_rows(2))
    assert len(proxy.seen) == 1
    assert (e.value.status, e.value.code, e.value.message) == (status, code, "scripted")
    assert e.value.idempotency_key == proxy.keys()[0]


def test_a_409_in_flight_with_retry_after_is_retried_under_its_key(
    proxy_for: Any, owner_token: str, version: ModelVersion
) -> None:
    # What Steward answers while the first request with this key is still being processed.
    in_flight = answer(
        409,
        {"errors": [{"message": "a batch with this Idempotency-Key is being processed", "extensions": {"code": "CONFLICT"}}]},
        {"Retry-After": "0"},
    )
    proxy = proxy_for(in_flight)
    result = through(proxy, owner_token).observe(version, production_rows(2))
    assert len(proxy.seen) == 2
    assert proxy.keys() == [result.idempotency_key] * 2
    assert result.rows == 2


def test_429_honours_retry_after(proxy_for: Any, owner_token: str, version: ModelVersion) -> None:
    proxy = proxy_for(answer(429, b"slow down", {"Retry-After": "0"}))
    result = through(
        proxy, owner_token, retry=RetryPolicy(max_attempts=2, backoff_initial=60, backoff_max=60)
    ).observe(version, production_rows(2))
    assert len(proxy.seen) == 2 and result.rows == 2


def test_retries_are_bounded(
    proxy_for: Any, owner_token: str, version: ModelVersion, monitor: Monitor
) -> None:
    proxy = proxy_for(*[steward_error(503, "UNAVAILABLE", "database unreachable")] * 10)
    with pytest.raises(Unavailable) as e:
        through(proxy, owner_token).observe(version, production_rows(2))
    assert len(proxy.seen) == FAST_RETRY.max_attempts
    assert e.value.status == 503 and e.value.message == "database unreachable"
    assert monitor.evaluated_rows(version.id) == 0

    proxy = proxy_for(*[answer(429, b"")] * 10)
    with pytest.raises(RateLimited):
        through(proxy, owner_token, retry=RetryPolicy(max_attempts=2, backoff_initial=0)).observe(
            version, production_rows(2)
        )
    assert len(proxy.seen) == 2


def test_no_retries_when_disabled(proxy_for: Any, owner_token: str, version: ModelVersion) -> None:
    proxy = proxy_for(answer(503))
    with pytest.raises(Unavailable):
        through(proxy, owner_token, retry=RetryPolicy(max_attempts=1)).observe(
            version, production_rows(2)
        )
    assert len(proxy.seen) == 1


def test_a_refused_connection_is_retried_then_reported(
    owner_token: str, version: ModelVersion
) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    client = Client(f"http://127.0.0.1:{port}", token=owner_token, retry=FAST_RETRY)
    with pytest.raises(ConnectionFailed) as e:
        client.observe(version.id, production_rows(2))
    assert f"after {FAST_RETRY.max_attempts} attempt(s)" in e.value.message
    assert isinstance(e.value, Unavailable) and e.value.status is None


def test_graphql_unavailable_is_retried(proxy_for: Any, owner_token: str) -> None:
    proxy = proxy_for(steward_error(200, "UNAVAILABLE", "database unreachable"), answer(503))
    assert through(proxy, owner_token).me().tenant == "acme"
    assert len(proxy.seen) == 3


def test_a_mutation_without_a_key_is_not_repeated_after_a_lost_answer(
    proxy_for: Any, owner_token: str, client: Client
) -> None:
    name = unique("once")
    proxy = proxy_for("forward-drop")
    with pytest.raises(ConnectionFailed) as e:
        through(proxy, owner_token).register_model(name, owner_team="t", risk_tier="LOW")
    assert len(proxy.seen) == 1 and "not retried" in e.value.message
    assert client.get_model(name).name == name  # it was registered, once

    proxy = proxy_for(answer(503))  # a 503 is retried: the server did nothing
    assert (
        through(proxy, owner_token)
        .register_model(name + "-2", owner_team="t", risk_tier="LOW")
        .name
        == name + "-2"
    )
    assert len(proxy.seen) == 2


def test_a_version_registration_is_repeated_under_its_key(
    proxy_for: Any, owner_token: str, client: Client
) -> None:
    model = client.register_model(unique("keyed"), owner_team="t", risk_tier="LOW")
    proxy = proxy_for("forward-drop")
    v = through(proxy, owner_token).register_version(
        model,
        artifact_uri="s3://k/1",
        artifact_digest="ef" * 32,
        framework="x",
        input_schema={"a": "FLOAT"},
    )
    assert len(proxy.seen) == 2
    sent = [json.loads(s["body"])["variables"]["i"]["idempotencyKey"] for s in proxy.seen]
    assert sent[0] == sent[1]
    assert [x.id for x in client.list_versions(model)] == [v.id]


def test_errors_carry_what_the_server_said(
    proxy_for: Any, owner_token: str, version: ModelVersion
) -> None:
    proxy = proxy_for(answer(502, b"<html>bad gateway</html>"))
    with pytest.raises(StewardError) as e:
        through(proxy, owner_token).observe(version, production_rows(1))
    assert (e.value.status, e.value.code, e.value.message) == (
        502,
        "UNAVAILABLE",
        "<html>bad gateway</html>",
    )
    assert isinstance(e.value, Unavailable)
    assert len(proxy.seen) == 1  # 502 is not in the default retry statuses
