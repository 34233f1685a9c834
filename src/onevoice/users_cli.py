"""``onevoice users``: Studio logins (create the first admin from the command line)."""

from __future__ import annotations

import os

import click

from onevoice.services.staff import ROLES

PASSWORD_ENV = "ONEVOICE_USER_PASSWORD"


@click.group()
def users() -> None:
    """Create and list Studio users (roles: agent, marketer, admin)."""


@users.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice(ROLES), required=True)
@click.option(
    "--database",
    "database",
    default=None,
    help="SQLite path or postgresql:// URL (default: ONEVOICE_DATABASE_URL or ./onevoice.db)",
)
def users_add(name: str, role: str, database: str | None) -> None:
    """Add user NAME; the password comes from ONEVOICE_USER_PASSWORD or a prompt."""
    from onevoice.cli import opened

    password = os.environ.get(PASSWORD_ENV) or click.prompt(
        f"password for {name}", hide_input=True, confirmation_prompt=True
    )
    with opened(database) as ov:
        user = ov.staff.add(name, role, password)
        click.echo(f"added {user.role} {user.name} ({user.user_id}); log in at /studio", err=True)


@users.command("list")
@click.option("--database", "database", default=None, help="SQLite path or postgresql:// URL")
def users_list(database: str | None) -> None:
    """List Studio users: id, name, role, state (never passwords)."""
    from onevoice.cli import opened

    with opened(database) as ov:
        for user in ov.staff.list():
            state = "disabled" if user.disabled_at else "active"
            click.echo(f"{user.user_id}\t{user.name}\t{user.role}\t{state}")
