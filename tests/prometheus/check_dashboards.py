#!/usr/bin/env python3
"""Checks Steward's Grafana dashboards against a real Prometheus scraping a real Steward.

For every dashboard in the directory given:
- its structure: a uid and title, unique panel ids, grid positions, each panel and target on the
  `${datasource}` Prometheus variable, every `$variable` in a query defined in `templating`;
- every template variable's `label_values(...)` query answers, and holds the variable's default;
- every panel query, with the variables at their defaults (`All` as `.*`) and `$__rate_interval`
  as 1m, answers with at least one series: a panel that would show "No data" fails;
- every annotation query is valid PromQL (it may match nothing: incidents and rollbacks are
  events).

Standard library only. Exit status 1 on any failure, with every failure listed.
"""

import json
import re
import sys
import urllib.parse
import urllib.request
from pathlib import Path

BUILTINS = {"__rate_interval": "1m", "__interval": "1m", "__range": "1h", "datasource": ""}


def query(prom, expr):
    url = f"{prom}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    try:
        with urllib.request.urlopen(url, timeout=30) as resp:
            return json.load(resp)
    except urllib.error.HTTPError as e:
        return json.loads(e.read() or b"{}") | {"status": "error", "http": e.code}


def substitute(expr, values):
    def one(m):
        name = m.group(1) or m.group(2)
        if name in BUILTINS:
            return BUILTINS[name]
        if name not in values:
            raise KeyError(name)
        return values[name]

    return re.sub(r"\$\{(\w+)\}|\$(\w+)", one, expr)


def check(prom, path, failures):
    board = json.loads(path.read_text())
    where = path.name
    for key in ("uid", "title", "panels", "templating", "schemaVersion"):
        if key not in board:
            failures.append(f"{where}: no `{key}`")
    values = {}
    for var in board.get("templating", {}).get("list", []):
        name, current = var["name"], var.get("current", {}).get("value")
        if var["type"] == "datasource":
            if var.get("query") != "prometheus":
                failures.append(f"{where}: variable {name} is not a Prometheus data source")
            continue
        values[name] = ".*" if current in ("All", "$__all") else current
    for var in board.get("templating", {}).get("list", []):
        if var["type"] != "query":
            continue
        q = var["query"]["query"] if isinstance(var["query"], dict) else var["query"]
        m = re.fullmatch(r"label_values\((.*),\s*(\w+)\)", q.strip())
        if not m:
            failures.append(f"{where}: variable {var['name']}: not label_values(...): {q}")
            continue
        series, label = substitute(m.group(1), values), m.group(2)
        answer = query(prom, f"count by ({label}) ({series})")
        found = {r["metric"].get(label) for r in answer.get("data", {}).get("result", [])}
        if answer.get("status") != "success" or not found:
            failures.append(f"{where}: variable {var['name']}: {q} gives no values ({answer.get('error', '')})")
        elif values[var["name"]] != ".*" and values[var["name"]] not in found:
            failures.append(f"{where}: variable {var['name']}: default {values[var['name']]!r} not among {sorted(found)}")
    ids = set()
    checked = 0
    for p in board.get("panels", []):
        title = f"{where}: panel {p.get('id')} {p.get('title')!r}"
        if p.get("id") in ids:
            failures.append(f"{title}: duplicate id")
        ids.add(p.get("id"))
        grid = p.get("gridPos", {})
        if not all(k in grid for k in ("h", "w", "x", "y")) or grid["x"] + grid["w"] > 24:
            failures.append(f"{title}: bad gridPos {grid}")
        if p.get("datasource", {}).get("uid") != "${datasource}":
            failures.append(f"{title}: not on the ${{datasource}} variable")
        if not p.get("targets"):
            failures.append(f"{title}: no queries")
        for t in p.get("targets", []):
            try:
                expr = substitute(t["expr"], values)
            except KeyError as e:
                failures.append(f"{title}: undefined variable ${e.args[0]}")
                continue
            answer = query(prom, expr)
            checked += 1
            if answer.get("status") != "success":
                failures.append(f"{title} [{t['refId']}]: {answer.get('error')} in {expr}")
            elif not answer["data"]["result"]:
                failures.append(f"{title} [{t['refId']}]: no data for {expr}")
    for a in board.get("annotations", {}).get("list", []):
        expr = substitute(a["expr"], values)
        answer = query(prom, expr)
        checked += 1
        if answer.get("status") != "success":
            failures.append(f"{where}: annotation {a['name']!r}: {answer.get('error')} in {expr}")
    return checked


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: check_dashboards.py PROMETHEUS_URL DASHBOARD_DIR")
    prom, folder = sys.argv[1].rstrip("/"), Path(sys.argv[2])
    boards = sorted(folder.glob("*.json"))
    if not boards:
        sys.exit(f"no dashboards in {folder}")
    failures, checked = [], 0
    for b in boards:
        checked += check(prom, b, failures)
    uids = [json.loads(b.read_text())["uid"] for b in boards]
    if len(set(uids)) != len(uids):
        failures.append(f"dashboard uids repeat: {uids}")
    for f in failures:
        print("FAIL", f)
    print(f"{len(boards)} dashboards, {checked} queries checked, {len(failures)} failures")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
