"""The parts that need no server: data conversion, error mapping, backoff, timestamps."""

from __future__ import annotations

import datetime as dt
import io
import json

import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from steward_client import (
    InternalError,
    Invalid,
    NotFound,
    PayloadTooLarge,
    RetryPolicy,
    StewardError,
    UnsupportedMediaType,
    to_arrow,
)
from steward_client.data import ARROW_STREAM, PARQUET, prepare, serialize
from steward_client.errors import from_graphql_errors, from_response
from steward_client.models import parse_time


def test_frames_become_the_same_table() -> None:
    cols = {"amount": [1.5, 2.5], "country": ["DE", "FR"]}
    expected = pa.table(cols)
    for data in (
        pa.table(cols),
        pa.RecordBatch.from_pydict(cols),
        pd.DataFrame(cols),
        pl.DataFrame(cols),
        cols,
    ):
        t = to_arrow(data)
        assert t.column_names == ["amount", "country"]
        assert t.column("amount").to_pylist() == [1.5, 2.5]
        assert t.column("country").to_pylist() == expected.column("country").to_pylist()


def test_a_pandas_index_is_not_sent() -> None:
    df = pd.DataFrame({"a": [1.0, 2.0]}, index=["x", "y"])
    assert to_arrow(df).column_names == ["a"]


def test_prediction_ids_from_any_column_type() -> None:
    base = {"a": [1.0, 2.0]}
    for ids in (
        ["p1", "p2"],
        pd.Series(["p1", "p2"], index=[7, 9]),
        pl.Series(["p1", "p2"]),
        pa.chunked_array([["p1"], ["p2"]]),
    ):
        t = prepare(base, columns={"prediction_id": ids})
        assert t.column("prediction_id").to_pylist() == ["p1", "p2"]


def test_serialized_bytes_read_back() -> None:
    t = pa.table({"a": [1.0, 2.0], "b": ["x", "y"]})
    body, ct = serialize(t, "arrow")
    assert ct == ARROW_STREAM
    assert pa.ipc.open_stream(pa.py_buffer(bytes(body))).read_all().equals(t)
    body, ct = serialize(t, "parquet")
    assert ct == PARQUET
    assert pq.read_table(io.BytesIO(bytes(body))).equals(t)
    # The same table gives the same bytes: a key is bound to the bytes it was first sent with.
    assert bytes(serialize(t, "arrow")[0]) == bytes(
        serialize(pa.table({"a": [1.0, 2.0], "b": ["x", "y"]}), "arrow")[0]
    )


def test_rest_error_bodies_map_to_classes() -> None:
    body = json.dumps(
        {"errors": [{"message": "no such version", "extensions": {"code": "NOT_FOUND"}}]}
    ).encode()
    e = from_response(404, body, idempotency_key="k")
    assert isinstance(e, NotFound) and (e.status, e.code, e.message, e.idempotency_key) == (
        404,
        "NOT_FOUND",
        "no such version",
        "k",
    )
    # The 415 body has another shape.
    e = from_response(
        415,
        json.dumps(
            {
                "error": {
                    "code": "UNSUPPORTED_MEDIA_TYPE",
                    "message": 'content type "text/html" is bad',
                }
            }
        ).encode(),
    )
    assert isinstance(e, UnsupportedMediaType) and "text/html" in e.message
    e = from_response(413, b"length limit exceeded")
    assert isinstance(e, PayloadTooLarge) and e.message == "length limit exceeded"
    e = from_response(500, b"")
    assert isinstance(e, InternalError) and e.status == 500
    e = from_response(418, b"teapot")
    assert type(e) is StewardError and e.code == "UNKNOWN"


def test_graphql_errors_map_to_classes() -> None:
    e = from_graphql_errors(
        [{"message": "input.name: empty", "extensions": {"code": "INVALID"}}, {"message": "two"}],
        200,
    )
    assert isinstance(e, Invalid) and e.status is None and len(e.errors) == 2
    assert "1 more" in e.message and "INVALID" in str(e)


def test_backoff_is_bounded_and_jittered() -> None:
    p = RetryPolicy(max_attempts=6, backoff_initial=0.5, backoff_max=4.0)
    for attempt in range(1, 7):
        ceiling = min(4.0, 0.5 * 2 ** (attempt - 1))
        delays = [p.delay(attempt) for _ in range(50)]
        assert all(0 <= d <= ceiling for d in delays)
        assert len(set(delays)) > 1
    assert p.delay(1, retry_after=2.0) == 2.0
    assert p.delay(1, retry_after=100.0) == 4.0
    with pytest.raises(ValueError):
        RetryPolicy(max_attempts=0)


def test_server_timestamps_parse() -> None:
    t = parse_time("2026-12-07T10:56:37.865313063+00:00")
    assert t == dt.datetime(2026, 12, 7, 10, 56, 37, 865313, tzinfo=dt.timezone.utc)
    assert parse_time("2026-12-07T10:00:00Z") == dt.datetime(
        2026, 12, 7, 10, tzinfo=dt.timezone.utc
    )
    assert parse_time(None) is None
