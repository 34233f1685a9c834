"""A small world of card-problem and mortgage journeys whose truth is known exactly.

Each customer lives one scenario: a fixed sequence of steps with fixed waits, some with
friction planted (channel hopping, repeat calls, dead ends, long waits), most answering
an ``nps`` and a ``ces`` survey at the end. Every event carries the customer's
``userId``, so identity is exact and the journeys found in the store can be checked
step by step against :attr:`JourneyWorld.journeys`.

>>> world = journey_world(customers=12, seed=1)
>>> len(world.calls) > 12 and set(world.scenario) <= set(SCENARIOS)
True
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from onevoice.domain.journeys import DEFAULT_END_EVENTS

#: A step: (minutes after the previous step, channel, type, event, properties).
Step = tuple[float, str, str, str, dict[str, Any]]
_CARD = {"reason": "card problem"}
_RESOLVED = ("Case Resolved", {"reason": "card problem"})

#: Each scenario: its steps (a wait of a day or more starts a new journey) and the
#: friction planted in each of its journeys, and its survey answers (NPS, CES).
SCENARIOS: dict[str, dict[str, Any]] = {
    "self_serve": {
        "steps": [(0, "app", "screen", "Card Settings", {}),
                  (3, "app", "screen", "Freeze Card", {}),
                  (2, "app", "track", *_RESOLVED)],
        "flags": [set()], "survey": (9, 2),
    },
    "called": {
        "steps": [(0, "web", "page", "Card Not Working", {"path": "/help/card-not-working"}),
                  (20, "call_centre", "track", "Call Received", _CARD),
                  (15, "call_centre", "track", *_RESOLVED)],
        "flags": [set()], "survey": (8, 3),
    },
    "hopper": {
        "steps": [(0, "app", "screen", "Help", {}),
                  (90, "call_centre", "track", "Call Received", _CARD),
                  (180, "branch", "track", "Branch Visit", _CARD)],
        "flags": [{"channel_hopping", "dead_end", "repeat_contact"}], "survey": (2, 6),
    },
    "repeat_caller": {
        "steps": [(0, "call_centre", "track", "Call Received", _CARD),
                  (2 * 1440, "call_centre", "track", "Call Received", _CARD),
                  (10, "call_centre", "track", *_RESOLVED)],
        "flags": [{"dead_end"}, {"repeat_contact"}], "survey": (5, 6),
    },
    "long_wait": {
        "steps": [(0, "web", "page", "Card Not Working", {"path": "/help/card-not-working"}),
                  (600, "call_centre", "track", "Call Received", _CARD),
                  (12, "call_centre", "track", *_RESOLVED)],
        "flags": [{"long_wait"}], "survey": (6, 5),
    },
    "mortgage": {
        "steps": [(0, "web", "page", "Mortgages", {"path": "/mortgages"}),
                  (4, "web", "page", "Mortgage Rates", {"path": "/mortgages/rates"}),
                  (300, "branch", "track", "Branch Visit",
                   {"reason": "mortgage appointment"}),
                  (45, "branch", "track", "Order Completed", {"revenue": 2400.0})],
        "flags": [set()], "survey": (10, 2),
    },
}  # fmt: skip
WEIGHTS = {"self_serve": 0.3, "called": 0.2, "hopper": 0.15, "repeat_caller": 0.1,
           "long_wait": 0.1, "mortgage": 0.15}  # fmt: skip
NEW_JOURNEY = timedelta(hours=24)


@dataclass(frozen=True, slots=True)
class JourneyWorld:
    """The calls to send, and the truth: per customer its scenario, per journey its steps
    (``channel:label``) and the friction planted in it."""

    calls: list[dict[str, Any]]
    scenario: list[str]
    journeys: list[tuple[str, list[str], set[str]]]  # (userId, steps, flags)
    surveys: list[tuple[str, float]]  # (nps|ces, score)


def label(channel: str, event: str, props: dict[str, Any]) -> str:
    reason = props.get("reason")
    return f"{channel}:{event} ({reason})" if reason else f"{channel}:{event}"


def journey_world(
    customers: int = 200,
    *,
    seed: int = 0,
    start: datetime = datetime(2026, 3, 2, 8, 0, tzinfo=UTC),
    surveyed: float = 0.8,
) -> JourneyWorld:
    """``customers`` customers, each in one scenario drawn by :data:`WEIGHTS`."""
    rng = np.random.default_rng(seed)
    names = list(WEIGHTS)
    picks = rng.choice(len(names), size=customers, p=[WEIGHTS[n] for n in names])
    answers = rng.random(customers) < surveyed
    calls: list[dict[str, Any]] = []
    journeys: list[tuple[str, list[str], set[str]]] = []
    surveys: list[tuple[str, float]] = []
    for i, pick in enumerate(picks.tolist()):
        name = names[pick]
        spec = SCENARIOS[name]
        user = f"jw-{seed}-{i:05d}"
        at = start + timedelta(minutes=int(rng.integers(0, 14 * 1440)))
        flags = iter(spec["flags"])
        current: list[str] = []
        for n, (wait, channel, kind, event, props) in enumerate(spec["steps"]):
            at += timedelta(minutes=wait)
            if current and timedelta(minutes=wait) > NEW_JOURNEY:
                journeys.append((user, current, next(flags)))
                current = []
            current.append(label(channel, event, props))
            calls.append(_call(user, f"{user}-{n}", at, channel, kind, event, props))
        if answers[i]:
            score_nps, score_ces = spec["survey"]
            channel = calls[-1]["context"]["channel"]
            if calls[-1].get("event") in DEFAULT_END_EVENTS:  # a goal ends its journey
                journeys.append((user, current, next(flags)))
                current, flags = [], iter([set()])
            for k, (survey, score) in enumerate((("nps", score_nps), ("ces", score_ces))):
                at += timedelta(minutes=1)
                calls.append(_call(user, f"{user}-s{k}", at, channel, "track", survey,
                                   {"score": score}))  # fmt: skip
                current.append(label(channel, survey, {}))
                surveys.append((survey, float(score)))
        journeys.append((user, current, next(flags)))
    return JourneyWorld(calls, [names[p] for p in picks.tolist()], journeys, surveys)


def _call(
    user: str, message_id: str, at: datetime, channel: str, kind: str, event: str,
    props: dict[str, Any],
) -> dict[str, Any]:  # fmt: skip
    call: dict[str, Any] = {
        "type": kind,
        "messageId": message_id,
        "userId": user,
        "timestamp": at.isoformat().replace("+00:00", "Z"),
        "context": {"channel": channel},
    }
    call["event" if kind == "track" else "name"] = event
    if props:
        call["properties"] = dict(props)
    return call
