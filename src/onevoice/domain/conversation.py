"""One voice: a decision opens a conversation that every channel honours.

When a channel asks what to do and the customer already has an open conversation — an
action chosen on another channel, recently, with no final answer yet — onevoice says the
same thing again in this channel's treatment, so the call centre says what the website
showed. It decides afresh only when:

- the conversation window is over;
- the customer gave a final answer (accept, convert, dismiss, complaint, unsubscribe) —
  an impression or a click keeps the conversation open: a click is interest to follow up;
- the context changed materially: an intent is strong now that was not when it opened;
- the action is no longer live (paused, expired, removed) or has no treatment here.

>>> from datetime import datetime, timedelta, timezone
>>> from onevoice.domain.actions import Action, Catalog, Treatment
>>> now = datetime(2026, 3, 2, 12, tzinfo=timezone.utc)
>>> offer = Action("mortgage-review", "marketing", {
...     "web": Treatment("web", {"title": "Review", "body": "Book a call"}),
...     "call_centre": Treatment("call_centre", {"script": "Offer a review"})}, value=100)
>>> talk = Conversation("d1", "mortgage-review", "web", now - timedelta(hours=26),
...                     responses=(("click", "web", now - timedelta(hours=25)),))
>>> verdict = one_voice(talk, "call_centre", now, Catalog({offer.id: offer}))
>>> verdict.honour, verdict.reason
(True, 'shown on web yesterday, clicked')
"""

from __future__ import annotations

from collections.abc import Set
from dataclasses import dataclass
from datetime import datetime, timedelta

from onevoice.domain._humanize import ago, span
from onevoice.domain.actions import Catalog, Treatment

#: Responses that close a conversation: the customer has answered.
FINAL_OUTCOMES = frozenset({"accept", "convert", "dismiss", "complaint", "unsubscribe"})
DEFAULT_WINDOW = timedelta(hours=72)
_PAST = {
    "impression": "seen",
    "click": "clicked",
    "accept": "accepted",
    "convert": "converted",
    "dismiss": "dismissed",
    "complaint": "complained",
    "unsubscribe": "unsubscribed",
}


@dataclass(frozen=True, slots=True)
class Conversation:
    """An open decision: which action, where and when it started, what came back.

    ``responses`` are ``(outcome, channel, at)``; ``strong_intents`` are the intents that
    were strong when the conversation opened.
    """

    decision_id: str
    action_id: str
    channel: str
    opened_at: datetime
    window: timedelta = DEFAULT_WINDOW
    responses: tuple[tuple[str, str, datetime], ...] = ()
    strong_intents: frozenset[str] = frozenset()

    def closes_at(self) -> datetime:
        return self.opened_at + self.window


@dataclass(frozen=True, slots=True)
class OneVoice:
    """Honour the open conversation (with this channel's treatment) or decide afresh."""

    honour: bool
    reason: str
    action_id: str | None = None
    treatment: Treatment | None = None


def one_voice(
    conversation: Conversation | None,
    channel: str,
    now: datetime,
    catalog: Catalog,
    *,
    strong_intents: Set[str] = frozenset(),
) -> OneVoice:
    """Whether a request on ``channel`` at ``now`` repeats the open conversation's action."""
    if conversation is None:
        return OneVoice(False, "no open conversation")
    talk = conversation
    if now >= talk.closes_at():
        return OneVoice(False, f"conversation window of {span(talk.window)} is over")
    final = [r for r in talk.responses if r[0] in FINAL_OUTCOMES and r[2] <= now]
    if final:
        outcome, where, at = max(final, key=lambda r: r[2])
        return OneVoice(False, f"customer {_PAST[outcome]} on {where} {ago(now - at)}")
    new_intents = sorted(set(strong_intents) - talk.strong_intents)
    if new_intents:
        return OneVoice(False, f"context changed: new strong intent {', '.join(new_intents)}")
    action = catalog.actions.get(talk.action_id)
    if action is None or action.paused or not action.live_at(now):
        return OneVoice(False, f"{talk.action_id} is no longer live")
    treatment = action.treatments.get(channel)
    if treatment is None:
        return OneVoice(False, f"{talk.action_id} has no {channel} treatment")
    return OneVoice(True, _story(talk, now), talk.action_id, treatment)


def _story(talk: Conversation, now: datetime) -> str:
    """``shown on web yesterday, clicked`` — what an agent needs to hear."""
    said = f"shown on {talk.channel} {ago(now - talk.opened_at)}"
    seen = [_PAST.get(r[0], r[0]) for r in sorted(talk.responses, key=lambda r: r[2])]
    engaged = [word for word in dict.fromkeys(seen) if word != "seen"]
    return f"{said}, {', '.join(engaged)}" if engaged else f"{said}, no response yet"
