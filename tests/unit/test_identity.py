"""The identity graph's merge rules, on the pure in-memory graph."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from onevoice.domain.identifiers import Identifier, priority
from onevoice.domain.identity import (
    ALIAS,
    IdentityGraph,
    IdentityRules,
    Merge,
    goes_back,
)


def graph(**rules: int) -> IdentityGraph:
    counter = itertools.count(1)
    return IdentityGraph(IdentityRules(**rules), new_profile_id=lambda: f"p{next(counter):04d}")


def ids(*texts: str) -> list[Identifier]:
    found = [Identifier(*t.split(":", 1)) for t in texts]
    return sorted(found, key=lambda i: (priority(i), i.type, i.value))


def test_an_event_carrying_two_known_identifiers_merges_their_people() -> None:
    g = graph()
    a = g.resolve(ids("anonymousId:a1"), "m1").profile_id
    b = g.resolve(ids("email:ann@x.io"), "m2").profile_id
    result = g.resolve(ids("anonymousId:a1", "email:ann@x.io"), "m3", rule=ALIAS)
    assert result.profile_id == min(a, b)
    assert [(m.winner, m.loser, m.rule, m.message_id) for m in result.merges] == [
        (a, b, ALIAS, "m3")
    ]
    assert g.current(b) == a


def test_two_different_user_ids_never_merge() -> None:
    g = graph()
    first = g.resolve(ids("userId:u1", "anonymousId:family-pc"), "m1").profile_id
    second = g.resolve(ids("userId:u2", "anonymousId:family-pc"), "m2")
    assert second.profile_id != first
    assert not second.merges
    assert g.current(first) == first


def test_a_new_user_id_does_not_join_a_person_who_has_another() -> None:
    g = graph()
    first = g.resolve(ids("userId:u1", "email:shared@x.io"), "m1").profile_id
    second = g.resolve(ids("userId:u2", "email:shared@x.io"), "m2")
    assert second.created and second.profile_id != first
    assert any("differ" in r.reason for r in second.refusals)


def test_an_identifier_seen_with_too_many_people_is_shared_and_stops_merging() -> None:
    g = graph(max_people_per_identifier=3)
    people = [
        g.resolve(ids(f"userId:u{n}", "device_id:kiosk"), f"m{n}").profile_id for n in range(5)
    ]
    assert len(set(people)) == 5
    assert g.nodes["device_id:kiosk"].shared
    # an anonymous visitor on the kiosk who then logs in is not glued to anybody
    g.resolve(ids("anonymousId:v1"), "m10")
    joined = g.resolve(ids("anonymousId:v1", "device_id:kiosk"), "m11")
    assert not joined.merges


def test_a_person_holds_at_most_the_identifier_cap() -> None:
    g = graph(max_identifiers_per_profile=3)
    pid = g.resolve(ids("userId:u1"), "m0").profile_id
    for n in range(5):
        assert g.resolve(ids("userId:u1", f"anonymousId:a{n}"), f"m{n + 1}").profile_id == pid
    assert g.people[pid].n_identifiers == 3


def test_every_merge_is_reported_once_with_the_event_and_the_rule() -> None:
    g = graph()
    g.resolve(ids("anonymousId:a"), "m1")
    g.resolve(ids("anonymousId:b"), "m2")
    g.resolve(ids("anonymousId:a", "anonymousId:b"), "m3")
    changes = g.take_changes()
    assert [(m.message_id, m.rule) for m in changes.merges] == [("m3", "same_event")]
    assert g.take_changes().merges == []


def test_undoing_a_merge_sends_back_what_came_through_the_undone_edge() -> None:
    undone = Merge("p1", "p2", "same_event", "m", "k")
    active = {"p2": "p1", "p3": "p2", "p4": "p1"}
    assert [goes_back(p, active, undone) for p in ("p1", "p2", "p3", "p4")] == [
        False,
        True,
        True,
        False,
    ]


identifier_pool = st.sampled_from(
    [f"userId:u{n}" for n in range(4)]
    + [f"email:e{n}@x.io" for n in range(4)]
    + [f"anonymousId:a{n}" for n in range(6)]
    + ["device_id:d0", "device_id:d1"]
)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(identifier_pool, min_size=1, max_size=3, unique=True), max_size=40))
def test_whatever_the_events_no_person_ever_holds_two_user_ids(events: list[list[str]]) -> None:
    g = graph(max_people_per_identifier=3)
    refused: set[str] = set()
    for n, texts in enumerate(events):
        refused.update(r.via for r in g.resolve(ids(*texts), f"m{n}").refusals)
    owners: dict[str, set[str]] = {}
    for node in g.nodes.values():
        owners.setdefault(g.current(node.profile_id), set()).add(node.key)
    for keys in owners.values():
        assert len([k for k in keys if k.startswith("userId:")]) <= 1
    # every identifier ever seen belongs to exactly one live person, unless it was refused
    seen = {t for texts in events for t in texts}
    assert set(g.nodes) <= seen
    assert seen - set(g.nodes) <= refused
    assert all(g.current(n.profile_id) in g.people for n in g.nodes.values())
