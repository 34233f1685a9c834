"""Real-time intent: what a customer is trying to do right now.

Definitions are data (:mod:`.definitions`); each event becomes signal tokens
(:mod:`.signals`) folded into a small decaying state per person (:mod:`.state`); a
trained model or, at cold start, the hand rules turn the state into scores with reasons
(:mod:`.scoring`). Training lives outside the core (``onevoice.intent_training``).
"""

from onevoice.domain.intent.definitions import (
    EMPTY,
    Definitions,
    IntentDefinition,
    Outcome,
    parse_definitions,
)
from onevoice.domain.intent.events import event_hours, event_signals, fold, intent_signals
from onevoice.domain.intent.scoring import IntentModel, IntentScore, LinearModel, decayed
from onevoice.domain.intent.state import IntentState, features, merge, observe

__all__ = [
    "EMPTY",
    "Definitions",
    "IntentDefinition",
    "IntentModel",
    "IntentScore",
    "IntentState",
    "LinearModel",
    "Outcome",
    "decayed",
    "event_hours",
    "event_signals",
    "features",
    "fold",
    "intent_signals",
    "merge",
    "observe",
    "parse_definitions",
]
