"""The decision log's record: what a decision stores, and how its readers read it back.

Every decision is logged with all its candidates. Written one object per candidate, a
record of a 200-action catalog was ~33 KB of JSON (a sentence and four full-precision
numbers per scored action, a three-key object per exclusion), and building and writing
it was a third of a decide. The record is therefore kept in the shape arbitration works
in (format 2):

- ``excluded``: the exclusions grouped by what excluded them — ``{"excluded_by",
  "reasons", "action_ids"}``, in order of first appearance — since most recur word for word
  across a catalog (one rule shared by many actions, a purpose refused as a whole);
- ``scored``: the eligible actions as columns (``action_id``, ``purpose``,
  ``probability``, ``expected_value``, ``score``, ``chosen_probability``, and the terms of
  the expected value: ``value``, ``weight``, ``contact_cost``, ``optout_risk``,
  ``fatigue_risk``), from which each one's story is told again on reading;
- ``withheld``: the actions a random control held back;
- ``candidates``: any other candidate in full (the action an open conversation carried).

:func:`logged_candidates` gives every reader the one-object-per-candidate view, from this
format and from records written before it (``candidates`` only).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from onevoice.domain.candidates import Candidate, Scores, expected_value_story
from onevoice.domain.decide import Decision
from onevoice.domain.events import format_time
from onevoice.domain.learning.base import Features
from onevoice.services.ports import DecisionRecord

#: The version of the record's layout (absent: one object per candidate).
LOG_FORMAT = 2


def decision_record(
    decision: Decision, subject: str, context: Mapping[str, Any], k: int, features: Features
) -> DecisionRecord:
    """The log record of ``decision`` for ``subject``."""
    chosen = tuple((a.action_id, decision.purpose_of(a.action_id)) for a in decision.actions)
    conversation = decision.honoured or (decision.decision_id if chosen else None)
    scores = decision.scores
    body: dict[str, Any] = {
        "log_format": LOG_FORMAT,
        "at": format_time(decision.at),
        "context": dict(context),
        "k": k,
        "features": dict(features),
        "actions": [
            {"action_id": a.action_id, "score": a.score, "reasons": list(a.reasons)}
            for a in decision.actions
        ],
        "reasons": list(decision.reasons),
        "excluded": [
            {"excluded_by": g.excluded_by, "reasons": g.reasons, "action_ids": g.action_ids}
            for g in decision.excluded
        ]
        + _grouped(decision.unscored),
        "scored": None if scores is None else _columns(scores),
        "withheld": []
        if scores is None
        else [scores.action_ids[n] for n in sorted(scores.withheld)],
        "holdout": decision.holdout,
        "control": decision.control,
        "explored": decision.explored,
        "propensity": decision.propensity,
        "model_version": decision.model_version,
        "errors": [{"action_id": e.action_id, "message": e.message} for e in decision.errors],
        "honoured": decision.honoured,
        "component": decision.component,
    }
    others = [_in_full(c) for c in decision.unscored if c.excluded_by is None]
    if others:
        body["candidates"] = others
    return DecisionRecord(
        decision.decision_id, subject, decision.channel, decision.at, chosen, conversation, body
    )


def logged_candidates(body: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every candidate of a logged decision, one object each — ``action_id``, ``reasons``,
    and ``excluded_by`` for an exclusion; ``purpose``, ``probability``,
    ``expected_value``, ``score``, ``chosen_probability`` and ``control`` for a scored one —
    whichever format the record was written in."""
    found: list[dict[str, Any]] = [
        {"action_id": action_id, "excluded_by": group["excluded_by"], "reasons": group["reasons"]}
        for group in body.get("excluded") or ()
        for action_id in group["action_ids"]
    ]
    found.extend(body.get("candidates") or ())
    scored = body.get("scored")
    if scored:
        found.extend(_scored_in_full(scored, set(body.get("withheld") or ())))
    return found


def candidate_view(c: Candidate) -> dict[str, Any]:
    """One candidate as :func:`logged_candidates` gives it back (an exclusion or a scored
    action; a carried conversation's candidate is read back as it was written)."""
    if c.excluded_by is not None:
        return {"action_id": c.action_id, "excluded_by": c.excluded_by, "reasons": list(c.reasons)}
    return {
        "action_id": c.action_id,
        "purpose": c.purpose,
        "reasons": list(c.reasons),
        "probability": c.probability,
        "expected_value": c.expected_value,
        "score": c.score,
        "chosen_probability": c.chosen_probability,
        "control": c.control,
    }


def _grouped(unscored: Sequence[Candidate]) -> list[dict[str, Any]]:
    """The exclusions grouped by (rule, reasons), in order of first appearance. Keyed by
    the reasons alone (a rule's reason names it: one key to hash, not a pair to build)
    unless the same reasons come with another rule."""
    groups: dict[object, tuple[str, tuple[str, ...], list[str]]] = {}
    for c in unscored:
        rule = c.excluded_by
        if rule is None:
            continue
        group = groups.get(c.reasons)
        if group is None:
            groups[c.reasons] = (rule, c.reasons, [c.action_id])
        elif group[0] == rule:
            group[2].append(c.action_id)
        else:
            groups.setdefault((rule, c.reasons), (rule, c.reasons, []))[2].append(c.action_id)
    return [
        {"excluded_by": rule, "reasons": reasons, "action_ids": ids}
        for rule, reasons, ids in groups.values()
    ]


def _columns(scores: Scores) -> dict[str, Any]:
    return {
        "action_id": scores.action_ids,
        "purpose": scores.purposes,
        "probability": scores.probability,
        "expected_value": scores.expected_value,
        "score": scores.score,
        "chosen_probability": scores.chosen_probability,
        "value": scores.value,
        "weight": scores.weight,
        "contact_cost": scores.contact_cost,
        "optout_risk": scores.optout_risk,
        "fatigue_risk": scores.fatigue_risk,
    }


def _in_full(c: Candidate) -> dict[str, Any]:
    """A candidate that fits neither a group nor the columns (an honoured conversation's)."""
    return {
        "action_id": c.action_id,
        "purpose": c.purpose,
        "excluded_by": c.excluded_by,
        "reasons": list(c.reasons),
    }


def _scored_in_full(scored: Mapping[str, Any], withheld: set[str]) -> list[dict[str, Any]]:
    fatigue = scored["fatigue_risk"]
    rows = zip(
        scored["action_id"],
        scored["purpose"],
        scored["probability"],
        scored["expected_value"],
        scored["score"],
        scored["chosen_probability"],
        scored["value"],
        scored["weight"],
        scored["contact_cost"],
        scored["optout_risk"],
        strict=True,
    )
    return [
        {
            "action_id": action_id,
            "purpose": purpose,
            "reasons": [expected_value_story(p, ev, value, weight, cost, fatigue, optout)],
            "probability": p,
            "expected_value": ev,
            "score": score,
            "chosen_probability": chosen,
            "control": action_id in withheld,
        }
        for action_id, purpose, p, ev, score, chosen, value, weight, cost, optout in rows
    ]
