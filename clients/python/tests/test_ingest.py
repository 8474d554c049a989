"""Observations, labels, KPIs and baselines through the client, with their effects read back
through GraphQL: the rows counted in the evaluated window, the labelled rows of its performance,
the KPI sums."""

from __future__ import annotations

import pandas as pd
import polars as pl
import pyarrow as pa
import pytest
from conftest import Monitor, Steward, previous_hour, production_rows, reference_rows, unique

from steward_client import (
    Client,
    FailedPrecondition,
    Invalid,
    ModelVersion,
    NotFound,
    PayloadTooLarge,
    Unauthenticated,
    Unprocessable,
)


def test_pandas_polars_and_arrow_rows_arrive(
    client: Client, version: ModelVersion, monitor: Monitor
) -> None:
    a = client.observe(version, pd.DataFrame(production_rows(30)))
    b = client.observe(version.id, pl.DataFrame(production_rows(20, offset=30)))
    c = client.observe(version, pa.table(production_rows(25, offset=50)))
    d = client.observe(version, pa.RecordBatch.from_pydict(production_rows(15, offset=75)))
    e = client.observe(version, production_rows(10, offset=90), format="parquet")
    results = [a, b, c, d, e]
    assert [r.rows for r in results] == [30, 20, 25, 15, 10]
    assert all(r.status == 201 and not r.duplicate and r.late_rows == 0 for r in results)
    assert len({r.batch_id for r in results}) == 5
    assert len({r.idempotency_key for r in results}) == 5
    assert (a.format, e.format) == ("arrow_stream", "parquet")
    assert a.windows == 1 and a.schedule == "hourly"
    baseline = client.baselines(version)[0]
    assert a.baseline_id == baseline.id and baseline.active

    assert monitor.evaluated_rows(version.id) == 100


def test_a_version_named_by_model_and_number(
    client: Client, version: ModelVersion, monitor: Monitor
) -> None:
    model = client.get_model(id=version.model_id)
    r = client.observe((model.name, 1), pd.DataFrame(production_rows(12)))
    assert r.rows == 12
    assert monitor.evaluated_rows(version.id) == 12


def test_the_same_key_twice_counts_once(
    client: Client, version: ModelVersion, monitor: Monitor
) -> None:
    rows = pd.DataFrame(production_rows(40))
    key = unique("batch")
    first = client.observe(version, rows, idempotency_key=key)
    again = client.observe(version, rows, idempotency_key=key)
    assert (first.status, first.duplicate) == (201, False)
    assert (again.status, again.duplicate) == (200, True)
    assert again.batch_id == first.batch_id and again.idempotency_key == key

    with pytest.raises(Unprocessable) as e:
        client.observe(version, pd.DataFrame(production_rows(41)), idempotency_key=key)
    assert e.value.status == 422 and e.value.idempotency_key == key

    assert monitor.evaluated_rows(version.id) == 40


def test_labels_join_on_prediction_ids(
    client: Client, version: ModelVersion, monitor: Monitor
) -> None:
    rows = pd.DataFrame(production_rows(6))
    ids = [f"req-{i}" for i in range(6)]
    client.observe(version, rows, prediction_ids=ids)
    assert monitor.labelled_rows(version.id) == 0

    first = client.label(version, prediction_ids=ids[:3] + ["req-unknown"], labels=[1, 0, 1, 1])
    assert (first.rows, first.matched, first.unmatched, first.already_labelled) == (4, 3, 1, 0)
    assert first.label_delay_max_seconds is not None and first.label_delay_max_seconds >= 0

    second = client.label(
        version, pl.DataFrame({"prediction_id": ids[2:], "label": [True, False, True, False]})
    )
    assert (second.matched, second.already_labelled) == (3, 1)

    again = client.label(
        version,
        pl.DataFrame({"prediction_id": ids[2:], "label": [True, False, True, False]}),
        idempotency_key=second.idempotency_key,
    )
    assert again.duplicate and again.batch_id == second.batch_id

    assert monitor.labelled_rows(version.id) == 6


def test_labels_may_complete_a_frame(
    client: Client, version: ModelVersion, monitor: Monitor
) -> None:
    client.observe(
        version, pa.table(production_rows(3)), prediction_ids=pa.array(["x1", "x2", "x3"])
    )
    r = client.label(
        version, pd.DataFrame({"label": [1, 1, 0]}), prediction_ids=pd.Series(["x1", "x2", "x3"])
    )
    assert r.matched == 3
    assert monitor.labelled_rows(version.id) == 3


def test_a_row_without_a_label_refuses_the_batch(client: Client, version: ModelVersion) -> None:
    client.observe(version, production_rows(2), prediction_ids=["p1", "p2"])
    with pytest.raises(Invalid) as e:
        client.label(version, {"prediction_id": ["p1", None], "label": [1, 1]})
    assert "prediction_id" in e.value.message


def test_a_bad_row_is_invalid_and_nothing_counts(
    client: Client, version: ModelVersion, monitor: Monitor
) -> None:
    rows = production_rows(5)
    # Text where the schema says FLOAT: the server reads text as numbers where it can.
    rows["amount"] = [str(a) for a in rows["amount"]]
    rows["amount"][3] = "lots"
    with pytest.raises(Invalid) as e:
        client.observe(version, pd.DataFrame(rows))
    assert e.value.status == 400 and e.value.code == "INVALID"
    assert (
        '"amount"' in e.value.message and "row 4" in e.value.message
    )  # the server counts rows from 1

    missing = production_rows(5)
    del missing["country"]
    with pytest.raises(Invalid) as e:
        client.observe(version, missing)
    assert '"country"' in e.value.message

    assert monitor.evaluated_rows(version.id) == 0


def test_another_tenants_version_is_not_found(steward: Steward, version: ModelVersion) -> None:
    globex = Client(steward.url, token=steward.token("globex", "model_owner"))
    with pytest.raises(NotFound) as e:
        globex.observe(version.id, pd.DataFrame(production_rows(3)))
    assert e.value.status == 404
    with pytest.raises(NotFound):
        globex.label(version.id, prediction_ids=["a"], labels=[1])


def test_a_bad_token_is_unauthenticated(steward: Steward, version: ModelVersion) -> None:
    with pytest.raises(Unauthenticated) as e:
        Client(steward.url, token="expired-or-forged").observe(version.id, production_rows(1))
    assert e.value.status == 401


def test_a_version_without_a_baseline_is_a_failed_precondition(client: Client) -> None:
    model = client.register_model(unique("nobase"), owner_team="t", risk_tier="LOW")
    v = client.register_version(
        model,
        artifact_uri="s3://x",
        artifact_digest="cd" * 32,
        framework="x",
        input_schema={"amount": "FLOAT", "country": "CATEGORICAL"},
    )
    with pytest.raises(FailedPrecondition) as e:
        client.observe(v, production_rows(2))
    assert e.value.status == 412 and "baseline" in e.value.message


def test_baselines(client: Client) -> None:
    model = client.register_model(unique("base"), owner_team="t", risk_tier="LOW")
    v = client.register_version(
        model,
        artifact_uri="s3://x",
        artifact_digest="cd" * 32,
        framework="x",
        input_schema={"amount": "FLOAT", "country": "CATEGORICAL"},
    )
    first = client.upload_baseline(v, pd.DataFrame(reference_rows(120)), note="holdout 2026-11")
    assert (first.rows, first.features, first.source, first.active, first.note) == (
        120,
        3,
        "DATASET",
        True,
        "holdout 2026-11",
    )
    second = client.upload_baseline(
        v, pl.DataFrame(reference_rows(80)), activate=False, format="parquet"
    )
    assert (second.rows, second.active) == (80, False)
    listed = client.baselines(v)
    assert [b.id for b in listed] == [second.id, first.id]
    assert [b.active for b in listed] == [False, True]
    assert listed[1].fingerprint == first.fingerprint and listed[1].source == "DATASET"


def test_shadow_rows_are_marked(client: Client, version: ModelVersion) -> None:
    r = client.observe(version, production_rows(4), shadow=True)
    assert r.shadow and r.rows == 4


def test_kpis_are_summed_into_the_window(
    client: Client, version: ModelVersion, monitor: Monitor
) -> None:
    at = previous_hour()
    r = client.report_kpis(
        version,
        pd.DataFrame(
            {"kpi": ["fraud_losses"] * 3, "value": [10.0, 2.5, 7.5], "event_time": [at] * 3}
        ),
    )
    assert r.rows == 3 and not r.duplicate
    kpis = [k for w in monitor.windows(version.id) for k in w["kpis"] if k["slice"] == ""]
    assert kpis == [{"slice": "", "name": "fraud_losses", "total": 20.0, "count": 3}]


def test_an_upload_over_the_limit_is_too_large_and_not_retried(
    client: Client, version: ModelVersion
) -> None:
    n = 80_000  # about 1.9 MiB as Arrow, over the test server's 1 MiB
    big = {"amount": [float(i) for i in range(n)], "country": ["DE"] * n, "prediction": [0.5] * n}
    with pytest.raises(PayloadTooLarge) as e:
        client.observe(version, big)
    assert e.value.status == 413


def test_client_side_checks_send_nothing(client: Client, version: ModelVersion) -> None:
    with pytest.raises(ValueError, match="prediction_id"):
        client.observe(version, production_rows(3), prediction_ids=["a", "b"])
    with pytest.raises(ValueError, match="already has"):
        client.observe(
            version, {**production_rows(1), "prediction_id": ["a"]}, prediction_ids=["b"]
        )
    with pytest.raises(ValueError, match="idempotency_key"):
        client.observe(version, production_rows(1), idempotency_key="has spaces")
    with pytest.raises(ValueError):
        client.label(version, prediction_ids=["a"])
    with pytest.raises(TypeError, match="LazyFrame"):
        client.observe(version, pl.DataFrame(production_rows(1)).lazy())
    with pytest.raises(TypeError):
        client.observe(version, [1, 2, 3])
    with pytest.raises(ValueError, match="format"):
        client.observe(version, production_rows(1), format="csv")  # type: ignore[arg-type]
