"""The customer's own view: ``/v1/me`` with a customer token the brand minted.

``GET /v1/me`` shows what onevoice holds and why it acted (a readable page; ``?format=json``
downloads the machine-readable export with every event); ``POST /v1/me/consent`` and
``POST /v1/me/budget`` change consent and the customer's own contact budget.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool
from starlette.responses import HTMLResponse

from onevoice.api.me_page import render
from onevoice.api.responses import Json
from onevoice.bootstrap import Onevoice
from onevoice.domain.errors import Unauthorized

_SECURITY: dict[str, Any] = {"security": [{"customer": []}]}
#: personal data: never cached, never leaking the token in a Referer, no scripts on the page
_PRIVATE = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}
_PAGE = _PRIVATE | {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
    "X-Frame-Options": "DENY",
}


class ConsentBody(BaseModel):
    purpose: str = Field(description="marketing, service or profiling")
    channel: str = Field("*", description="a channel (email, sms, web…) or `*` for all")
    granted: bool
    legal_basis: str = Field("consent", description="consent, contract, legitimate_interests…")


class BudgetBody(BaseModel):
    max_messages: int = Field(description="at most this many marketing messages per period")
    period: str = Field("week", description="day, week or month")
    channel: str = Field("*", description="a channel, or `*` for all channels together")


def router(ov: Onevoice) -> APIRouter:
    def customer(request: Request) -> str:
        """The customer a request's token names (Bearer, or ``?token=`` for a link)."""
        header = request.headers.get("authorization", "")
        scheme, _sep, value = header.partition(" ")
        if header and scheme.lower() != "bearer":
            raise Unauthorized("send the customer token as Bearer", field="authorization")
        token = value.strip() if header else request.query_params.get("token")
        return ov.me_tokens.check(token)

    def token_first(request: Request) -> None:
        """The customer token is checked before the body is validated."""
        customer(request)

    api = APIRouter(tags=["me"], dependencies=[Depends(token_first)])

    @api.get(
        "/v1/me",
        summary="What onevoice holds about me and why it acted (readable, or a JSON export)",
        openapi_extra=_SECURITY,
        response_model=None,
    )
    async def me(
        request: Request,
        format: Literal["html", "json"] = Query(
            "html", description="`html`: a readable page; `json`: the machine-readable export"
        ),
        token: str | None = Query(None, description="the customer token, if not sent as Bearer"),
    ) -> Any:
        reference = customer(request)
        if format == "json":
            data = await run_in_threadpool(ov.me.export, reference)
            return Json(
                data,
                headers=_PRIVATE
                | {"Content-Disposition": 'attachment; filename="onevoice-me.json"'},
            )
        view = await run_in_threadpool(ov.me.view, reference)
        return HTMLResponse(render(view), headers=_PAGE)

    @api.post("/v1/me/consent", summary="Grant or withdraw my consent", openapi_extra=_SECURITY)
    def consent(request: Request, body: ConsentBody) -> Json:
        reference = customer(request)
        change = ov.me.set_consent(
            reference, body.purpose, body.channel, body.granted, body.legal_basis
        )
        return Json({"consent": change.to_dict()})

    @api.post(
        "/v1/me/budget",
        summary="My own contact budget: at most N marketing messages a period",
        openapi_extra=_SECURITY,
    )
    def budget(request: Request, body: BudgetBody) -> Json:
        reference = customer(request)
        saved = ov.me.set_budget(reference, body.channel, body.period, body.max_messages)
        return Json(
            {
                "budget": {
                    "channel": saved.channel,
                    "period": saved.period,
                    "max_messages": saved.max_contacts,
                    "at": saved.at,
                }
            }
        )

    return api
