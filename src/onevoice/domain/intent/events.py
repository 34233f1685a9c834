"""From stored events to intent signals: the bridge between :class:`Event` and the state."""

from __future__ import annotations

from collections.abc import Iterable

from onevoice.domain.events import Event
from onevoice.domain.intent.signals import signals
from onevoice.domain.intent.state import IntentState, observe


def event_hours(event: Event) -> float:
    """The event's time in hours since the epoch (the unit of the intent state)."""
    return event.timestamp.timestamp() / 3600.0


def event_signals(event: Event) -> tuple[str, ...]:
    page = event.context.get("page")
    path = page.get("path") if isinstance(page, dict) else None
    return signals(event.type, event.name, event.channel, event.properties, path)


def fold(
    state: IntentState, events: Iterable[Event], ignore: frozenset[str] = frozenset()
) -> float | None:
    """Observe ``events`` (but those named in ``ignore``, lower case) into ``state``;
    return the latest event time seen (hours)."""
    latest: float | None = None
    for event in events:
        at = event_hours(event)
        if event.name is not None and event.name.lower() in ignore:
            latest = at if latest is None else max(latest, at)
            continue
        observe(state, event_signals(event), event.channel, at)
        if latest is None or at > latest:
            latest = at
    return latest
