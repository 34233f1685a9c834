"""Intent definitions as data: what an intent is called, what confirms it, what hints at it.

A brand lists its intents in a file (Harbour Bank's is ``sim/harbour_bank_intents.yaml``);
:func:`parse_definitions` checks it and names the field of the first problem.

>>> doc = {"intents": [{"name": "mortgage", "half_life_hours": 72,
...        "outcomes": [{"event": "Order Completed", "properties": {"product": "mortgage"}}],
...        "hints": {"page:Mortgages": 1.0}}]}
>>> [d.name for d in parse_definitions(doc).intents]
['mortgage']
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from onevoice.domain.errors import InvalidInput

NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
DEFAULT_HALF_LIFE_HOURS = 72.0
DEFAULT_HORIZON_DAYS = 14.0
#: Feature half-lives: "right now" (this session) and "lately" (this week or so).
DEFAULT_FEATURE_HALF_LIVES = (2.0, 96.0)


@dataclass(frozen=True, slots=True)
class Outcome:
    """A track event that confirms an intent: its name, and properties it must carry."""

    event: str
    properties: tuple[tuple[str, str], ...] = ()

    def matches(self, event_name: str | None, properties: Mapping[str, Any]) -> bool:
        if event_name != self.event:
            return False
        return all(str(properties.get(k, "")).lower() == v for k, v in self.properties)


@dataclass(frozen=True, slots=True)
class IntentDefinition:
    """One intent: name, confirming outcomes, hand-rule hints (signal → weight), decay."""

    name: str
    label: str
    outcomes: tuple[Outcome, ...]
    hints: Mapping[str, float] = field(default_factory=dict)
    half_life_hours: float = DEFAULT_HALF_LIFE_HOURS
    horizon_days: float = DEFAULT_HORIZON_DAYS

    def confirmed_by(self, event_name: str | None, properties: Mapping[str, Any]) -> bool:
        return any(o.matches(event_name, properties) for o in self.outcomes)


@dataclass(frozen=True, slots=True)
class Definitions:
    """All of a brand's intents, and the half-lives (hours) of the features read by models."""

    intents: tuple[IntentDefinition, ...] = ()
    feature_half_lives: tuple[float, float] = DEFAULT_FEATURE_HALF_LIVES
    ignore_events: frozenset[str] = frozenset()  # lower-case names the brand itself causes

    def names(self) -> tuple[str, ...]:
        return tuple(d.name for d in self.intents)

    def observes(self, event_name: str | None) -> bool:
        """Whether an event counts: a delivery the brand sent says nothing of the customer."""
        return event_name is None or event_name.lower() not in self.ignore_events

    def to_record(self) -> dict[str, Any]:
        return {
            "feature_half_lives_hours": list(self.feature_half_lives),
            "ignore_events": sorted(self.ignore_events),
            "intents": [
                {
                    "name": d.name,
                    "label": d.label,
                    "half_life_hours": d.half_life_hours,
                    "horizon_days": d.horizon_days,
                    "outcomes": [
                        {"event": o.event, "properties": dict(o.properties)} for o in d.outcomes
                    ],
                    "hints": dict(d.hints),
                }
                for d in self.intents
            ],
        }


EMPTY = Definitions()


def parse_definitions(doc: object) -> Definitions:
    """Check a definitions document (plain data from YAML or JSON). Raises InvalidInput."""
    if not isinstance(doc, Mapping):
        raise InvalidInput("intent definitions must be an object with `intents`", field="intents")
    items = doc.get("intents")
    if not isinstance(items, list) or not items:
        raise InvalidInput("`intents` must be a non-empty list", field="intents")
    half_lives = doc.get("feature_half_lives_hours", list(DEFAULT_FEATURE_HALF_LIVES))
    if (
        not isinstance(half_lives, list)
        or len(half_lives) != 2
        or not all(_positive(h) for h in half_lives)
    ):
        raise InvalidInput(
            "feature_half_lives_hours must be two positive numbers (short, long)",
            field="feature_half_lives_hours",
        )
    intents = tuple(_intent(item, n) for n, item in enumerate(items))
    names = [d.name for d in intents]
    for n, name in enumerate(names):
        if name in names[:n]:
            raise InvalidInput(f"intent {name!r} is defined twice", field=f"intents[{n}].name")
    ignore = doc.get("ignore_events", [])
    if not isinstance(ignore, list) or not all(isinstance(e, str) for e in ignore):
        raise InvalidInput("ignore_events must list event names", field="ignore_events")
    short, long = (float(h) for h in half_lives)
    return Definitions(intents, (short, long), frozenset(e.lower() for e in ignore))


def _intent(item: object, n: int) -> IntentDefinition:
    where = f"intents[{n}]"
    if not isinstance(item, Mapping):
        raise InvalidInput("an intent must be an object", field=where)
    name = item.get("name")
    if not isinstance(name, str) or not NAME.match(name):
        raise InvalidInput(
            "name must be lower-case letters, digits and _ (a CEL identifier)",
            field=f"{where}.name",
        )
    label = item.get("label", name.replace("_", " "))
    if not isinstance(label, str):
        raise InvalidInput("label must be text", field=f"{where}.label")
    half_life = item.get("half_life_hours", DEFAULT_HALF_LIFE_HOURS)
    if not _positive(half_life):
        raise InvalidInput(
            "half_life_hours must be a positive number", field=f"{where}.half_life_hours"
        )
    horizon = item.get("horizon_days", DEFAULT_HORIZON_DAYS)
    if not _positive(horizon):
        raise InvalidInput("horizon_days must be a positive number", field=f"{where}.horizon_days")
    raw_outcomes = item.get("outcomes")
    if not isinstance(raw_outcomes, list) or not raw_outcomes:
        raise InvalidInput(
            "outcomes must list the events that confirm the intent", field=f"{where}.outcomes"
        )
    outcomes = tuple(_outcome(o, f"{where}.outcomes[{k}]") for k, o in enumerate(raw_outcomes))
    hints = item.get("hints", {})
    if not isinstance(hints, Mapping) or not all(
        isinstance(k, str) and _number(v) for k, v in hints.items()
    ):
        raise InvalidInput("hints must map signals to numbers", field=f"{where}.hints")
    return IntentDefinition(
        name,
        label,
        outcomes,
        {k.lower(): float(v) for k, v in hints.items()},
        float(half_life),
        float(horizon),
    )


def _outcome(raw: object, where: str) -> Outcome:
    if not isinstance(raw, Mapping) or not isinstance(raw.get("event"), str) or not raw["event"]:
        raise InvalidInput("an outcome needs `event`: a track event name", field=f"{where}.event")
    properties = raw.get("properties", {})
    if not isinstance(properties, Mapping):
        raise InvalidInput("properties must be an object", field=f"{where}.properties")
    pairs = tuple(sorted((str(k), str(v).lower()) for k, v in properties.items()))
    return Outcome(raw["event"], pairs)


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _positive(value: object) -> bool:
    return _number(value) and float(value) > 0  # type: ignore[arg-type]
