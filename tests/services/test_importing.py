"""The import use case: batches through the collector, counts, rejections, progress."""

from __future__ import annotations

from typing import Any

import pytest

from onevoice.bootstrap import Onevoice
from onevoice.domain.rows import RowShape, shape_row
from onevoice.services.importing import ImportCounts, RowRejection, build_profiles, import_rows

SHAPE = RowShape(default_event="Order Completed", text_values=True)


def _rows(*records: dict[str, Any]) -> list[tuple[int, object]]:
    return [(n, r) for n, r in enumerate(records, start=2)]


def _import(ov: Onevoice, rows: list[tuple[int, object]], **options: Any) -> ImportCounts:
    return import_rows(
        ov.collector, rows, shape=lambda r: shape_row(r, SHAPE), source="import:test", **options
    )


def _order(user: str, day: int, revenue: str = "10") -> dict[str, Any]:
    return {
        "userId": user,
        "timestamp": f"2025-01-{day:02d}T10:00:00Z",
        "properties.revenue": revenue,
    }


def test_rows_are_stored_in_batches_and_progress_is_reported_after_each(ov: Onevoice) -> None:
    seen: list[ImportCounts] = []
    rows = _rows(*(_order(f"u{i}", 1 + i % 28) for i in range(25)))
    counts = _import(ov, rows, batch_size=10, on_progress=seen.append)
    assert counts == ImportCounts(rows=25, imported=25, duplicates=0, rejected=0)
    assert [c.rows for c in seen] == [10, 20, 25]
    assert ov.store.count_events() == 25


def test_rejections_keep_their_row_numbers_and_raw_records_across_batches(ov: Onevoice) -> None:
    rejected: list[RowRejection] = []
    rows = _rows(
        _order("u1", 1),
        {"timestamp": "2025-01-01T00:00:00Z"},  # row 3: nobody
        _order("u2", 2),
        {"userId": "u3", "context": "{oops"},  # row 5: bad JSON, refused while shaping
        {"userId": "u4", "timestamp": "yesterday"},  # row 6
    )
    counts = _import(ov, rows, batch_size=2, on_reject=rejected.append)
    assert (counts.imported, counts.rejected, counts.rows) == (2, 3, 5)
    assert [(r.row, r.field) for r in sorted(rejected, key=lambda r: r.row)] == [
        (3, "userId"),
        (5, "context"),
        (6, "timestamp"),
    ]
    assert next(r for r in rejected if r.row == 6).raw == rows[4][1]


def test_a_row_repeated_in_the_file_is_a_duplicate(ov: Onevoice) -> None:
    counts = _import(ov, _rows(_order("u1", 1), _order("u1", 1), _order("u1", 2)), batch_size=2)
    assert (counts.imported, counts.duplicates) == (2, 1)


def test_importing_the_same_rows_again_imports_nothing(ov: Onevoice) -> None:
    rows = _rows(
        _order("u1", 1),
        {"type": "identify", "userId": "u1", "traits.email": "ann@example.com"},  # no time
    )
    assert _import(ov, rows).imported == 2
    again = _import(ov, rows)
    assert (again.imported, again.duplicates) == (0, 2)


def test_build_profiles_files_every_imported_event(ov: Onevoice) -> None:
    _import(ov, _rows(_order("u1", 1, "19.99"), _order("u1", 2, "5.01"), _order("u2", 3)))
    progress: list[int] = []
    assert build_profiles(ov.processor, progress.append) == 3
    assert progress and progress[-1] == 3
    view = ov.profiles.view("userId:u1")
    assert (view["orders"], view["lifetime_value"]) == (2, 25.0)


def test_a_batch_size_below_one_is_refused(ov: Onevoice) -> None:
    with pytest.raises(ValueError, match="batch_size"):
        _import(ov, [], batch_size=0)
