"""Build the provisioned Grafana dashboards (deploy/grafana/dashboards/*.json) from the definitions here.

    .venv/bin/python deploy/grafana/build_dashboards.py           # rewrite the JSON files
    .venv/bin/python deploy/grafana/build_dashboards.py --check   # exit 1 if any is out of date

Panels are grafana-foundation-sdk's typed builders (the schema of Grafana 11.3, the version docker-compose.yml runs),
laid out by grafana_model.Board (ids, grid, data source uids); every query here is run against a real Prometheus or
PostgreSQL by tests/e2e/test_dashboards.py.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from collections.abc import Callable

from backlog_dashboard import backlog
from grafana_model import Json
from index766_dashboard import index766
from kpi_dashboards import ioc_overview, unit_drilldown, unit_ranking
from ops_dashboards import alerts, pipeline_health

OUTPUT = Path(__file__).resolve().parent / "dashboards"
DASHBOARDS: dict[str, Callable[[], Json]] = {
    "ioc-overview": ioc_overview,
    "unit-ranking": unit_ranking,
    "unit-drilldown": unit_drilldown,
    "pipeline-health": pipeline_health,
    "alerts": alerts,
    "backlog": backlog,
    "index766": index766,
}
"""File name (without .json) -> builder."""


def render(dashboard: dict[str, Any]) -> str:
    """One dashboard's JSON text, stable across runs."""
    return json.dumps(dashboard, indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Command line: write (or check) every dashboard file."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=OUTPUT, help="Directory of the JSON files.")
    parser.add_argument("--check", action="store_true", help="Exit 1 if a file differs from a fresh build.")
    args = parser.parse_args(argv)
    stale = []
    for name, build in DASHBOARDS.items():
        path = args.output / f"{name}.json"
        text = render(build())
        if args.check:
            if not path.exists() or path.read_text("utf-8") != text:
                stale.append(path)
            continue
        args.output.mkdir(parents=True, exist_ok=True)
        path.write_text(text, "utf-8")
    for path in stale:
        sys.stderr.write(f"{path} is out of date: run deploy/grafana/build_dashboards.py\n")
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
