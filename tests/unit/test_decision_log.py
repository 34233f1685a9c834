"""The decision log's record: compact on the way in, one object per candidate on the way out."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson

from onevoice.domain.candidates import Candidate, Scores
from onevoice.domain.decide import Decision
from onevoice.services.decision_log import candidate_view, decision_record, logged_candidates


def _decision(unscored: tuple[Candidate, ...], scores: Scores | None) -> Decision:
    return Decision(
        decision_id="d-1",
        channel="web",
        at=datetime(2026, 12, 7, 12, 0, tzinfo=UTC),
        actions=(),
        reasons=("nothing is worth the customer's attention",),
        unscored=unscored,
        holdout=False,
        control=False,
        explored=False,
        propensity=0.5,
        model_version="test@0",
        scores=scores,
    )


def _read_back(decision: Decision) -> list[dict[str, object]]:
    body = decision_record(decision, "subject", {}, 1, {}).body
    stored: dict[str, object] = orjson.loads(orjson.dumps(body))  # as the store keeps it
    return logged_candidates(stored)


def test_every_candidate_reads_back_as_arbitration_saw_it() -> None:
    same = ("does not match profile.orders > 5",)
    unscored = (
        Candidate("a", "marketing", "eligibility", same),
        Candidate("b", "marketing", "consent", ("no marketing consent on web",)),
        Candidate("c", "marketing", "eligibility", same),
        # the same words from another rule stay apart from the first group
        Candidate("d", "service", "quiet_hours", same),
        Candidate("e", "service", "eligibility", same),
    )
    scores = Scores(
        action_ids=["f", "g"],
        purposes=["marketing", "service"],
        probability=[0.1234567, 0.5],
        expected_value=[3.5, -0.25],
        score=[4.0, -0.1],
        chosen_probability=[0.75, 0.25],
        value=[40.0, 1.0],
        weight=[1.0, 0.5],
        contact_cost=[0.2, 0.0],
        optout_risk=[0.3, 0.0],
        fatigue_risk=0.05,
        withheld=frozenset({0}),
    )
    logged = _read_back(_decision(unscored, scores))
    order = (unscored[0], unscored[2], unscored[4], unscored[1], unscored[3])
    expected = [candidate_view(c) for c in (*order, *scores.candidates())]
    assert logged == expected
    assert logged[5]["control"] is True and logged[6]["control"] is False
    assert logged[5]["reasons"] == [
        "expected value 3.50 = 12.3% × value 40 × weight 1 − contact cost 0.20"
        " − fatigue risk 0.05 − opt-out risk 0.30"
    ]


def test_identical_exclusions_are_stored_once() -> None:
    unscored = tuple(
        Candidate(f"a{n}", "marketing", "channel", ("no web treatment",)) for n in range(50)
    )
    body = decision_record(_decision(unscored, None), "subject", {}, 1, {}).body
    assert body["excluded"] == [
        {
            "excluded_by": "channel",
            "reasons": ("no web treatment",),
            "action_ids": [f"a{n}" for n in range(50)],
        }
    ]
    assert body["scored"] is None and body["withheld"] == [] and "candidates" not in body


def test_a_carried_conversation_is_logged_in_full() -> None:
    carried = Candidate("a", "marketing", None, ("shown on web yesterday",))
    logged = _read_back(_decision((carried,), None))
    assert logged == [
        {
            "action_id": "a",
            "purpose": "marketing",
            "excluded_by": None,
            "reasons": ["shown on web yesterday"],
        }
    ]
