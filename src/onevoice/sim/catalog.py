"""The demo brand: Harbour Bank's channels, customer intents, content and offers.

Everything the simulated world can say is listed here as plain data, indexed by small
integers so the simulator can work on numpy arrays. A *topic* is either background
banking (topic 0) or one of the latent intents (topic ``1 + intent``); each topic has the
content it causes customers to touch on each inbound channel. Behaviour follows the hidden
intent only through this table, which is what lets tests check that it does.

>>> INTENTS[MORTGAGE].name, ACTIONS[0].target == MORTGAGE
('mortgage', True)
>>> CONTENT[topic_content(1 + MORTGAGE, CH["web"])[0]].name
'Mortgages'
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from onevoice.domain.events import CHANNELS as CHANNELS

CH: dict[str, int] = {name: code for code, name in enumerate(CHANNELS)}
N_CHANNELS = len(CHANNELS)
#: Channels customers come to by themselves.
INBOUND = tuple(CH[c] for c in ("web", "app", "call_centre", "chat", "branch", "ivr", "social"))
#: Channels the brand sends on.
OUTBOUND = tuple(CH[c] for c in ("email", "sms", "push"))
#: Channels a policy can show an offer on while the customer is there.
IN_SESSION = (CH["web"], CH["app"])
CURRENCY = "GBP"

# kinds of intent: how an episode ends well
SALE, SERVICE, CHURN = "sale", "service", "churn"


@dataclass(frozen=True, slots=True)
class Intent:
    """A latent goal: how often it starts, how long it lasts, how it ends, what it costs."""

    name: str
    label: str
    kind: str
    start_per_day: float  # base hazard of starting on a given day
    mean_days: float  # mean lifetime if nothing ends it earlier
    outcome_per_day: float  # daily hazard of the outcome (sale, churn); service: see RESOLVE
    value: float  # revenue of a sale, or yearly value at risk for churn
    sessions_per_day: float  # extra sessions the intent causes
    outcome_channels: dict[str, float] = field(default_factory=dict)


MORTGAGE, CARD, SAVINGS, CARD_PROBLEM, LEAVING = range(5)
INTENTS: tuple[Intent, ...] = (
    Intent(
        "mortgage", "looking for a mortgage", SALE, 0.0012, 28, 0.012, 2400.0, 0.35,
        {"branch": 0.4, "web": 0.35, "call_centre": 0.25},
    ),
    Intent(
        "credit_card", "wants a credit card", SALE, 0.003, 12, 0.03, 180.0, 0.3,
        {"web": 0.5, "app": 0.5},
    ),
    Intent(
        "savings", "saving for something", SALE, 0.003, 14, 0.035, 90.0, 0.3,
        {"app": 0.6, "web": 0.4},
    ),
    Intent(
        "card_problem", "card problem", SERVICE, 0.0025, 10, 0.0, 0.0, 0.8,
        {"call_centre": 1.0},
    ),
    Intent(
        "leaving", "about to leave", CHURN, 0.0006, 21, 0.03, 350.0, 0.25,
        {"call_centre": 0.6, "branch": 0.25, "web": 0.15},
    ),
)  # fmt: skip
N_INTENTS = len(INTENTS)
N_TOPICS = 1 + N_INTENTS
TOPIC_NAMES = ("banking", *(i.name for i in INTENTS))


@dataclass(frozen=True, slots=True)
class Content:
    """One thing a customer can do: a page, an app screen or a tracked event."""

    type: str  # "page", "screen", "track" or "identify"
    name: str
    properties: dict[str, Any] = field(default_factory=dict)


def _page(name: str, path: str) -> Content:
    return Content("page", name, {"path": path, "url": f"https://www.harbourbank.example{path}"})


def _screen(name: str) -> Content:
    return Content("screen", name)


def _track(name: str, **properties: Any) -> Content:
    return Content("track", name, properties)


_BEHAVIOUR: dict[str, dict[str, list[Content]]] = {
    "banking": {
        "web": [_page("Home", "/"), _page("Accounts", "/accounts"),
                _page("Statements", "/accounts/statements"), _page("Payments", "/payments")],
        "app": [_screen("Home"), _screen("Balance"), _screen("Transactions"),
                _track("Payment Sent"), _screen("Payees")],
        "call_centre": [_track("Call Received", reason="general enquiry")],
        "chat": [_track("Chat Started", topic="general")],
        "branch": [_track("Branch Visit", reason="cash and cheques")],
        "ivr": [_track("IVR Call", menu="balance")],
    },
    "mortgage": {
        "web": [_page("Mortgages", "/mortgages"), _page("Mortgage Rates", "/mortgages/rates"),
                _page("Mortgage Calculator", "/mortgages/calculator"),
                _track("Mortgage Calculator Used"),
                _track("Products Searched", query="mortgage rates")],
        "app": [_screen("Mortgages"), _track("Products Searched", query="mortgage")],
        "call_centre": [_track("Call Received", reason="mortgage enquiry")],
        "chat": [_track("Chat Started", topic="mortgage")],
        "branch": [_track("Branch Visit", reason="mortgage appointment")],
    },
    "credit_card": {
        "web": [_page("Credit Cards", "/cards"), _page("Compare Cards", "/cards/compare"),
                _track("Products Searched", query="credit card")],
        "app": [_screen("Cards"), _screen("Card Offers")],
        "chat": [_track("Chat Started", topic="credit card")],
    },
    "savings": {
        "web": [_page("Savings", "/savings"), _page("Savings Rates", "/savings/rates"),
                _track("Products Searched", query="isa rates")],
        "app": [_screen("Savings"), _screen("Savings Goals")],
        "branch": [_track("Branch Visit", reason="savings")],
    },
    "card_problem": {
        "web": [_page("Card Not Working", "/help/card-not-working"),
                _page("Contact Us", "/help/contact")],
        "app": [_screen("Card Settings"), _screen("Freeze Card"), _screen("Help")],
        "call_centre": [_track("Call Received", reason="card problem")],
        "chat": [_track("Chat Started", topic="card problem")],
        "branch": [_track("Branch Visit", reason="card problem")],
        "ivr": [_track("IVR Call", menu="lost or stolen card")],
    },
    "leaving": {
        "web": [_page("Close Account", "/help/close-account"), _page("Switching", "/switch"),
                _track("Products Searched", query="close account")],
        "app": [_screen("Account Details")],
        "call_centre": [_track("Call Received", reason="complaint")],
        "branch": [_track("Branch Visit", reason="complaint")],
        "social": [_track("Social Post", sentiment="negative")],
    },
}  # fmt: skip

#: How strongly each topic pulls towards each channel (before the customer's preference).
_AFFINITY: dict[str, dict[str, float]] = {
    "banking": {"web": 1.0, "app": 1.0, "call_centre": 0.15, "chat": 0.1, "branch": 0.2,
                "ivr": 0.1},
    "mortgage": {"web": 3.0, "app": 1.0, "call_centre": 0.8, "chat": 0.4, "branch": 1.2},
    "credit_card": {"web": 2.0, "app": 2.0, "chat": 0.3},
    "savings": {"web": 2.0, "app": 2.0, "branch": 0.3},
    "card_problem": {"web": 1.0, "app": 2.0, "call_centre": 1.5, "chat": 0.8, "branch": 0.3,
                     "ivr": 0.5},
    "leaving": {"web": 2.0, "app": 0.5, "call_centre": 1.0, "branch": 0.5, "social": 0.5},
}  # fmt: skip

#: After an unsolved problem, customers hop towards people (app → call centre).
ESCALATION = np.ones(N_CHANNELS, dtype=np.float64)
for _name, _factor in {"app": 0.4, "web": 0.4, "call_centre": 3.0, "chat": 2.0, "branch": 2.0,
                       "ivr": 0.5}.items():  # fmt: skip
    ESCALATION[CH[_name]] = _factor

#: Chance that one contact about a card problem solves it, by channel (the rest are
#: dead ends and lead to repeat contacts).
RESOLVE = np.zeros(N_CHANNELS, dtype=np.float64)
for _name, _p in {"web": 0.08, "app": 0.15, "call_centre": 0.55, "chat": 0.35, "branch": 0.7,
                  "ivr": 0.05}.items():  # fmt: skip
    RESOLVE[CH[_name]] = _p

#: Mean number of events in one session, by channel.
SESSION_LENGTH = np.ones(N_CHANNELS, dtype=np.float64)
SESSION_LENGTH[CH["web"]] = 3.0
SESSION_LENGTH[CH["app"]] = 2.5


@dataclass(frozen=True, slots=True)
class Action:
    """An offer or message a policy can play, and its hidden effect when it lands."""

    name: str
    label: str
    target: int  # the intent it is relevant to
    base_logit: float  # response (click) log-odds when relevant, before channel and fatigue
    on_click: float  # chance that a click settles the intent at once (sale/resolve/retain)
    hazard_boost: float  # multiplier on the intent's outcome hazard after a click


ACTIONS: tuple[Action, ...] = (
    Action("mortgage_rates", "Our best mortgage rates", MORTGAGE, -1.2, 0.04, 1.8),
    Action("card_offer", "0% credit card", CARD, -1.0, 0.15, 1.8),
    Action("savings_bonus", "Bonus savings rate", SAVINGS, -1.0, 0.15, 1.8),
    Action("card_help", "Fix your card in the app", CARD_PROBLEM, -0.5, 0.5, 1.0),
    Action("retention_offer", "A fee-free year", LEAVING, -1.3, 0.35, 0.5),
)
N_ACTIONS = len(ACTIONS)
NO_ACTION = -1
ACTION_INDEX = {a.name: n for n, a in enumerate(ACTIONS)}

#: The events a delivered action produces, by channel: (delivered, clicked, unsub, complaint).
DELIVERY_EVENTS: dict[str, tuple[str, str, str, str]] = {
    "email": ("Email Delivered", "Email Link Clicked", "Unsubscribed", "Email Marked as Spam"),
    "sms": ("SMS Delivered", "SMS Link Clicked", "SMS Opted Out", "Complaint Logged"),
    "push": ("Push Notification Received", "Push Notification Tapped",
             "Push Notifications Disabled", "Complaint Logged"),
    "web": ("Promotion Viewed", "Promotion Clicked", "", "Complaint Logged"),
    "app": ("Promotion Viewed", "Promotion Clicked", "", "Complaint Logged"),
}  # fmt: skip

#: Home time zones: (IANA name, standard offset in hours; summer time is ignored).
TIMEZONES: tuple[tuple[str, int], ...] = (
    ("Europe/London", 0),
    ("Europe/Dublin", 0),
    ("Europe/Paris", 1),
    ("Europe/Madrid", 1),
    ("America/New_York", -5),
    ("Asia/Dubai", 4),
)
TIMEZONE_WEIGHTS = (0.78, 0.06, 0.05, 0.04, 0.04, 0.03)


def _hours(*spans: tuple[int, int, float]) -> NDArray[np.float64]:
    weights = np.zeros(24)
    for start, stop, weight in spans:
        weights[start:stop] = weight
    result: NDArray[np.float64] = weights / weights.sum()
    return result


#: When (local hour) customers use each channel.
HOUR_WEIGHTS = np.tile(_hours((7, 23, 1.0)), (N_CHANNELS, 1))
HOUR_WEIGHTS[CH["web"]] = _hours((0, 7, 0.1), (7, 12, 0.8), (12, 14, 1.2), (14, 18, 0.8),
                                 (18, 23, 1.5), (23, 24, 0.4))  # fmt: skip
HOUR_WEIGHTS[CH["app"]] = _hours((0, 7, 0.15), (7, 9, 1.4), (9, 17, 0.8), (17, 23, 1.4),
                                 (23, 24, 0.5))  # fmt: skip
HOUR_WEIGHTS[CH["call_centre"]] = _hours((8, 12, 1.5), (12, 17, 1.0), (17, 20, 0.6))
HOUR_WEIGHTS[CH["ivr"]] = HOUR_WEIGHTS[CH["call_centre"]]
HOUR_WEIGHTS[CH["branch"]] = _hours((9, 12, 1.2), (12, 14, 1.5), (14, 17, 1.0))
HOUR_WEIGHTS[CH["chat"]] = _hours((8, 22, 1.0))


def _build() -> tuple[list[Content], NDArray[np.int32], NDArray[np.int32], NDArray[np.float64]]:
    content: list[Content] = []
    offset = np.zeros((N_TOPICS, N_CHANNELS), dtype=np.int32)
    count = np.zeros((N_TOPICS, N_CHANNELS), dtype=np.int32)
    affinity = np.zeros((N_TOPICS, N_CHANNELS), dtype=np.float64)
    for topic, name in enumerate(TOPIC_NAMES):
        for channel, items in _BEHAVIOUR[name].items():
            offset[topic, CH[channel]] = len(content)
            count[topic, CH[channel]] = len(items)
            content.extend(items)
        for channel, weight in _AFFINITY[name].items():
            affinity[topic, CH[channel]] = weight
    # a topic never pulls to a channel on which it has nothing to do
    affinity[count == 0] = 0.0
    return content, offset, count, affinity


CONTENT, CONTENT_OFFSET, CONTENT_COUNT, AFFINITY = _build()
N_BEHAVIOUR = len(CONTENT)
#: The topic each behavioural content item belongs to (what a brand can observe).
CONTENT_TOPIC = np.zeros(N_BEHAVIOUR, dtype=np.int8)
for _topic in range(N_TOPICS):
    for _channel in range(N_CHANNELS):
        _start = CONTENT_OFFSET[_topic, _channel]
        CONTENT_TOPIC[_start : _start + CONTENT_COUNT[_topic, _channel]] = _topic

# special content, after the behavioural table
IDENTIFY = len(CONTENT)
ORDER = IDENTIFY + 1
RESOLVED = IDENTIFY + 2
CLOSED = IDENTIFY + 3
DELIVERED, CLICKED, UNSUBSCRIBED, COMPLAINED = (
    IDENTIFY + 4,
    IDENTIFY + 5,
    IDENTIFY + 6,
    IDENTIFY + 7,
)
LANDING = IDENTIFY + 8  # the landing page of a clicked action
CONTENT.extend(
    [
        Content("identify", "identify"),
        _track("Order Completed"),
        _track("Case Resolved", reason="card problem"),
        _track("Account Closed"),
        Content("track", "delivered"),
        Content("track", "clicked"),
        Content("track", "unsubscribed"),
        Content("track", "complained"),
        Content("page", "landing"),
    ]
)
LANDING_PATHS = ("/mortgages/rates", "/cards/offer", "/savings/bonus", "/help/fix-card",
                 "/offers/fee-free")  # fmt: skip


def topic_content(topic: int, channel: int) -> range:
    """The content ids a topic causes on a channel."""
    start = int(CONTENT_OFFSET[topic, channel])
    return range(start, start + int(CONTENT_COUNT[topic, channel]))
