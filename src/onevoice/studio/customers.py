"""Customer 360, the agent's screen: who this is, what they did everywhere, what to say.

The next best action comes from the decide service for the agent's channel (the agent is
talking to the customer: an inbound request), with its script and reasons; the agent
records what the customer said, and the page shows the conversation change.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from jinja2 import Environment
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from onevoice.api.routes.decide import decided_json
from onevoice.bootstrap import Onevoice
from onevoice.domain.conversation import FINAL_OUTCOMES
from onevoice.domain.errors import InvalidIdentifier, InvalidInput, NotFound
from onevoice.domain.policy import OUTCOMES, Consent
from onevoice.services.ports import ContactLog, StoredProfile
from onevoice.studio.web import PREFIX, check_csrf, form_text, render, staff_of

#: identifier types tried, in order, for a search without ``type:``
#: an intent scoring below this is not shown on the 360 (scores decay towards 0)
INTENT_SHOWN = 0.05
SEARCH_TYPES = ("userId", "email", "phone", "crm_id", "anonymousId", "profile")
AGENT_CHANNELS = ("call_centre", "chat", "branch", "web", "app", "email", "sms", "push", "ivr")
TIMELINE_LIMIT = 100
_HISTORY = timedelta(days=31)
#: an unanswered action shown on the agent's channel this recently is shown again, not re-decided
REUSE_WITHIN = timedelta(minutes=30)


def find(ov: Onevoice, query: str) -> str:
    """The reference (``type:value``) of the customer a search names; NotFound if none."""
    query = query.strip()
    if not query:
        raise InvalidInput("type an identifier, e.g. userId:u42 or ann@example.com", field="q")
    candidates = [query] if ":" in query else [f"{t}:{query}" for t in SEARCH_TYPES]
    for reference in candidates:
        try:
            ov.profiles.resolve(reference)
            return reference
        except (NotFound, InvalidIdentifier, InvalidInput):
            continue
    raise NotFound(f"no customer found for {query!r}", field="q")


def routes(ov: Onevoice, env: Environment) -> list[Route]:
    def customers(request: Request) -> Response:
        who = staff_of(ov, request)
        query = request.query_params.get("q", "")
        channel = request.query_params.get("channel", "call_centre")
        if channel not in AGENT_CHANNELS:
            channel = "call_centre"
        if not query:
            return render(env, request, "customers.html", who, recent=_recent(ov), channel=channel)
        try:
            reference = find(ov, query)
        except (NotFound, InvalidInput) as error:
            return render(
                env,
                request,
                "customers.html",
                who,
                404,
                recent=_recent(ov),
                query=query,
                channel=channel,
                error=error.message,
            )
        shown = set(request.query_params.getlist("show"))
        return render(
            env,
            request,
            "customer.html",
            who,
            **customer_view(ov, reference, channel, shown),
            query=query,
            channel=channel,
            agent_channels=AGENT_CHANNELS,
            outcomes=OUTCOMES,
            done=request.query_params.get("done"),
        )

    async def respond(request: Request) -> Response:
        form = await request.form()
        who = await run_in_threadpool(staff_of, ov, request)
        check_csrf(who, request, form)
        outcome = form_text(form, "outcome")
        await run_in_threadpool(
            ov.decisions.respond,
            form_text(form, "decision_id"),
            form_text(form, "action_id"),
            outcome,
        )
        query = urlencode(
            {"q": form_text(form, "q"), "channel": form_text(form, "channel"), "done": outcome}
        )
        return RedirectResponse(f"{PREFIX}/customers?{query}", 303)

    return [
        Route("/customers", customers, methods=["GET"]),
        Route("/customers/respond", respond, methods=["POST"]),
    ]


def customer_view(ov: Onevoice, reference: str, channel: str, shown: set[str]) -> dict[str, Any]:
    """Everything the 360 page shows, from the profile, decide and the contact log."""
    stored = ov.profiles.get(reference)
    profile = ov.profiles.view(reference)
    events = ov.profiles.timeline(reference, limit=TIMELINE_LIMIT).events
    channels_seen = sorted({e.get("channel", "other") for e in events})
    timeline = [e for e in events if not shown or e.get("channel", "other") in shown]
    now = datetime.now(UTC)
    log = ov.store.contact_log(
        stored.profile_id, now - _HISTORY, now - ov.settings.conversation_window
    )
    decision = _still_open(ov, stored.profile_id, channel, log)
    if decision is None:
        decision = decided_json(ov.decisions.decide(reference, channel, {"agent": True}))
        log = ov.store.contact_log(
            stored.profile_id, now - _HISTORY, now - ov.settings.conversation_window
        )
    conversation = None
    if log.conversation is not None and log.conversation.chosen:
        answered = [r for r in log.conversation_responses if r[0] in FINAL_OUTCOMES]
        conversation = {
            "decision_id": log.conversation.decision_id,
            "action_id": log.conversation.chosen[0][0],
            "channel": log.conversation.channel,
            "opened_at": log.conversation.at,
            "closes_at": log.conversation.at + ov.settings.conversation_window,
            "responses": log.conversation_responses,
            "answered": answered[-1] if answered else None,
        }
    traits = profile["traits"]
    full = " ".join(str(traits[k]) for k in ("firstName", "lastName") if traits.get(k))
    return {
        "reference": reference,
        "display_name": str(traits.get("name") or full or reference),
        "profile": profile,
        "consent": _consent(stored),
        "intents": current_intents(profile.get("intents", [])),
        "timeline": timeline,
        "channels_seen": channels_seen,
        "shown": shown,
        "decision": decision,
        "catalog_names": {a.id: a.name or a.id for a in ov.decisions.catalog},
        "conversation": conversation,
        "contacts": sorted(log.contacts, key=lambda c: c.at, reverse=True)[:20],
        "responses": sorted(log.responses, key=lambda r: r.at, reverse=True)[:20],
    }


def current_intents(scored: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The intents worth an agent's attention (score at least ``INTENT_SHOWN``), best first.

    >>> current_intents([{"name": "savings", "score": 0.45, "reasons": ["query:isa"]},
    ...                  {"name": "mortgage", "score": 0.0, "reasons": []}])
    [{'name': 'savings', 'score': 0.45, 'reasons': ['query:isa'], 'percent': 45}]
    """
    found = [
        {**i, "percent": round(100 * float(i["score"]))}
        for i in scored
        if float(i.get("score") or 0) >= INTENT_SHOWN
    ]
    return sorted(found, key=lambda i: -float(i["score"]))


def _still_open(ov: Onevoice, subject: str, channel: str, log: ContactLog) -> dict[str, Any] | None:
    """The action this channel showed the customer minutes ago, if it is still unanswered.

    An agent reloading the page, or coming back to it during the same call, sees the same
    action again instead of deciding anew — a reload is not a second contact.
    """
    record = ov.store.last_decision(subject, channel, datetime.now(UTC) - REUSE_WITHIN)
    if record is None:
        return None
    action_id = record.chosen[0][0]
    catalog = ov.decisions.catalog
    if action_id not in catalog or channel not in catalog[action_id].treatments:
        return None
    answered = set(ov.store.outcomes_of(record.decision_id, action_id))
    talk = log.conversation
    if talk is not None and talk.decision_id == record.conversation_id:
        answered |= {outcome for outcome, _channel, _at in log.conversation_responses}
    if answered & FINAL_OUTCOMES:
        return None
    body = record.body
    shown = body.get("actions") or [{"action_id": action_id, "reasons": []}]
    return {
        "decision_id": record.decision_id,
        "actions": [
            {
                "action_id": action_id,
                "treatment": catalog[action_id].treatments[channel].to_dict(),
                "reasons": list(shown[0].get("reasons", [])),
            }
        ],
        "reasons": list(body.get("reasons", [])),
        "holdout": bool(body.get("holdout")),
        "control": bool(body.get("control")),
    }


def _consent(stored: StoredProfile) -> list[tuple[str, str, str]]:
    """(purpose, channel, state) for the channels a customer's consent trait names."""
    traits = {name: trait.value for name, trait in stored.state.traits.items()}
    consent = Consent.from_traits(traits)
    keys = sorted(consent.granted | consent.withdrawn)
    return [(purpose, channel, consent.state(purpose, channel)) for purpose, channel in keys]


def _recent(ov: Onevoice) -> list[tuple[str, str]]:
    """A few recently active customers to open (reference, label)."""
    found: list[tuple[str, str]] = []
    for profile_id in ov.store.recent_profile_ids(12):
        stored = ov.store.get_profile(profile_id)
        if stored is None:
            continue
        best = next(
            (i for t in SEARCH_TYPES for i in stored.identifiers if i.type == t),
            None,
        )
        reference = f"{best.type}:{best.value}" if best else f"profile:{profile_id}"
        name = stored.state.traits.get("name")
        found.append((reference, str(name.value) if name else reference))
    return found
