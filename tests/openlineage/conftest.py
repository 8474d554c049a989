"""A real `steward serve` for the real `openlineage-python` client (docs/ecosystem.md): tenants
`acme` and `globex`, and a model `fraud` in `acme` whose training job is bound to it."""

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from steward_server import Steward  # noqa: E402


@pytest.fixture(scope="session")
def steward():
    s = Steward()
    s.create_tenants("acme", "globex")
    owner = s.token("acme", "model_owner", sub="olivia")
    model = s.graphql(owner, 'mutation { registerModel(input: {name: "fraud", ownerTeam: "risk", riskTier: HIGH}) { id } }')
    s.fraud = model["registerModel"]["id"]
    s.graphql(owner, f'mutation {{ bindLineageJob(input: {{namespace: "airflow-prod", name: "train_fraud.fit", modelId: "{s.fraud}"}}) {{ id }} }}')
    yield s
    s.stop()
