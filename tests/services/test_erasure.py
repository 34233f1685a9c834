"""Erasure's learned state: a model without per-person counts is retrained from the log."""

from __future__ import annotations

import numpy as np

from onevoice.bootstrap import Onevoice
from onevoice.domain.learning.logistic import BayesianLogistic

CATALOG = {
    "actions": [
        {
            "id": "help",
            "purpose": "service",
            "value": 100,
            "treatments": {"web": {"title": "Need help?", "body": "Here"}},
        }
    ]
}


def _decide_and_respond(ov: Onevoice, user: str, outcome: str) -> dict[str, float]:
    ov.collector.collect([{"type": "identify", "userId": user}])
    decided = ov.decisions.decide(f"userId:{user}", "web")
    assert [a.action_id for a in decided.decision.actions] == ["help"]
    assert ov.decisions.respond(decided.decision.decision_id, "help", outcome).learned
    record = ov.store.get_decision(decided.decision.decision_id)
    assert record is not None
    features: dict[str, float] = record.body["features"]
    return features


def test_erasing_retrains_a_logistic_model_as_if_the_person_was_never_there(
    ov: Onevoice,
) -> None:
    ov.actions.load(CATALOG)
    kept = _decide_and_respond(ov, "stays", "accept")
    _decide_and_respond(ov, "goes", "dismiss")
    assert ov.decisions.learner.version.endswith("@2")

    report = ov.erasure.erase("userId:goes", "test")
    learned = report["learned_state"]
    assert (learned["rewards"], learned["exact"], learned["retrained"]) == (1, False, True)
    assert "1 rewards replayed" in learned["note"]

    alone = BayesianLogistic(prior_rate=ov.settings.learner_prior_rate)
    alone.learn_one("help", kept, 1.0)
    state, expected = ov.decisions.learner.to_state(), alone.to_state()
    assert state["updates"] == 1
    assert np.allclose(state["actions"]["help"]["mean"], expected["actions"]["help"]["mean"])
    # and the retrained model is what the store holds, so a restart keeps it
    assert ov.store.load_learner("default") == state
