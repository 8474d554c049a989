"""HTTP transport: one request at a time over the standard library, with bounded retries.

The standard library's ``http.client`` is used directly rather than ``urllib``'s opener, for two
reasons: a request that fails before anything was sent (connection refused, no route) can be
told apart from one whose answer was lost, and a body the server refused before reading it (a
413 sent while the client was still writing) still yields the server's answer.
"""

from __future__ import annotations

import http.client
import logging
import random
import ssl
import time
from dataclasses import dataclass, field
from typing import Callable, FrozenSet, Mapping, Optional, Union
from urllib.parse import urlsplit

from .errors import ConnectionFailed

log = logging.getLogger("steward_client")

Body = Union[bytes, bytearray, memoryview]


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently a request is retried.

    A request is retried when no answer came (connection refused, reset or timed out) and when
    the server answered with one of ``retry_statuses`` (by default ``429`` and ``503``), or
    with ``409`` and a ``Retry-After`` to a keyed request (the same key is still being processed
    on the server). Other answers, every other 4xx among them, are final. Between attempts the client sleeps a random time
    between 0 and ``min(backoff_max, backoff_initial * 2 ** (attempt - 1))`` seconds (full
    jitter), or the server's ``Retry-After`` when it sent one (capped at ``backoff_max``).

    A request whose answer may have been lost after the server acted on it (a reset or timeout
    after the body was sent) is retried only when repeating it is safe: uploads (they carry an
    ``Idempotency-Key``), reads, and version registrations (they carry an ``idempotencyKey``).

    Attributes:
        max_attempts: attempts in all, the first included (1 disables retries).
        backoff_initial: the ceiling of the first pause, in seconds.
        backoff_max: the longest pause, in seconds.
        retry_statuses: HTTP statuses that are retried.
    """

    max_attempts: int = 5
    backoff_initial: float = 0.5
    backoff_max: float = 30.0
    retry_statuses: FrozenSet[int] = field(default_factory=lambda: frozenset({429, 503}))

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.backoff_initial < 0 or self.backoff_max < 0:
            raise ValueError("backoff times must not be negative")

    def delay(self, attempt: int, retry_after: Optional[float] = None) -> float:
        """Seconds to wait after the failed attempt number ``attempt`` (1-based)."""
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.backoff_max)
        ceiling = min(self.backoff_max, self.backoff_initial * (2 ** (attempt - 1)))
        return random.uniform(0, ceiling)


NO_RETRIES = RetryPolicy(max_attempts=1)


@dataclass
class Response:
    """An HTTP answer, read whole."""

    status: int
    headers: Mapping[str, str]
    body: bytes


class _NotSent(Exception):
    """The connection could not be opened: the server never saw the request."""


def _retry_after(headers: Mapping[str, str]) -> Optional[float]:
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        return None  # an HTTP date: fall back to the policy's backoff


class Transport:
    """Sends requests to one base URL with a bearer token and a retry policy."""

    def __init__(
        self,
        base_url: str,
        token: Optional[Callable[[], Optional[str]]],
        *,
        timeout: float,
        retry: RetryPolicy,
        user_agent: str,
        ssl_context: Optional[ssl.SSLContext] = None,
    ) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(
                f"the server URL must be http(s)://host[:port][/prefix], not {base_url!r}"
            )
        self.base_url = base_url.rstrip("/")
        self._https = parts.scheme == "https"
        self._host = parts.hostname
        self._port = parts.port
        self._prefix = parts.path.rstrip("/")
        self._token = token
        self.timeout = timeout
        self.retry = retry
        self._user_agent = user_agent
        self._ssl_context = ssl_context

    def _connection(self) -> http.client.HTTPConnection:
        if self._https:
            return http.client.HTTPSConnection(
                self._host, self._port, timeout=self.timeout, context=self._ssl_context
            )
        return http.client.HTTPConnection(self._host, self._port, timeout=self.timeout)

    def _once(
        self, method: str, path: str, body: Optional[Body], headers: Mapping[str, str]
    ) -> Response:
        conn = self._connection()
        try:
            try:
                conn.connect()
            except OSError as e:
                raise _NotSent(str(e)) from e
            try:
                conn.request(method, self._prefix + path, body=body, headers=dict(headers))
            except (BrokenPipeError, ConnectionResetError):
                # The server may have answered before reading the whole body (a 413 for a
                # body over its limit) and closed: its answer is still there to read.
                resp = conn.getresponse()
            else:
                resp = conn.getresponse()
            data = resp.read()
            return Response(
                status=resp.status,
                headers={k.lower(): v for k, v in resp.getheaders()},
                body=data,
            )
        finally:
            conn.close()

    def request(
        self,
        method: str,
        path: str,
        *,
        body: Optional[Body] = None,
        headers: Optional[Mapping[str, str]] = None,
        idempotent: bool,
        retry_if: Optional[Callable[[Response], bool]] = None,
    ) -> Response:
        """Sends a request, retrying per the policy, and returns the last answer.

        Args:
            method: the HTTP method.
            path: the path below the base URL, with its query string.
            body: the request body.
            headers: headers beyond ``Authorization`` and ``User-Agent``.
            idempotent: whether the request may be repeated when its answer was lost.
            retry_if: also retry answers for which this returns true (GraphQL's ``UNAVAILABLE``
                in a ``200``).

        Raises:
            ConnectionFailed: no answer on any attempt allowed.
        """
        policy = self.retry
        attempt = 0
        while True:
            attempt += 1
            all_headers = {"User-Agent": self._user_agent}
            token = self._token() if self._token is not None else None  # per attempt: may rotate
            if token:
                all_headers["Authorization"] = f"Bearer {token}"
            all_headers.update(headers or {})
            resp: Optional[Response] = None
            failure: Optional[BaseException] = None
            try:
                resp = self._once(method, path, body, all_headers)
            except _NotSent as e:
                failure, retryable = e, True  # the server never saw it
            except (OSError, http.client.HTTPException) as e:
                failure, retryable = e, idempotent  # the server may have acted on it
            if resp is not None:
                if resp.status in policy.retry_statuses:
                    retryable = True
                elif resp.status == 409 and idempotent and "retry-after" in resp.headers:
                    # The same keyed request is still being processed on the server: a retry
                    # after the pause it asks for gets that request's result.
                    retryable = True
                elif retry_if is not None and retry_if(resp):
                    retryable = True
                else:
                    return resp
            if not retryable or attempt >= policy.max_attempts:
                if resp is not None:
                    return resp
                what = "could not connect" if isinstance(failure, _NotSent) else "no answer"
                hint = "" if retryable else " (not retried: the server may have acted on it)"
                raise ConnectionFailed(
                    f"{method} {self.base_url}{path}: {what} after {attempt} attempt(s): "
                    f"{failure!r}{hint}"
                ) from failure
            wait = policy.delay(attempt, _retry_after(resp.headers) if resp is not None else None)
            log.info(
                "steward: %s %s attempt %d failed (%s); retrying in %.2fs",
                method,
                path,
                attempt,
                resp.status if resp is not None else repr(failure),
                wait,
            )
            time.sleep(wait)
