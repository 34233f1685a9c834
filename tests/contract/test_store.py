"""The ``Store`` port's contract: every backend behaves the same (run on SQLite and PostgreSQL)."""

from __future__ import annotations

import sqlite3
import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import psycopg
import pytest

from onevoice.domain import profiles
from onevoice.domain.events import Event, format_time, parse_event
from onevoice.domain.identifiers import Identifier
from onevoice.domain.identity import Merge, Node, PersonIdentity
from onevoice.domain.profiles import ProfileState
from onevoice.services.ports import KeyRecord, ProcessedBatch, Store, UndoPlan
from onevoice.store import open_store
from onevoice.store.migrate import migration_files
from onevoice.store.postgres import PostgresStore
from onevoice.store.sql import dumps
from onevoice.store.sqlite import SqliteStore

AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
LATER = AT + timedelta(hours=1)
CURSOR = "contract"
DATABASE_ERRORS = (sqlite3.IntegrityError, psycopg.IntegrityError)

only_postgres = pytest.mark.parametrize("database_url", ["postgres"], indirect=True)


# -- builders ----------------------------------------------------------------------------
def event(message_id: str, user: str = "u1", *, ts: str = "2026-03-01T10:00:00Z") -> Event:
    raw = {
        "type": "track",
        "event": "Viewed",
        "userId": user,
        "messageId": message_id,
        "timestamp": ts,
        "properties": {"page": message_id},
    }
    return parse_event(raw, received_at=AT, source="contract")


def key(user: str) -> str:
    return f"userId:{user}"


def node(user: str, profile_id: str, origin: str | None = None) -> Node:
    return Node(key(user), "userId", profile_id, origin or profile_id, set(), False)


def person(profile_id: str, *users: str, blocked: set[str] | None = None) -> PersonIdentity:
    return PersonIdentity(
        profile_id,
        {"userId": key(users[0])} if users else {},
        [Identifier("userId", u) for u in users],
        blocked or set(),
    )


def file_under(store: Store, profile_id: str, user: str, rows: list[tuple[int, Event]]) -> None:
    """Commit a batch filing ``rows`` under a new person ``profile_id`` known by ``user``."""
    store.commit_batch(
        ProcessedBatch(
            last_seq=rows[-1][0],
            nodes=[node(user, profile_id)],
            people=[person(profile_id, user)],
            states={profile_id: profiles.fold(e for _s, e in rows)},
            assignments=[(seq, profile_id) for seq, _e in rows],
            at=AT,
        ),
        CURSOR,
    )


def append_and_read(store: Store, *events: Event) -> list[tuple[int, Event]]:
    store.append_events(events)
    wanted = {e.message_id for e in events}
    return [row for row in store.read_events(0, 1000) if row[1].message_id in wanted]


def scalar(database_url: str, sql: str) -> Any:
    """One value, read past the store with the backend's own driver."""
    if database_url.startswith("postgresql://"):
        with psycopg.connect(database_url) as conn:
            row = conn.execute(sql.encode()).fetchone()
    else:
        with closing(sqlite3.connect(database_url)) as conn:
            row = conn.execute(sql).fetchone()
    assert row is not None
    return row[0]


def snapshot(store: Store, *profile_ids: str) -> dict[str, Any]:
    """Everything a batch could change, to compare before and after a failed write."""
    return {
        "events": store.count_events(),
        "waiting": [seq for seq, _e in store.read_events(0, 1000)],
        "profiles": store.count_profiles(),
        "cursor": store.cursor(CURSOR),
        "people": {p: store.get_profile(p) for p in profile_ids},
        "nodes": {p: sorted(n.key for n in store.nodes_of(p)) for p in profile_ids},
        "events_of": {p: [s for s, _e in store.events_of(p)] for p in profile_ids},
        "merges": {p: store.merges_of(p) for p in profile_ids},
    }


@pytest.fixture
def two_people(store: Store) -> tuple[Store, list[tuple[int, Event]]]:
    """p1 (userId u1, event m1) and p2 (userId u2, event m2), both processed."""
    rows = append_and_read(store, event("m1", "u1"), event("m2", "u2", ts="2026-03-01T11:00:00Z"))
    file_under(store, "p1", "u1", rows[:1])
    file_under(store, "p2", "u2", rows[1:])
    return store, rows


def merge_p2_into_p1(store: Store) -> None:
    store.commit_batch(
        ProcessedBatch(
            last_seq=store.last_seq(),
            merges=[Merge("p1", "p2", "same_event", "m3", key("u2"))],
            people=[person("p1", "u1", "u2")],
            states={"p1": profiles.fold([event("m1", "u1"), event("m2", "u2")])},
            at=AT,
        ),
        CURSOR,
    )


# -- appending events ------------------------------------------------------------------------
def test_appending_returns_how_many_events_were_new(store: Store) -> None:
    assert store.append_events([event("m1"), event("m2"), event("m3")]) == 3
    assert store.count_events() == 3


def test_appending_nothing_stores_nothing(store: Store) -> None:
    assert store.append_events([]) == 0
    assert store.count_events() == 0
    assert store.last_seq() == 0


def test_a_message_id_repeated_within_one_call_is_stored_once(store: Store) -> None:
    assert store.append_events([event("m1"), event("m2"), event("m1"), event("m1")]) == 2
    assert store.count_events() == 2
    assert [e.message_id for _s, e in store.read_events(0, 10)] == ["m1", "m2"]


def test_a_message_id_stored_by_an_earlier_call_is_ignored(store: Store) -> None:
    store.append_events([event("m1", "u1"), event("m2", "u1")])
    assert store.append_events([event("m2", "someone-else"), event("m3")]) == 1
    assert store.append_events([event("m1"), event("m3")]) == 0
    stored = {e.message_id: e for _s, e in store.read_events(0, 10)}
    assert sorted(stored) == ["m1", "m2", "m3"]
    assert stored["m2"].user_id == "u1"  # the first copy wins


def test_a_repeated_event_is_not_counted_again_once_processed(store: Store) -> None:
    rows = append_and_read(store, event("m1"))
    file_under(store, "p1", "u1", rows)
    assert store.append_events([event("m1")]) == 0
    assert store.read_events(0, 10) == []


def test_an_event_reads_back_exactly_as_it_was_appended(store: Store) -> None:
    original = event("m1", ts="2026-03-01T10:00:00.123Z")
    store.append_events([original])
    [(_seq, stored)] = store.read_events(0, 10)
    assert stored == original


def test_appended_events_survive_closing_and_reopening(database_url: str) -> None:
    first = open_store(database_url)
    first.append_events([event("m1"), event("m2")])
    last = first.last_seq()
    first.close()
    again = open_store(database_url)
    try:
        assert again.count_events() == 2
        assert again.last_seq() == last
        assert [e.message_id for _s, e in again.read_events(0, 10)] == ["m1", "m2"]
    finally:
        again.close()


# -- reading the queue -------------------------------------------------------------------
def test_unprocessed_events_are_read_in_seq_order(store: Store) -> None:
    # timestamps out of order on purpose: the queue follows arrival, not event time
    store.append_events(
        [event(f"m{i}", ts=f"2026-02-0{9 - i}T10:00:00Z") for i in range(1, 6)],
    )
    rows = store.read_events(0, 10)
    assert [e.message_id for _s, e in rows] == ["m1", "m2", "m3", "m4", "m5"]
    seqs = [seq for seq, _e in rows]
    assert seqs == sorted(seqs)
    assert store.last_seq() == seqs[-1]


def test_reading_the_queue_respects_the_limit_and_the_starting_seq(store: Store) -> None:
    store.append_events([event(f"m{i}") for i in range(1, 6)])
    seqs = [seq for seq, _e in store.read_events(0, 10)]
    assert [s for s, _e in store.read_events(0, 2)] == seqs[:2]
    assert [s for s, _e in store.read_events(seqs[1], 10)] == seqs[2:]


def test_processed_events_leave_the_queue_and_the_rest_stay(store: Store) -> None:
    rows = append_and_read(store, event("m1"), event("m2"), event("m3"))
    file_under(store, "p1", "u1", rows[:2])
    assert store.read_events(0, 10) == rows[2:]
    assert store.cursor(CURSOR) == rows[1][0]
    assert store.cursor("never-written") == 0


# -- committing a batch ------------------------------------------------------------------------
def test_a_batch_writes_nodes_people_states_and_assignments_together(store: Store) -> None:
    rows = append_and_read(store, event("m1"), event("m2"))
    file_under(store, "p1", "u1", rows)

    assert store.profile_id_for_key(key("u1")) == "p1"
    assert store.profile_id_for_key(key("nobody")) is None
    stored = store.get_profile("p1")
    assert stored is not None
    assert stored.identifiers == (Identifier("userId", "u1"),)
    assert stored.state == profiles.fold(e for _s, e in rows)
    assert stored.state.event_count == 2
    assert stored.updated_at == AT
    nodes, people = store.load_identity([key("u1"), key("nobody")])
    assert nodes == [node("u1", "p1")]
    assert people == [person("p1", "u1")]
    assert store.load_people(["p1", "p-none"]) == [person("p1", "u1")]
    assert store.load_states(["p1"]) == {"p1": stored.state}
    assert store.nodes_of("p1") == [node("u1", "p1")]
    assert store.events_of("p1") == rows
    assert store.count_profiles() == 1
    assert store.get_profile("p-none") is None


def test_a_node_written_again_takes_its_new_person_and_links(store: Store) -> None:
    rows = append_and_read(store, event("m1"))
    file_under(store, "p1", "u1", rows)
    moved = Node(key("u1"), "userId", "p9", "p-ignored", {key("a"), key("b")}, True)
    store.commit_batch(ProcessedBatch(last_seq=rows[0][0], nodes=[moved], at=AT), CURSOR)
    [stored] = store.nodes_of("p9")
    assert stored == Node(key("u1"), "userId", "p9", "p1", {key("a"), key("b")}, True)


def test_a_new_state_alone_keeps_the_stored_identity(store: Store) -> None:
    rows = append_and_read(store, event("m1"))
    file_under(store, "p1", "u1", rows)
    newer = ProfileState(event_count=41, orders=2, revenue_cents=1999)
    store.commit_batch(ProcessedBatch(last_seq=rows[0][0], states={"p1": newer}, at=LATER), CURSOR)
    stored = store.get_profile("p1")
    assert stored is not None
    assert stored.state == newer
    assert stored.identifiers == (Identifier("userId", "u1"),)
    assert store.load_people(["p1"]) == [person("p1", "u1")]


def test_a_new_identity_alone_keeps_the_stored_state(store: Store) -> None:
    rows = append_and_read(store, event("m1"))
    file_under(store, "p1", "u1", rows)
    before = store.load_states(["p1"])
    grown = person("p1", "u1")
    grown.identifiers.append(Identifier("email", "ann@example.com"))
    grown.blocked.add("p7")
    store.commit_batch(ProcessedBatch(last_seq=rows[0][0], people=[grown], at=LATER), CURSOR)
    assert store.load_states(["p1"]) == before
    assert store.load_people(["p1"]) == [grown]


def test_a_batch_failing_in_the_database_writes_nothing(
    two_people: tuple[Store, list[tuple[int, Event]]],
) -> None:
    store, _rows = two_people
    [(seq, _e)] = append_and_read(store, event("m3", "u1"))
    before = snapshot(store, "p1", "p2")
    broken = Node(key("u3"), "userId", cast(str, None), "p1")  # NOT NULL: fails mid-batch
    with pytest.raises(DATABASE_ERRORS):
        store.commit_batch(
            ProcessedBatch(
                last_seq=seq,
                merges=[Merge("p1", "p2", "same_event", "m3", key("u2"))],
                refusals=[],
                nodes=[node("u1", "p1"), broken],
                people=[person("p1", "u1", "u2")],
                states={"p1": ProfileState(event_count=3)},
                assignments=[(seq, "p1")],
                at=LATER,
            ),
            CURSOR,
        )
    assert snapshot(store, "p1", "p2") == before
    # and the store still writes afterwards
    file_under(store, "p3", "u3", store.read_events(0, 10))
    assert store.current_profile_id("p3") == "p3"


def test_a_batch_failing_between_two_statements_writes_nothing(
    two_people: tuple[Store, list[tuple[int, Event]]],
) -> None:
    store, _rows = two_people
    [(seq, _e)] = append_and_read(store, event("m3", "u1"))
    before = snapshot(store, "p1", "p2")
    unencodable = PersonIdentity("p1", {}, [Identifier("userId", "\ud800")], set())
    with pytest.raises(TypeError):  # orjson refuses a lone surrogate after merges and nodes ran
        store.commit_batch(
            ProcessedBatch(
                last_seq=seq,
                merges=[Merge("p1", "p2", "same_event", "m3", key("u2"))],
                nodes=[node("u1", "p1"), node("u2", "p1", "p2")],
                people=[unencodable],
                states={"p1": ProfileState(event_count=3)},
                assignments=[(seq, "p1")],
                at=LATER,
            ),
            CURSOR,
        )
    assert snapshot(store, "p1", "p2") == before


def _writes_wait_for_the_disk(store: Store) -> bool:
    """Whether the store's next ordinary write commits durably (fsync / synchronous_commit)."""
    if isinstance(store, SqliteStore):
        with store._write() as cur:
            cur.execute("PRAGMA synchronous")
            return bool(cur.fetchone()[0] >= 2)  # FULL (2) or EXTRA (3)
    assert isinstance(store, PostgresStore)
    with store._write() as cur:
        cur.execute("SHOW synchronous_commit")
        return bool(cur.fetchone()[0] == "on")


def test_a_processing_batch_commits_without_its_own_fsync_and_leaves_other_writes_durable(
    two_people: tuple[Store, list[tuple[int, Event]]],
) -> None:
    # a batch is derived from events already durable; relaxing its commit must not leak
    # into the appends and undos that follow, whether the batch committed or failed
    store, _rows = two_people
    [(seq, _e)] = append_and_read(store, event("m3", "u1"))
    broken = Node(key("u3"), "userId", cast(str, None), "p1")
    with pytest.raises(DATABASE_ERRORS):
        store.commit_batch(ProcessedBatch(last_seq=seq, nodes=[broken], at=LATER), CURSOR)
    assert _writes_wait_for_the_disk(store)
    file_under(store, "p1", "u1", [(seq, _e)])
    assert _writes_wait_for_the_disk(store)
    assert store.read_events(0, 10) == []


# -- merges --------------------------------------------------------------------------------
def test_a_merge_moves_the_losers_nodes_and_events_to_the_winner_and_deletes_the_loser(
    two_people: tuple[Store, list[tuple[int, Event]]],
) -> None:
    store, rows = two_people
    merge_p2_into_p1(store)
    assert store.get_profile("p2") is None
    assert store.count_profiles() == 1
    assert sorted(n.key for n in store.nodes_of("p1")) == [key("u1"), key("u2")]
    assert store.nodes_of("p2") == []
    assert store.events_of("p1") == rows
    assert store.events_of("p2") == []
    assert store.profile_id_for_key(key("u2")) == "p1"
    [moved] = [n for n in store.nodes_of("p1") if n.key == key("u2")]
    assert moved.origin_profile_id == "p2"  # where it came from is kept for an undo


def test_a_merge_is_recorded_with_its_rule_event_and_time(
    two_people: tuple[Store, list[tuple[int, Event]]],
) -> None:
    store, _rows = two_people
    merge_p2_into_p1(store)
    [record] = store.merges_of("p1")
    assert record.merge == Merge("p1", "p2", "same_event", "m3", key("u2"))
    assert record.at == AT
    assert record.undone_at is None
    assert store.get_merge(record.merge_id) == record
    assert store.get_merge(record.merge_id + 1000) is None
    assert store.merges_of("p2") == [record]


def test_current_profile_id_follows_merge_redirects(store: Store) -> None:
    rows = append_and_read(store, event("m1", "u1"), event("m2", "u2"), event("m3", "u3"))
    for (seq, e), pid in zip(rows, ["p1", "p2", "p3"], strict=True):
        file_under(store, pid, e.user_id or "", [(seq, e)])
    store.commit_batch(
        ProcessedBatch(
            last_seq=rows[-1][0],
            merges=[Merge("p2", "p3", "alias", "m4", key("u3"))],
            people=[person("p2", "u2", "u3")],
            at=AT,
        ),
        CURSOR,
    )
    store.commit_batch(
        ProcessedBatch(
            last_seq=rows[-1][0],
            merges=[Merge("p1", "p2", "same_event", "m5", key("u2"))],
            people=[person("p1", "u1", "u2", "u3")],
            at=LATER,
        ),
        CURSOR,
    )
    assert store.current_profile_id("p1") == "p1"
    assert store.current_profile_id("p2") == "p1"
    assert store.current_profile_id("p3") == "p1"
    assert store.current_profile_id("p-unknown") is None
    assert store.merge_tree("p1") == {"p2": "p1", "p3": "p2"}
    assert store.merge_tree("p2") == {"p3": "p2"}
    assert store.merge_tree("p3") == {}
    assert [(r.merge.winner, r.merge.loser) for r in store.merges_of("p1")] == [
        ("p2", "p3"),
        ("p1", "p2"),
    ]
    assert sorted(n.key for n in store.nodes_of("p1")) == [key("u1"), key("u2"), key("u3")]
    assert [e.message_id for _s, e in store.events_of("p1")] == ["m1", "m2", "m3"]


def test_an_undone_merge_gives_the_loser_back_and_is_no_longer_followed(
    two_people: tuple[Store, list[tuple[int, Event]]],
) -> None:
    store, rows = two_people
    merge_p2_into_p1(store)
    [record] = store.merges_of("p1")
    (_seq1, e1), (seq2, e2) = rows
    store.apply_undo(
        UndoPlan(
            merge_id=record.merge_id,
            at=LATER,
            people=[person("p1", "u1", blocked={"p2"}), person("p2", "u2", blocked={"p1"})],
            states={"p1": profiles.fold([e1]), "p2": profiles.fold([e2])},
            node_moves=[(key("u2"), "p2")],
            event_moves=[(seq2, "p2")],
        )
    )
    undone = store.get_merge(record.merge_id)
    assert undone is not None
    assert undone.undone_at == LATER
    assert store.current_profile_id("p2") == "p2"
    assert store.merge_tree("p1") == {}
    assert store.profile_id_for_key(key("u2")) == "p2"
    assert store.events_of("p1") == rows[:1]
    assert store.events_of("p2") == rows[1:]
    assert store.load_people(["p2"]) == [person("p2", "u2", blocked={"p1"})]
    assert store.load_states(["p1", "p2"]) == {
        "p1": profiles.fold([e1]),
        "p2": profiles.fold([e2]),
    }
    assert store.count_profiles() == 2


def test_a_redirect_through_an_undone_merge_stops_at_the_restored_person(
    store: Store,
) -> None:
    rows = append_and_read(store, event("m1", "u1"), event("m2", "u2"), event("m3", "u3"))
    for (seq, e), pid in zip(rows, ["p1", "p2", "p3"], strict=True):
        file_under(store, pid, e.user_id or "", [(seq, e)])
    for winner, loser in (("p2", "p3"), ("p1", "p2")):
        store.commit_batch(
            ProcessedBatch(
                last_seq=rows[-1][0],
                merges=[Merge(winner, loser, "same_event", "m9", key("u9"))],
                people=[person(winner, "u1")],
                at=AT,
            ),
            CURSOR,
        )
    [_p3_into_p2, p2_into_p1] = store.merges_of("p1")
    store.apply_undo(UndoPlan(p2_into_p1.merge_id, LATER, [person("p2", "u2")], {}, [], []))
    assert store.current_profile_id("p3") == "p2"
    assert store.merge_tree("p1") == {}
    assert store.merge_tree("p2") == {"p3": "p2"}


# -- the timeline --------------------------------------------------------------------------
TIMES = {
    "a": "2026-03-01T10:00:00Z",
    "b": "2026-03-01T11:00:00Z",
    "c": "2026-03-01T11:00:00Z",
    "d": "2026-03-01T09:00:00Z",
    "e": "2026-03-01T11:00:00Z",
    "f": "2026-03-01T12:00:00Z",
    "g": "2026-03-01T09:00:00Z",
}


@pytest.fixture
def history(store: Store) -> Store:
    rows = append_and_read(store, *(event(m, ts=ts) for m, ts in TIMES.items()))
    file_under(store, "p1", "u1", rows)
    other = append_and_read(store, event("x", "u2", ts="2026-03-01T11:00:00Z"))
    file_under(store, "p2", "u2", other)
    return store


NEWEST_FIRST = ["f", "e", "c", "b", "a", "g", "d"]  # equal times: the later arrival first


def test_the_timeline_is_newest_first_with_equal_times_ordered_by_arrival(history: Store) -> None:
    page = history.timeline("p1", 100, None)
    assert [record["messageId"] for _seq, record in page] == NEWEST_FIRST
    assert page[0][1]["timestamp"] == "2026-03-01T12:00:00.000Z"
    assert history.timeline("p-unknown", 100, None) == []


@pytest.mark.parametrize("size", [1, 2, 3, 7])
def test_paging_through_the_timeline_yields_every_event_once(history: Store, size: int) -> None:
    seen: list[str] = []
    before: tuple[str, int] | None = None
    while True:
        page = history.timeline("p1", size, before)
        assert len(page) <= size
        seen.extend(record["messageId"] for _seq, record in page)
        if len(page) < size:
            break
        seq, record = page[-1]
        before = (record["timestamp"], seq)
    assert seen == NEWEST_FIRST


# -- keys and settings -----------------------------------------------------------------------
def test_keys_are_added_found_by_hash_listed_and_revoked(store: Store) -> None:
    web = KeyRecord("k1", "write", "web", AT, None)
    admin = KeyRecord("k2", "admin", "ops", LATER, None)
    store.add_key(admin, "hash-2")
    store.add_key(web, "hash-1")
    assert store.find_key("hash-1") == web
    assert store.find_key("hash-unknown") is None
    assert store.list_keys() == [web, admin]  # oldest first

    assert store.revoke_key("k1", LATER) is True
    assert store.revoke_key("k1", LATER + timedelta(days=1)) is False
    assert store.revoke_key("k-unknown", LATER) is False
    assert store.find_key("hash-1") == KeyRecord("k1", "write", "web", AT, LATER)
    assert store.find_key("hash-2") == admin


def test_meta_stores_the_default_once_and_returns_the_stored_value_afterwards(
    store: Store,
) -> None:
    assert store.meta("install_id", "first") == "first"
    assert store.meta("install_id", "second") == "first"
    assert store.meta("other", "x") == "x"


# -- opening ------------------------------------------------------------------------------------
def test_reopening_a_store_keeps_its_data_and_applies_each_migration_once(
    database_url: str,
) -> None:
    first = open_store(database_url)
    rows = append_and_read(first, event("m1"), event("m2"))
    file_under(first, "p1", "u1", rows[:1])
    first.add_key(KeyRecord("k1", "write", "web", AT, None), "hash-1")
    first.meta("install_id", "abc")
    first.close()
    for _ in range(2):
        again = open_store(database_url)
        try:
            assert again.count_events() == 2
            assert [e.message_id for _s, e in again.read_events(0, 10)] == ["m2"]
            assert again.current_profile_id("p1") == "p1"
            assert again.find_key("hash-1") is not None
            assert again.meta("install_id", "other") == "abc"
        finally:
            again.close()
    backend = "postgres" if database_url.startswith("postgresql://") else "sqlite"
    applied = scalar(database_url, "SELECT COUNT(*) FROM schema_migrations")
    assert applied == len(migration_files(backend))


def test_two_stores_on_one_database_see_each_others_writes(database_url: str) -> None:
    a, b = open_store(database_url), open_store(database_url)
    try:
        assert a.append_events([event("m1")]) == 1
        assert b.append_events([event("m1"), event("m2")]) == 1
        assert b.count_events() == 2
        rows = b.read_events(0, 10)
        file_under(b, "p1", "u1", rows)
        assert a.read_events(0, 10) == []
        assert a.get_profile("p1") is not None
        assert a.events_of("p1") == rows
        a.add_key(KeyRecord("k1", "write", "web", AT, None), "hash-1")
        assert b.find_key("hash-1") is not None
        assert b.meta("install_id", "from-b") == "from-b"
        assert a.meta("install_id", "from-a") == "from-b"
    finally:
        a.close()
        b.close()


# -- concurrency ---------------------------------------------------------------------------------
def test_events_appended_from_many_threads_are_each_processed_exactly_once(
    database_url: str,
) -> None:
    writers, per_writer, chunk = 8, 60, 4
    producer, consumer = open_store(database_url), open_store(database_url)
    finished = threading.Event()
    processed: list[str] = []

    def produce(writer: int) -> int:
        new = 0
        for start in range(0, per_writer, chunk):
            batch = [event(f"w{writer}-{i}", f"u{writer}") for i in range(start, start + chunk)]
            new += producer.append_events(batch + batch[:1])  # a retry inside the call
        return new

    def consume() -> None:
        while True:
            last_round = finished.is_set()  # read before the queue: no append can slip past
            rows = consumer.read_events(0, 25)
            if rows:
                processed.extend(e.message_id for _s, e in rows)
                consumer.commit_batch(
                    ProcessedBatch(
                        last_seq=max(s for s, _e in rows),
                        assignments=[(s, "p1") for s, _e in rows],
                    ),
                    CURSOR,
                )
            elif last_round:
                return

    try:
        with ThreadPoolExecutor(writers + 1) as pool:
            reading = pool.submit(consume)
            appended = [pool.submit(produce, w) for w in range(writers)]
            assert sum(f.result(timeout=120) for f in appended) == writers * per_writer
            finished.set()
            reading.result(timeout=120)
    finally:
        finished.set()
        producer.close()
        consumer.close()
    expected = {f"w{w}-{i}" for w in range(writers) for i in range(per_writer)}
    assert len(processed) == len(expected)
    assert set(processed) == expected
    check = open_store(database_url)
    try:
        assert check.count_events() == len(expected)
        assert len(check.events_of("p1")) == len(expected)
    finally:
        check.close()


@only_postgres
def test_an_event_committed_after_a_later_one_was_processed_is_still_read(
    store: Store, database_url: str
) -> None:
    early, late = event("early"), event("late")
    with psycopg.connect(database_url) as slow:  # a writer whose transaction is still open
        slow.execute(
            "INSERT INTO events (message_id, type, channel, ts, received_at, body) "
            "VALUES (%s, %s, %s, %s, %s, %s)",
            (
                early.message_id,
                early.type,
                early.channel,
                format_time(early.timestamp),
                format_time(early.received_at),
                dumps(early.to_record()),
            ),
        )
        store.append_events([late])
        [(late_seq, read)] = store.read_events(0, 10)
        assert read == late
        file_under(store, "p1", "u1", [(late_seq, read)])
        slow.commit()
    [(early_seq, read)] = store.read_events(0, 10)
    assert read == early
    assert early_seq < late_seq == store.cursor(CURSOR)  # behind the cursor, still read


@only_postgres
def test_reads_and_writes_leave_no_transaction_open(store: Store, database_url: str) -> None:
    rows = append_and_read(store, event("m1"))
    file_under(store, "p1", "u1", rows)
    store.get_profile("p1")
    store.timeline("p1", 10, None)
    store.meta("install_id", "x")
    store.current_profile_id("p1")
    open_transactions = scalar(
        database_url,
        "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() "
        "AND state LIKE 'idle in transaction%' AND pid <> pg_backend_pid()",
    )
    assert open_transactions == 0


@only_postgres
def test_stores_opening_a_new_database_at_once_migrate_it_exactly_once(
    database_url: str,
) -> None:
    name = f"{database_url.rpartition('/')[2]}_race"
    fresh = f"{database_url.rpartition('/')[0]}/{name}"
    with psycopg.connect(database_url, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"'.encode())
        admin.execute(f'CREATE DATABASE "{name}"'.encode())
    try:
        starting = threading.Barrier(6)

        def start() -> Store:
            starting.wait(10)
            return open_store(fresh)

        with ThreadPoolExecutor(6) as pool:
            stores = [f.result(timeout=60) for f in [pool.submit(start) for _ in range(6)]]
        for opened in stores:
            opened.close()
        applied = scalar(fresh, "SELECT COUNT(*) FROM schema_migrations")
        assert applied == len(migration_files("postgres"))
    finally:
        with psycopg.connect(database_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'.encode())


def test_values_with_placeholder_characters_are_stored_literally(store: Store) -> None:
    odd = "50% off? yes%s ?"
    rows = append_and_read(store, event(odd, odd))
    file_under(store, odd, odd, rows)
    assert store.profile_id_for_key(key(odd)) == odd
    assert [e.user_id for _s, e in store.events_of(odd)] == [odd]
    store.add_key(KeyRecord(odd, "write", odd, AT, None), odd)
    assert store.find_key(odd) == KeyRecord(odd, "write", odd, AT, None)
    assert store.meta(odd, odd) == odd


@only_postgres
def test_the_postgres_rewrite_keeps_percent_signs_literal(database_url: str) -> None:
    store = PostgresStore(database_url, max_size=1)
    try:
        assert store._q("SELECT '100%' WHERE ? = ?") == "SELECT '100%%' WHERE %s = %s"
        store.meta("rate", "100%")
        with store._read() as cur:
            cur.execute(
                store._q("SELECT value FROM meta WHERE value LIKE '%\\%' AND name = ?"), ("rate",)
            )
            assert cur.fetchone() == ("100%",)
    finally:
        store.close()


@only_postgres
def test_a_state_only_batch_needs_no_second_pooled_connection(database_url: str) -> None:
    store = PostgresStore(database_url, max_size=1, timeout=5)
    try:
        rows = append_and_read(store, event("m1"))
        file_under(store, "p1", "u1", rows)
        newer = ProfileState(event_count=7)
        store.commit_batch(ProcessedBatch(last_seq=rows[0][0], states={"p1": newer}), CURSOR)
        assert store.load_states(["p1"]) == {"p1": newer}
    finally:
        store.close()


def test_a_sqlite_migration_script_may_hold_semicolons_in_comments_and_strings(
    tmp_path: Path,
) -> None:
    store = SqliteStore(tmp_path / "script.db")
    try:
        store._run_script(
            "-- a comment; with a semicolon\n"
            "CREATE TABLE notes (body TEXT NOT NULL DEFAULT 'a; b');\n"
            "INSERT INTO notes DEFAULT VALUES; INSERT INTO notes VALUES ('c;');\n"
            "-- trailing comment; done\n"
        )
        with store._read() as cur:
            cur.execute("SELECT body FROM notes ORDER BY rowid")
            assert cur.fetchall() == [("a; b",), ("c;",)]
    finally:
        store.close()
