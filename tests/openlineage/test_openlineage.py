"""The real `openlineage-python` client (1.54.0, its HTTP transport) against Steward's
`POST /api/v1/lineage`: START and COMPLETE events with schema, version and statistics facets
become dataset version -> training run -> model version in Steward's lineage; gzip bodies; a bad
token makes the client raise; a malformed event is 400 naming the field, with nothing stored."""

import json
import urllib.error
import urllib.request
import uuid

import attr
import pytest
from openlineage.client import OpenLineageClient
from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
from openlineage.client.facet_v2 import (
    dataset_version_dataset,
    input_statistics_input_dataset,
    output_statistics_output_dataset,
    schema_dataset,
    source_code_location_job,
)
from openlineage.client.generated.base import OutputDatasetFacet
from openlineage.client.serde import Serde
from openlineage.client.transport.http import ApiKeyTokenProvider, HttpCompression, HttpConfig, HttpTransport
from requests.exceptions import HTTPError

DIGEST = "sha256:" + "cd" * 32
PRODUCER = "https://github.com/acme/pipelines"


@attr.define
class StewardModelVersionFacet(OutputDatasetFacet):
    """Steward's output facet: the model version a run registered."""

    model: str
    version: str

    @staticmethod
    def _get_schema() -> str:
        return "https://steward.dev/spec/facets/1-0-0/StewardModelVersionFacet.json"


def client(steward, token, gzip=False):
    config = HttpConfig(
        url=steward.url,
        auth=ApiKeyTokenProvider({"apiKey": token}),
        compression=HttpCompression.GZIP if gzip else None,
        retry={"total": 0},
    )
    return OpenLineageClient(transport=HttpTransport(config))


def transactions(version="2026-02-28", rows=120000):
    return InputDataset(
        namespace="postgres://warehouse:5432",
        name="public.transactions",
        facets={
            "schema": schema_dataset.SchemaDatasetFacet(
                fields=[
                    schema_dataset.SchemaDatasetFacetFields(name="amount", type="DOUBLE"),
                    schema_dataset.SchemaDatasetFacetFields(name="country", type="VARCHAR"),
                    schema_dataset.SchemaDatasetFacetFields(name="hour", type="INTEGER"),
                ]
            ),
            "version": dataset_version_dataset.DatasetVersionDatasetFacet(datasetVersion=version),
        },
        inputFacets={"inputStatistics": input_statistics_input_dataset.InputStatisticsInputDatasetFacet(rowCount=rows)},
    )


def job(name="train_fraud.fit"):
    return Job(
        namespace="airflow-prod",
        name=name,
        facets={
            "sourceCodeLocation": source_code_location_job.SourceCodeLocationJobFacet(
                type="git", url="https://git.acme.example/ml/fraud", version="9b3f2c1"
            )
        },
    )


def run_event(state, run_id, inputs=(), outputs=(), job_name="train_fraud.fit"):
    return RunEvent(
        eventType=state,
        eventTime="2026-03-01T10:00:00.000Z" if state == RunState.START else "2026-03-01T10:42:00.000Z",
        run=Run(runId=run_id),
        job=job(job_name),
        producer=PRODUCER,
        inputs=list(inputs),
        outputs=list(outputs),
    )


def test_a_training_run_links_its_data_to_the_version_it_registered(steward):
    ci = steward.token("acme", "service", sub="airflow")
    ol = client(steward, ci, gzip=True)
    run_id = str(uuid.uuid4())
    ol.emit(run_event(RunState.START, run_id, inputs=[transactions()]))
    version = steward.graphql(
        ci,
        f'mutation {{ registerModelVersion(input: {{modelId: "{steward.fraud}", artifactUri: "s3://models/fraud/1", '
        f'artifactDigest: "{DIGEST}", framework: "xgboost"}}) {{ id version }} }}',
    )["registerModelVersion"]
    model_output = OutputDataset(
        namespace="s3://models",
        name="fraud/1",
        outputFacets={
            "steward_modelVersion": StewardModelVersionFacet(model="fraud", version=str(version["version"])),
            "outputStatistics": output_statistics_output_dataset.OutputStatisticsOutputDatasetFacet(rowCount=1),
        },
    )
    ol.emit(run_event(RunState.COMPLETE, run_id, inputs=[transactions()], outputs=[model_output]))

    data = steward.graphql(
        ci,
        f'{{ modelVersion(id: "{version["id"]}") {{ trainingRun {{ status codeCommit orchestratorRunId '
        f'inputDatasetVersions {{ rowCount uri schema {{ name type }} }} }} }} }}',
    )
    run = data["modelVersion"]["trainingRun"]
    assert (run["status"], run["codeCommit"], run["orchestratorRunId"]) == ("SUCCEEDED", "9b3f2c1", run_id)
    (dv,) = run["inputDatasetVersions"]
    assert dv["rowCount"] == 120000
    assert dv["uri"] == "postgres://warehouse:5432/public.transactions"
    assert [(f["name"], f["type"]) for f in dv["schema"]] == [("amount", "FLOAT"), ("country", "STRING"), ("hour", "INTEGER")]
    lineage = steward.graphql(
        ci, f'{{ lineage(nodeId: "{version["id"]}", direction: UPSTREAM, depth: 3) {{ nodes {{ kind label }} edges {{ relation }} }} }}'
    )["lineage"]
    kinds = {n["kind"] for n in lineage["nodes"]}
    assert {"MODEL_VERSION", "TRAINING_RUN", "DATASET_VERSION", "JOB"} <= kinds
    assert {"PRODUCED", "INPUT_TO", "RAN"} <= {e["relation"] for e in lineage["edges"]}
    # The audit log has each event as a training_run.record by the CI account.
    officer = steward.token("acme", "governance_officer")
    events = steward.graphql(officer, '{ auditEvents(first: 100, filter: {action: "training_run.record"}) { nodes { payload } } }')
    ours = [e for e in events["auditEvents"]["nodes"] if e["payload"].get("runId") == run_id]
    assert [e["payload"]["eventType"] for e in ours] == ["START", "COMPLETE"]
    # Marquez's lineage call answers the same graph at job and dataset level.
    req = urllib.request.Request(
        f"{steward.url}/api/v1/lineage?nodeId=job:airflow-prod:train_fraud.fit&depth=2",
        headers={"Authorization": f"Bearer {ci}"},
    )
    with urllib.request.urlopen(req) as resp:
        graph = json.load(resp)["graph"]
    ids = {n["id"] for n in graph}
    assert {"job:airflow-prod:train_fraud.fit", "dataset:postgres://warehouse:5432:public.transactions", "model:steward:fraud"} <= ids


def test_an_unbound_job_stays_an_external_job(steward):
    ci = steward.token("acme", "service", sub="airflow")
    ol = client(steward, ci)
    run_id = str(uuid.uuid4())
    features = OutputDataset(
        namespace="s3://features",
        name="fraud_features",
        outputFacets={"outputStatistics": output_statistics_output_dataset.OutputStatisticsOutputDatasetFacet(rowCount=500)},
    )
    ol.emit(run_event(RunState.START, run_id, inputs=[transactions()], job_name="build_features"))
    ol.emit(run_event(RunState.COMPLETE, run_id, inputs=[transactions()], outputs=[features], job_name="build_features"))
    jobs = steward.graphql(ci, "{ lineageJobs { namespace name modelId } }")["lineageJobs"]
    assert {"namespace": "airflow-prod", "name": "build_features", "modelId": None} in jobs


def test_a_bad_token_makes_the_client_raise(steward):
    ol = client(steward, "not-a-token")
    with pytest.raises(HTTPError) as e:
        ol.emit(run_event(RunState.START, str(uuid.uuid4()), inputs=[transactions()]))
    assert e.value.response.status_code == 401


def test_a_malformed_event_is_refused_naming_the_field_and_nothing_is_stored(steward):
    ci = steward.token("acme", "service", sub="airflow")
    before = steward.graphql(ci, "{ datasets { nodes { name latestVersion } } lineageJobs { name } }")
    event = json.loads(Serde.to_json(run_event(RunState.START, str(uuid.uuid4()), inputs=[transactions("v-bad")])))
    event["inputs"][0]["inputFacets"]["inputStatistics"]["rowCount"] = -1
    event["job"]["name"] = "never_stored"
    req = urllib.request.Request(
        f"{steward.url}/api/v1/lineage",
        data=json.dumps(event).encode(),
        headers={"Authorization": f"Bearer {ci}", "Content-Type": "application/json"},
    )
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(req)
    assert e.value.code == 400
    message = json.load(e.value)["errors"][0]["message"]
    assert "inputs[0].inputStatistics.rowCount" in message
    after = steward.graphql(ci, "{ datasets { nodes { name latestVersion } } lineageJobs { name } }")
    assert after == before
