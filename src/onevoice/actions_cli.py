"""``onevoice actions``: load a catalog file (YAML or JSON) and list what is loaded.

Exit codes: 0 when loaded, 2 for a file that cannot be read or a catalog that is not
valid (the message names the field, and for a rule its line and column).
"""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path
from typing import Any

import click
import yaml

from onevoice.domain.errors import InvalidInput


def read_catalog_file(path: Path) -> object:
    """The plain data of a ``.json``, ``.yaml`` or ``.yml`` file (JSON when unsure)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise InvalidInput(f"cannot read {path}: {error}", field="FILE") from None
    if path.suffix.lower() == ".json":
        try:
            return json.loads(text)
        except json.JSONDecodeError as error:
            raise InvalidInput(
                f"{path} is not valid JSON: {error.msg} at line {error.lineno}, "
                f"column {error.colno}",
                field="FILE",
            ) from None
    try:
        return _plain(yaml.safe_load(text))
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(error, "problem", None) or "cannot be parsed"
        raise InvalidInput(f"{path} is not valid YAML{where}: {problem}", field="FILE") from None


def _plain(value: Any) -> Any:
    """YAML reads unquoted dates as dates; the catalog wants ISO 8601 text."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


@click.group()
def actions() -> None:
    """Load and list the action catalog."""


@actions.command("load")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--database", default=None, help="SQLite path or postgresql:// URL")
def actions_load(file: Path, database: str | None) -> None:
    """Add or replace the actions of FILE (YAML or JSON); nothing is stored if any is invalid."""
    from onevoice.cli import opened  # the CLI's own bootstrap; imported late, cli imports us

    with opened(database) as ov:
        loaded = ov.actions.load(read_catalog_file(file))
        for action in loaded:
            click.echo(f"{action.id}\t{action.purpose}\t{','.join(action.channels)}")
        total = len(ov.decisions.catalog)
        click.echo(f"loaded {len(loaded)} actions from {file} ({total} in the catalog)", err=True)


@actions.command("list")
@click.option("--database", default=None, help="SQLite path or postgresql:// URL")
def actions_list(database: str | None) -> None:
    """Every action: id, purpose, channels, value, eligibility."""
    from onevoice.cli import opened

    with opened(database) as ov:
        for a in ov.actions.list():
            channels = ",".join(a["treatments"])
            click.echo(f"{a['id']}\t{a['purpose']}\t{channels}\t{a['value']:g}\t{a['eligibility']}")
