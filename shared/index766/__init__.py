"""Decision 766 service index formula files, versioned; the metrics service interprets them."""

from __future__ import annotations

from importlib import resources

DEFAULT_FORMULA = "decision766_2022.yaml"


def shipped_formula_text(name: str = DEFAULT_FORMULA) -> str:
    """The text of a formula file shipped with the package."""
    return resources.files(__name__).joinpath(name).read_text("utf-8")
