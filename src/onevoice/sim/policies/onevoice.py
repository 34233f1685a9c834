"""The onevoice policy: the real decide and responses use cases, played in the simulated world.

Nothing here imitates the engine. A bootstrapped :class:`~onevoice.bootstrap.Onevoice` (on
a temporary SQLite database unless one is given) collects the day's events through its
collector and processor, so profiles are live; Harbour Bank's offers are loaded from
``harbour_bank_actions.yaml`` as an action catalog; and at each moment the policy asks
``decisions.decide`` for the customer on the channel:

- **in session** (a web or app visit): once, on that channel;
- **outbound**: for customers whose recent behaviour gives a reason (interest in a product
  or a problem at least ``trigger``; a brand would call decide from such a trigger rather
  than for its whole base every day) and who have not been sent anything for ``gap_days``
  (the brand's own send log, as the view shows it; 2 days: how often the brand *asks* — how
  often it may *send* is onevoice's contact policy, its caps, fatigue budget and opt-out
  price; asked every 3 days, as static rules send, the mortgage researchers who were worth a
  message more often went without), on email, then push, then SMS where
  the brand holds consent, stopping at the first channel on which an action wins; sent at
  10:00 on the customer's clock.

What comes back is played; each delivered action's outcome goes back through
``decisions.respond`` (impression, then click and accept; unsubscribe and complaint when
they happen), so the learner learns online. An ignored offer is only an impression: not
clicking a banner or an email is not a "no", so the conversation window is left to lapse
rather than reported as a dismiss (which would buy a 14-day cooldown of the action on
every channel) — each morning the lapsed ones are scored ``no_response``, as the server's
sweep does; ``dismiss_ignored`` names channels on which ignoring counts as a dismiss. The policy
reads only the :class:`~onevoice.sim.view.CustomerView` and onevoice's own profiles: the
context of a request is the customer's observed interest and purchases, and consent is
synced to the profiles as the brand's CRM would (an ``identify`` with a ``consent`` trait).
"""

from __future__ import annotations

import itertools
import tempfile
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from importlib import resources
from typing import Any

import numpy as np
import yaml

from onevoice.bootstrap import Onevoice, bootstrap
from onevoice.config import Settings
from onevoice.domain.errors import OnevoiceError
from onevoice.sim import catalog as cat
from onevoice.sim.policies.base import Decisions, Moments, Responses
from onevoice.sim.segment import Identities
from onevoice.sim.view import CustomerView

CATALOG_FILE = "harbour_bank_actions.yaml"
INTENTS_FILE = "harbour_bank_intents.yaml"
SEND_LOCAL_HOUR = 10
#: The order in which outbound channels are asked (the cheapest, least intrusive first).
OUTBOUND_ORDER = ("email", "push", "sms")
#: Settings the simulator runs onevoice with (the rest are ``Settings`` defaults).
DEFAULT_SETTINGS: Mapping[str, Any] = {"sqlite_synchronous": "OFF"}
_PRODUCTS = {"mortgage": cat.MORTGAGE, "credit_card": cat.CARD, "savings": cat.SAVINGS}
_ZONE_OF_OFFSET = {offset: name for name, offset in reversed(cat.TIMEZONES)}


class PolicyUnavailable(OnevoiceError):
    """A policy that cannot run in this build, and why."""


class _SimClock:
    """onevoice's clock, moved by the simulation (decisions happen in simulated time)."""

    def __init__(self) -> None:
        self.now = datetime(2000, 1, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def harbour_bank_intents() -> Any:
    """Harbour Bank's intent definitions file's contents (hand rules; see ``onevoice intents``)."""
    text = resources.files("onevoice.sim").joinpath(INTENTS_FILE).read_text(encoding="utf-8")
    return yaml.safe_load(text)


def harbour_bank_catalog() -> Any:
    """The action catalog file's contents (a plain ``{"actions": [...]}``)."""
    text = resources.files("onevoice.sim").joinpath(CATALOG_FILE).read_text(encoding="utf-8")
    return yaml.safe_load(text)


class OnevoicePolicy:
    """Runs onevoice's decide path in-process; see the module docstring.

    ``settings`` are :class:`~onevoice.config.Settings` fields (``ONEVOICE_*`` without the
    prefix; ``secret_key`` too, else a fixed one) over :data:`DEFAULT_SETTINGS`;
    ``database_url`` defaults to a temporary file
    (a database given must be fresh: decision ids are numbered from 1 for ``seed``, so that
    a seeded run is repeatable).
    After a run, ``ov`` is the engine (its store holds every decision and response).
    """

    name = "onevoice"

    def __init__(
        self,
        *,
        database_url: str | None = None,
        settings: Mapping[str, Any] | None = None,
        catalog: Any = None,
        trigger: float = 1.5,
        gap_days: int = 2,
        dismiss_ignored: tuple[str, ...] = (),
        seed: int = 0,
        tag: str = "ov",
        intents: bool = True,
    ) -> None:
        self.database_url = database_url
        self.settings = {**DEFAULT_SETTINGS, **(settings or {})}
        self.catalog = catalog
        self.trigger = trigger
        self.gap_days = gap_days
        self.dismiss_ignored = frozenset(cat.CH[name] for name in dismiss_ignored)
        self.seed = seed
        self.tag = tag
        self.intents = intents
        self.chosen: list[tuple[str, str]] = []  # (decision_id, action_id) of every action
        self._folder: tempfile.TemporaryDirectory[str] | None = None
        self._clock = _SimClock()
        self._ids = Identities(tag)
        self._ov: Onevoice | None = None
        self._consent: np.ndarray[Any, np.dtype[np.bool_]] | None = None
        self._open: dict[tuple[int, int], tuple[str, str]] = {}  # (customer, channel) → ids
        self.decided = 0
        self.responded = 0

    @property
    def ov(self) -> Onevoice:
        if self._ov is None:
            raise PolicyUnavailable("the onevoice policy has not started yet", field="policy")
        return self._ov

    # -- the policy protocol -------------------------------------------------------------
    def decide(self, moments: Moments, view: CustomerView) -> Decisions:
        day_start = datetime.fromtimestamp(moments.start / 1000, UTC)
        self._clock.now = day_start
        if self._ov is None:
            self._start()
        self._sync_consent(view)
        self.ov.decisions.close_lapsed()
        self._open.clear()
        decisions = Decisions.nothing(moments)
        context = _Contexts(view)
        session = np.flatnonzero(moments.in_session)
        self._clock.now = day_start + timedelta(hours=12)
        for n, customer, channel in zip(
            session.tolist(),
            moments.customer[session].tolist(),
            moments.channel[session].tolist(),
            strict=True,
        ):
            chosen = self._ask(customer, cat.CHANNELS[channel], view, context.of(customer))
            if chosen is not None:
                decisions.action[n] = chosen
        slot = np.flatnonzero(~moments.in_session)
        who = moments.customer[slot]
        outbound = view.contactable[who][:, list(cat.OUTBOUND)].any(axis=1)
        reason = view.interest[who, 1:].max(axis=1) >= self.trigger
        rested = view.day - view.last_contact_day[who] >= self.gap_days
        for n in slot[outbound & reason & rested & ~view.closed[who]].tolist():
            customer = int(moments.customer[n])
            # a send's hour counts from the start of the simulated day, which need not be
            # midnight: aim at SEND_LOCAL_HOUR on the customer's clock
            hour = (SEND_LOCAL_HOUR - int(view.utc_offset[customer]) - day_start.hour) % 24
            self._clock.now = day_start + timedelta(hours=hour)
            for name in OUTBOUND_ORDER:
                if not view.contactable[customer, cat.CH[name]]:
                    continue
                chosen = self._ask(customer, name, view, context.of(customer))
                if chosen is not None:
                    decisions.action[n] = chosen
                    decisions.channel[n] = cat.CH[name]
                    decisions.hour[n] = hour
                    break
        return decisions

    def learn(self, responses: Responses) -> None:
        respond = self.ov.decisions.respond
        for customer, channel, responded, unsubscribed, complained in zip(
            responses.customer.tolist(),
            responses.channel.tolist(),
            responses.responded.tolist(),
            responses.unsubscribed.tolist(),
            responses.complained.tolist(),
            strict=True,
        ):
            opened = self._open.get((customer, channel))
            if opened is None:
                continue
            decision_id, action_id = opened
            outcomes = ["impression"]
            if unsubscribed:
                outcomes.append("unsubscribe")
            if complained:
                outcomes.append("complaint")
            if responded:
                outcomes += ["click", "accept"]
            elif channel in self.dismiss_ignored:
                outcomes.append("dismiss")
            for outcome in outcomes:
                respond(decision_id, action_id, outcome)
            self.responded += 1

    def begin(self, ids: Identities) -> None:
        """Use the brand's identifiers (the simulator's events carry the same)."""
        self._ids = ids

    def observe(self, day: int, calls: list[dict[str, Any]]) -> None:
        """Collect the day's events through the real collect path, then process them."""
        if self._ov is None:
            return
        if calls:
            self._clock.now = max(self._clock.now, _parse(calls[-1]["timestamp"]))
        for begin in range(0, len(calls), 2_000):
            self._ov.collector.collect(calls[begin : begin + 2_000], source="simulator")
        while self._ov.processor.step().events > 0:
            pass

    def close(self) -> None:
        if self._ov is not None:
            self._ov.close()
        if self._folder is not None:
            self._folder.cleanup()

    # -- internals -------------------------------------------------------------------------
    def _start(self) -> None:
        url = self.database_url
        if url is None:
            self._folder = tempfile.TemporaryDirectory(prefix="onevoice-sim-")
            url = f"{self._folder.name}/onevoice.db"
        settings = Settings(**{"secret_key": "simulator", **self.settings, "database_url": url})
        counter = itertools.count(1)
        prefix = f"sim-{self._ids.tag}-{self.seed}-"
        self._ov = bootstrap(
            settings, clock=self._clock, new_id=lambda: f"{prefix}{next(counter):09d}"
        )
        self._ov.actions.load(self.catalog if self.catalog is not None else harbour_bank_catalog())
        if self.intents:  # intents scored as events arrive: eligibility, features, reasons
            self._ov.intents.load_definitions(harbour_bank_intents())

    def _reference(self, customer: int, view: CustomerView) -> str:
        if view.known[customer]:
            return f"userId:{self._ids.user_id(customer)}"
        return f"anonymousId:{self._ids.anonymous_id(customer, 0)}"

    def _ask(
        self, customer: int, channel: str, view: CustomerView, context: dict[str, Any]
    ) -> int | None:
        """Decide for one customer on one channel; the simulator's action index, or None."""
        decided = self.ov.decisions.decide(self._reference(customer, view), channel, context)
        self.decided += 1
        actions = decided.decision.actions
        if not actions:
            return None
        action_id = actions[0].action_id
        self._open[(customer, cat.CH[channel])] = (decided.decision.decision_id, action_id)
        self.chosen.append((decided.decision.decision_id, action_id))
        return cat.ACTION_INDEX[action_id]

    def _sync_consent(self, view: CustomerView) -> None:
        """Tell onevoice of every consent that changed (all of them the first day), as an
        ``identify`` from the CRM: the brand's own register of who may be contacted where."""
        consent = view.contactable & ~view.closed[:, None]
        changed = (
            np.arange(consent.shape[0])
            if self._consent is None
            else np.flatnonzero((consent != self._consent).any(axis=1))
        )
        self._consent = consent.copy()
        stamp = self._clock.now.isoformat().replace("+00:00", "Z")
        calls = []
        for customer in changed.tolist():
            marketing = {name: bool(consent[customer, cat.CH[name]]) for name in OUTBOUND_ORDER}
            live = not view.closed[customer]
            marketing |= {"web": live, "app": live}
            zone = _ZONE_OF_OFFSET.get(int(view.utc_offset[customer]), "Europe/London")
            call: dict[str, Any] = {
                "type": "identify",
                "messageId": f"{self.tag}-consent-{view.day}-{customer}",
                "timestamp": stamp,
                "traits": {"consent": {"marketing": marketing}, "timezone": zone},
                "context": {"channel": "other"},
            }
            if view.known[customer]:
                call["userId"] = self._ids.user_id(customer)
            else:
                call["anonymousId"] = self._ids.anonymous_id(customer, 0)
                call["traits"]["crm_id"] = f"{self._ids.tag}-{customer:07d}"
            calls.append(call)
        for begin in range(0, len(calls), 2_000):
            self.ov.collector.collect(calls[begin : begin + 2_000], source="crm")
        while self.ov.processor.step().events > 0:
            pass


class _Contexts:
    """The context of a decide request: what the brand has observed of the customer —
    recent interest per topic, the products bought, and whether the card problem was
    solved (a "Case Resolved" seen no earlier than the last event about it)."""

    def __init__(self, view: CustomerView) -> None:
        self._interest = np.round(view.interest, 2).tolist()
        self._bought = (view.bought_day >= 0).tolist()
        problem = view.seen_day[:, 1 + cat.CARD_PROBLEM]
        self._solved = ((view.resolved_day >= problem) & (view.resolved_day >= 0)).tolist()

    def of(self, customer: int) -> dict[str, Any]:
        interest = self._interest[customer]
        bought = self._bought[customer]
        return {
            "interest": dict(zip(cat.TOPIC_NAMES, interest, strict=True)),
            "bought": {name: bought[k] for name, k in _PRODUCTS.items()},
            "solved": {"card_problem": self._solved[customer]},
        }


def _parse(timestamp: str) -> datetime:
    return datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
