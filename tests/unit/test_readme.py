"""The README's configuration table matches the settings classes; its two commands are the Makefile's."""

from __future__ import annotations

from pathlib import Path

import pytest

from shared.settings_docs import BEGIN, END, config_table

pytestmark = pytest.mark.unit
ROOT = Path(__file__).resolve().parents[2]


def test_readme_configuration_table_matches_the_settings_classes() -> None:
    readme = (ROOT / "README.md").read_text("utf-8")
    committed = readme.split(BEGIN, 1)[1].split(END, 1)[0].strip()
    assert committed == config_table(), "run `civicpulse docs config` to regenerate the table"


def test_readme_quick_start_commands_are_makefile_targets() -> None:
    readme = (ROOT / "README.md").read_text("utf-8")
    makefile = (ROOT / "Makefile").read_text("utf-8")
    for target in ("up", "test", "down"):
        assert f"make {target}" in readme
        assert f"\n{target}:" in makefile
