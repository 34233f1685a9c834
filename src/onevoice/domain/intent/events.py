"""From stored events to intent signals: the bridge between :class:`Event` and the state."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from onevoice.domain.events import Event
from onevoice.domain.intent.definitions import IntentDefinition
from onevoice.domain.intent.signals import signals
from onevoice.domain.intent.state import IntentState, observe


def event_hours(event: Event) -> float:
    """The event's time in hours since the epoch (the unit of the intent state)."""
    return event.timestamp.timestamp() / 3600.0


def event_signals(event: Event) -> tuple[str, ...]:
    page = event.context.get("page")
    path = page.get("path") if isinstance(page, dict) else None
    return signals(event.type, event.name, event.channel, event.properties, path)


#: The token an event carries when it confirms an intent (``outcome:mortgage``): a model
#: learns that an intent just fulfilled is no longer under way.
OUTCOME = "outcome:"


def intent_signals(event: Event, outcomes: Sequence[IntentDefinition] = ()) -> tuple[str, ...]:
    """The event's signals, and ``outcome:<intent>`` for each intent it confirms."""
    tokens = event_signals(event)
    if event.type != "track" or not outcomes:
        return tokens
    done = tuple(OUTCOME + d.name for d in outcomes if d.confirmed_by(event.name, event.properties))
    return (*tokens, *done) if done else tokens


def fold(
    state: IntentState,
    events: Iterable[Event],
    ignore: frozenset[str] = frozenset(),
    *,
    outcomes: Sequence[IntentDefinition] = (),
) -> float | None:
    """Observe ``events`` (but those named in ``ignore``, lower case) into ``state``, marking
    the ``outcomes`` they confirm; return the latest event time seen (hours)."""
    latest: float | None = None
    for event in events:
        at = event_hours(event)
        if event.name is not None and event.name.lower() in ignore:
            latest = at if latest is None else max(latest, at)
            continue
        observe(state, intent_signals(event, outcomes), event.channel, at)
        if latest is None or at > latest:
            latest = at
    return latest
