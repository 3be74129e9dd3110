"""The read model: views the metrics service owns in the PostgreSQL schema `read_model`, for alerts to read.

A contract like the messages in this package: docs/read-model.md says what each column means and how to change
a view compatibly; tests/integration/test_alerts_read_model.py fails when a migrated database's views differ
from this declaration (types as `information_schema.columns.data_type` spells them).
"""

from __future__ import annotations

from dataclasses import dataclass

SCHEMA = "read_model"

TEXT, BIGINT, DOUBLE, TIMESTAMPTZ = "text", "bigint", "double precision", "timestamp with time zone"


@dataclass(frozen=True, slots=True)
class ViewColumn:
    """One column of a read-model view."""

    name: str
    type: str
    meaning: str


READ_MODEL: dict[str, tuple[ViewColumn, ...]] = {
    "kpi_current": (
        ViewColumn("kpi", TEXT, "KPI name, one of shared.kpi_catalogue.KPI_NAMES."),
        ViewColumn("window_name", TEXT, "Window, one of shared.kpi_catalogue.WindowName (1d, 7d, 30d, mtd, qtd, ytd)."),
        ViewColumn("unit_code", TEXT, "The unit the value is of, its descendants included."),
        ViewColumn("unit_level", TEXT, "The unit's level: province, department, district or commune."),
        ViewColumn("numerator", BIGINT, "Numerator of the ratio, summed over the window."),
        ViewColumn("denominator", BIGINT, "Denominator of the ratio, summed over the window."),
        ViewColumn("ratio", DOUBLE, "numerator / denominator; NULL when the denominator is 0."),
        ViewColumn("computed_at", TIMESTAMPTZ, "When the value was computed (the snapshot's computed_at)."),
    ),
    "units": (
        ViewColumn("code", TEXT, "Unit code, e.g. HD.CG."),
        ViewColumn("name", TEXT, "Display name, e.g. Huyện Cẩm Giàng."),
        ViewColumn("level", TEXT, "province, department, district or commune."),
    ),
    "backlog_current": (
        ViewColumn("unit_code", TEXT, "A unit of the tree, or a unit code the tree lacks that holds dossiers."),
        ViewColumn("unit_level", TEXT, "The unit's level: province, department, district, commune or unknown."),
        ViewColumn("in_progress", BIGINT, "Dossiers in progress at the unit or any descendant (paused included)."),
        ViewColumn("overdue", BIGINT, "Of those, past their due time at `as_of`, their clock running (not paused)."),
        ViewColumn("paused", BIGINT, "Of those in progress, paused (awaiting a supplement or a payment)."),
        ViewColumn("as_of", TIMESTAMPTZ, "The moment overdue is computed against: now() of the reading transaction."),
    ),
    "source_activity": (
        ViewColumn("source", TEXT, "An event's `source` (the emitting system)."),
        ViewColumn("last_occurred_at", TIMESTAMPTZ, "Newest event time (occurred_at) counted from that source."),
    ),
    "unit_activity": (
        ViewColumn("unit_code", TEXT, "A unit (or a unit code the tree does not know)."),
        ViewColumn("last_occurred_at", TIMESTAMPTZ, "Newest event time counted for the unit or any descendant."),
    ),
}
"""View name → its columns, in order."""
