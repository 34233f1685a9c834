"""``onevoice import FILE``: bulk import of history from CSV, JSON Lines or Parquet.

Exit codes: 0 when the import ran (even if some rows were rejected — it says so), 1 when
nothing was imported and something was rejected, 2 for a file or an option that cannot
be used (one line on stderr), 130 when interrupted (what was stored stays stored; run the
same command again and it carries on, counting the stored rows as duplicates).
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import click
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.table import Table

from onevoice.domain.errors import OnevoiceError
from onevoice.domain.events import EVENT_TYPES
from onevoice.domain.rows import RowShape, check_shape, ignored_columns, shape_row
from onevoice.importers import FORMATS, Reader, RejectsFile, open_reader

if TYPE_CHECKING:
    from onevoice.bootstrap import Onevoice
from onevoice.services.importing import (
    DEFAULT_BATCH_SIZE,
    ImportCounts,
    RowRejection,
    build_profiles,
    import_rows,
)

_HELP = """Import history from FILE: CSV, JSON Lines or Parquet (CSV and JSON Lines
may be gzipped).

\b
Columns name event fields (userId, anonymousId, type, event, timestamp,
messageId, …); a dotted name goes into an object (properties.revenue,
traits.email, context.channel), and a properties, traits or context column
may hold a JSON object. Other columns are ignored (with a warning).
Rename with --map, or drop quietly with --map COLUMN= :
  onevoice import orders.csv --event "Order Completed" --map customer=userId \\
      --map ts=timestamp --map amount=properties.revenue

\b
CSV cells under properties and traits that look like numbers or true/false
become them ("42", "19.99", "TRUE"); leading zeros ("007"), "+44…" and the
email, phone and crm_id traits stay text; empty cells are absent. A timestamp
is ISO 8601 (UTC if no offset) or Unix seconds/milliseconds. Rows keep their
messageId or get one from their content, so importing a file again stores
nothing twice.

\b
Rejected rows go to FILE.rejects.jsonl (or --rejects), one JSON object per
line: {row, field, message, raw}. Exit code 0 when the import ran (even with
rejected rows), 1 when nothing was imported and something was rejected, 2 for
an unusable file or option.
"""


@click.command("import", help=_HELP)
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "--database",
    "database",
    default=None,
    help="SQLite path or postgresql:// URL (default: ONEVOICE_DATABASE_URL or ./onevoice.db)",
)
@click.option(
    "--format",
    "file_format",
    type=click.Choice(FORMATS),
    default=None,
    help="file format (default: from the extension)",
)
@click.option(
    "--map",
    "mappings",
    multiple=True,
    metavar="COLUMN=FIELD",
    help="put COLUMN into FIELD, e.g. customer=userId or amount=properties.revenue (repeatable)",
)
@click.option(
    "--type",
    "default_type",
    type=click.Choice(EVENT_TYPES),
    default="track",
    show_default=True,
    help="type of rows without a type column",
)
@click.option("--event", "default_event", default=None, help="event name of track rows without one")
@click.option(
    "--channel", "default_channel", default=None, help="context.channel of rows without one"
)
@click.option(
    "--rejects",
    "rejects_path",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="where rejected rows go (default: FILE.rejects.jsonl)",
)
@click.option(
    "--batch-size",
    type=click.IntRange(1, 100_000),
    default=DEFAULT_BATCH_SIZE,
    show_default=True,
    help="rows stored per transaction",
)
@click.option(
    "--no-process", is_flag=True, help="store only; build profiles later (`onevoice process`)"
)
def import_command(
    file: Path,
    database: str | None,
    file_format: str | None,
    mappings: tuple[str, ...],
    default_type: str,
    default_event: str | None,
    default_channel: str | None,
    rejects_path: Path | None,
    batch_size: int,
    no_process: bool,
) -> None:
    from onevoice.cli import opened  # the CLI's own bootstrap; imported late, cli imports us

    err = Console(stderr=True, highlight=False)
    shape = RowShape(
        renames=_renames(mappings),
        default_type=default_type,
        default_event=default_event,
        default_channel=default_channel,
    )
    try:
        check_shape(shape)
        reader = open_reader(file, file_format)
    except OnevoiceError as error:
        _fail(error)
    with reader:
        shape = RowShape(
            shape.renames, default_type, default_event, default_channel, reader.text_values
        )
        if reader.columns is not None:
            _check_columns(reader, shape, err)
        rejects = _open_rejects(rejects_path or Path(f"{file}.rejects.jsonl"), file)
        reasons: Counter[str | None] = Counter()
        examples: dict[str | None, str] = {}

        def reject(rejection: RowRejection) -> None:
            rejects.write(rejection.to_record())
            reasons[rejection.field] += 1
            examples.setdefault(rejection.field, rejection.message)

        try:
            with opened(database) as ov:
                started = time.perf_counter()
                counts = _import(ov, reader, shape, rejects, reject, batch_size, err)
                imported_in = time.perf_counter() - started
                processed = 0 if no_process else _process(ov, counts, err)
                elapsed = time.perf_counter() - started
        except KeyboardInterrupt:
            err.print(
                "interrupted: the rows stored so far stay stored; run the same command "
                "again to carry on (they will count as duplicates)"
            )
            sys.exit(130)
        finally:
            rejects.close()
    _summary(counts, processed, imported_in, elapsed, rejects, no_process)
    if counts.rejected:
        err.print(f"{counts.rejected} row(s) rejected; reasons in {rejects.path}")
        for field, count in reasons.most_common(3):
            err.print(f"  {count} × {field or '(row)'}: {examples[field]}")
    if counts.rejected and not counts.imported and not counts.duplicates:
        sys.exit(1)


def _import(
    ov: Onevoice,
    reader: Reader,
    shape: RowShape,
    rejects: RejectsFile,
    reject: Callable[[RowRejection], None],
    batch_size: int,
    err: Console,
) -> ImportCounts:
    amount: list[ProgressColumn] = (
        [DownloadColumn(), TransferSpeedColumn()]
        if reader.unit == "bytes"
        else [MofNCompleteColumn()]
    )
    with _progress(err, *amount) as progress:
        task = progress.add_task("importing", total=reader.total or None)

        def show(counts: ImportCounts) -> None:
            progress.update(
                task,
                completed=reader.position(),
                description=f"{counts.imported:,} new, {counts.duplicates:,} dup, "
                f"{counts.rejected:,} rejected",
            )

        counts = import_rows(
            ov.collector,
            reader.rows(),
            shape=lambda row: shape_row(row, shape),
            source=f"import:{reader.path.name}",
            batch_size=batch_size,
            on_reject=reject,
            on_progress=show,
        )
        progress.update(task, completed=reader.total)
        return counts


def _process(ov: Onevoice, counts: ImportCounts, err: Console) -> int:
    with _progress(err, MofNCompleteColumn()) as progress:
        task = progress.add_task("building profiles", total=counts.imported or None)
        done = build_profiles(ov.processor, lambda n: progress.update(task, completed=n))
        progress.update(task, total=done, completed=done)
        return done


def _renames(mappings: tuple[str, ...]) -> dict[str, str]:
    renames: dict[str, str] = {}
    for mapping in mappings:
        column, sep, target = mapping.partition("=")
        if not sep or not column.strip():
            raise click.BadParameter(f"{mapping!r} is not COLUMN=FIELD", param_hint="--map")
        if column.strip() in renames:
            raise click.BadParameter(f"{column!r} is mapped twice", param_hint="--map")
        renames[column.strip()] = target.strip()
    return renames


def _check_columns(reader: Reader, shape: RowShape, err: Console) -> None:
    """A --map naming no column is a mistake; a column that lands nowhere is worth a word."""
    columns = reader.columns or []
    missing = [c for c in shape.renames if c not in columns]
    if missing:
        _fail(
            OnevoiceError(
                f"no column {', '.join(map(repr, missing))} in {reader.path.name} "
                f"(its columns: {', '.join(columns)})",
                field="--map",
            )
        )
    ignored = ignored_columns(columns, shape)
    if ignored:
        err.print(
            f"ignoring column(s) {', '.join(ignored)}: not event fields "
            f"(keep one with e.g. --map {ignored[0]}=properties.{ignored[0]}, "
            f"or drop it quietly with --map {ignored[0]}=)"
        )


def _open_rejects(path: Path, file: Path) -> RejectsFile:
    if path.resolve() == file.resolve():
        _fail(OnevoiceError("the rejects file cannot be the file imported", field="--rejects"))
    try:
        return RejectsFile(path)
    except OnevoiceError as error:
        _fail(error)


def _progress(err: Console, *amount: ProgressColumn) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        *amount,
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=err,
    )


def _summary(
    counts: ImportCounts,
    processed: int,
    imported_in: float,
    elapsed: float,
    rejects: RejectsFile,
    no_process: bool,
) -> None:
    table = Table(title="import", show_header=False)
    table.add_column("", style="bold")
    table.add_column("", justify="right")
    table.add_row("rows read", f"{counts.rows:,}")
    table.add_row("imported", f"{counts.imported:,}")
    table.add_row("duplicates", f"{counts.duplicates:,}")
    table.add_row("rejected", f"{counts.rejected:,}")
    table.add_row("rejects file", str(rejects.path) if rejects.count else "-")
    table.add_row(
        "profiles built from", "skipped (--no-process)" if no_process else f"{processed:,} events"
    )
    table.add_row(
        "import", f"{imported_in:.1f} s, {counts.rows / max(imported_in, 1e-9):,.0f} rows/s"
    )
    table.add_row("in all", f"{elapsed:.1f} s, {counts.rows / max(elapsed, 1e-9):,.0f} rows/s")
    Console(highlight=False).print(table)


def _fail(error: OnevoiceError) -> NoReturn:
    where = f" ({error.field})" if error.field else ""
    click.echo(f"error{where}: {error.message}", err=True)
    sys.exit(2)
