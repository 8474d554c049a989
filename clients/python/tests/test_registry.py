"""Registry calls through the client against a real server, read back independently."""

from __future__ import annotations

import datetime as dt

import pytest
from conftest import SCHEMA, Steward, unique

import steward_client
from steward_client import (
    Client,
    Conflict,
    Feature,
    Forbidden,
    Invalid,
    NotFound,
    TrainingRunSpec,
    Unauthenticated,
)

DIGEST = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"


def test_me_names_the_token(client: Client) -> None:
    me = client.me()
    assert me.subject == "pyclient"
    assert me.tenant == "acme"
    assert me.roles == ["MODEL_OWNER"]


def test_token_from_environment(
    steward: Steward, owner_token: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STEWARD_TOKEN", owner_token)
    monkeypatch.setenv("STEWARD_URL", steward.url)
    assert Client().me().tenant == "acme"


def test_token_function_is_called_per_request(steward: Steward, owner_token: str) -> None:
    calls = []

    def token() -> str:
        calls.append(1)
        return owner_token

    c = Client(steward.url, token=token)
    c.me()
    c.me()
    assert len(calls) == 2


def test_register_and_read_a_model(client: Client, steward: Steward, owner_token: str) -> None:
    name = unique("fraud")
    m = client.register_model(
        name, owner_team="risk", risk_tier="high", description="card fraud", tags=["pci", "eu"]
    )
    assert (m.name, m.owner_team, m.risk_tier, m.latest_version) == (name, "risk", "HIGH", 0)
    assert sorted(m.tags) == ["eu", "pci"]
    assert isinstance(m.created_at, dt.datetime) and m.created_at.tzinfo is not None

    # Read back without the client.
    raw = steward.graphql(
        owner_token, "query($n: String!) { modelByName(name: $n) { id description } }", {"n": name}
    )
    assert raw["modelByName"] == {"id": m.id, "description": "card fraud"}

    assert client.get_model(name) == m
    assert client.get_model(id=m.id) == m
    listed = list(client.list_models(name_prefix=name))
    assert [x.id for x in listed] == [m.id]
    assert m.id in [x.id for x in client.list_models(tag="pci", risk_tier="HIGH")]

    with pytest.raises(Conflict) as e:
        client.register_model(name, owner_team="risk", risk_tier="LOW")
    assert e.value.code == "CONFLICT" and name in e.value.message


def test_list_models_pages(client: Client) -> None:
    prefix = unique("paged")
    made = sorted(
        client.register_model(f"{prefix}-{i}", owner_team="t", risk_tier="LOW").name
        for i in range(5)
    )
    assert [m.name for m in client.list_models(name_prefix=prefix, page_size=2)] == made


def test_register_a_version_with_its_training_run(
    client: Client, steward: Steward, owner_token: str
) -> None:
    model = client.register_model(unique("ltv"), owner_team="growth", risk_tier="MEDIUM")
    started = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc)
    v1 = client.register_version(
        model.name,
        artifact_uri="s3://models/ltv/1/model.ubj",
        artifact_digest=DIGEST,
        framework="xgboost",
        input_schema=[
            ("amount", "float"),
            Feature("country", "CATEGORICAL"),
            {"name": "age", "type": "INTEGER"},
        ],
        metrics={"auc": 0.93, "accuracy": 0.88},
        tags=["candidate"],
        training_run=TrainingRunSpec(
            code_commit="c3d4e5f",
            parameters={"eta": 0.1},
            orchestrator="airflow",
            orchestrator_run_id="ltv_train__1",
            started_at=started,
        ),
    )
    assert v1.version == 1 and v1.model_id == model.id
    assert v1.artifact_digest == f"sha256:{DIGEST}"
    assert v1.input_schema == [
        Feature("amount", "FLOAT"),
        Feature("country", "CATEGORICAL"),
        Feature("age", "INTEGER"),
    ]
    assert v1.metrics == {"auc": 0.93, "accuracy": 0.88}
    assert v1.tags == ["candidate"] and v1.training_run_id is not None

    raw = steward.graphql(
        owner_token,
        "query($id: ID!) { modelVersion(id: $id) { version"
        " trainingRun { codeCommit parameters orchestratorRunId startedAt } } }",
        {"id": v1.id},
    )["modelVersion"]
    assert raw["version"] == 1
    assert raw["trainingRun"]["codeCommit"] == "c3d4e5f"
    assert raw["trainingRun"]["parameters"] == {"eta": 0.1}
    assert raw["trainingRun"]["orchestratorRunId"] == "ltv_train__1"
    assert dt.datetime.fromisoformat(raw["trainingRun"]["startedAt"]) == started

    v2 = client.register_version(
        model,
        artifact_uri="s3://models/ltv/2/model.ubj",
        artifact_digest=DIGEST,
        framework="xgboost",
        input_schema=SCHEMA,
    )
    assert v2.version == 2 and v2.training_run_id is None
    assert client.get_version(v1.id) == v1
    assert client.get_version((model.name, 1)) == v1
    assert client.get_version(v2) == v2
    assert [v.id for v in client.list_versions(model.name)] == [v2.id, v1.id]
    assert [v.id for v in client.list_versions(model, page_size=1)] == [v2.id, v1.id]
    assert client.get_model(id=model.id).latest_version == 2


def test_a_repeated_idempotency_key_registers_one_version(client: Client) -> None:
    model = client.register_model(unique("dup"), owner_team="t", risk_tier="LOW")
    args = dict(
        artifact_uri="s3://m/1",
        artifact_digest=DIGEST,
        framework="onnx",
        input_schema=SCHEMA,
        idempotency_key="ci-run-77",
    )
    first = client.register_version(model, **args)  # type: ignore[arg-type]
    again = client.register_version(model, **args)  # type: ignore[arg-type]
    assert again.id == first.id
    assert [v.version for v in client.list_versions(model)] == [1]
    with pytest.raises(Conflict):
        client.register_version(model, **{**args, "artifact_uri": "s3://m/other"})  # type: ignore[arg-type]


def test_a_wide_schema_is_read_whole(client: Client) -> None:
    model = client.register_model(unique("wide"), owner_team="t", risk_tier="LOW")
    schema = {f"f{i:04d}": "FLOAT" for i in range(1234)}
    v = client.register_version(
        model, artifact_uri="s3://w", artifact_digest=DIGEST, framework="torch", input_schema=schema
    )
    assert [f.name for f in v.input_schema] == list(schema)
    assert len(client.get_version(v.id).input_schema) == 1234
    assert len(next(client.list_versions(model)).input_schema) == 1234


def test_unknown_objects_are_not_found(client: Client) -> None:
    with pytest.raises(NotFound) as e:
        client.get_model(unique("nobody"))
    assert e.value.code == "NOT_FOUND" and e.value.status is None
    model = client.register_model(unique("empty"), owner_team="t", risk_tier="LOW")
    with pytest.raises(NotFound):
        client.get_version((model.name, 3))
    with pytest.raises(NotFound):
        client.get_version("01a25025-e725-7682-9f95-c9eee05f90b7")


def test_another_tenants_model_is_not_found(client: Client, steward: Steward) -> None:
    name = unique("acme-only")
    m = client.register_model(name, owner_team="t", risk_tier="LOW")
    globex = Client(steward.url, token=steward.token("globex", "model_owner"))
    with pytest.raises(NotFound):
        globex.get_model(name)
    with pytest.raises(NotFound):
        globex.get_model(id=m.id)


def test_invalid_input_names_the_field(client: Client) -> None:
    model = client.register_model(unique("bad"), owner_team="t", risk_tier="LOW")
    with pytest.raises(Invalid) as e:
        client.register_version(
            model,
            artifact_uri="s3://x",
            artifact_digest="not-a-digest",
            framework="x",
            input_schema=SCHEMA,
        )
    assert "artifactDigest" in e.value.message
    with pytest.raises(Invalid) as e:
        client.register_version(
            model,
            artifact_uri="s3://x",
            artifact_digest=DIGEST,
            framework="x",
            input_schema={"a": "DOUBLE"},
        )
    assert "DOUBLE" in e.value.message


def test_roles_are_enforced(steward: Steward) -> None:
    viewer = Client(steward.url, token=steward.token("acme", "viewer"))
    with pytest.raises(Forbidden) as e:
        viewer.register_model(unique("nope"), owner_team="t", risk_tier="LOW")
    assert e.value.code == "FORBIDDEN" and "model.register" in e.value.message


@pytest.mark.parametrize("token", ["not-a-jwt", None])
def test_a_bad_or_missing_token_is_unauthenticated(
    steward: Steward, token: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("STEWARD_TOKEN", raising=False)
    c = Client(steward.url, token=token)
    with pytest.raises(Unauthenticated) as e:
        c.me()
    assert e.value.status == 401 and e.value.code == "UNAUTHENTICATED"
    assert isinstance(e.value, steward_client.StewardError)


def test_a_token_for_another_secret_is_unauthenticated(steward: Steward, owner_token: str) -> None:
    header, payload, _ = owner_token.split(".")
    forged = f"{header}.{payload}.c2lnbmF0dXJlLW9mLWFub3RoZXIta2V5"
    with pytest.raises(Unauthenticated):
        Client(steward.url, token=forged).me()


def test_raw_graphql_escape_hatch(client: Client) -> None:
    m = client.register_model(unique("raw"), owner_team="t", risk_tier="LOW")
    data = client.graphql("query($id: ID!) { model(id: $id) { name } }", {"id": m.id})
    assert data == {"model": {"name": m.name}}
    with pytest.raises(Invalid):
        client.graphql("{ me { nope } }")


def test_version_references_are_checked(client: Client) -> None:
    with pytest.raises(ValueError):
        client.version_id("fraud")  # a name is not an id
    with pytest.raises(TypeError):
        client.version_id(42)  # type: ignore[arg-type]
