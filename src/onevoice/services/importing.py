"""Bulk import: records from a file through the listening post's front door, in batches.

Every record goes through :class:`~onevoice.services.collect.Collector` exactly as a call
to the API would, so an imported event is validated, deduplicated and processed like any
other. Re-importing a file stores nothing new: every record keeps its ``messageId`` (its
own, or a hash of its content — see :mod:`onevoice.domain.rows`), so the second run counts
them all as duplicates.

The use case does no I/O of its own: records come in as an iterator, rejections and
progress go out through callbacks, so the CLI (or a test) decides where they land.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from onevoice.domain.errors import InvalidEvent
from onevoice.services.collect import Collector
from onevoice.services.processing import Processor

DEFAULT_BATCH_SIZE = 1000


@dataclass(frozen=True, slots=True)
class RowRejection:
    """One record that was not imported: where it was, what was wrong, and the record."""

    row: int
    field: str | None
    message: str
    raw: object

    def to_record(self) -> dict[str, Any]:
        return {"row": self.row, "field": self.field, "message": self.message, "raw": self.raw}


@dataclass(frozen=True, slots=True)
class ImportCounts:
    """How far an import has got; ``rows`` = imported + duplicates + rejected."""

    rows: int = 0
    imported: int = 0
    duplicates: int = 0
    rejected: int = 0


def import_rows(
    collector: Collector,
    rows: Iterable[tuple[int, object]],
    *,
    shape: Callable[[object], dict[str, Any]],
    source: str,
    batch_size: int = DEFAULT_BATCH_SIZE,
    on_reject: Callable[[RowRejection], None] = lambda _r: None,
    on_progress: Callable[[ImportCounts], None] = lambda _c: None,
) -> ImportCounts:
    """Shape, validate and store numbered records, ``batch_size`` at a time.

    A bad record is reported and skipped, never fatal; each batch is durable before the
    next one is read, so an interrupted import can simply be run again.
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    counts = ImportCounts()
    numbers: list[int] = []
    originals: list[object] = []
    calls: list[object] = []

    def flush() -> None:
        nonlocal counts
        events, rejections = collector.parse(calls, source=source)
        for rejection in rejections:
            error = rejection.error
            on_reject(
                RowRejection(
                    numbers[rejection.index], error.field, error.message, originals[rejection.index]
                )
            )
        imported, duplicates = collector.store(events)
        counts = ImportCounts(
            counts.rows + len(calls),
            counts.imported + imported,
            counts.duplicates + duplicates,
            counts.rejected + len(rejections),
        )
        numbers.clear()
        originals.clear()
        calls.clear()
        on_progress(counts)

    for number, row in rows:
        try:
            call = shape(row)
        except InvalidEvent as error:
            on_reject(RowRejection(number, error.field, error.message, row))
            counts = ImportCounts(
                counts.rows + 1, counts.imported, counts.duplicates, counts.rejected + 1
            )
            continue
        numbers.append(number)
        originals.append(row)
        calls.append(call)
        if len(calls) >= batch_size:
            flush()
    flush()
    return counts


def build_profiles(
    processor: Processor, on_progress: Callable[[int], None] = lambda _n: None
) -> int:
    """Process every waiting event (the import's and any other); return how many."""
    total = 0
    for done in processor.catch_up():
        total += done
        on_progress(total)
    return total
