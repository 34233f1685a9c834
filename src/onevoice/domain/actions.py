"""The action catalog: what onevoice can say, on which channel, worth how much.

Actions are data. ``parse_catalog`` reads the plain dicts that a YAML or JSON file or the
API gives and returns a :class:`Catalog`, or raises :class:`InvalidInput` naming the field
(``actions[3].treatments.email.subject``). Eligibility rules are compiled by the
expression engine passed in, so an invalid rule is refused on save with its position.

Durations are seconds or text such as ``"90m"``, ``"12h"``, ``"7d"``, ``"2w"``; times are
ISO 8601 (UTC when no offset is given).

>>> from onevoice.domain.expressions import ALWAYS
>>> class NoRules:
...     def compile(self, text):
...         return ALWAYS
>>> catalog = parse_catalog({"actions": [{
...     "id": "mortgage-review", "purpose": "marketing", "value": 120, "cost": 0.02,
...     "treatments": {"web": {"title": "Your mortgage, reviewed", "body": "Book a call."}},
... }]}, NoRules())
>>> action = catalog["mortgage-review"]
>>> (action.channels, action.cost("web"), action.cooldown)
(('web',), 0.02, None)
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from onevoice.domain.errors import InvalidEvent, InvalidInput
from onevoice.domain.events import parse_time
from onevoice.domain.expressions import (
    ALWAYS,
    CompiledExpression,
    ExpressionEngine,
    InvalidExpression,
    Reads,
    reads_of,
)

PURPOSES = ("marketing", "service")
MARKETING, SERVICE = PURPOSES

#: The text each channel's treatment needs (required, optional).
TREATMENT_FIELDS: Mapping[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "email": (("subject", "body"), ("preheader",)),
    "call_centre": (("script",), ()),
    "branch": (("script",), ()),
    "ivr": (("script",), ()),
    "web": (("title", "body"), ("cta", "url", "image")),
    "app": (("title", "body"), ("cta", "url", "image")),
    "chat": (("text",), ("cta", "url")),
    "social": (("text",), ("url",)),
    "sms": (("text",), ()),
    "push": (("text",), ("title", "url")),
}
MAX_TEXT_LENGTH = 10_000
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$")
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_FIELDS = frozenset(
    {
        "id",
        "name",
        "description",
        "purpose",
        "treatments",
        "value",
        "cost",
        "weight",
        "valid_from",
        "valid_until",
        "cooldown",
        "max_per_customer",
        "max_window",
        "eligibility",
        "paused",
        "tags",
        "program",
    }
)


@dataclass(frozen=True, slots=True)
class Treatment:
    """What an action says on one channel: named text parts (subject, body, script…)."""

    channel: str
    content: Mapping[str, str]

    def to_dict(self) -> dict[str, str]:
        return dict(self.content)


@dataclass(frozen=True, slots=True)
class Action:
    """One thing onevoice can do for a customer. ``costs`` holds per-channel overrides."""

    id: str
    purpose: str
    treatments: Mapping[str, Treatment]
    value: float
    name: str = ""
    description: str = ""
    default_cost: float = 0.0
    costs: Mapping[str, float] = field(default_factory=dict)
    weight: float = 1.0
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    cooldown: timedelta | None = None
    max_per_customer: int | None = None
    max_window: timedelta | None = None
    eligibility: str = ""
    paused: bool = False
    tags: tuple[str, ...] = ()
    #: the named group of actions it belongs to, for lift and ROI per program ("" for none)
    program: str = ""

    @property
    def channels(self) -> tuple[str, ...]:
        return tuple(self.treatments)

    @property
    def is_marketing(self) -> bool:
        return self.purpose == MARKETING

    def cost(self, channel: str) -> float:
        """The cost of one contact on ``channel``."""
        return self.costs.get(channel, self.default_cost)

    def live_at(self, now: datetime) -> bool:
        """Inside its validity window (``valid_until`` is exclusive)."""
        if self.valid_from is not None and now < self.valid_from:
            return False
        return self.valid_until is None or now < self.valid_until

    def to_dict(self) -> dict[str, Any]:
        """The plain form ``parse_action`` reads back (for files, the store and the API)."""
        cost: float | dict[str, float] = self.default_cost
        if self.costs:
            cost = {"default": self.default_cost, **self.costs}
        record: dict[str, Any] = {
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "purpose": self.purpose,
            "treatments": {c: t.to_dict() for c, t in self.treatments.items()},
            "value": self.value,
            "cost": cost,
            "weight": self.weight,
            "valid_from": _format_time(self.valid_from),
            "valid_until": _format_time(self.valid_until),
            "cooldown": None if self.cooldown is None else self.cooldown.total_seconds(),
            "max_per_customer": self.max_per_customer,
            "max_window": None if self.max_window is None else self.max_window.total_seconds(),
            "eligibility": self.eligibility,
            "paused": self.paused,
            "tags": list(self.tags),
            "program": self.program,
        }
        return record


@dataclass(frozen=True, slots=True)
class Catalog:
    """The actions by id, each with its compiled eligibility rule."""

    actions: Mapping[str, Action] = field(default_factory=dict)
    rules: Mapping[str, CompiledExpression] = field(default_factory=dict)
    #: ``reads``, once worked out (in a tuple: ``None`` is an answer)
    _reads: tuple[Reads | None] | None = field(default=None, init=False, repr=False, compare=False)

    def __getitem__(self, action_id: str) -> Action:
        return self.actions[action_id]

    def __contains__(self, action_id: object) -> bool:
        return action_id in self.actions

    def __iter__(self) -> Iterator[Action]:
        return iter(self.actions.values())

    def __len__(self) -> int:
        return len(self.actions)

    def rule(self, action_id: str) -> CompiledExpression:
        return self.rules.get(action_id, ALWAYS)

    @property
    def reads(self) -> Reads | None:
        """What the catalog's rules can read of an activation (``None``: anything), worked
        out once per catalog (they are immutable): a decision builds and converts only that."""
        known = self._reads
        if known is None:
            known = (reads_of(self.rules.values()),)
            object.__setattr__(self, "_reads", known)
        return known[0]

    def with_action(self, action: Action, engine: ExpressionEngine) -> Catalog:
        """A catalog with ``action`` added or replaced (what ``PUT /v1/actions/{id}`` does)."""
        rule = _compile(action.eligibility, engine, "eligibility")
        return Catalog({**self.actions, action.id: action}, {**self.rules, action.id: rule})

    def to_dict(self) -> dict[str, Any]:
        return {"actions": [a.to_dict() for a in self.actions.values()]}


EMPTY_CATALOG = Catalog()


def parse_catalog(raw: object, engine: ExpressionEngine) -> Catalog:
    """A catalog from ``{"actions": [...]}`` or a bare list. Raises :class:`InvalidInput`."""
    if isinstance(raw, dict):
        unknown = sorted(set(raw) - {"actions", "version"})
        if unknown:
            raise InvalidInput(f"unknown field {unknown[0]!r}", field=unknown[0])
        items = raw.get("actions")
    else:
        items = raw
    if not isinstance(items, list):
        raise InvalidInput("a catalog needs a list of actions", field="actions")
    actions: dict[str, Action] = {}
    rules: dict[str, CompiledExpression] = {}
    for n, item in enumerate(items):
        where = f"actions[{n}]"
        action = parse_action(item, where=where)
        if action.id in actions:
            raise InvalidInput(f"duplicate action id {action.id!r}", field=f"{where}.id")
        actions[action.id] = action
        rules[action.id] = _compile(action.eligibility, engine, f"{where}.eligibility")
    return Catalog(actions, rules)


def parse_action(raw: object, *, where: str = "action") -> Action:
    """One action from a plain dict; errors name the field as ``{where}.field``."""
    if not isinstance(raw, dict):
        raise InvalidInput("an action must be an object", field=where)
    unknown = sorted(set(raw) - _FIELDS)
    if unknown:
        raise InvalidInput(f"unknown field {unknown[0]!r}", field=f"{where}.{unknown[0]}")
    action_id = raw.get("id")
    if not isinstance(action_id, str) or not _ID.match(action_id):
        raise InvalidInput(
            "id must be 1-128 letters, digits, '_', '.', ':' or '-'", field=f"{where}.id"
        )
    purpose = raw.get("purpose")
    if purpose not in PURPOSES:
        raise InvalidInput(
            f"purpose must be one of {', '.join(PURPOSES)}, not {purpose!r}",
            field=f"{where}.purpose",
        )
    default_cost, costs = _costs(raw.get("cost", 0.0), f"{where}.cost")
    valid_from = _time(raw.get("valid_from"), f"{where}.valid_from")
    valid_until = _time(raw.get("valid_until"), f"{where}.valid_until")
    if valid_from is not None and valid_until is not None and valid_until <= valid_from:
        raise InvalidInput("valid_until must be after valid_from", field=f"{where}.valid_until")
    max_per_customer = raw.get("max_per_customer")
    if max_per_customer is not None and (
        isinstance(max_per_customer, bool)
        or not isinstance(max_per_customer, int)
        or max_per_customer < 1
    ):
        raise InvalidInput(
            "max_per_customer must be a positive integer", field=f"{where}.max_per_customer"
        )
    eligibility = raw.get("eligibility") or ""
    if not isinstance(eligibility, str):
        raise InvalidInput("eligibility must be a string", field=f"{where}.eligibility")
    paused = raw.get("paused", False)
    if not isinstance(paused, bool):
        raise InvalidInput("paused must be true or false", field=f"{where}.paused")
    return Action(
        id=action_id,
        name=_text(raw.get("name", action_id), f"{where}.name", allow_empty=True),
        description=_text(raw.get("description", ""), f"{where}.description", allow_empty=True),
        purpose=purpose,
        treatments=_treatments(raw.get("treatments"), f"{where}.treatments"),
        value=_number(raw.get("value"), f"{where}.value"),
        default_cost=default_cost,
        costs=costs,
        weight=_number(raw.get("weight", 1.0), f"{where}.weight"),
        valid_from=valid_from,
        valid_until=valid_until,
        cooldown=_duration(raw.get("cooldown"), f"{where}.cooldown"),
        max_per_customer=max_per_customer,
        max_window=_duration(raw.get("max_window"), f"{where}.max_window"),
        eligibility=eligibility.strip(),
        paused=paused,
        tags=_tags(raw.get("tags", []), f"{where}.tags"),
        program=_program(raw.get("program", ""), f"{where}.program"),
    )


def _program(value: object, field_name: str) -> str:
    if not isinstance(value, str) or (value and not _ID.match(value)):
        raise InvalidInput(
            "program must be 1-128 letters, digits, '_', '.', ':' or '-'", field=field_name
        )
    return value


def parse_duration(value: object, field_name: str) -> timedelta:
    """Seconds (a number) or ``"<n><s|m|h|d|w>"``; raises :class:`InvalidInput`."""
    if isinstance(value, bool):
        raise InvalidInput("a duration must be seconds or text like '7d'", field=field_name)
    if isinstance(value, (int, float)):
        seconds = float(value)
    elif isinstance(value, str) and (match := _DURATION.match(value)):
        seconds = float(match.group(1)) * _UNITS[match.group(2)]
    else:
        raise InvalidInput(
            f"a duration must be seconds or text like '12h' or '7d', not {value!r}",
            field=field_name,
        )
    if not math.isfinite(seconds) or seconds < 0 or seconds > 10 * 365 * 86400:
        raise InvalidInput("a duration must be between 0 and 10 years", field=field_name)
    return timedelta(seconds=seconds)


def _compile(text: str, engine: ExpressionEngine, where: str) -> CompiledExpression:
    if not text:
        return ALWAYS
    try:
        return engine.compile(text)
    except InvalidExpression as error:
        raise error.at(where) from None
    except InvalidInput as error:
        raise InvalidInput(error.message, field=where) from None


def _treatments(raw: object, where: str) -> dict[str, Treatment]:
    if not isinstance(raw, dict) or not raw:
        raise InvalidInput("treatments must map at least one channel to its content", field=where)
    treatments: dict[str, Treatment] = {}
    for channel, content in raw.items():
        here = f"{where}.{channel}"
        fields = TREATMENT_FIELDS.get(channel)
        if fields is None:
            raise InvalidInput(
                f"no treatment is defined for channel {channel!r}; "
                f"use one of {', '.join(TREATMENT_FIELDS)}",
                field=here,
            )
        if not isinstance(content, dict):
            raise InvalidInput("a treatment must be an object", field=here)
        required, optional = fields
        unknown = sorted(set(content) - set(required) - set(optional))
        if unknown:
            raise InvalidInput(
                f"unknown field {unknown[0]!r} for a {channel} treatment",
                field=f"{here}.{unknown[0]}",
            )
        parts: dict[str, str] = {}
        for name in (*required, *optional):
            if name in content:
                parts[name] = _text(content[name], f"{here}.{name}")
            elif name in required:
                raise InvalidInput(f"a {channel} treatment needs {name}", field=f"{here}.{name}")
        treatments[channel] = Treatment(channel, parts)
    return treatments


def _text(value: object, where: str, *, allow_empty: bool = False) -> str:
    if not isinstance(value, str) or (not allow_empty and not value.strip()):
        raise InvalidInput("must be a non-empty string", field=where)
    if len(value) > MAX_TEXT_LENGTH:
        raise InvalidInput(f"is longer than {MAX_TEXT_LENGTH} characters", field=where)
    return value


def _number(value: object, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidInput("must be a number", field=where)
    number = float(value)
    if not math.isfinite(number) or number < 0:
        raise InvalidInput("must be a finite number, zero or more", field=where)
    return number


def _costs(raw: object, where: str) -> tuple[float, dict[str, float]]:
    if not isinstance(raw, dict):
        return _number(raw, where), {}
    costs: dict[str, float] = {}
    default = 0.0
    for key, value in raw.items():
        if key == "default":
            default = _number(value, f"{where}.default")
        elif key in TREATMENT_FIELDS:
            costs[key] = _number(value, f"{where}.{key}")
        else:
            raise InvalidInput(f"{key!r} is not a channel", field=f"{where}.{key}")
    return default, costs


def _time(value: object, where: str) -> datetime | None:
    if value is None:
        return None
    try:
        return parse_time(value, where)
    except InvalidEvent as error:  # the same rule as event times, reported as catalog input
        raise InvalidInput(error.message, field=where) from None


def _duration(value: object, where: str) -> timedelta | None:
    return None if value is None else parse_duration(value, where)


def _tags(value: object, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(t, str) for t in value):
        raise InvalidInput("tags must be a list of strings", field=where)
    return tuple(value)


def _format_time(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).isoformat()
