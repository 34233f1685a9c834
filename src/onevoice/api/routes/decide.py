"""Decide and responses: the next best action for a channel, and what came of it.

Both need a server key (Bearer).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from onevoice.api.auth import requires
from onevoice.api.responses import Json
from onevoice.bootstrap import Onevoice
from onevoice.services.decisions import Decided


class DecideBody(BaseModel):
    customer: str = Field(description="`type:value`, e.g. `userId:u42` or `email:ann@example.com`")
    channel: str = Field(description="the channel asking: web, app, email, call_centre…")
    context: dict[str, Any] = Field(
        default_factory=dict, description="what eligibility rules read as `context`"
    )
    k: int = Field(1, description="how many actions the channel can show (1-20)")


class ResponseBody(BaseModel):
    decision_id: str
    action_id: str
    outcome: str = Field(
        description="impression, click, accept, dismiss, convert, complaint or unsubscribe"
    )
    value: float | None = Field(None, description="e.g. the revenue of a conversion")


def decided_json(decided: Decided) -> dict[str, Any]:
    d = decided.decision
    return {
        "decision_id": d.decision_id,
        "customer": decided.customer,
        "channel": d.channel,
        "actions": [
            {
                "action_id": a.action_id,
                "treatment": a.treatment.to_dict(),
                "score": a.score,
                "reasons": list(a.reasons),
            }
            for a in d.actions
        ],
        "reasons": list(d.reasons),
        "holdout": d.holdout,
        "control": d.control,
        "component": d.component,
        "conversation": d.honoured,
        "propensity": d.propensity,
        "model_version": d.model_version,
    }


def _decide(ov: Onevoice, body: DecideBody) -> Json:
    return Json(
        decided_json(ov.decisions.decide(body.customer, body.channel, body.context, body.k))
    )


def router(ov: Onevoice) -> APIRouter:
    api = APIRouter(tags=["decide"], dependencies=[requires(ov.keys, "server")])

    summary = "The next best action for a customer on a channel — often none — with reasons"
    if ov.decisions.waits_only_for_cpu:  # on the event loop, in order of arrival

        @api.post("/v1/decide", summary=summary)
        async def decide_here(body: DecideBody) -> Json:  # the router's dependency checked the key
            return _decide(ov, body)

    else:  # in a worker thread, so that one decide's waits do not hold up the others

        @api.post("/v1/decide", summary=summary)
        def decide(body: DecideBody) -> Json:
            return _decide(ov, body)

    @api.post(
        "/v1/responses",
        summary="What the customer did with an action; the same response twice counts once",
    )
    def respond(body: ResponseBody) -> Json:
        done = ov.decisions.respond(body.decision_id, body.action_id, body.outcome, body.value)
        return Json(
            {
                "decision_id": done.decision_id,
                "action_id": done.action_id,
                "outcome": done.outcome,
                "recorded": done.recorded,
                "duplicate": not done.recorded,
                "learned": done.learned,
                "reward": done.reward,
            }
        )

    return api
