"""``onevoice erase`` and ``onevoice privacy``: erasure, customer tokens, the audit log.

Exit codes: 0 done, 2 bad input or no such person (the message names the field).
"""

from __future__ import annotations

import json
from datetime import timedelta

import click

from onevoice.domain import identifiers as ids
from onevoice.services.audit import entry_json

_DATABASE = click.option(
    "--database", default=None, help="SQLite path or postgresql:// URL (default as `serve`)"
)


@click.command()
@click.argument("identifier")
@_DATABASE
def erase(identifier: str, database: str | None) -> None:
    """Erase the person IDENTIFIER (type:value) everywhere; print the erasure report (JSON)."""
    from onevoice.cli import opened  # the CLI's own bootstrap; imported late, cli imports us

    with opened(database) as ov:
        report = ov.erasure.erase(identifier, "cli")
        click.echo(json.dumps(report, indent=2, default=str))


@click.group()
def privacy() -> None:
    """Customer tokens for /v1/me, and the audit log."""


@privacy.command("token")
@click.argument("identifier")
@click.option("--minutes", type=float, default=None, help="lifetime (default as configured)")
@_DATABASE
def token(identifier: str, minutes: float | None, database: str | None) -> None:
    """Print a customer token for IDENTIFIER (type:value), for GET /v1/me."""
    from onevoice.cli import opened

    with opened(database) as ov:
        ttl = None if minutes is None else timedelta(minutes=minutes)
        value, expires = ov.me_tokens.mint(identifier, ttl)
        ov.audit.record("cli", "me_token.mint", ov.tombstones.of(ids.parse(identifier)))
        click.echo(value)
        click.echo(f"expires {expires:%Y-%m-%d %H:%M:%S} UTC", err=True)


@privacy.command("audit")
@click.option("--limit", type=int, default=50, show_default=True)
@_DATABASE
def audit(limit: int, database: str | None) -> None:
    """The audit log, newest first, one JSON object a line."""
    from onevoice.cli import opened

    with opened(database) as ov:
        for entry in ov.audit.entries(limit):
            click.echo(json.dumps(entry_json(entry), default=str))


@privacy.command("rotate-secret")
@click.option(
    "--new-key",
    required=True,
    envvar="ONEVOICE_NEW_SECRET_KEY",
    help="the new key (or ONEVOICE_NEW_SECRET_KEY); at least 16 characters",
)
@_DATABASE
def rotate_secret(new_key: str, database: str | None) -> None:
    """Re-hash every email and phone under a new ONEVOICE_SECRET_KEY (stop servers first)."""
    from onevoice.cli import opened
    from onevoice.services.rekey import rotate

    with opened(database) as ov:
        current = ov.settings.secret_key or ov.store.meta("secret_key", "")
        done = rotate(
            ov.store,
            current.encode(),
            new_key.encode(),
            unique_types=ov.settings.identity_rules().unique_types,
            key_in_database=not ov.settings.secret_key,
        )
        ov.audit.record("cli", "secret.rotate", "secret_key", **done)
        click.echo(json.dumps(done, indent=2))
