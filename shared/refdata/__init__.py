"""Reference data: the unit tree and the procedure catalogue, loaded from YAML/CSV and refreshable at run time.

`model` (the unit tree) and `catalogue` (procedures) hold the pure values, `loader` reads files or the shipped
samples (today's Hải Phòng with the Hải Dương 2024 tree as its predecessor, or Hải Dương 2024 alone), and
`store` writes them to PostgreSQL; only `store` touches a database.
"""

from shared.refdata.catalogue import Catalogue, CatalogueEntry, Procedure
from shared.refdata.loader import (
    SAMPLE_UNITS,
    SAMPLE_UNITS_HAIDUONG_2024,
    ReferenceData,
    load_reference_data,
)
from shared.refdata.model import CommuneKind, ReferenceDataError, Unit, UnitLevel, UnitTree

__all__ = [
    "SAMPLE_UNITS",
    "SAMPLE_UNITS_HAIDUONG_2024",
    "Catalogue",
    "CatalogueEntry",
    "CommuneKind",
    "Procedure",
    "ReferenceData",
    "ReferenceDataError",
    "Unit",
    "UnitLevel",
    "UnitTree",
    "load_reference_data",
]
