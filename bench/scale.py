"""A unit tree and procedure catalogue N times the sample's: N provinces shaped like the sample one.

Province 1 is the sample itself; province i (2..N) is a copy whose codes start `HD<i>` instead of `HD`. Department
procedures belong to one department, so each copy of a department gets copies of its procedures (code suffix
`.HD<i>`); district and commune procedures are national, offered by every district or commune, so they are not
copied. Units, catalogue offerings (unit x procedure) and closure rows all grow N-fold.

    .venv/bin/python bench/scale.py --factor 10 --out /tmp/refdata-x10

The metrics service reads the files through CIVICPULSE_UNITS_FILE and CIVICPULSE_PROCEDURES_FILE.
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from shared.refdata import ReferenceData, load_reference_data
from shared.refdata.loader import PROCEDURE_COLUMNS, SAMPLE_PROCEDURES, SAMPLE_UNITS


@dataclass(frozen=True, slots=True)
class ReferenceFiles:
    """A units YAML and a procedures CSV, and what they hold."""

    units_file: Path
    procedures_file: Path

    def load(self) -> ReferenceData:
        return load_reference_data(units_file=self.units_file, procedures_file=self.procedures_file)

    def env(self) -> dict[str, str]:
        """The variables that point the metrics service at these files."""
        return {"CIVICPULSE_UNITS_FILE": str(self.units_file), "CIVICPULSE_PROCEDURES_FILE": str(self.procedures_file)}


def _sample(name: str) -> str:
    return (resources.files("shared.refdata") / name).read_text("utf-8")


def _renamed(node: dict[str, Any], *, root: str, copy: int) -> dict[str, Any]:
    out = {**node, "code": f"{root}{copy}{node['code'][len(root) :]}", "name": f"{node['name']} ({copy})"}
    if node.get("children"):
        out["children"] = [_renamed(child, root=root, copy=copy) for child in node["children"]]
    return out


def scaled_reference_files(factor: int, directory: Path) -> ReferenceFiles:
    """Write the sample reference data `factor` times over into `directory`."""
    province = yaml.safe_load(_sample(SAMPLE_UNITS))
    root = province["code"]
    roots = [province, *(_renamed(province, root=root, copy=i) for i in range(2, factor + 1))]
    rows = list(csv.DictReader(io.StringIO(_sample(SAMPLE_PROCEDURES))))
    copies = [
        {**row, "code": f"{row['code']}.{root}{i}", "department": f"{root}{i}{row['department'][len(root) :]}"}
        for i in range(2, factor + 1)
        for row in rows
        if row["department"]
    ]
    directory.mkdir(parents=True, exist_ok=True)
    files = ReferenceFiles(directory / f"units-x{factor}.yaml", directory / f"procedures-x{factor}.csv")
    files.units_file.write_text(yaml.safe_dump(roots, allow_unicode=True, sort_keys=False), "utf-8")
    with files.procedures_file.open("w", newline="", encoding="utf-8") as out:
        writer = csv.DictWriter(out, fieldnames=PROCEDURE_COLUMNS)
        writer.writeheader()
        writer.writerows([{k: row[k] for k in PROCEDURE_COLUMNS} for row in [*rows, *copies]])
    return files


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
    parser.add_argument("--factor", type=int, default=10)
    parser.add_argument("--out", type=Path, required=True, help="directory to write the two files into")
    args = parser.parse_args()
    files = scaled_reference_files(args.factor, args.out)
    print(f"{files.units_file}\n{files.procedures_file}")
    print(f"sample: {describe(load_reference_data())}\nx{args.factor}: {describe(files.load())}")


if __name__ == "__main__":
    main()
