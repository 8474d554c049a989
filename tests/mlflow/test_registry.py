"""The real `mlflow` client (mlflow-skinny 3.17.2) against Steward's MLflow-compatible registry
API: registration through `mlflow.register_model`, reads, searches with the client's own filter
clauses and pagination, errors with MLflow's codes, and tenant isolation."""

import json
import os

import mlflow
import pytest
from mlflow.exceptions import MlflowException, RestException

DIGEST = "sha256:" + "ab" * 32


def code(e):
    return e.value.error_code if hasattr(e.value, "error_code") else str(e.value)


def test_register_model_creates_the_model_and_numbered_versions(steward, client):
    v1 = mlflow.register_model("s3://acme-models/fraud/v1/model.ubj", "fraud", tags={"steward.artifact_digest": DIGEST})
    assert (v1.name, v1.version, v1.status) == ("fraud", "1", "READY")
    v2 = mlflow.register_model("s3://acme-models/fraud/v2/model.ubj", "fraud", tags={"steward.artifact_digest": DIGEST})
    assert v2.version == "2"
    m = client.get_registered_model("fraud")
    assert m.name == "fraud"
    assert m.tags["steward.risk_tier"] == "medium"
    assert [v.version for v in m.latest_versions] == ["2"]
    got = client.get_model_version("fraud", "1")
    assert got.source == "s3://acme-models/fraud/v1/model.ubj"
    assert got.tags["steward.artifact_digest"] == DIGEST
    assert client.get_model_version_download_uri("fraud", "2") == "s3://acme-models/fraud/v2/model.ubj"
    # Steward's lineage and audit log saw it: the versions are in the registry's GraphQL too.
    officer = steward.token("acme", "governance_officer")
    data = steward.graphql(officer, '{ modelByName(name: "fraud") { latestVersion } auditEvents(first: 100) { nodes { action } } }')
    assert data["modelByName"]["latestVersion"] == 2
    actions = [e["action"] for e in data["auditEvents"]["nodes"]]
    assert actions.count("model_version.register") == 2


def test_a_registered_model_is_governed_traced_and_audited(steward, client):
    author = steward.token("acme", "policy_author", sub="pat")
    source = open(os.path.join(os.path.dirname(__file__), "..", "..", "policies", "tenant-default.rhai")).read()
    p = steward.graphql(author, 'mutation { createPolicy(input: {name: "mlflow-governed"}) { id } }')["createPolicy"]["id"]
    steward.graphql(author, f'mutation {{ proposePolicyRevision(input: {{policyId: "{p}", source: {json.dumps(source)}}}) {{ created }} }}')
    steward.graphql(author, f'mutation {{ publishPolicyRevision(input: {{policyId: "{p}", number: 1}}) {{ number }} }}')
    binding = steward.graphql(author, f'mutation {{ bindPolicy(input: {{policyId: "{p}", selector: {{namePattern: "governed-*"}}}}) {{ id }} }}')["bindPolicy"]["id"]
    v = mlflow.register_model("s3://m/governed/1", "governed-fraud", tags={"steward.artifact_digest": DIGEST})
    owner = steward.token("acme", "model_owner")
    data = steward.graphql(owner, '{ modelByName(name: "governed-fraud") { id versions { nodes { id version } } } }')["modelByName"]
    resolution = steward.graphql(owner, f'{{ policyResolution(modelId: "{data["id"]}") {{ binding {{ id }} }} }}')["policyResolution"]
    assert resolution["binding"]["id"] == binding, "the policy bound by name pattern governs it"
    version_id = data["versions"]["nodes"][0]["id"]
    lineage = steward.graphql(owner, f'{{ lineage(nodeId: "{version_id}", direction: UPSTREAM, depth: 1) {{ nodes {{ kind label }} }} }}')["lineage"]
    assert {"kind": "MODEL", "label": "governed-fraud"} in [{"kind": n["kind"], "label": n["label"]} for n in lineage["nodes"]]
    officer = steward.token("acme", "governance_officer")
    events = steward.graphql(officer, '{ auditEvents(first: 100, filter: {action: "model_version.register"}) { nodes { target { id } } } }')
    assert version_id in [e["target"]["id"] for e in events["auditEvents"]["nodes"]]
    assert v.version == "1"


def test_steward_fields_come_from_tags_and_other_tags_are_kept(steward, client):
    client.create_registered_model(
        "scoring", tags={"steward.risk_tier": "high", "steward.owner_team": "risk", "team": "fraud"}
    )
    m = client.get_registered_model("scoring")
    assert (m.tags["steward.risk_tier"], m.tags["steward.owner_team"], m.tags["team"]) == ("high", "risk", "fraud")
    # The tags were written with the model, in its one audited registration.
    officer = steward.token("acme", "governance_officer")
    events = steward.graphql(officer, '{ auditEvents(first: 100, filter: {action: "model.register"}) { nodes { payload } } }')
    (created,) = [e["payload"] for e in events["auditEvents"]["nodes"] if e["payload"].get("after", {}).get("name") == "scoring"]
    assert created["tags"] == {"team": "fraud"}
    with pytest.raises(MlflowException) as e:
        client.create_registered_model("tiered", tags={"steward.risk_tier": "extreme"})
    assert code(e) == "INVALID_PARAMETER_VALUE"


def test_searches_filter_page_and_order(client):
    for name in ("churn-a", "churn-b", "churn-c", "churn-d", "other"):
        client.create_registered_model(name)
    # The client appends its prompt clause to every search: models are never prompts here.
    found = client.search_registered_models(filter_string="name LIKE 'churn-%'")
    assert [m.name for m in found] == ["churn-a", "churn-b", "churn-c", "churn-d"]
    for size in (1, 2, 3):
        names, token = [], None
        while True:
            page = client.search_registered_models(
                filter_string="name LIKE 'churn-%'", max_results=size, page_token=token
            )
            names += [m.name for m in page]
            token = page.token
            if not token:
                break
        assert names == ["churn-a", "churn-b", "churn-c", "churn-d"], size
    desc = client.search_registered_models(filter_string="name ILIKE 'CHURN-%'", order_by=["name DESC"])
    assert [m.name for m in desc][0] == "churn-d"
    for i in range(3):
        client.create_model_version("churn-a", f"s3://m/churn-a/{i}", tags={"steward.artifact_digest": DIGEST})
    versions = client.search_model_versions("name='churn-a'")
    assert [v.version for v in versions] == ["3", "2", "1"]
    assert [v.version for v in client.search_model_versions("name='churn-a'", order_by=["version_number ASC"])] == ["1", "2", "3"]
    for size in (1, 2):
        seen, token = [], None
        while True:
            page = client.search_model_versions("name='churn-a'", max_results=size, page_token=token)
            seen += [v.version for v in page]
            token = page.token
            if not token:
                break
        assert seen == ["3", "2", "1"], size
    assert client.search_model_versions("name='no-such-model'") == []


def test_errors_carry_mlflow_codes_and_never_a_5xx(client):
    with pytest.raises(MlflowException) as e:
        client.get_registered_model("nobody")
    assert code(e) == "RESOURCE_DOES_NOT_EXIST"
    client.create_registered_model("dup")
    with pytest.raises(MlflowException) as e:
        client.create_registered_model("dup")
    assert code(e) == "RESOURCE_ALREADY_EXISTS"
    with pytest.raises(MlflowException) as e:
        client.create_model_version("dup", "s3://m/dup/1")
    assert code(e) == "INVALID_PARAMETER_VALUE"
    assert "steward.artifact_digest" in str(e.value)
    with pytest.raises(MlflowException) as e:
        client.get_model_version("dup", "not-a-number")
    assert code(e) == "INVALID_PARAMETER_VALUE"
    with pytest.raises(MlflowException) as e:
        client.create_registered_model("bad name with spaces")
    assert code(e) == "INVALID_PARAMETER_VALUE"
    with pytest.raises(MlflowException) as e:
        client.search_registered_models(filter_string="colour = 'red'")
    assert code(e) == "INVALID_PARAMETER_VALUE"


def test_another_tenant_sees_nothing(steward, client):
    client.create_registered_model("acme-only")
    other = steward.token("globex", "model_owner")
    own = os.environ["MLFLOW_TRACKING_TOKEN"]
    os.environ["MLFLOW_TRACKING_TOKEN"] = other
    try:
        with pytest.raises(MlflowException) as e:
            client.get_registered_model("acme-only")
        assert code(e) == "RESOURCE_DOES_NOT_EXIST"
        assert client.search_registered_models() == []
    finally:
        os.environ["MLFLOW_TRACKING_TOKEN"] = own


def test_a_bad_token_is_refused(steward, client):
    own = os.environ["MLFLOW_TRACKING_TOKEN"]
    os.environ["MLFLOW_TRACKING_TOKEN"] = "not-a-token"
    try:
        with pytest.raises(MlflowException) as e:
            client.search_registered_models()
        assert code(e) == "UNAUTHENTICATED"
    finally:
        os.environ["MLFLOW_TRACKING_TOKEN"] = own


def test_tags_and_aliases(steward, client):
    for i in (1, 2, 3):
        mlflow.register_model(f"s3://m/ranker/{i}", "ranker", tags={"steward.artifact_digest": DIGEST, "trained_on": f"2026-0{i}"})
    client.set_registered_model_tag("ranker", "owner", "growth")
    client.set_model_version_tag("ranker", "2", "validated", "yes")
    assert client.get_registered_model("ranker").tags["owner"] == "growth"
    v2 = client.get_model_version("ranker", "2")
    assert (v2.tags["validated"], v2.tags["trained_on"]) == ("yes", "2026-02")
    found = client.search_model_versions("name='ranker' AND tag.validated = 'yes'")
    assert [v.version for v in found] == ["2"]
    client.delete_model_version_tag("ranker", "2", "validated")
    assert "validated" not in client.get_model_version("ranker", "2").tags
    client.delete_registered_model_tag("ranker", "owner")
    with pytest.raises(MlflowException) as e:
        client.delete_registered_model_tag("ranker", "owner")
    assert code(e) == "RESOURCE_DOES_NOT_EXIST"

    client.set_registered_model_alias("ranker", "challenger", "2")
    assert client.get_model_version_by_alias("ranker", "challenger").version == "2"
    client.set_registered_model_alias("ranker", "challenger", "3")
    assert client.get_model_version_by_alias("ranker", "challenger").version == "3"
    assert client.get_registered_model("ranker").aliases == {"challenger": "3"}
    assert client.get_model_version("ranker", "3").aliases == ["challenger"]
    client.delete_registered_model_alias("ranker", "challenger")
    with pytest.raises(MlflowException) as e:
        client.get_model_version_by_alias("ranker", "challenger")
    assert code(e) == "RESOURCE_DOES_NOT_EXIST"
    with pytest.raises(MlflowException) as e:
        client.set_registered_model_alias("ranker", "latest", "1")
    assert code(e) == "INVALID_PARAMETER_VALUE"
    # Every placement is kept: Steward answers what the alias named, and when.
    model_id = steward.graphql(os.environ["MLFLOW_TRACKING_TOKEN"], '{ modelByName(name: "ranker") { id } }')["modelByName"]["id"]
    history = steward.graphql(os.environ["MLFLOW_TRACKING_TOKEN"],
        f'{{ modelAliases(modelId: "{model_id}", history: true) {{ alias version removedAt }} }}')["modelAliases"]
    assert [(a["version"], a["removedAt"] is not None) for a in history] == [(2, True), (3, True)]
    latest = client.get_latest_versions("ranker")
    assert [v.version for v in latest] == ["3"]


def test_an_alias_an_endpoint_serves_moves_only_through_a_promotion(steward, client):
    for i in (1, 2):
        mlflow.register_model(f"s3://m/fraud-x/{i}", "fraud-x", tags={"steward.artifact_digest": DIGEST})
    sre = steward.token("acme", "sre", sub="sam")
    ids = steward.graphql(sre, '{ modelByName(name: "fraud-x") { id versions { nodes { id version } } } }')["modelByName"]
    v1 = next(v["id"] for v in ids["versions"]["nodes"] if v["version"] == 1)
    steward.graphql(sre, f'mutation {{ createEndpoint(input: {{modelId: "{ids["id"]}", name: "fraud-x-prod", '
                         f'environment: "prod", championVersionId: "{v1}", championAlias: "champion", reason: "first"}}) {{ id }} }}')
    assert client.get_model_version_by_alias("fraud-x", "champion").version == "1"
    with pytest.raises(MlflowException) as e:
        client.set_registered_model_alias("fraud-x", "champion", "2")
    assert code(e) == "PERMISSION_DENIED"
    assert "promotion request" in str(e.value)
    assert client.get_model_version_by_alias("fraud-x", "champion").version == "1"


def test_a_models_description_is_updated(client):
    client.create_registered_model("described", description="first words")
    client.update_registered_model("described", description="scores card transactions")
    assert client.get_registered_model("described").description == "scores card transactions"
    with pytest.raises(MlflowException) as e:
        client.update_registered_model("nobody-here", description="x")
    assert code(e) == "RESOURCE_DOES_NOT_EXIST"
    client.rename_registered_model("described", "card-scorer")
    assert client.get_registered_model("card-scorer").description == "scores card transactions"
    with pytest.raises(MlflowException) as e:
        client.get_registered_model("described")
    assert code(e) == "RESOURCE_DOES_NOT_EXIST"
    client.create_registered_model("taken")
    with pytest.raises(MlflowException) as e:
        client.rename_registered_model("card-scorer", "taken")
    assert code(e) == "RESOURCE_ALREADY_EXISTS"


def register(name, n):
    return [
        mlflow.register_model(f"s3://m/{name}/{i}", name, tags={"steward.artifact_digest": DIGEST})
        for i in range(n)
    ]


def test_version_numbers_are_never_reused_after_deletes(steward, client):
    register("reuse", 3)
    client.set_registered_model_alias("reuse", "challenger", "3")
    client.delete_model_version("reuse", "3")
    client.delete_model_version("reuse", "2")
    with pytest.raises(MlflowException) as e:
        client.get_model_version("reuse", "3")
    assert code(e) == "RESOURCE_DOES_NOT_EXIST"
    with pytest.raises(MlflowException) as e:
        client.delete_model_version("reuse", "3")
    assert code(e) == "RESOURCE_DOES_NOT_EXIST"
    # The alias went with its version, and search no longer lists either.
    with pytest.raises(MlflowException) as e:
        client.get_model_version_by_alias("reuse", "challenger")
    assert code(e) == "RESOURCE_DOES_NOT_EXIST"
    assert [v.version for v in client.search_model_versions("name='reuse'")] == ["1"]
    assert [v.version for v in client.get_latest_versions("reuse")] == ["1"]
    (v4,) = register("reuse", 1)
    assert v4.version == "4"
    # The record is kept for lineage and audit: GraphQL still reads version 3 by id, deleted.
    officer = steward.token("acme", "governance_officer")
    data = steward.graphql(officer, '{ auditEvents(first: 100, filter: {action: "model.delete"}) { nodes { payload } } }')
    assert sorted(e["payload"]["version"] for e in data["auditEvents"]["nodes"]) == [2, 3]


def test_a_deleted_model_frees_its_name(client):
    register("doomed", 2)
    client.delete_registered_model("doomed")
    with pytest.raises(MlflowException) as e:
        client.get_registered_model("doomed")
    assert code(e) == "RESOURCE_DOES_NOT_EXIST"
    assert not client.search_registered_models(filter_string="name = 'doomed'")
    assert not client.search_model_versions("name='doomed'")
    (v,) = register("doomed", 1)
    assert v.version == "1"


def test_a_served_model_or_version_cannot_be_deleted(steward, client):
    register("served", 2)
    sre = steward.token("acme", "sre", sub="sam")
    ids = steward.graphql(sre, '{ modelByName(name: "served") { id versions { nodes { id version } } } }')["modelByName"]
    v1 = next(v["id"] for v in ids["versions"]["nodes"] if v["version"] == 1)
    steward.graphql(sre, f'mutation {{ createEndpoint(input: {{modelId: "{ids["id"]}", name: "served-prod", '
                         f'environment: "prod", championVersionId: "{v1}", reason: "first"}}) {{ id }} }}')
    for call in (lambda: client.delete_model_version("served", "1"), lambda: client.delete_registered_model("served")):
        with pytest.raises(MlflowException) as e:
            call()
        assert code(e) == "INVALID_STATE"
        assert "served-prod" in str(e.value)
    client.delete_model_version("served", "2")
    assert client.get_model_version("served", "1").version == "1"
    # Stages are labels; Production of a served model moves only through promotions.
    assert client.transition_model_version_stage("served", "1", "Staging").current_stage == "Staging"
    with pytest.raises(MlflowException) as e:
        client.transition_model_version_stage("served", "1", "Production")
    assert code(e) == "PERMISSION_DENIED"
    assert "promotion request" in str(e.value)


def test_versions_carry_descriptions_runs_and_stages(client):
    client.create_registered_model("staged")
    v1 = client.create_model_version(
        "staged", "s3://m/staged/1", run_id="0a1b2c", run_link="https://mlflow.example/runs/0a1b2c",
        description="first fit", tags={"steward.artifact_digest": DIGEST},
    )
    assert (v1.run_id, v1.run_link, v1.description) == ("0a1b2c", "https://mlflow.example/runs/0a1b2c", "first fit")
    register("staged", 2)
    assert [v.version for v in client.search_model_versions("run_id IN ('0a1b2c', 'zz')")] == ["1"]
    updated = client.update_model_version("staged", "2", description="retrained on March")
    assert updated.description == "retrained on March"
    assert client.get_model_version("staged", "2").description == "retrained on March"
    client.transition_model_version_stage("staged", "1", "production")
    client.transition_model_version_stage("staged", "2", "Staging")
    moved = client.transition_model_version_stage("staged", "3", "Production", archive_existing_versions=True)
    assert moved.current_stage == "Production"
    assert client.get_model_version("staged", "1").current_stage == "Archived"
    latest = client.get_latest_versions("staged")
    assert {(v.current_stage, v.version) for v in latest} == {("Production", "3"), ("Staging", "2"), ("Archived", "1")}
    assert [v.version for v in client.get_latest_versions("staged", stages=["Staging"])] == ["2"]
    with pytest.raises(MlflowException) as e:
        client.transition_model_version_stage("staged", "1", "Live")
    assert code(e) == "INVALID_PARAMETER_VALUE"


def test_a_workspace_is_the_tokens_tenant(steward, client):
    from mlflow.tracking._workspace.fluent import list_workspaces, set_workspace

    register("in-acme", 1)
    try:
        set_workspace("acme")
        assert [w.name for w in list_workspaces()] == ["acme"]
        assert client.get_registered_model("in-acme").name == "in-acme"
        set_workspace("globex")
        with pytest.raises(MlflowException) as e:
            client.get_registered_model("in-acme")
        assert code(e) == "PERMISSION_DENIED"
        assert "tenant `acme`" in str(e.value)
    finally:
        set_workspace(None)
    assert client.get_registered_model("in-acme").name == "in-acme"
