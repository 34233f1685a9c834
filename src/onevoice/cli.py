"""The ``onevoice`` command: serve, keys, import, simulate, bench, process, merges."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import click

from onevoice.actions_cli import actions
from onevoice.bootstrap import Onevoice, bootstrap
from onevoice.config import Settings
from onevoice.domain.errors import OnevoiceError
from onevoice.importing_cli import import_command
from onevoice.intent_cli import evaluate_group, intents, train
from onevoice.journeys_cli import journeys
from onevoice.measure_cli import lift_command, ope
from onevoice.report_cli import report_command
from onevoice.respect_cli import erase, privacy
from onevoice.sim.cli import simulate
from onevoice.stream.cli import worker
from onevoice.users_cli import users

F = TypeVar("F", bound=Callable[..., Any])


def database_option(func: F) -> F:
    return click.option(
        "--database",
        "database",
        default=None,
        help="SQLite path or postgresql:// URL (default: ONEVOICE_DATABASE_URL or ./onevoice.db)",
    )(func)


def settings_from(**overrides: object) -> Settings:
    return Settings.from_env(os.environ, **overrides)


@contextmanager
def opened(database: str | None) -> Iterator[Onevoice]:
    """Bootstrap onevoice for one command; errors become one line and exit code 2."""
    ov = None
    try:
        ov = bootstrap(settings_from(database_url=database))
        yield ov
    except OnevoiceError as error:
        where = f" ({error.field})" if error.field else ""
        click.echo(f"error{where}: {error.message}", err=True)
        sys.exit(2)
    finally:
        if ov is not None:
            ov.close()


@click.group()
@click.version_option(package_name="onevoice")
def main() -> None:
    """onevoice — listen on every channel, answer with one voice."""


@main.command()
@click.option("--host", default=None, help="listen address (default 127.0.0.1)")
@click.option("--port", type=int, default=None, help="port (default 8000)")
@database_option
@click.option(
    "--demo", is_flag=True, help="load a simulated demo world first if the database is empty"
)
def serve(host: str | None, port: int | None, database: str | None, demo: bool) -> None:
    """Run the API (and the Studio as it lands) on one process."""
    import uvicorn

    from onevoice.api.app import create_app

    settings = settings_from(database_url=database, host=host, port=port)
    try:
        if demo:  # played before the serving engine opens: it starts from what was stored
            from onevoice.demo import play_demo

            play_demo(settings, echo=click.echo)
        ov = bootstrap(settings)
    except OnevoiceError as error:
        click.echo(f"error: {error.message}", err=True)
        sys.exit(2)
    if demo:
        _print_demo_keys(ov)
    click.echo(
        f"onevoice on http://{settings.host}:{settings.port}  (API docs at /docs; "
        f"database {ov.store.backend}: {settings.database_url})",
        err=True,
    )
    from onevoice.ops.heap import tune_long_running

    app = create_app(ov)
    tune_long_running()
    try:
        uvicorn.run(
            app,
            host=settings.host,
            port=settings.port,
            log_level=settings.log_level,
            access_log=False,
        )
    finally:
        ov.close()


def _print_demo_keys(ov: Onevoice) -> None:
    """Give the demo user keys to play with (new ones each start: secrets are not kept)."""
    _, write = ov.keys.create("write", "demo website")
    _, server = ov.keys.create("server", "demo agent desk")
    _, admin = ov.keys.create("admin", "demo admin")
    click.echo(
        f"demo keys (new each start):\n  write  {write}\n  server {server}\n  admin  {admin}",
        err=True,
    )
    from onevoice.demo import demo_login

    name, password = demo_login(ov)
    click.echo(f"Studio login (new password each start): {name} / {password}  at /studio", err=True)


@main.group()
def keys() -> None:
    """Create, list and revoke API keys."""


@keys.command("create")
@click.option("--kind", type=click.Choice(["write", "server", "admin"]), required=True)
@click.option("--name", required=True, help="the source (or person) the key is for")
@database_option
def keys_create(kind: str, name: str, database: str | None) -> None:
    """Print a new key, alone on stdout (it is not shown again)."""
    with opened(database) as ov:
        record, token = ov.keys.create(kind, name)
        ov.audit.record("cli", "key.create", record.key_id, kind=record.kind, name=record.name)
        click.echo(token)
        click.echo(f"created {record.kind} key {record.key_id} for {record.name!r}", err=True)


@keys.command("list")
@database_option
def keys_list(database: str | None) -> None:
    """List keys (ids, kinds, names; never the secrets)."""
    with opened(database) as ov:
        for k in ov.keys.list():
            state = f"revoked {k.revoked_at:%Y-%m-%d}" if k.revoked_at else "active"
            click.echo(f"{k.key_id}\t{k.kind}\t{k.name}\t{state}")


@keys.command("revoke")
@click.argument("key_id")
@database_option
def keys_revoke(key_id: str, database: str | None) -> None:
    """Revoke a key by its id; it stops working at once."""
    with opened(database) as ov:
        ov.keys.revoke(key_id)
        ov.audit.record("cli", "key.revoke", key_id)
        click.echo(f"revoked {key_id}", err=True)


@main.command()
@database_option
def process(database: str | None) -> None:
    """File every waiting event under its person (what the server does continuously)."""
    with opened(database) as ov:
        done = ov.processor.run_until_idle()
        click.echo(f"processed {done} events", err=True)


@main.group()
def merges() -> None:
    """Inspect and undo identity merges."""


@merges.command("list")
@click.argument("identifier")
@database_option
def merges_list(identifier: str, database: str | None) -> None:
    """The merges that made the person IDENTIFIER (type:value)."""
    with opened(database) as ov:
        for r in ov.profiles.merges(identifier):
            undone = f" undone {r.undone_at:%Y-%m-%d %H:%M}" if r.undone_at else ""
            m = r.merge
            click.echo(f"{r.merge_id}\t{m.loser} -> {m.winner}\t{m.rule}\t{m.message_id}{undone}")


@merges.command("undo")
@click.argument("merge_id", type=int)
@database_option
def merges_undo(merge_id: int, database: str | None) -> None:
    """Undo merge MERGE_ID: the merged-away person gets its identifiers and events back."""
    with opened(database) as ov:
        stays, restored = ov.profiles.undo_merge(merge_id)
        click.echo(f"split {restored} back out of {stays}", err=True)


@main.command()
@click.argument("suites", nargs=-1)
@click.option("--quick", is_flag=True, help="smaller sizes, for a smoke run")
@click.option(
    "--postgres",
    "postgres_url",
    default=None,
    help="PostgreSQL URL for the PostgreSQL rows (default: ONEVOICE_BENCH_POSTGRES_URL)",
)
def bench(suites: tuple[str, ...], quick: bool, postgres_url: str | None) -> None:
    """Run benchmarks (default: ingest, lookup, identity) and print a table."""
    from rich.console import Console
    from rich.table import Table

    from onevoice.benchrunner import DEFAULT_SUITES, discover

    found = discover()
    if not found:
        raise click.ClickException("benchmarks run from a source checkout (bench/ not found)")
    chosen = suites or DEFAULT_SUITES
    unknown = [s for s in chosen if s not in found]
    if unknown:
        raise click.ClickException(
            f"unknown suite(s) {', '.join(unknown)}; known: {', '.join(sorted(found))}"
        )
    options = {
        "quick": quick,
        "postgres_url": postgres_url
        or os.environ.get(
            "ONEVOICE_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
        ),
    }
    table = Table(title="onevoice benchmarks")
    for column in ("benchmark", "result", "target", "note"):
        table.add_column(column)
    for name in chosen:
        click.echo(f"running {name}…", err=True)
        for row in found[name](options):
            table.add_row(*(str(row.get(c, "")) for c in ("benchmark", "result", "target", "note")))
    Console().print(table)


main.add_command(import_command)
main.add_command(simulate)
main.add_command(actions)
main.add_command(lift_command)
main.add_command(ope)
main.add_command(journeys)
main.add_command(intents)
main.add_command(train)
main.add_command(evaluate_group)
main.add_command(erase)
main.add_command(privacy)
main.add_command(report_command)
main.add_command(worker)
main.add_command(users)

if __name__ == "__main__":
    main()
