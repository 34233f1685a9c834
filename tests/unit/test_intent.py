"""The pure intent core: definitions, signals, the decaying state, hand rules and scores."""

from __future__ import annotations

import doctest
import importlib
import math
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import yaml

from onevoice.domain.errors import InvalidInput
from onevoice.domain.events import Event
from onevoice.domain.identifiers import Identifier
from onevoice.domain.intent import (
    IntentModel,
    IntentState,
    LinearModel,
    decayed,
    features,
    fold,
    merge,
    observe,
    parse_definitions,
)
from onevoice.domain.intent.scoring import model_features
from onevoice.domain.intent.signals import signals
from onevoice.intent_cli import harbour_bank_intents

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _doc(**changes: Any) -> dict[str, Any]:
    intent: dict[str, Any] = {
        "name": "mortgage",
        "half_life_hours": 24,
        "outcomes": [{"event": "Order Completed", "properties": {"product": "mortgage"}}],
        "hints": {"path:/mortgages": 1.0},
    }
    intent.update(changes)
    complaint = {
        "name": "complaining",
        "half_life_hours": 24,
        "outcomes": [{"event": "Case Resolved"}],
        "hints": {"reason:complaint": 1.5, "sentiment:negative": 1.0},
    }
    return {"intents": [intent, complaint]}


def event(minutes: float, kind: str = "page", name: str = "Mortgages", **props: Any) -> Event:
    return Event(
        message_id=f"m{minutes}-{name}",
        type=kind,
        channel=props.pop("channel", "web"),
        timestamp=T0 + timedelta(minutes=minutes),
        received_at=T0 + timedelta(minutes=minutes),
        identifiers=(Identifier("userId", "u1"),),
        name=name,
        properties=props,
    )


def test_harbour_banks_definitions_parse() -> None:
    parsed = parse_definitions(harbour_bank_intents())
    assert parsed.names() == ("mortgage", "credit_card", "savings", "card_problem", "leaving")
    assert parsed.intents[0].confirmed_by("Order Completed", {"product": "Mortgage"})
    assert not parsed.intents[0].confirmed_by("Order Completed", {"product": "savings"})
    assert "email delivered" in parsed.ignore_events


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"name": "Mortgage!"}, "intents[0].name"),
        ({"half_life_hours": 0}, "intents[0].half_life_hours"),
        ({"outcomes": []}, "intents[0].outcomes"),
        ({"outcomes": [{"properties": {}}]}, "intents[0].outcomes[0].event"),
        ({"hints": {"page:x": "high"}}, "intents[0].hints"),
        ({"name": "complaining"}, "intents[1].name"),
    ],
)
def test_a_bad_definition_names_its_field(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidInput) as error:
        parse_definitions(_doc(**changes))
    assert error.value.field == field


def test_definitions_survive_their_stored_form() -> None:
    parsed = parse_definitions(yaml.safe_load(yaml.safe_dump(harbour_bank_intents())))
    assert parse_definitions(parsed.to_record()) == parsed


def test_signals_name_the_page_its_section_and_topic_properties() -> None:
    tokens = signals("track", "Call Received", "call_centre", {"reason": "Complaint"})
    assert tokens == ("channel:call_centre", "event:call received", "reason:complaint")
    assert "path:/mortgages" in signals("page", "Rates", "web", {}, "/mortgages/rates?x=1")


def test_counts_halve_every_half_life() -> None:
    state = IntentState((2.0, 48.0))
    observe(state, ("page:a",), "web", 100.0)
    assert state.count("page:a", 100.0) == pytest.approx(1.0)
    assert state.count("page:a", 102.0) == pytest.approx(0.5)
    assert state.count("page:a", 148.0, long=True) == pytest.approx(0.5)
    assert state.count("page:a", 196.0, long=True) == pytest.approx(0.25)


def test_out_of_order_events_count_as_if_they_came_in_order() -> None:
    times = [10.0, 3.0, 7.5, 1.0]
    shuffled, ordered = IntentState(), IntentState()
    for at in times:
        observe(shuffled, ("page:a",), "web", at)
    for at in sorted(times):
        observe(ordered, ("page:a",), "web", at)
    assert shuffled.count("page:a", 12.0, long=True) == pytest.approx(
        ordered.count("page:a", 12.0, long=True)
    )


def test_a_long_history_is_rebased_and_stays_small() -> None:
    state = IntentState((2.0, 96.0))
    for n in range(2000):
        observe(state, (f"page:{n}", "page:home"), "web", n * 5.0)
    assert len(state.long) <= 200
    # each visit adds one: the steady state is 1 / (1 - 2**(-5/96))
    assert state.count("page:home", 9995.0, long=True) == pytest.approx(
        1 / (1 - 2 ** (-5 / 96)), rel=1e-6
    )


def test_merged_states_add_up_and_keep_the_later_session() -> None:
    a, b = IntentState(), IntentState()
    observe(a, ("page:a",), "web", 10.0)
    observe(b, ("page:a",), "app", 20.0)
    merged = merge(IntentState.from_record(a.to_record()), IntentState.from_record(b.to_record()))
    expected = a.count("page:a", 30.0, long=True) + b.count("page:a", 30.0, long=True)
    assert merged.count("page:a", 30.0, long=True) == pytest.approx(expected)
    assert merged.last_channel == "app" and merged.last_at == 20.0


def test_session_depth_and_channel_switches_are_features() -> None:
    state = IntentState()
    for n, channel in enumerate(("web", "web", "app")):
        observe(state, (f"channel:{channel}",), channel, 1.0 + n * 0.1)
    x = features(state, 1.2)
    assert x["depth"] == pytest.approx(math.log1p(3))
    assert x["l|meta:switch"] > 0


def test_cold_start_scores_with_the_hand_rules_and_says_why() -> None:
    model = IntentModel(parse_definitions(_doc()))
    state = IntentState()
    fold(state, [event(0, "page", "Mortgage Rates", path="/mortgages/rates")])
    scores = model.score(state, state.last_at or 0.0)
    assert scores[0].name == "mortgage" and scores[0].score == pytest.approx(0.5)
    assert scores[0].reasons == ("path:/mortgages ×1.0 lately",)
    assert scores[1].score == 0.0


def test_a_changed_intention_is_picked_up_within_a_few_events() -> None:
    """Browsing mortgages for a week, then complaining: the top intent flips quickly."""
    model = IntentModel(parse_definitions(_doc()))
    state = IntentState()
    browsing = [event(n * 600, "page", "Mortgages", path="/mortgages") for n in range(6)]
    fold(state, browsing)
    assert model.score(state, state.last_at or 0.0)[0].name == "mortgage"
    complaining = [
        event(3700, "track", "Call Received", reason="complaint", channel="call_centre"),
        event(3720, "track", "Social Post", sentiment="negative", channel="social"),
        event(3760, "track", "Call Received", reason="complaint", channel="call_centre"),
    ]
    n = 0
    for n, e in enumerate(complaining, start=1):  # noqa: B007 (n is read after the loop)
        fold(state, [e])
        if model.score(state, state.last_at or 0.0)[0].name == "complaining":
            break
    assert n <= 3, "the complaint should lead within three events"


def test_a_trained_model_scores_from_its_weights_and_explains_with_them() -> None:
    definitions = parse_definitions(_doc())
    model = IntentModel(
        definitions,
        {
            "mortgage": LinearModel(-3.0, {"s|path:/mortgages": 4.0, "gap": 0.1}),
            "complaining": LinearModel(-4.0, {"l|reason:complaint": 5.0}),
        },
        version=7,
    )
    state = IntentState()
    fold(state, [event(0, "page", "Mortgages", path="/mortgages")])
    top = model.score(state, state.last_at or 0.0)[0]
    assert top.name == "mortgage" and top.score > 0.5
    assert top.reasons[0] == "path:/mortgages ×1.0 just now"
    assert model.kind == "trained"


def test_scores_fade_with_the_intents_half_life() -> None:
    assert decayed(0.8, 0.0, 24.0) == 0.8
    assert decayed(0.8, 24.0, 24.0) == pytest.approx(0.4)
    assert decayed(0.8, 72.0, 24.0) == pytest.approx(0.1)


def test_events_the_brand_causes_are_not_the_customers_intent() -> None:
    definitions = parse_definitions({**_doc(), "ignore_events": ["Email Delivered"]})
    state = IntentState()
    latest = fold(
        state, [event(0, "track", "Email Delivered", campaign="x")], definitions.ignore_events
    )
    assert latest is not None and state.t0 is None


@pytest.mark.parametrize(
    "module",
    [
        "onevoice.domain.intent.definitions",
        "onevoice.domain.intent.signals",
        "onevoice.domain.intent.state",
        "onevoice.domain.intent.scoring",
    ],
)
def test_the_docstring_examples_run(module: str) -> None:
    assert doctest.testmod(importlib.import_module(module)).failed == 0


def test_the_state_remembers_when_each_signal_was_last_seen() -> None:
    a, b = IntentState(), IntentState()
    for at in (5.0, 2.0):  # out of order: the later one is kept
        observe(a, ("page:a",), "web", at)
    observe(b, ("page:a", "page:b"), "app", 9.0)
    assert a.seen == {"page:a": 5.0}
    merged = merge(IntentState.from_record(a.to_record()), IntentState.from_record(b.to_record()))
    assert merged.seen == {"page:a": 9.0, "page:b": 9.0}
    old = IntentState((2.0, 96.0))
    observe(old, ("page:old",), "web", 0.0)
    for n in range(1, 200):
        observe(old, ("page:home",), "web", n * 24.0)
    assert "page:old" not in old.long and "page:old" not in old.seen  # forgotten together


def test_models_read_how_fresh_the_trail_is_and_whether_the_intent_was_fulfilled() -> None:
    definitions = parse_definitions(_doc())
    state = IntentState()
    fold(
        state,
        [event(0, "page", "Mortgages", path="/mortgages")],
        outcomes=definitions.intents,
    )
    t = state.last_at or 0.0
    x = model_features(definitions, state, t + 12.0)
    assert x["recent|mortgage"] == pytest.approx(2 ** (-12 / 24))
    assert x["recent_week|mortgage"] == pytest.approx(2 ** (-12 / 168))
    assert "done|mortgage" not in x and "recent|complaining" not in x
    other = event(60, "track", "Order Completed", product="savings")
    fold(state, [other], outcomes=definitions.intents)
    assert "done|mortgage" not in model_features(definitions, state, t + 12.0)
    bought = event(120, "track", "Order Completed", product="Mortgage")
    fold(state, [bought], outcomes=definitions.intents)
    x = model_features(definitions, state, t + 2.0 + 24.0)
    assert x["done|mortgage"] == pytest.approx(0.5)
    assert x["l|outcome:mortgage"] > 0


def test_a_model_explains_with_the_freshness_of_the_hinted_signals() -> None:
    definitions = parse_definitions(_doc())
    model = IntentModel(definitions, {"mortgage": LinearModel(-1.0, {"recent|mortgage": 3.0})})
    state = IntentState()
    fold(state, [event(0, "page", "Mortgages", path="/mortgages")])
    top = model.score(state, 6.0 + (state.last_at or 0.0))[0]
    assert top.reasons == ("mortgage signals 6h ago",)


def test_without_the_intents_own_signals_a_person_scores_below_the_floor() -> None:
    definitions = parse_definitions(_doc())
    linear = LinearModel(2.0, {"l|path:/accounts": 1.0, "rule|mortgage": 0.1}, floor=0.2)
    assert LinearModel.from_record(linear.to_record()) == linear
    model = IntentModel(definitions, {"mortgage": linear})
    banker, reader = IntentState(), IntentState()
    fold(banker, [event(0, "page", "Accounts", path="/accounts")])
    fold(reader, [event(0, "page", "Mortgages", path="/mortgages")])
    banker_score = model.score(banker, banker.last_at or 0.0)[0].score
    reader_score = model.score(reader, reader.last_at or 0.0)[0].score
    assert banker_score < 0.2 < reader_score
    assert banker_score == pytest.approx(0.2 / (1 + math.exp(-(2.0 + math.log1p(1.0)))))
