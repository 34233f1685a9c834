"""The customer's own view: what onevoice holds about them and why it acted, their
consent and their own contact budget.

The brand's back end mints a short-lived token for its logged-in customer
(:meth:`MeTokens.mint`, with a server key or ``onevoice me-token``); the customer's
browser or app then calls ``/v1/me`` with it. The token is a JWT (HS256) signed with a key
derived from ``ONEVOICE_SECRET_KEY``, naming the customer by the identifier the brand
knows them by; it expires (``ONEVOICE_ME_TOKEN_MINUTES``) and is good for ``/v1/me`` only.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta
from typing import Any

import jwt

from onevoice.domain import identifiers as ids
from onevoice.domain.consent import ConsentChange, check_change, latest
from onevoice.domain.errors import InvalidInput, Unauthorized
from onevoice.domain.events import format_time
from onevoice.domain.policy import PERIODS
from onevoice.services.clock import Clock
from onevoice.services.decision_log import logged_candidates
from onevoice.services.decisions import Decisions
from onevoice.services.ports import Budget, DecisionRecord, Store
from onevoice.services.profiles import Profiles

AUDIENCE = "onevoice:me"
MAX_TTL = timedelta(days=1)
MAX_BUDGET = 1000
RECENT_DECISIONS = 50


class MeTokens:
    """Mints and checks the signed, expiring tokens of ``/v1/me``."""

    def __init__(self, secret: bytes, clock: Clock, *, ttl: timedelta) -> None:
        self._key = hmac.new(secret, b"onevoice me-token v1", hashlib.sha256).digest()
        self._clock = clock
        self._ttl = ttl

    def mint(self, reference: str, ttl: timedelta | None = None) -> tuple[str, datetime]:
        """A token for the customer ``type:value``, and when it expires."""
        customer = ids.parse(reference)
        ttl = self._ttl if ttl is None else ttl
        if not timedelta(seconds=1) <= ttl <= MAX_TTL:
            raise InvalidInput("a token lives from 1 second to 1 day", field="ttl_seconds")
        now = self._clock()
        expires = now + ttl
        claims = {
            "sub": str(customer),
            "aud": AUDIENCE,
            "iat": int(now.timestamp()),
            "exp": int(expires.timestamp()),
            "jti": secrets.token_hex(8),
        }
        return jwt.encode(claims, self._key, algorithm="HS256"), expires

    def check(self, token: str | None) -> str:
        """The customer reference a valid, unexpired token names."""
        if not token:
            raise Unauthorized("a customer token is required (Bearer)", field="authorization")
        try:
            claims = jwt.decode(
                token,
                self._key,
                algorithms=["HS256"],
                audience=AUDIENCE,
                options={"verify_exp": False, "require": ["sub", "exp", "aud"]},
            )
        except jwt.PyJWTError:
            raise Unauthorized("the customer token is not valid", field="authorization") from None
        if not isinstance(claims["exp"], int) or claims["exp"] <= self._clock().timestamp():
            raise Unauthorized("the customer token has expired", field="authorization")
        return str(claims["sub"])


class Me:
    """What one customer may see and change about themselves."""

    def __init__(
        self, store: Store, profiles: Profiles, decisions: Decisions, clock: Clock
    ) -> None:
        self._store = store
        self._decisions = decisions
        self._profiles = profiles
        self._clock = clock

    def view(self, reference: str) -> dict[str, Any]:
        """Profile, identifiers, consent with its history, own budget, recent decisions."""
        profile = self._profiles.view(reference)
        profile_id = profile["profile_id"]
        stored = self._profiles.get(reference)
        history = self._store.consent_of(profile_id)
        subjects = {profile_id} | {
            s for i in stored.identifiers for s in self._decisions.reference_subjects(str(i))
        }
        decisions = self._store.decisions_of(subjects, RECENT_DECISIONS)
        return {
            "profile": profile,
            "consent": {
                "current": [c.to_dict() for c in latest(history).values()],
                "history": [c.to_dict() for c in history],
                "from_traits": profile["traits"].get("consent"),
            },
            "budget": [_budget_json(b) for b in self._store.budgets_of(profile_id)],
            "decisions": [_decision_json(d) for d in decisions],
        }

    def export(self, reference: str) -> dict[str, Any]:
        """Everything :meth:`view` shows plus every event: the machine-readable export."""
        data = self.view(reference)
        profile_id = data["profile"]["profile_id"]
        data["events"] = [e.to_record() for _seq, e in self._store.events_of(profile_id)]
        data["exported_at"] = format_time(self._clock())
        data["format"] = "onevoice.me.v1"
        return data

    def set_consent(
        self, reference: str, purpose: object, channel: object, granted: object, basis: object
    ) -> ConsentChange:
        p, c, g, b = check_change(purpose, channel, granted, basis)
        profile_id = self._profiles.resolve(reference)
        change = ConsentChange(p, c, g, "me", b, self._clock())
        self._store.add_consent(profile_id, [change])
        return change

    def set_budget(self, reference: str, channel: object, period: object, limit: object) -> Budget:
        if not isinstance(channel, str) or not channel or len(channel) > 64:
            raise InvalidInput("channel must be a channel name or '*' for all", field="channel")
        if period not in PERIODS:
            raise InvalidInput(f"period must be one of {', '.join(PERIODS)}", field="period")
        if isinstance(limit, bool) or not isinstance(limit, int) or not 0 <= limit <= MAX_BUDGET:
            raise InvalidInput(
                f"max_messages must be a whole number from 0 to {MAX_BUDGET}", field="max_messages"
            )
        budget = Budget(channel, str(period), limit, self._clock())
        self._store.set_budget(self._profiles.resolve(reference), budget)
        return budget


def _budget_json(budget: Budget) -> dict[str, Any]:
    return {
        "channel": budget.channel,
        "period": budget.period,
        "max_messages": budget.max_contacts,
        "at": budget.at,
    }


def _decision_json(record: DecisionRecord) -> dict[str, Any]:
    body = record.body
    return {
        "decision_id": record.decision_id,
        "at": record.at,
        "channel": record.channel,
        "shown": [
            {"action_id": a.get("action_id"), "reasons": a.get("reasons", [])}
            for a in body.get("actions", [])
        ],
        "reasons": body.get("reasons", []),
        "not_shown": [
            {"action_id": c.get("action_id"), "reasons": c.get("reasons", [])}
            for c in logged_candidates(body)
            if c.get("excluded_by") is not None
        ][:20],
    }
