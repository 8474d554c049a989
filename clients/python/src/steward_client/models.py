"""What the client returns (and the inputs it takes beyond plain values): small dataclasses.

Each result keeps the server's answer as it came in ``raw``, so a field the server adds later
is readable before this package names it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Dict, List, Mapping, Optional, Sequence

_FRACTION = re.compile(r"(\.\d{6})\d+")


def parse_time(value: Optional[str]) -> Optional[datetime]:
    """An RFC 3339 timestamp from the server as an aware ``datetime`` (``None`` stays ``None``).

    The server writes nanoseconds and ``Z`` or an offset; ``datetime.fromisoformat`` before
    Python 3.11 reads neither, so the fraction is cut to microseconds and ``Z`` spelled out.
    """
    if value is None:
        return None
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    text = _FRACTION.sub(r"\1", text)
    return datetime.fromisoformat(text)


@dataclass(frozen=True)
class Me:
    """Who the token says the caller is."""

    subject: str
    tenant: str
    #: Role names as the GraphQL enum spells them (``MODEL_OWNER``, ``SRE``, ...).
    roles: List[str]

    @classmethod
    def from_graphql(cls, d: Mapping[str, Any]) -> "Me":
        """Builds it from the ``me`` field."""
        return cls(subject=d["subject"], tenant=d["tenant"], roles=list(d["roles"]))


@dataclass(frozen=True)
class Feature:
    """One input feature of a model version's schema."""

    name: str
    #: ``FLOAT``, ``INTEGER``, ``BOOLEAN``, ``STRING``, ``CATEGORICAL`` or ``TIMESTAMP``.
    type: str


@dataclass(frozen=True)
class Model:
    """A registered model."""

    id: str
    name: str
    description: str
    owner_team: str
    #: ``HIGH``, ``MEDIUM`` or ``LOW``.
    risk_tier: str
    tags: List[str]
    #: The highest version number registered so far (0 before the first).
    latest_version: int
    created_by: str
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_graphql(cls, d: Mapping[str, Any]) -> "Model":
        """Builds it from a GraphQL ``Model`` object."""
        created = parse_time(d["createdAt"])
        updated = parse_time(d["updatedAt"])
        assert created is not None and updated is not None
        return cls(
            id=d["id"],
            name=d["name"],
            description=d["description"],
            owner_team=d["ownerTeam"],
            risk_tier=d["riskTier"],
            tags=list(d["tags"]),
            latest_version=int(d["latestVersion"]),
            created_by=d["createdBy"],
            created_at=created,
            updated_at=updated,
        )


@dataclass(frozen=True)
class ModelVersion:
    """A registered version of a model."""

    id: str
    model_id: str
    #: 1, 2, ... in the order registered.
    version: int
    artifact_uri: str
    #: ``sha256:<hex>``.
    artifact_digest: str
    framework: str
    input_schema: List[Feature]
    #: Holdout metrics by name.
    metrics: Dict[str, float]
    tags: List[str]
    created_by: str
    created_at: datetime
    #: The training run that produced the version, when one was recorded.
    training_run_id: Optional[str]

    @classmethod
    def from_graphql(
        cls, d: Mapping[str, Any], schema: Sequence[Mapping[str, Any]]
    ) -> "ModelVersion":
        """Builds it from a GraphQL ``ModelVersion`` and its whole input schema."""
        created = parse_time(d["createdAt"])
        assert created is not None
        run = d.get("trainingRun")
        return cls(
            id=d["id"],
            model_id=d["modelId"],
            version=int(d["version"]),
            artifact_uri=d["artifactUri"],
            artifact_digest=d["artifactDigest"],
            framework=d["framework"],
            input_schema=[Feature(name=f["name"], type=f["type"]) for f in schema],
            metrics={m["name"]: float(m["value"]) for m in d["metrics"]},
            tags=list(d["tags"]),
            created_by=d["createdBy"],
            created_at=created,
            training_run_id=run["id"] if run else None,
        )


@dataclass(frozen=True)
class TrainingRunSpec:
    """The training run that produced a version, recorded with it by ``register_version``.

    Attributes:
        code_commit: the commit the training code ran at.
        parameters: hyper-parameters (a JSON object).
        input_dataset_version_ids: the dataset versions trained on, in order.
        parent_model_version_id: the version this run fine-tuned, if any.
        orchestrator: e.g. ``airflow``, ``prefect``.
        orchestrator_run_id: the orchestrator's id of the run.
        status: ``RUNNING``, ``SUCCEEDED`` (the server's default), ``FAILED`` or ``CANCELLED``.
        started_at: when the run started.
        ended_at: when it ended.
        retraining_action_id: the ``retrain`` action (from Steward's outbox) this run carries out.
    """

    code_commit: str
    parameters: Optional[Mapping[str, Any]] = None
    input_dataset_version_ids: Sequence[str] = ()
    parent_model_version_id: Optional[str] = None
    orchestrator: Optional[str] = None
    orchestrator_run_id: Optional[str] = None
    status: Optional[str] = None
    started_at: Optional[datetime] = None
    ended_at: Optional[datetime] = None
    retraining_action_id: Optional[str] = None

    def to_graphql(self) -> Dict[str, Any]:
        """The ``TrainingRunInput`` object, leaving out what was not given."""
        out: Dict[str, Any] = {"codeCommit": self.code_commit}
        if self.parameters is not None:
            out["parameters"] = dict(self.parameters)
        if self.input_dataset_version_ids:
            out["inputDatasetVersionIds"] = list(self.input_dataset_version_ids)
        optional = {
            "parentModelVersionId": self.parent_model_version_id,
            "orchestrator": self.orchestrator,
            "orchestratorRunId": self.orchestrator_run_id,
            "status": self.status.upper() if self.status else None,
            "startedAt": self.started_at.isoformat() if self.started_at else None,
            "endedAt": self.ended_at.isoformat() if self.ended_at else None,
            "retrainingActionId": self.retraining_action_id,
        }
        out.update({k: v for k, v in optional.items() if v is not None})
        return out


_SOURCES = {"dataset": "DATASET", "profile": "PROFILE", "sagemaker": "SAGE_MAKER"}


@dataclass(frozen=True)
class Baseline:
    """A model version's reference profile."""

    id: str
    model_version_id: str
    #: ``DATASET``, ``PROFILE`` or ``SAGE_MAKER`` (the GraphQL enum's spelling, also for the
    #: REST answer, which writes ``dataset``, ``profile``, ``sagemaker``).
    source: str
    #: Rows of the reference data.
    rows: int
    #: Features profiled (the inputs and the prediction).
    features: int
    fingerprint: str
    note: str
    active: bool
    created_at: datetime
    raw: Dict[str, Any] = field(repr=False, compare=False, default_factory=dict)

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> "Baseline":
        """Builds it from the upload's REST answer or a GraphQL ``Baseline``."""
        source = str(d["source"])
        created = parse_time(d["createdAt"])
        assert created is not None
        return cls(
            id=d["id"],
            model_version_id=d["modelVersionId"],
            source=_SOURCES.get(source, source),
            rows=int(d["rows"]),
            features=int(d["features"]),
            fingerprint=d["fingerprint"],
            note=d["note"],
            active=bool(d["active"]),
            created_at=created,
            raw=dict(d),
        )


@dataclass(frozen=True)
class IngestResult:
    """The server's answer to a batch of observations.

    Attributes:
        batch_id: the batch's id (the first batch's id when ``duplicate``).
        rows: rows in the batch.
        late_rows: rows that arrived for windows already closed (counted, not profiled).
        duplicate: the key was seen before with the same payload: nothing was counted again.
        windows: windows the batch touched.
        baseline_id: the baseline the rows were profiled against.
        format: the format the server read (``arrow_stream``, ``parquet``, ...).
        shadow: the rows were recorded as shadow traffic.
        schedule: the windows' schedule (``hourly`` when the policy sets none).
        idempotency_key: the key the batch was sent under.
        status: 201 for a new batch, 200 for a duplicate.
        raw: the answer as the server sent it.
    """

    batch_id: str
    rows: int
    late_rows: int
    duplicate: bool
    windows: Optional[int]
    baseline_id: Optional[str]
    format: Optional[str]
    shadow: bool
    schedule: Optional[str]
    idempotency_key: str
    status: int
    raw: Dict[str, Any] = field(repr=False, compare=False, default_factory=dict)

    @classmethod
    def from_json(cls, d: Mapping[str, Any], *, key: str, status: int) -> "IngestResult":
        """Builds it from the observations route's answer."""
        return cls(
            batch_id=d["batchId"],
            rows=int(d["rows"]),
            late_rows=int(d.get("lateRows", 0)),
            duplicate=bool(d.get("duplicate", False)),
            windows=d.get("windows"),
            baseline_id=d.get("baselineId"),
            format=d.get("format"),
            shadow=bool(d.get("shadow", False)),
            schedule=d.get("schedule"),
            idempotency_key=key,
            status=status,
            raw=dict(d),
        )


@dataclass(frozen=True)
class LabelResult:
    """The server's answer to a batch of labels.

    Attributes:
        batch_id: the batch's id (the first batch's id when ``duplicate``).
        rows: rows in the batch.
        labels: labels read.
        matched: labels joined to a prediction sent earlier with that ``prediction_id``.
        unmatched: labels whose ``prediction_id`` no observation carried (not an error).
        already_labelled: labels for predictions labelled before (the first label stays).
        late_rows: labels for windows already closed.
        duplicate: the key was seen before with the same payload: nothing was counted again.
        label_delay_median_seconds: receipt minus event time, median over the batch.
        label_delay_max_seconds: the same, maximum.
        idempotency_key: the key the batch was sent under.
        status: 201 for a new batch, 200 for a duplicate.
        raw: the answer as the server sent it.
    """

    batch_id: str
    rows: int
    labels: int
    matched: int
    unmatched: int
    already_labelled: int
    late_rows: int
    duplicate: bool
    label_delay_median_seconds: Optional[float]
    label_delay_max_seconds: Optional[float]
    idempotency_key: str
    status: int
    raw: Dict[str, Any] = field(repr=False, compare=False, default_factory=dict)

    @classmethod
    def from_json(cls, d: Mapping[str, Any], *, key: str, status: int) -> "LabelResult":
        """Builds it from the labels route's answer."""
        delay = d.get("labelDelaySeconds") or {}
        return cls(
            batch_id=d["batchId"],
            rows=int(d["rows"]),
            labels=int(d.get("labels", d["rows"])),
            matched=int(d.get("matched", 0)),
            unmatched=int(d.get("unmatched", 0)),
            already_labelled=int(d.get("alreadyLabelled", 0)),
            late_rows=int(d.get("lateRows", 0)),
            duplicate=bool(d.get("duplicate", False)),
            label_delay_median_seconds=delay.get("median"),
            label_delay_max_seconds=delay.get("max"),
            idempotency_key=key,
            status=status,
            raw=dict(d),
        )


@dataclass(frozen=True)
class KpiResult:
    """The server's answer to a batch of business KPIs.

    Attributes:
        batch_id: the batch's id (the first batch's id when ``duplicate``).
        rows: rows in the batch.
        sums: (window, slice, name) sums the batch added to.
        windows: windows the batch touched.
        late_rows: rows for windows already evaluated.
        duplicate: the key was seen before with the same payload: nothing was counted again.
        idempotency_key: the key the batch was sent under.
        status: 201 for a new batch, 200 for a duplicate.
        raw: the answer as the server sent it.
    """

    batch_id: str
    rows: int
    sums: Optional[int]
    windows: Optional[int]
    late_rows: int
    duplicate: bool
    idempotency_key: str
    status: int
    raw: Dict[str, Any] = field(repr=False, compare=False, default_factory=dict)

    @classmethod
    def from_json(cls, d: Mapping[str, Any], *, key: str, status: int) -> "KpiResult":
        """Builds it from the KPI route's answer."""
        return cls(
            batch_id=d["batchId"],
            rows=int(d["rows"]),
            sums=d.get("sums"),
            windows=d.get("windows"),
            late_rows=int(d.get("lateRows", 0)),
            duplicate=bool(d.get("duplicate", False)),
            idempotency_key=key,
            status=status,
            raw=dict(d),
        )
