"""The README is part of the product: its configuration table matches the settings."""

from __future__ import annotations

import re
from dataclasses import fields
from pathlib import Path

from onevoice.config import DOCS, Settings

README = Path(__file__).resolve().parents[2] / "README.md"


def test_every_setting_is_documented_in_the_readme_and_nothing_else_is() -> None:
    documented = set(re.findall(r"^\| `ONEVOICE_([A-Z_]+)` \|", README.read_text(), re.M))
    assert documented == {f.name.upper() for f in fields(Settings)}
    assert set(DOCS) == {f.name for f in fields(Settings)}


def test_the_readme_gives_the_two_commands_and_ci_runs_the_test_one() -> None:
    text = README.read_text()
    assert "./run demo" in text and "./run test" in text
    ci = (README.parent / ".ci" / "run").read_text()
    assert "exec ./run test" in ci
