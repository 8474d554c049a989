"""The client: registry calls over GraphQL and data uploads over the REST ingestion routes."""

from __future__ import annotations

import json
import os
import re
import ssl
import uuid
from typing import (
    Any,
    Callable,
    Dict,
    Iterator,
    List,
    Mapping,
    Optional,
    Sequence,
    Tuple,
    Union,
)
from urllib.parse import quote, urlencode

from ._http import Response, RetryPolicy, Transport
from ._version import __version__
from .data import Format, prepare, serialize
from .errors import NotFound, StewardError, from_graphql_errors, from_response
from .models import (
    Baseline,
    Feature,
    IngestResult,
    KpiResult,
    LabelResult,
    Me,
    Model,
    ModelVersion,
    TrainingRunSpec,
)

#: A model: a :class:`Model` (from ``get_model`` or ``register_model``) or its name.
ModelRef = Union[Model, str]
#: A model version: its id, a ``(model_name, version_number)`` pair, or a :class:`ModelVersion`.
VersionRef = Union[str, Tuple[str, int], ModelVersion]
#: An input schema: ``{"amount": "FLOAT"}``, ``[("amount", "FLOAT")]``, ``[Feature(...)]`` or
#: ``[{"name": "amount", "type": "FLOAT"}]``.
SchemaSpec = Union[Mapping[str, str], Sequence[Any]]
#: Holdout metrics: ``{"auc": 0.93}`` or ``[("auc", 0.93)]``.
MetricsSpec = Union[Mapping[str, float], Sequence[Tuple[str, float]]]
#: A bearer token, or a function returning the current one (called before every request).
TokenSpec = Union[str, Callable[[], Optional[str]], None]

_MODEL_FIELDS = (
    "id name description ownerTeam riskTier tags latestVersion createdBy createdAt updatedAt"
)
_SCHEMA_PAGE = 100  # features fetched with a version; the rest is paged (at most 1,000 a page)
_SCHEMA_MAX_PAGE = 1000
_VERSION_FIELDS = (
    "id modelId version artifactUri artifactDigest framework inputSchemaSize "
    f"inputSchema(first: {_SCHEMA_PAGE}) {{ name type }} metrics {{ name value }} tags "
    "createdBy createdAt trainingRun { id }"
)
_BASELINE_FIELDS = "id modelVersionId source rows features fingerprint note active createdAt"
_UUID = re.compile(
    r"^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$"
)
_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")
_MAX_PAGE = 100


def _check_key(key: Optional[str]) -> str:
    if key is None:
        return str(uuid.uuid4())
    if not isinstance(key, str) or not _KEY.match(key):
        raise ValueError(
            "idempotency_key must be 1 to 255 printable ASCII characters without spaces"
        )
    return key


def _schema(spec: SchemaSpec) -> List[Dict[str, str]]:
    items: Sequence[Any]
    if isinstance(spec, Mapping):
        items = list(spec.items())
    else:
        items = spec
    out = []
    for item in items:
        if isinstance(item, Feature):
            name, kind = item.name, item.type
        elif isinstance(item, Mapping):
            name, kind = item["name"], item["type"]
        else:
            name, kind = item
        out.append({"name": str(name), "type": str(kind).upper()})
    return out


def _metrics(spec: Optional[MetricsSpec]) -> List[Dict[str, Any]]:
    if spec is None:
        return []
    pairs = spec.items() if isinstance(spec, Mapping) else spec
    return [{"name": str(n), "value": float(v)} for n, v in pairs]


def _graphql_unavailable(resp: Response) -> bool:
    """A GraphQL answer whose every error is ``UNAVAILABLE`` (the database is down): retry."""
    if resp.status != 200:
        return False
    try:
        errors = json.loads(resp.body).get("errors")
    except (ValueError, AttributeError):
        return False
    return bool(errors) and all(
        isinstance(e, dict) and (e.get("extensions") or {}).get("code") == "UNAVAILABLE"
        for e in errors
    )


class Client:
    """A Steward server, seen from a serving process, a batch job or CI.

    Args:
        url: the server's base URL (``https://steward.example.com``, a path prefix allowed);
            ``STEWARD_URL`` when not given.
        token: a bearer token, or a function that returns the current one (called before every
            request, so a rotating token is always fresh); ``STEWARD_TOKEN`` when not given.
        timeout: seconds to wait for a connection and for each read of the answer.
        retry: how requests are retried (:class:`RetryPolicy`; by default 5 attempts with
            exponential backoff and full jitter, on connection errors, ``429`` and ``503``).
        ssl_context: the TLS context for ``https`` URLs (the system's trust store by default).

    Example::

        client = Client("https://steward.example.com", token=os.environ["STEWARD_TOKEN"])
        client.observe(("fraud", 4), df, prediction_ids=df["request_id"])
    """

    def __init__(
        self,
        url: Optional[str] = None,
        token: TokenSpec = None,
        *,
        timeout: float = 60.0,
        retry: Optional[RetryPolicy] = None,
        ssl_context: Optional[ssl.SSLContext] = None,
    ) -> None:
        url = url or os.environ.get("STEWARD_URL")
        if not url:
            raise ValueError("give the server's URL, or set STEWARD_URL")
        if token is None:
            token = os.environ.get("STEWARD_TOKEN")
        if callable(token):
            get_token: Callable[[], Optional[str]] = token
        else:
            fixed = token

            def get_token() -> Optional[str]:
                return fixed

        self.retry = retry or RetryPolicy()
        self._transport = Transport(
            url,
            get_token,
            timeout=timeout,
            retry=self.retry,
            user_agent=f"steward-client-python/{__version__}",
            ssl_context=ssl_context,
        )
        self._versions: Dict[Tuple[str, int], str] = {}

    @property
    def url(self) -> str:
        """The server's base URL."""
        return self._transport.base_url

    def __repr__(self) -> str:
        return f"Client({self.url!r})"

    # ----------------------------------------------------------------------------- GraphQL

    def graphql(
        self,
        query: str,
        variables: Optional[Mapping[str, Any]] = None,
        *,
        idempotent: bool = True,
    ) -> Dict[str, Any]:
        """Runs one GraphQL operation and returns its ``data``.

        The escape hatch for everything this client does not wrap (windows, incidents,
        policies: see the server's docs/api.md).

        Args:
            query: the operation.
            variables: its variables.
            idempotent: whether repeating it is harmless when an answer was lost (true for
                queries; pass false for a mutation without an idempotency key, which is then
                retried only when the server certainly did not act on it).

        Raises:
            StewardError: the subclass for the first error's ``extensions.code``.
        """
        payload = json.dumps({"query": query, "variables": dict(variables or {})}).encode("utf-8")
        resp = self._transport.request(
            "POST",
            "/graphql",
            body=payload,
            headers={"Content-Type": "application/json", "Accept": "application/json"},
            idempotent=idempotent,
            retry_if=_graphql_unavailable,
        )
        try:
            parsed = json.loads(resp.body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            parsed = None
        if isinstance(parsed, dict):
            errors = parsed.get("errors")
            if errors:
                raise from_graphql_errors(errors, resp.status)
            data = parsed.get("data")
            if resp.status == 200 and isinstance(data, dict):
                return data
        raise from_response(resp.status, resp.body)

    def me(self) -> Me:
        """Who the token says the caller is: subject, tenant and roles."""
        return Me.from_graphql(self.graphql("{ me { subject tenant roles } }")["me"])

    # ---------------------------------------------------------------------------- registry

    def register_model(
        self,
        name: str,
        *,
        owner_team: str,
        risk_tier: str,
        description: str = "",
        tags: Sequence[str] = (),
    ) -> Model:
        """Registers a model (model owners and service accounts).

        Args:
            name: unique in the tenant.
            owner_team: the team answerable for it.
            risk_tier: ``HIGH``, ``MEDIUM`` or ``LOW`` (any case).
            description: free text.
            tags: labels that policy selectors match on.

        Raises:
            Conflict: a model of that name exists.
        """
        data = self.graphql(
            "mutation($i: RegisterModelInput!) {"
            f" registerModel(input: $i) {{ {_MODEL_FIELDS} }} }}",
            {
                "i": {
                    "name": name,
                    "ownerTeam": owner_team,
                    "riskTier": risk_tier.upper(),
                    "description": description,
                    "tags": list(tags),
                }
            },
            # A repeat after a lost answer would be a CONFLICT, not a second model; still,
            # only requests the server certainly did not see are repeated.
            idempotent=False,
        )
        return Model.from_graphql(data["registerModel"])

    def get_model(self, name: Optional[str] = None, *, id: Optional[str] = None) -> Model:
        """A model by name, or by id.

        Raises:
            NotFound: no such model in the token's tenant.
        """
        if (name is None) == (id is None):
            raise ValueError("give the model's name or its id")
        if name is not None:
            q = f"query($n: String!) {{ model: modelByName(name: $n) {{ {_MODEL_FIELDS} }} }}"
            data = self.graphql(q, {"n": name})
        else:
            q = f"query($id: ID!) {{ model(id: $id) {{ {_MODEL_FIELDS} }} }}"
            data = self.graphql(q, {"id": id})
        return Model.from_graphql(data["model"])

    def list_models(
        self,
        *,
        name_prefix: Optional[str] = None,
        tag: Optional[str] = None,
        risk_tier: Optional[str] = None,
        page_size: int = _MAX_PAGE,
    ) -> Iterator[Model]:
        """The tenant's models in name order, fetched a page at a time as iterated.

        Args:
            name_prefix: only names starting with this.
            tag: only models with this tag.
            risk_tier: only this tier.
            page_size: models per request (1-100).
        """
        q = (
            "query($first: Int, $after: String, $p: String, $t: String, $r: RiskTier) {"
            " models(first: $first, after: $after, namePrefix: $p, tag: $t, riskTier: $r) {"
            f" nodes {{ {_MODEL_FIELDS} }} pageInfo {{ hasNextPage endCursor }} }} }}"
        )
        after: Optional[str] = None
        while True:
            page = self.graphql(
                q,
                {
                    "first": page_size,
                    "after": after,
                    "p": name_prefix,
                    "t": tag,
                    "r": risk_tier.upper() if risk_tier else None,
                },
            )["models"]
            for node in page["nodes"]:
                yield Model.from_graphql(node)
            if not page["pageInfo"]["hasNextPage"]:
                return
            after = page["pageInfo"]["endCursor"]

    def _model_id(self, model: ModelRef) -> str:
        if isinstance(model, Model):
            return model.id
        return self.get_model(model).id

    def register_version(
        self,
        model: ModelRef,
        *,
        artifact_uri: str,
        artifact_digest: str,
        framework: str,
        input_schema: SchemaSpec,
        metrics: Optional[MetricsSpec] = None,
        tags: Sequence[str] = (),
        training_run: Optional[TrainingRunSpec] = None,
        training_run_id: Optional[str] = None,
        idempotency_key: Optional[str] = None,
    ) -> ModelVersion:
        """Registers the next version of a model (model owners and service accounts).

        Args:
            model: the model (a :class:`Model` or its name).
            artifact_uri: where the artifact is (``s3://...``).
            artifact_digest: its SHA-256, 64 hex characters, optionally ``sha256:``-prefixed.
            framework: ``xgboost``, ``sklearn``, ...
            input_schema: the input features and their types (``FLOAT``, ``INTEGER``,
                ``BOOLEAN``, ``STRING``, ``CATEGORICAL``, ``TIMESTAMP``).
            metrics: holdout metrics by name (``accuracy`` and ``auc`` are what production
                performance is tested against).
            tags: labels of the version.
            training_run: the run that produced it, recorded in the same transaction.
            training_run_id: or a run recorded before (``recordTrainingRun``).
            idempotency_key: makes a repeat return the first result; a random one is used
                when not given, so the client's own retries never register two versions.

        Raises:
            Invalid: a malformed field (the message names it).
            Conflict: the key was used for a different request, or the run is used already.
        """
        if training_run is not None and training_run_id is not None:
            raise ValueError("give training_run or training_run_id, not both")
        key = _check_key(idempotency_key)
        inp: Dict[str, Any] = {
            "modelId": self._model_id(model),
            "artifactUri": artifact_uri,
            "artifactDigest": artifact_digest,
            "framework": framework,
            "inputSchema": _schema(input_schema),
            "metrics": _metrics(metrics),
            "tags": list(tags),
            "idempotencyKey": key,
        }
        if training_run is not None:
            inp["trainingRun"] = training_run.to_graphql()
        if training_run_id is not None:
            inp["trainingRunId"] = training_run_id
        data = self.graphql(
            "mutation($i: RegisterModelVersionInput!) {"
            f" registerModelVersion(input: $i) {{ {_VERSION_FIELDS} }} }}",
            {"i": inp},
            idempotent=True,
        )
        return self._with_schema(data["registerModelVersion"])

    def _with_schema(self, node: Mapping[str, Any]) -> ModelVersion:
        """A version with its whole input schema (fetching the pages beyond the first)."""
        schema = list(node["inputSchema"])
        total = int(node["inputSchemaSize"])
        q = (
            "query($id: ID!, $first: Int!, $offset: Int!) { modelVersion(id: $id) {"
            " inputSchema(first: $first, offset: $offset) { name type } } }"
        )
        while len(schema) < total:
            page = self.graphql(
                q, {"id": node["id"], "first": _SCHEMA_MAX_PAGE, "offset": len(schema)}
            )["modelVersion"]["inputSchema"]
            if not page:
                break
            schema.extend(page)
        return ModelVersion.from_graphql(node, schema)

    def version_id(self, model_version: VersionRef) -> str:
        """The id of a version given by id, ``(model_name, number)`` or :class:`ModelVersion`.

        A ``(name, number)`` pair is looked up once and remembered (versions never change).

        Raises:
            NotFound: no such model, or it has no such version.
        """
        if isinstance(model_version, ModelVersion):
            return model_version.id
        if isinstance(model_version, str):
            if not _UUID.match(model_version):
                raise ValueError(
                    f"{model_version!r} is not a version id: give the id, or (model_name, number)"
                )
            return model_version
        if isinstance(model_version, tuple) and len(model_version) == 2:
            name, number = model_version
            key = (str(name), int(number))
            if key not in self._versions:
                self._versions[key] = self._find_version(*key)
            return self._versions[key]
        raise TypeError("a model version is an id, a (model_name, number) pair or a ModelVersion")

    def _find_version(self, name: str, number: int) -> str:
        q = (
            "query($n: String!, $first: Int, $after: String) { modelByName(name: $n) {"
            " latestVersion versions(first: $first, after: $after) {"
            " nodes { id version } pageInfo { hasNextPage endCursor } } } }"
        )
        after: Optional[str] = None
        while True:
            model = self.graphql(q, {"n": name, "first": _MAX_PAGE, "after": after})["modelByName"]
            page = model["versions"]
            for node in page["nodes"]:
                if int(node["version"]) == number:
                    return str(node["id"])
            # Newest first: once below the number, it is not there.
            if (
                not page["pageInfo"]["hasNextPage"]
                or not page["nodes"]
                or int(page["nodes"][-1]["version"]) < number
            ):
                raise NotFound(f"model `{name}` has no version {number}")
            after = page["pageInfo"]["endCursor"]

    def get_version(self, model_version: VersionRef) -> ModelVersion:
        """A version with its whole input schema, metrics and training run id.

        Raises:
            NotFound: no such version in the token's tenant.
        """
        vid = self.version_id(model_version)
        data = self.graphql(
            f"query($id: ID!) {{ modelVersion(id: $id) {{ {_VERSION_FIELDS} }} }}", {"id": vid}
        )
        return self._with_schema(data["modelVersion"])

    def list_versions(self, model: ModelRef, *, page_size: int = 20) -> Iterator[ModelVersion]:
        """A model's versions, newest first, fetched a page at a time as iterated.

        Args:
            model: a :class:`Model` or its name.
            page_size: versions per request (1-100; each carries its first 100 features, so
                large pages of wide schemas can exceed the server's query complexity limit).
        """
        q = (
            "query($id: ID!, $first: Int, $after: String) { model(id: $id) {"
            f" versions(first: $first, after: $after) {{ nodes {{ {_VERSION_FIELDS} }}"
            " pageInfo { hasNextPage endCursor } } } }"
        )
        model_id = self._model_id(model)
        after: Optional[str] = None
        while True:
            page = self.graphql(q, {"id": model_id, "first": page_size, "after": after})["model"][
                "versions"
            ]
            for node in page["nodes"]:
                yield self._with_schema(node)
            if not page["pageInfo"]["hasNextPage"]:
                return
            after = page["pageInfo"]["endCursor"]

    # ------------------------------------------------------------------------------ uploads

    def _path(self, model_version: VersionRef, kind: str) -> str:
        vid = self.version_id(model_version)
        return f"/v1/model-versions/{quote(vid, safe='')}/{kind}"

    def _post_rows(
        self,
        path: str,
        table: Any,
        *,
        format: Format,
        key: Optional[str],
        headers: Optional[Mapping[str, str]] = None,
    ) -> Tuple[int, Dict[str, Any]]:
        body, content_type = serialize(table, format)
        all_headers = {"Content-Type": content_type, "Accept": "application/json"}
        if key is not None:
            all_headers["Idempotency-Key"] = key
        all_headers.update(headers or {})
        # Keyed uploads are counted once whatever the number of attempts: they are retried
        # also when an answer was lost. Unkeyed ones (baselines) only when never received.
        resp = self._transport.request(
            "POST", path, body=body, headers=all_headers, idempotent=key is not None
        )
        if resp.status not in (200, 201):
            raise from_response(resp.status, resp.body, idempotency_key=key)
        try:
            parsed = json.loads(resp.body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as e:
            raise StewardError(
                f"the server's answer is not JSON: {resp.body[:200]!r}",
                status=resp.status,
                idempotency_key=key,
            ) from e
        return resp.status, parsed

    def observe(
        self,
        model_version: VersionRef,
        data: Any,
        prediction_ids: Any = None,
        *,
        idempotency_key: Optional[str] = None,
        shadow: bool = False,
        format: Format = "arrow",
    ) -> IngestResult:
        """Sends a batch of production rows: the version's input features and ``prediction``.

        Columns: every input feature and ``prediction`` (required); ``prediction_id`` (labels
        join on it); ``event_time`` (an Arrow timestamp or RFC 3339 text; receipt time when
        absent); the model's slice columns. The batch is checked whole: a bad row refuses it
        and nothing of it is counted.

        Args:
            model_version: the version's id, ``(model_name, number)`` or :class:`ModelVersion`.
            data: a pandas or polars DataFrame, a ``pyarrow.Table`` or ``RecordBatch``, or a
                dict of columns.
            prediction_ids: one id per row, added as the ``prediction_id`` column.
            idempotency_key: the batch's key (a random UUID when not given). Every retry of this
                call sends the same key, so the batch is counted once; reuse a key only for the
                same payload (another payload under it is :class:`~steward_client.Unprocessable`).
            shadow: the rows are traffic mirrored to a shadow deployment.
            format: ``arrow`` (an Arrow IPC stream) or ``parquet``.

        Returns:
            The batch's id, its rows, windows and late rows, and ``duplicate`` when the key had
            been counted before.

        Raises:
            Invalid: a bad row (the message names the row and column), or a missing column.
            FailedPrecondition: the version has no active baseline yet.
            NotFound: no such version in the token's tenant.
            Unprocessable: the key was used for another payload.
        """
        key = _check_key(idempotency_key)
        table = prepare(data, columns={"prediction_id": prediction_ids})
        path = self._path(model_version, "observations")
        if shadow:
            path += "?" + urlencode({"shadow": "true"})
        status, body = self._post_rows(path, table, format=format, key=key)
        return IngestResult.from_json(body, key=key, status=status)

    def label(
        self,
        model_version: VersionRef,
        data: Any = None,
        *,
        prediction_ids: Any = None,
        labels: Any = None,
        idempotency_key: Optional[str] = None,
        format: Format = "arrow",
    ) -> LabelResult:
        """Sends delayed labels, joined by the server to predictions sent with those ids.

        Either ``data`` with ``prediction_id`` and ``label`` columns, or ``prediction_ids`` and
        ``labels`` (each may also complete ``data``). A label is a number, ``1``/``0`` or a
        boolean for score predictions, text for label predictions. Unknown ids are counted as
        ``unmatched`` and a second label for an id as ``already_labelled``: neither is an error.

        Args:
            model_version: the version's id, ``(model_name, number)`` or :class:`ModelVersion`.
            data: a data frame or table with the labels.
            prediction_ids: one id per label, added as the ``prediction_id`` column.
            labels: the labels, added as the ``label`` column.
            idempotency_key: the batch's key (random when not given; the same for every retry).
            format: ``arrow`` or ``parquet``.

        Raises:
            Invalid: a row without an id or a label (the message names the row).
            NotFound: no such version in the token's tenant.
            Unprocessable: the key was used for another payload.
        """
        if data is None and (prediction_ids is None or labels is None):
            raise ValueError("give data, or both prediction_ids and labels")
        key = _check_key(idempotency_key)
        table = prepare(data, columns={"prediction_id": prediction_ids, "label": labels})
        status, body = self._post_rows(
            self._path(model_version, "labels"), table, format=format, key=key
        )
        return LabelResult.from_json(body, key=key, status=status)

    def report_kpis(
        self,
        model_version: VersionRef,
        data: Any,
        *,
        idempotency_key: Optional[str] = None,
        format: Format = "arrow",
    ) -> KpiResult:
        """Sends business KPIs: rows of ``kpi`` (a name), ``value`` (a finite number), optional
        ``event_time`` and slice columns, summed per window, slice and name.

        Args:
            model_version: the version's id, ``(model_name, number)`` or :class:`ModelVersion`.
            data: a data frame, table or dict of columns.
            idempotency_key: the batch's key (random when not given; the same for every retry).
            format: ``arrow`` or ``parquet``.
        """
        key = _check_key(idempotency_key)
        table = prepare(data)
        status, body = self._post_rows(
            self._path(model_version, "kpis"), table, format=format, key=key
        )
        return KpiResult.from_json(body, key=key, status=status)

    def upload_baseline(
        self,
        model_version: VersionRef,
        data: Any,
        *,
        activate: bool = True,
        note: Optional[str] = None,
        categorical_prediction: bool = False,
        format: Format = "arrow",
    ) -> Baseline:
        """Uploads a reference data set that the server profiles into a baseline.

        The rows have every input feature of the version and, optionally, ``prediction`` (and
        the model's slice columns, profiled per slice). Each upload is a new baseline; the
        route takes no idempotency key, so a lost answer is not retried (list them with
        :meth:`baselines` to see whether it arrived).

        Args:
            model_version: the version's id, ``(model_name, number)`` or :class:`ModelVersion`.
            data: a data frame, table or dict of columns.
            activate: make it the version's active baseline.
            note: free text kept with it.
            categorical_prediction: read ``prediction`` as labels rather than scores.
            format: ``arrow`` or ``parquet``.
        """
        params: Dict[str, str] = {"activate": "true" if activate else "false"}
        if note:
            params["note"] = note
        if categorical_prediction:
            params["prediction"] = "categorical"
        path = self._path(model_version, "baselines") + "?" + urlencode(params)
        _, body = self._post_rows(path, prepare(data), format=format, key=None)
        return Baseline.from_json(body)

    def baselines(self, model_version: VersionRef) -> List[Baseline]:
        """A version's baselines, newest first (one of them is active)."""
        data = self.graphql(
            f"query($id: ID!) {{ baselines(modelVersionId: $id) {{ {_BASELINE_FIELDS} }} }}",
            {"id": self.version_id(model_version)},
        )
        return [Baseline.from_json(b) for b in data["baselines"]]
