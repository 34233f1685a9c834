"""The signals of one event: short lower-case tokens that features count and hints name.

An event says what kind of thing happened (``event:``, ``page:``, ``screen:``), where
(``channel:``), which part of the site (``path:`` — its content category, the first
segment of the path) and, for a few well-known properties, what about (``reason:``,
``topic:``, ``query:``, ``menu:``, ``product:``, ``category:``, ``sentiment:``,
``campaign:``). Hints in intent definitions are written in the same tokens.

>>> signals("page", "Mortgage Rates", "web", {"path": "/mortgages/rates"})
('channel:web', 'page:mortgage rates', 'path:/mortgages')
>>> signals("track", "Call Received", "call_centre", {"reason": "Card problem"})
('channel:call_centre', 'event:call received', 'reason:card problem')
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

#: Properties whose values name a topic (and so become signals of their own).
TOPIC_PROPERTIES = (
    "reason", "topic", "query", "menu", "product", "category", "sentiment", "campaign",
    "promotion_id",
)  # fmt: skip
_MAX_VALUE = 60
_KIND = {"track": "event", "page": "page", "screen": "screen"}


def signals(
    event_type: str,
    name: str | None,
    channel: str,
    properties: Mapping[str, Any],
    page_path: object = None,
) -> tuple[str, ...]:
    """The tokens of one event (see the module docstring)."""
    tokens = [f"channel:{channel}"]
    kind = _KIND.get(event_type)
    if kind is None:
        tokens.append(f"type:{event_type}")
    elif name:
        tokens.append(f"{kind}:{_clip(name)}")
    path = properties.get("path", page_path)
    if isinstance(path, str) and path.startswith("/"):
        first = path.split("?", 1)[0].split("/", 2)[1]
        tokens.append(f"path:/{_clip(first)}")
    for key in TOPIC_PROPERTIES:
        value = properties.get(key)
        if isinstance(value, str) and value:
            tokens.append(f"{key}:{_clip(value)}")
    return tuple(tokens)


def _clip(text: str) -> str:
    return text.strip().lower()[:_MAX_VALUE]
