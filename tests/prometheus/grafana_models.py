#!/usr/bin/env python3
"""Checks Steward's Grafana dashboards against Grafana's own dashboard models: the Grafana
Foundation SDK (PyPI `grafana-foundation-sdk`, generated from Grafana's schemas; pinned in
run.sh). Each dashboard is read into the models and written back; a key the schema does not
know is dropped on the way, and fails the check unless it is one of the data-source or UI fields
the schema leaves open (listed below, each with why). Every panel type must be a panel Grafana
ships (the SDK has a model for it).

Usage: grafana_models.py DASHBOARD_DIR. Exit status 1 on any failure, each one listed.
"""

import importlib
import json
import sys
from pathlib import Path

from grafana_foundation_sdk.models.dashboard import Dashboard

# Keys Grafana stores that the generic schema does not model, by where they appear.
OPEN = {
    # A query variable's text as the editor shows it (Grafana writes it; the schema omits it).
    "definition",
    # The Prometheus data source's annotation query fields (data-source specific, so outside
    # the dashboard schema): resolution step, title and text templates.
    "step",
    "titleFormat",
    "textFormat",
}


def dropped(original, back, path=""):
    out = []
    if isinstance(original, dict) and isinstance(back, dict):
        for k, v in original.items():
            if k not in back:
                if k not in OPEN:
                    out.append(f"{path}.{k}")
            else:
                out += dropped(v, back[k], f"{path}.{k}")
    elif isinstance(original, list) and isinstance(back, list):
        if len(original) != len(back):
            out.append(f"{path}: {len(original)} items became {len(back)}")
        for i, (a, b) in enumerate(zip(original, back)):
            out += dropped(a, b, f"{path}[{i}]")
    return out


def plain(value):
    return json.loads(json.dumps(value, default=lambda o: o.to_json() if hasattr(o, "to_json") else str(o)))


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: grafana_models.py DASHBOARD_DIR")
    boards = sorted(Path(sys.argv[1]).glob("*.json"))
    if not boards:
        sys.exit(f"no dashboards in {sys.argv[1]}")
    failures = []
    for path in boards:
        board = json.loads(path.read_text())
        back = plain(Dashboard.from_json(board).to_json())
        failures += [f"{path.name}: {k} is not in Grafana's dashboard schema" for k in dropped(board, back)]
        for p in board.get("panels", []):
            try:
                importlib.import_module(f"grafana_foundation_sdk.models.{p['type']}")
            except ModuleNotFoundError:
                failures.append(f"{path.name}: panel {p.get('id')}: type {p['type']!r} is no Grafana panel")
    for f in failures:
        print("FAIL", f)
    print(f"{len(boards)} dashboards read into Grafana's models, {len(failures)} failures")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
