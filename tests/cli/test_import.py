"""``onevoice import FILE`` as a user runs it: each format, mapping, rejects, exit codes."""

from __future__ import annotations

import gzip
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner, Result

from onevoice.bootstrap import Onevoice, bootstrap
from onevoice.cli import main
from onevoice.config import Settings

SECRET = "test-secret"
ONEVOICE = str(Path(sys.executable).with_name("onevoice"))

ORDERS_CSV = """\
customer,ts,amount,traits.email,context.channel
u1,2025-01-02T10:00:00Z,19.99,Ann@Example.com,web
u1,2025-02-03T10:00:00Z,5.01,,branch
u2,2025-01-05T10:00:00Z,7,bob@example.com,app
"""
ORDER_MAP = (
    "--event",
    "Order Completed",
    "--map",
    "customer=userId",
    "--map",
    "ts=timestamp",
    "--map",
    "amount=properties.revenue",
)


def run(database: str, *args: str) -> Result:
    return CliRunner().invoke(
        main, ["import", *args, "--database", database], env={"ONEVOICE_SECRET_KEY": SECRET}
    )


@contextmanager
def looking(database: str) -> Iterator[Onevoice]:
    ov = bootstrap(Settings(database_url=database, secret_key=SECRET))
    try:
        yield ov
    finally:
        ov.close()


def rejects_of(path: Path) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in path.read_bytes().splitlines()]


def test_a_csv_of_orders_becomes_profiles_with_their_value(
    database_url: str, tmp_path: Path
) -> None:
    orders = tmp_path / "orders.csv"
    orders.write_text(ORDERS_CSV)
    done = run(database_url, str(orders), *ORDER_MAP)
    assert done.exit_code == 0, done.output
    assert "imported" in done.stdout and "3" in done.stdout
    assert not (tmp_path / "orders.csv.rejects.jsonl").exists()
    with looking(database_url) as ov:
        ann = ov.profiles.view("email:ann@example.com")
        assert ann["profile_id"] == ov.profiles.view("userId:u1")["profile_id"]
        assert (ann["orders"], ann["lifetime_value"]) == (2, 25.0)
        assert ann["channels"] == ["branch", "web"]
        assert ann["first_seen"].startswith("2025-01-02")
        timeline = ov.profiles.timeline("userId:u1").events
        assert {e["source"] for e in timeline} == {"import:orders.csv"}


def test_json_lines_compressed_with_nested_objects_and_dotted_keys(
    database_url: str, tmp_path: Path
) -> None:
    lines = [
        {
            "type": "identify",
            "userId": "u7",
            "traits": {"email": "cy@example.com", "plan": "gold"},
            "timestamp": "2025-03-01T09:00:00Z",
            "sentAt": "2025-03-01T09:00:05Z",
        },
        {
            "type": "track",
            "event": "Purchase",
            "userId": "u7",
            "properties.revenue": 12.5,
            "context": {"channel": "app"},
            "messageId": "m-2",
            "timestamp": "2025-03-02T09:00:00Z",
        },
        {"event": "Support Call", "anonymousId": "a-9", "timestamp": 1740906000},
    ]
    path = tmp_path / "history.ndjson.gz"
    path.write_bytes(gzip.compress(b"\n".join(orjson.dumps(x) for x in lines) + b"\n\n"))
    done = run(database_url, str(path), "--channel", "call_centre")
    assert done.exit_code == 0, done.output
    with looking(database_url) as ov:
        cy = ov.profiles.view("userId:u7")
        assert cy["traits"]["plan"] == "gold" and cy["lifetime_value"] == 12.5
        assert cy["channels"] == ["app", "call_centre"]
        anon = ov.profiles.timeline("anonymousId:a-9").events
        assert anon[0]["timestamp"] == "2025-03-02T09:00:00.000Z"
        assert anon[0]["channel"] == "call_centre"


def test_parquet_with_typed_columns(database_url: str, tmp_path: Path) -> None:
    table = pa.table(
        {
            "user_id": ["p1", "p1", "p2"],
            "event": ["Order Completed", "Order Completed", "Signed Up"],
            "occurred": pa.array(
                [datetime(2025, 4, d, 8, tzinfo=UTC) for d in (1, 2, 3)], pa.timestamp("ms", "UTC")
            ),
            "properties.revenue": [10.0, 2.5, None],
            "context": [{"channel": "email"}, {"channel": "sms"}, {"channel": "web"}],
        }
    )
    path = tmp_path / "events.parquet"
    pq.write_table(table, path, row_group_size=2)
    done = run(database_url, str(path), "--map", "user_id=userId", "--map", "occurred=timestamp")
    assert done.exit_code == 0, done.output
    with looking(database_url) as ov:
        p1 = ov.profiles.view("userId:p1")
        assert (p1["orders"], p1["lifetime_value"]) == (2, 12.5)
        assert p1["channels"] == ["email", "sms"]
        assert p1["last_seen"].startswith("2025-04-02T08:00")
        assert ov.profiles.view("userId:p2")["channels"] == ["web"]


def test_bad_rows_go_to_the_rejects_file_with_reasons_and_the_rest_is_imported(
    database_url: str, tmp_path: Path
) -> None:
    path = tmp_path / "mixed.csv"
    path.write_text(
        "userId,event,timestamp,context.channel,properties\n"
        "u1,Viewed,2025-01-01T00:00:00Z,web,\n"
        ",Viewed,2025-01-01T00:00:00Z,web,\n"
        "u2,Viewed,last tuesday,web,\n"
        "u3,Viewed,2025-01-01T00:00:00Z,fax,\n"
        'u4,Viewed,2025-01-01T00:00:00Z,web,"{broken"\n'
        "u5,Viewed,2025-01-01T00:00:00Z,web,,extra\n"
    )
    rejects = tmp_path / "out" / "why.jsonl"
    rejects.parent.mkdir()
    done = run(database_url, str(path), "--rejects", str(rejects))
    assert done.exit_code == 0, done.output
    assert "5 row(s) rejected" in done.stderr and str(rejects) in done.stderr
    found = {r["row"]: r for r in rejects_of(rejects)}
    assert {row: r["field"] for row, r in found.items()} == {
        3: "userId",
        4: "timestamp",
        5: "context.channel",
        6: "properties",
        7: None,
    }
    assert found[4]["raw"]["timestamp"] == "last tuesday"
    assert "ISO 8601" in found[4]["message"]
    assert found[7]["raw"]["(extra cells)"] == ["extra"]
    with looking(database_url) as ov:
        assert ov.store.count_events() == 1


def test_nothing_imported_and_something_rejected_exits_1(database_url: str, tmp_path: Path) -> None:
    path = tmp_path / "orders.csv"
    path.write_text(ORDERS_CSV)
    done = run(database_url, str(path))  # no --map: no userId, no event name
    assert done.exit_code == 1
    assert "ignoring column(s) customer, ts, amount" in done.stderr
    reasons = rejects_of(tmp_path / "orders.csv.rejects.jsonl")
    assert len(reasons) == 3 and {r["field"] for r in reasons} == {"event"}


def test_a_second_import_of_the_same_file_counts_only_duplicates(
    database_url: str, tmp_path: Path
) -> None:
    customers = tmp_path / "customers.csv"  # no messageId and no timestamp
    customers.write_text("userId,traits.email,traits.name\nc1,c1@example.com,Cleo\nc2,,Dan\n")
    orders = tmp_path / "orders.csv"  # no messageId, but a timestamp
    orders.write_text(ORDERS_CSV)
    for _ in range(2):
        assert run(database_url, str(customers), "--type", "identify").exit_code == 0
        assert run(database_url, str(orders), *ORDER_MAP).exit_code == 0
    again = run(database_url, str(orders), *ORDER_MAP)
    assert "duplicates" in again.stdout
    with looking(database_url) as ov:
        assert ov.store.count_events() == 5
        assert ov.profiles.view("userId:c1")["traits"]["name"] == "Cleo"
        assert ov.profiles.view("userId:u1")["orders"] == 2


def test_no_process_stores_the_events_and_leaves_them_waiting(
    database_url: str, tmp_path: Path
) -> None:
    path = tmp_path / "orders.csv"
    path.write_text(ORDERS_CSV)
    done = run(database_url, str(path), *ORDER_MAP, "--no-process", "--batch-size", "1")
    assert done.exit_code == 0, done.output
    assert "skipped (--no-process)" in done.stdout
    with looking(database_url) as ov:
        assert ov.store.count_events() == 3 and ov.store.count_profiles() == 0


@pytest.mark.parametrize(
    ("name", "content", "args", "message"),
    [
        ("missing.csv", None, (), "does not exist"),
        ("notes.txt", b"hello", (), "cannot tell the format"),
        ("broken.parquet", b"not parquet at all", (), "cannot read broken.parquet as Parquet"),
        ("array.json", b'[{"userId": "u1"}]', (), "JSON array"),
        ("empty.csv", b"", (), "no header row"),
        ("ok.csv", b"userId\nu1\n", ("--map", "nobody=userId"), "no column 'nobody'"),
        ("ok.csv", b"userId\nu1\n", ("--map", "userId=revenue"), "not an event field"),
        ("ok.csv", b"userId\nu1\n", ("--channel", "fax"), "context.channel 'fax'"),
    ],
)
def test_an_unusable_file_or_option_is_one_error_line_and_exit_2(
    tmp_path: Path, name: str, content: bytes | None, args: tuple[str, ...], message: str
) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    done = run(str(tmp_path / "onevoice.db"), str(path), *args)
    assert done.exit_code == 2, done.output
    assert message in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and done.stderr.startswith("error")


def test_a_format_option_reads_a_file_whatever_its_name(tmp_path: Path) -> None:
    path = tmp_path / "export.txt"
    path.write_text('{"userId": "u1", "event": "E", "timestamp": "2025-01-01T00:00:00Z"}\n')
    done = run(str(tmp_path / "onevoice.db"), str(path), "--format", "jsonl")
    assert done.exit_code == 0, done.output


def test_the_installed_command_imports_end_to_end(tmp_path: Path) -> None:
    path = tmp_path / "orders.csv"
    path.write_text(ORDERS_CSV)
    database = str(tmp_path / "onevoice.db")
    done = subprocess.run(
        [ONEVOICE, "import", str(path), *ORDER_MAP, "--database", database],
        capture_output=True,
        text=True,
        timeout=60,
        env={"ONEVOICE_SECRET_KEY": SECRET, "PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 0, done.stderr
    assert "rows/s" in done.stdout
    with looking(database) as ov:
        assert ov.profiles.view("userId:u2")["orders"] == 1
