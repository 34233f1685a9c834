"""Rows of a table (CSV, Parquet) or lines of JSON turned into Segment-shaped calls.

A bulk import reads records whose keys are column names. :func:`shape_row` renames them
(``--map``), expands dotted names into nested fields (``properties.revenue`` goes to
``properties["revenue"]``), parses object columns holding JSON text, fills the defaults
(type, event name, channel) and hands back a raw call for :func:`~onevoice.domain.events.
parse_event` to validate. It raises :class:`InvalidEvent` naming the column at fault.

Text values (CSV cells) follow one rule, chosen so that ids are never mangled:

* an empty cell is absent;
* under ``properties``, ``traits`` and ``context.traits`` — except the identifier traits
  ``email``, ``phone`` and ``crm_id`` — ``true``/``false`` (any case) become booleans, an
  integer of at most 15 digits without a leading zero or plus sign becomes an ``int``
  (``"42"``, ``"-7"``, not ``"007"``, ``"+4420…"``) and a plain decimal becomes a ``float``
  (``"19.99"``, not ``"1e5"``, ``"1,000"`` or ``" 12"``);
* everything else, and every value outside those three objects, stays a string.

A ``timestamp`` may also be a Unix time: seconds, or milliseconds when above 10¹¹ (a
number, or a cell of digits); it becomes ISO 8601 UTC.

Anything else is dropped: other top-level keys (``sentAt`` among them — the client clock
was corrected when the event was first received, and the import time says nothing about
it), so a column that lands nowhere cannot change an event or its content-hash id.

A row with neither ``messageId`` nor ``timestamp`` gets a content-hash ``messageId`` here
(one with a timestamp gets it from ``parse_event``), so importing a file twice stores it
once.

>>> shape = RowShape({"customer": "userId"}, default_event="Order Completed", text_values=True)
>>> shape_row({"customer": "u1", "timestamp": "2025-01-02T03:04:05Z",
...            "properties.revenue": "19.99", "traits.crm_id": "007"}, shape)
{'userId': 'u1', 'timestamp': '2025-01-02T03:04:05Z', 'properties': {'revenue': 19.99}, \
'traits': {'crm_id': '007'}, 'type': 'track', 'event': 'Order Completed'}
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from decimal import Decimal
from functools import lru_cache
from typing import Any

from onevoice.domain import identifiers as ids
from onevoice.domain.errors import InvalidEvent, InvalidInput
from onevoice.domain.events import EVENT_TYPES, infer_channel

#: Top-level fields of a Segment call that an import may fill.
FIELDS = (
    "type",
    "event",
    "name",
    "category",
    "userId",
    "anonymousId",
    "previousId",
    "groupId",
    "messageId",
    "timestamp",
    "properties",
    "traits",
    "context",
    "integrations",
)
#: Fields that hold an object, and may arrive as JSON text.
OBJECT_FIELDS = frozenset(
    {"properties", "traits", "context", "integrations", "context.traits", "context.identifiers"}
)
_NESTED_ROOTS = ("properties", "traits", "context", "integrations")
_TEXT_ROOTS = (("properties",), ("traits",), ("context", "traits"))
_IDENTIFIER_TRAITS = frozenset({ids.EMAIL, ids.PHONE, ids.CRM_ID})
_INTEGER = re.compile(r"-?(?:0|[1-9][0-9]{0,14})")
_DECIMAL = re.compile(r"-?(?:0|[1-9][0-9]*)\.[0-9]+")
_UNIX = re.compile(r"[0-9]{9,13}(?:\.[0-9]+)?")


@dataclass(frozen=True, slots=True)
class RowShape:
    """How the records of one file become calls: renames, defaults, text handling."""

    renames: Mapping[str, str] = field(default_factory=dict)
    default_type: str = "track"
    default_event: str | None = None
    default_channel: str | None = None
    text_values: bool = False


@dataclass(frozen=True, slots=True)
class Unreadable:
    """A record the reader could not decode (a line that is not JSON); rejected as is."""

    text: str
    message: str


def check_target(target: str) -> None:
    """Raise :class:`InvalidInput` unless ``target`` is a field an import may fill.

    >>> check_target("properties.revenue")
    >>> check_target("revenue")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    onevoice.domain.errors.InvalidInput: 'revenue' is not an event field ...
    """
    if _route(target) is not None:
        return
    raise InvalidInput(
        f"{target!r} is not an event field (one of {', '.join(FIELDS)}, "
        "or properties.X, traits.X, context.X, integrations.X)",
        field="--map",
    )


def check_shape(shape: RowShape) -> None:
    """Raise :class:`InvalidInput` for a rename target or a default that cannot work."""
    for target in shape.renames.values():
        if target:
            check_target(target)
    if shape.default_type not in EVENT_TYPES:
        raise InvalidInput(
            f"type must be one of {', '.join(EVENT_TYPES)}, not {shape.default_type!r}",
            field="--type",
        )
    if shape.default_channel is not None:
        try:
            infer_channel("track", {"channel": shape.default_channel})
        except InvalidEvent as error:
            raise InvalidInput(error.message, field="--channel") from None


def ignored_columns(columns: list[str], shape: RowShape) -> list[str]:
    """Columns that would land nowhere: neither an event field nor renamed to one."""
    renames = shape.renames
    return [c for c in columns if renames.get(c, c) and _route(renames.get(c, c)) is None]


def shape_row(row: object, shape: RowShape) -> dict[str, Any]:
    """One record as a raw Segment call. Raises :class:`InvalidEvent` naming the column."""
    if isinstance(row, Unreadable):
        raise InvalidEvent(row.message, field=None)
    if not isinstance(row, Mapping):
        raise InvalidEvent("a record must be a JSON object", field=None)
    call: dict[str, Any] = {}
    nested: list[tuple[_Route, str, Any]] = []
    text = shape.text_values
    for column, value in row.items():
        if column is None:
            raise InvalidEvent("the row has more cells than the header has columns", field=None)
        route = _route(shape.renames.get(column, column))
        if route is None:
            continue
        if value is None or (value == "" and text):
            continue
        if not isinstance(value, str):
            value = _plain(value, text=text)
            if value is None:
                continue
        if len(route.path) > 1:
            nested.append((route, column, value))
        else:
            call[route.target] = _object_or_text(route, column, value)
    for route, column, value in nested:  # after whole objects, so a dotted column adds to them
        _put(call, route, column, value, text=text)
    if "timestamp" in call:
        call["timestamp"] = _timestamp(call["timestamp"])
    _defaults(call, shape)
    if call.get("messageId") in (None, "") and call.get("timestamp") in (None, ""):
        call["messageId"] = content_id(call)
    return call


def content_id(call: Mapping[str, Any]) -> str:
    """A messageId made from the call's content: the same row always gets the same id.

    >>> content_id({"userId": "u1"}) == content_id({"userId": "u1"})
    True
    """
    canonical = json.dumps(dict(call), sort_keys=True, default=str)
    return "ov-" + hashlib.sha256(canonical.encode()).hexdigest()[:32]


def text_value(text: str) -> str | int | float | bool:
    """A CSV cell under ``properties``/``traits`` as the value it most plainly is.

    >>> [text_value(t) for t in ("42", "19.99", "007", "+44", "1e5", "TRUE", "n/a")]
    [42, 19.99, '007', '+44', '1e5', True, 'n/a']
    """
    if _INTEGER.fullmatch(text):
        return int(text)
    if _DECIMAL.fullmatch(text):
        return float(text)
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    return text


def _plain(value: object, *, text: bool) -> Any:
    """A JSON-ready value: dates as ISO text, decimals as numbers, NaN and '' as absent."""
    if value is None or isinstance(value, (bool, int)):
        return value
    if isinstance(value, str):
        return None if (text and value == "") else value
    if isinstance(value, float):
        return None if math.isnan(value) else value
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, Mapping):
        return {str(k): _plain(v, text=False) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v, text=False) for v in value]
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return str(value)


@dataclass(frozen=True, slots=True)
class _Route:
    """Where a column's values go, worked out once per column name."""

    target: str
    path: tuple[str, ...]
    is_object: bool  # the field holds an object (JSON text is parsed)
    reads_text: bool  # numbers and booleans are read out of text here


@lru_cache(maxsize=4096)
def _route(target: str) -> _Route | None:
    """The route to ``target``, or None for a column that lands nowhere."""
    path = tuple(target.split("."))
    if len(path) > 1 and path[0] in _NESTED_ROOTS and "" not in path:
        return _Route(target, path, target in OBJECT_FIELDS, _reads_text(path))
    if target in FIELDS:
        return _Route(target, path, target in OBJECT_FIELDS, False)
    return None


def _reads_text(path: tuple[str, ...]) -> bool:
    for root in _TEXT_ROOTS:
        if path[: len(root)] == root and len(path) > len(root):
            return len(path) > len(root) + 1 or path[-1] not in _IDENTIFIER_TRAITS
    return False


def _object_or_text(route: _Route, column: str, value: Any) -> Any:
    """Parse JSON text in an object field; leave any other value alone."""
    if not route.is_object or not isinstance(value, str):
        return value
    try:
        parsed = json.loads(value)
    except ValueError:
        raise InvalidEvent(f"{column} is not valid JSON", field=column) from None
    if not isinstance(parsed, dict) and not (
        route.target == "context.identifiers" and isinstance(parsed, list)
    ):
        raise InvalidEvent(f"{column} must hold a JSON object", field=column)
    return parsed


def _put(call: dict[str, Any], route: _Route, column: str, value: Any, *, text: bool) -> None:
    here = call
    path = route.path
    for depth, key in enumerate(path[:-1]):
        inner = here.get(key)
        if inner is None:
            inner = here[key] = {}
        elif isinstance(inner, str) and (parent := _route(".".join(path[: depth + 1]))):
            inner = here[key] = _object_or_text(parent, column, inner)
        if not isinstance(inner, dict):
            where = ".".join(path[: depth + 1])
            raise InvalidEvent(f"{column} needs {where} to be an object", field=column)
        here = inner
    if route.is_object:
        value = _object_or_text(route, column, value)
    elif text and route.reads_text and isinstance(value, str):
        value = text_value(value)
    here[path[-1]] = value


def _timestamp(value: Any) -> Any:
    """Unix seconds or milliseconds as ISO 8601 UTC; anything else for parse_event to judge."""
    if isinstance(value, str) and _UNIX.fullmatch(value):
        value = float(value)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return value
    seconds = value / 1000 if abs(value) > 1e11 else value
    try:
        moment = datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError):
        raise InvalidEvent(f"timestamp {value!r} is out of range", field="timestamp") from None
    return moment.isoformat().replace("+00:00", "Z")


def _defaults(call: dict[str, Any], shape: RowShape) -> None:
    if call.get("type") in (None, ""):
        call["type"] = shape.default_type
    if call["type"] == "track" and call.get("event") in (None, "") and shape.default_event:
        call["event"] = shape.default_event
    if shape.default_channel is not None:
        context = call.setdefault("context", {})
        if isinstance(context, dict) and context.get("channel") in (None, ""):
            context["channel"] = shape.default_channel
