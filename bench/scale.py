"""Bigger unit trees for the scaling runs, written as a units YAML and a procedures CSV the metrics service reads.

Two kinds:

- **national** (`NationalTree`): the two-tier tree of a whole country shaped like the sample's Hải Phòng (H24):
  34 provinces, each with the sample's 16 bodies and its share of 3,321 communes (3,899 units), and, for the
  provinces formed by a merger, a 2024 predecessor shaped like the sample's Hải Dương (a province, 20 departments,
  12 districts, 235 communes; every old department and commune names its successor in today's province). With
  23 merged provinces: 10,063 units. `NATIONAL` and `NATIONAL_HISTORY` are the two `make bench` runs;
- **copies** (`scaled_reference_files`): the sample N times over, codes prefixed `X<i>`, for a quick linear check.

Department procedures belong to one department, so each province gets copies of them (code suffix `.<province>`);
district and commune procedures are national, offered by every district or commune-level unit, and not copied.

    .venv/bin/python bench/scale.py --tree national --out /tmp/refdata-national
    .venv/bin/python bench/scale.py --tree national-history --out /tmp/refdata-national-history
    .venv/bin/python bench/scale.py --factor 3 --out /tmp/refdata-x3

The metrics service reads the files through CIVICPULSE_UNITS_FILE and CIVICPULSE_PROCEDURES_FILE.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import random
import sys
from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from shared.refdata import ReferenceData, load_reference_data
from shared.refdata.loader import PROCEDURE_COLUMNS, SAMPLE_PROCEDURES, SAMPLE_UNITS

TODAY, PAST = "H24", "HD"  # the sample's roots: today's province and its 2024 predecessor
Node = dict[str, Any]
Row = dict[str, str]


@dataclass(frozen=True, slots=True)
class ReferenceFiles:
    """A units YAML and a procedures CSV, and what they hold."""

    units_file: Path
    procedures_file: Path
    exported_levels: tuple[str, ...] | None = None
    """The levels a deployment of this size exports to Prometheus (None: the service's default)."""

    def load(self) -> ReferenceData:
        return load_reference_data(units_file=self.units_file, procedures_file=self.procedures_file)

    def env(self) -> dict[str, str]:
        """The variables that point the metrics service at these files (and set its exported levels)."""
        env = {"CIVICPULSE_UNITS_FILE": str(self.units_file), "CIVICPULSE_PROCEDURES_FILE": str(self.procedures_file)}
        if self.exported_levels is not None:
            env["CIVICPULSE_METRICS_LEVELS"] = json.dumps(list(self.exported_levels))
        return env


@dataclass(frozen=True, slots=True)
class NationalTree:
    """A country's two-tier tree: how many provinces, commune-level units, and provinces with a 2024 predecessor."""

    name: str
    provinces: int = 34
    communes: int = 3321
    merged: int = 0


NATIONAL = NationalTree("national", merged=0)
NATIONAL_EXPORTED_LEVELS = ("province", "department")
"""Today's tree: 34 provinces, 3,321 commune-level units (Resolution 202/2025/QH15 and the 2025 commune merger)."""
# GUESS: one 2024 province per merged province. In reality 23 of the 34 are mergers of two or three of the 63 old
# provinces, and the 11 unchanged ones changed their communes too: full history would be ~16,000 units, not 10,000.
NATIONAL_HISTORY = NationalTree("national-history", merged=23)
"""Today's tree plus a Hải Dương-shaped 2024 predecessor for each of the 23 provinces formed by merger."""
TREES = {tree.name: tree for tree in (NATIONAL, NATIONAL_HISTORY)}


def _sample(name: str) -> str:
    return (resources.files("shared.refdata") / name).read_text("utf-8")


def _sample_roots() -> dict[str, Node]:
    return {root["code"]: root for root in yaml.safe_load(_sample(SAMPLE_UNITS))}


def _sample_procedures() -> list[Row]:
    return list(csv.DictReader(io.StringIO(_sample(SAMPLE_PROCEDURES))))


def _commune_counts(tree: NationalTree) -> list[int]:
    """Communes per province: uneven like the real ones (38 to 168), summing to `tree.communes`."""
    # GUESS: a triangular spread around the mean; the real per-province counts are not used.
    rng = random.Random(766)
    mean = tree.communes / tree.provinces
    raw = [rng.triangular(0.4 * mean, 1.7 * mean, mean) for _ in range(tree.provinces)]
    counts = [max(1, round(r * tree.communes / sum(raw))) for r in raw]
    counts[0] += tree.communes - sum(counts)  # rounding
    return counts


def _relabelled(node: Node, *, code: str, province: str, **fields: Any) -> Node:
    """A copy of a sample node under a new code, its name marked with the province, no aliases (they must be unique)."""
    out = {k: v for k, v in node.items() if k not in {"aliases", "children", "successor"}}
    return {**out, "code": code, "name": f"{node['name']} ({province})", **fields}


def _today(sample: Node, province: str, communes: int) -> Node:
    """Province `province` shaped like today's sample: its bodies, then `communes` commune-level units."""
    bodies = [c for c in sample["children"] if c["level"] == "department"]
    wards = [c for c in sample["children"] if c["level"] == "commune"]
    children = [_relabelled(b, code=f"{province}.{b['code'].split('.', 1)[1]}", province=province) for b in bodies]
    children += [_relabelled(wards[i % len(wards)], code=f"{province}.{101 + i}", province=province)
                 for i in range(communes)]  # fmt: skip
    return _relabelled(sample, code=province, province=province, children=children)


def _successor_in(today: Node, sample_successor: str) -> str:
    """Where an old unit went: the same body, or the commune at the same place in the (maybe shorter) list."""
    suffix = sample_successor.split(".", 1)[1]
    communes = [c["code"] for c in today["children"] if c["level"] == "commune"]
    if len(suffix) == 2:  # a body: every province has all of them
        return f"{today['code']}.{suffix}"
    return str(communes[(int(suffix) - 101) % len(communes)])


def _past(sample: Node, today: Node) -> Node:
    """The 2024 predecessor of `today`, shaped like the sample's: every old unit names its successor in `today`."""
    old = f"{today['code']}O"
    province = today["code"]

    def copy(node: Node) -> Node:
        code = old + node["code"][len(PAST) :]
        fields: dict[str, Any] = {}
        if node.get("successor"):
            fields["successor"] = province if node["level"] == "province" else _successor_in(today, node["successor"])
        if node.get("children"):
            fields["children"] = [copy(child) for child in node["children"]]
        return _relabelled(node, code=code, province=province, **fields)

    return copy(sample)


def _department_procedures(rows: list[Row], *, department_of: dict[str, str], suffix: str) -> list[Row]:
    return [{**row, "code": f"{row['code']}.{suffix}", "department": department_of[row["department"]]}
            for row in rows if row["department"]]  # fmt: skip


def national_reference_files(tree: NationalTree, directory: Path) -> ReferenceFiles:
    """Write a national two-tier tree and its catalogue into `directory`."""
    samples, rows = _sample_roots(), _sample_procedures()
    past_departments = [c for c in samples[PAST]["children"] if c["level"] == "department"]
    roots: list[Node] = []
    procedures = [row for row in rows if not row["department"]]
    for number, communes in enumerate(_commune_counts(tree), start=1):
        code = f"V{number:02d}"  # GUESS: invented province codes; the portal's are H01..H99 with gaps
        today = _today(samples[TODAY], code, communes)
        if number <= tree.merged:  # its department procedures stay with the old departments, as in the sample
            roots += [today, _past(samples[PAST], today)]
            department_of = {d["code"]: f"{code}O{d['code'][len(PAST) :]}" for d in past_departments}
        else:  # no history: the body that took each old department over offers its procedures
            roots.append(today)
            department_of = {d["code"]: _successor_in(today, d["successor"]) for d in past_departments}
        procedures += _department_procedures(rows, department_of=department_of, suffix=code)
    # A national deployment exports provinces and their departments to Prometheus: every commune's 66 KPI-window
    # series (x3 gauges) would be ~770k series from one target, whose exposition prometheus_client builds whole in
    # memory (~1 GB at a scrape); communes are read from /v1/kpis and the board.
    return replace(_write(directory, tree.name, roots, procedures), exported_levels=NATIONAL_EXPORTED_LEVELS)


def scaled_reference_files(factor: int, directory: Path) -> ReferenceFiles:
    """Write the sample reference data `factor` times over into `directory` (copy i: codes prefixed `X<i>`)."""
    samples, rows = _sample_roots(), _sample_procedures()

    def prefixed(node: Node, prefix: str) -> Node:
        out = {k: v for k, v in node.items() if k != "aliases"} | {"code": prefix + node["code"]}
        if node.get("successor"):
            out["successor"] = prefix + node["successor"]
        if node.get("children"):
            out["children"] = [prefixed(child, prefix) for child in node["children"]]
        return out

    roots = list(samples.values())
    procedures = list(rows)
    for copy in range(2, factor + 1):
        prefix = f"X{copy}"
        roots += [prefixed(root, prefix) for root in samples.values()]
        procedures += [{**row, "code": f"{row['code']}.{prefix}", "department": prefix + row["department"]}
                       for row in rows if row["department"]]  # fmt: skip
    return _write(directory, f"x{factor}", roots, procedures)


def _write(directory: Path, name: str, roots: list[Node], procedures: list[Row]) -> ReferenceFiles:
    directory.mkdir(parents=True, exist_ok=True)
    files = ReferenceFiles(directory / f"units-{name}.yaml", directory / f"procedures-{name}.csv")
    files.units_file.write_text(yaml.safe_dump(roots, allow_unicode=True, sort_keys=False), "utf-8")
    with files.procedures_file.open("w", newline="", encoding="utf-8") as out:
        writer = csv.DictWriter(out, fieldnames=PROCEDURE_COLUMNS)
        writer.writeheader()
        writer.writerows([{k: row[k] for k in PROCEDURE_COLUMNS} for row in procedures])
    return files


def reference_files(*, units_factor: int, tree: NationalTree | None, directory: Path) -> ReferenceFiles | None:
    """The files of a metrics run's tree: a national one, N copies of the sample, or None for the sample itself."""
    if tree is not None:
        return national_reference_files(tree, directory)
    return scaled_reference_files(units_factor, directory) if units_factor > 1 else None


def describe(data: ReferenceData) -> dict[str, int]:
    """Sizes that drive the metrics service's costs."""
    return {
        "units": len(data.tree),
        "procedures": len(data.catalogue),
        "offerings": len(data.catalogue.offered(data.tree)),
        "closure_rows": len(data.tree.closure()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tree", choices=sorted(TREES), help="a national tree (else --factor copies of the sample)")
    parser.add_argument("--factor", type=int, default=10)
    parser.add_argument("--out", type=Path, required=True, help="directory to write the two files into")
    args = parser.parse_args()
    tree = TREES[args.tree] if args.tree else None
    files = reference_files(units_factor=max(2, args.factor), tree=tree, directory=args.out)
    assert files is not None
    print(f"{files.units_file}\n{files.procedures_file}")
    print(f"sample: {describe(load_reference_data())}\n{args.tree or f'x{args.factor}'}: {describe(files.load())}")


if __name__ == "__main__":
    main()
