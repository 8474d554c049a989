"""Python client for Steward: registry calls and production data uploads.

>>> from steward_client import Client
>>> client = Client("http://127.0.0.1:8080", token="...")           # doctest: +SKIP
>>> client.observe(("fraud", 3), df, prediction_ids=df["request_id"])  # doctest: +SKIP

See the package's README for installation, data formats, retries and idempotency.
"""

from ._http import NO_RETRIES, RetryPolicy
from ._version import __version__
from .client import Client, MetricsSpec, ModelRef, SchemaSpec, TokenSpec, VersionRef
from .data import Format, to_arrow
from .errors import (
    Conflict,
    ConnectionFailed,
    FailedPrecondition,
    Forbidden,
    InternalError,
    Invalid,
    NotFound,
    PayloadTooLarge,
    RateLimited,
    StewardError,
    Unauthenticated,
    Unavailable,
    Unprocessable,
    UnsupportedMediaType,
)
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

__all__ = [
    "Baseline",
    "Client",
    "Conflict",
    "ConnectionFailed",
    "FailedPrecondition",
    "Feature",
    "Forbidden",
    "Format",
    "IngestResult",
    "InternalError",
    "Invalid",
    "KpiResult",
    "LabelResult",
    "Me",
    "MetricsSpec",
    "Model",
    "ModelRef",
    "ModelVersion",
    "NO_RETRIES",
    "NotFound",
    "PayloadTooLarge",
    "RateLimited",
    "RetryPolicy",
    "SchemaSpec",
    "StewardError",
    "TokenSpec",
    "TrainingRunSpec",
    "Unauthenticated",
    "Unavailable",
    "Unprocessable",
    "UnsupportedMediaType",
    "VersionRef",
    "__version__",
    "to_arrow",
]
