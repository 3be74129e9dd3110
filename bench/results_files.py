"""The files a `make bench` run leaves under bench/results/, written and read back (to reprint the table)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bench.growth import UNIT_RUNS, growth
from bench.ingest import result_file
from bench.table import Section, markdown


@dataclass(frozen=True, slots=True)
class RunInfo:
    """How the results were made: the command, the machine and how busy it was."""

    command: str
    cpus: int
    minutes: float
    measured_at: str
    load_before: float
    load_after: float
    factor: int

    def caption(self) -> str:
        return (f"{self.cpus} cores, 1-min load {self.load_before} -> {self.load_after}, {self.minutes:.1f} min, "
                f"{self.measured_at[:16].replace('T', ' ')} UTC: {self.command}")  # fmt: skip


def _write(path: Path, data: dict[str, Any]) -> None:
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def write_results(directory: Path, results: dict[str, Any], info: RunInfo) -> None:
    """ingest.json, metrics.json (the base run), pipeline.json and scaling.json (every metrics run and growth)."""
    directory.mkdir(parents=True, exist_ok=True)
    _write(result_file(results["ingest"], directory), results["ingest"])
    _write(directory / "metrics.json", results["metrics_base"])
    _write(directory / "pipeline.json", results["pipeline"])
    base = results["metrics_base"]
    scaled = {name: results[name] for name in ("metrics_events", *UNIT_RUNS) if name in results}
    _write(directory / "scaling.json", {
        "factor": info.factor, "runs": {"metrics_base": base, **scaled},
        "growth": {name: growth(base, run) for name, run in scaled.items()},
    })  # fmt: skip


def write_summary(directory: Path, results: dict[str, Any], info: RunInfo, parts: list[Section]) -> None:
    """summary.json (how the run was made, step timings, the table) and summary.md (the table in Markdown)."""
    _write(directory / "summary.json", {
        "run": asdict(info), "timings": results.get("timings", {}),
        "table": [{"section": heading, "rows": [asdict(row) for row in rows]} for heading, rows in parts],
    })  # fmt: skip
    (directory / "summary.md").write_text(markdown(parts))


def read_results(directory: Path) -> tuple[dict[str, Any], RunInfo]:
    """The results and run information written by an earlier run."""
    summary = json.loads((directory / "summary.json").read_text())
    scaling = json.loads((directory / "scaling.json").read_text())
    results: dict[str, Any] = {
        "ingest": json.loads((directory / "ingest.json").read_text()),
        "pipeline": json.loads((directory / "pipeline.json").read_text()),
        "timings": summary["timings"],
        **scaling["runs"],
    }
    return results, RunInfo(**summary["run"])
