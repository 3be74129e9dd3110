"""The README's configuration table, generated from the settings classes (and checked against them by a test)."""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from pathlib import Path

from pydantic import SecretStr
from pydantic_settings import BaseSettings

from shared.settings import ENV_PREFIX

BEGIN = "<!-- BEGIN CONFIG TABLE (generated: civicpulse docs config) -->"
END = "<!-- END CONFIG TABLE -->"
ROOT = Path(__file__).resolve().parents[1]
SETTINGS_CLASSES = (
    ("all services", "shared.settings:RuntimeSettings"),
    ("all services", "shared.settings:KafkaSettings"),
    ("all services", "shared.settings:TopicSettings"),
    ("metrics, alerts", "shared.settings:PostgresSettings"),
    ("services with HTTP", "shared.settings:HttpSettings"),
    ("metrics", "shared.settings:ReferenceDataSettings"),
    ("ingest", "services.ingest.settings:IngestSettings"),
    ("metrics", "services.metrics.settings:MetricsSettings"),
    ("alerts", "services.alerts.settings:AlertsSettings"),
)


def _load(path: str) -> type[BaseSettings]:
    module, _, name = path.partition(":")
    cls: type[BaseSettings] = getattr(importlib.import_module(module), name)
    return cls


def config_table(classes: Iterable[tuple[str, str]] = SETTINGS_CLASSES) -> str:
    """A markdown table: variable, used by, default, description; each variable once, at its first class."""
    rows = ["| variable | used by | default | description |", "|---|---|---|---|"]
    seen: set[str] = set()
    for used_by, path in classes:
        for name, field in _load(path).model_fields.items():
            if name in seen:
                continue
            seen.add(name)
            default = field.get_default(call_default_factory=True)
            if isinstance(default, SecretStr) or "secret" in (field.description or "").lower():
                shown = "*(secret)*" if default is not None else "—"
            elif isinstance(default, Path) and default.is_relative_to(ROOT):
                shown = f"`{default.relative_to(ROOT)}` (shipped)"  # the same on every checkout
            else:
                shown = "—" if default is None else f"`{default}`"
            description = (field.description or "").replace("|", "\\|")
            rows.append(f"| `{ENV_PREFIX}{name.upper()}` | {used_by} | {shown} | {description} |")
    return "\n".join(rows)


def replace_in(text: str, table: str) -> str:
    """Swap the table between the README's markers."""
    head, _, rest = text.partition(BEGIN)
    _, _, tail = rest.partition(END)
    return f"{head}{BEGIN}\n{table}\n{END}{tail}"
