"""Reference data: the unit tree and the procedure catalogue, loaded from YAML/CSV and refreshable at run time.

`model` holds the pure values, `loader` reads files (or the shipped Hai Duong-shaped sample), and `store`
writes them to PostgreSQL; only `store` touches a database.
"""

from shared.refdata.loader import ReferenceData, load_reference_data
from shared.refdata.model import (
    Catalogue,
    CatalogueEntry,
    Procedure,
    ReferenceDataError,
    Unit,
    UnitLevel,
    UnitTree,
)

__all__ = [
    "Catalogue",
    "CatalogueEntry",
    "Procedure",
    "ReferenceData",
    "ReferenceDataError",
    "Unit",
    "UnitLevel",
    "UnitTree",
    "load_reference_data",
]
