"""Privacy and oversight: erase a person, mint customer tokens, read the audit log."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from onevoice.api.auth import requires, token_of
from onevoice.api.responses import Json
from onevoice.bootstrap import Onevoice
from onevoice.domain import identifiers as ids
from onevoice.services.audit import entry_json

_REF = Path(description="`type:value` of the person, e.g. `email:ann@example.com`")


class NewToken(BaseModel):
    customer: str = Field(description="`type:value` the brand knows its customer by")
    ttl_seconds: int | None = Field(
        None,
        ge=1,
        le=86_400,
        description="lifetime in seconds (default ONEVOICE_ME_TOKEN_MINUTES; at most a day)",
    )


def router(ov: Onevoice) -> APIRouter:
    api = APIRouter(tags=["privacy"], dependencies=[requires(ov.keys, "server")])

    @api.delete(
        "/v1/profiles/{reference}",
        summary="Erase a person everywhere; returns the erasure report (admin key)",
    )
    async def erase(request: Request, reference: str = _REF) -> Json:
        record = ov.keys.check(token_of(request), "admin")
        report = await run_in_threadpool(ov.erasure.erase, reference, record.key_id)
        return Json(report)

    @api.post(
        "/v1/me/tokens",
        status_code=201,
        summary="Mint a customer token for /v1/me (server key: the brand's back end)",
    )
    def mint(request: Request, body: NewToken) -> Json:
        actor = ov.keys.check(token_of(request), "server")
        ttl = None if body.ttl_seconds is None else timedelta(seconds=body.ttl_seconds)
        token, expires = ov.me_tokens.mint(body.customer, ttl)
        ov.audit.record(actor.key_id, "me_token.mint", ov.tombstones.of(ids.parse(body.customer)))
        return Json({"token": token, "expires_at": expires}, status_code=201)

    @api.get("/v1/audit", summary="The audit log of admin and erasure actions, newest first")
    def audit(
        request: Request,
        limit: int = Query(100, ge=1, le=1000),
        before: int | None = Query(
            None, ge=1, le=2**62, description="an audit_id: page back from it"
        ),
    ) -> Json:
        ov.keys.check(token_of(request), "admin")
        entries = ov.audit.entries(limit, before)
        return Json({"entries": [entry_json(e) for e in entries]})

    return api
