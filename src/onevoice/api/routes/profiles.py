"""Profiles by any identifier, their timelines and merges. Needs a server key (Bearer)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Path, Query, Request
from starlette.concurrency import run_in_threadpool

from onevoice.api.auth import requires, token_of
from onevoice.api.responses import Json
from onevoice.bootstrap import Onevoice
from onevoice.services.ports import MergeRecord

_REF = Path(
    description="`type:value` — e.g. `userId:u42`, `email:ann@example.com`, "
    "`anonymousId:…`, `phone:+44…`, `crm_id:…`, or `profile:<profile_id>`",
)


def merge_json(record: MergeRecord) -> dict[str, Any]:
    m = record.merge
    return {
        "merge_id": record.merge_id,
        "winner": m.winner,
        "loser": m.loser,
        "rule": m.rule,
        "message_id": m.message_id,
        "via": m.via,
        "at": record.at,
        "undone_at": record.undone_at,
    }


def router(ov: Onevoice) -> APIRouter:
    api = APIRouter(tags=["profiles"], dependencies=[requires(ov.keys, "server")])

    def auth(request: Request) -> None:
        ov.keys.check(token_of(request), "server")

    @api.get("/v1/profiles/{reference}", summary="A person's live profile, by any identifier")
    async def profile(request: Request, reference: str = _REF) -> Json:
        auth(request)
        if ov.background.caught_up():  # a couple of indexed reads: no thread hop needed
            return Json(ov.profiles.view(reference))
        return Json(await run_in_threadpool(ov.profiles.view, reference))

    @api.get(
        "/v1/profiles/{reference}/timeline",
        summary="A person's events on every channel, newest first",
    )
    def timeline(
        request: Request,
        reference: str = _REF,
        limit: int = Query(50, ge=1, le=1000),
        cursor: str | None = Query(None, description="`next_cursor` of the previous page"),
    ) -> Json:
        auth(request)
        page = ov.profiles.timeline(reference, limit, cursor)
        return Json({"events": page.events, "next_cursor": page.next_cursor})

    @api.get(
        "/v1/profiles/{reference}/merges",
        summary="The merges that made this person, with the event and rule of each",
    )
    def merges(request: Request, reference: str = _REF) -> Json:
        auth(request)
        return Json({"merges": [merge_json(r) for r in ov.profiles.merges(reference)]})

    @api.post(
        "/v1/merges/{merge_id}/undo",
        summary="Undo a merge: the merged-away person gets its identifiers and events back",
    )
    async def undo(request: Request, merge_id: int) -> Json:
        actor = ov.keys.check(token_of(request), "admin")
        stays, restored = await run_in_threadpool(ov.profiles.undo_merge, merge_id)
        ov.audit.record(actor.key_id, "merge.undo", str(merge_id))
        return Json({"merge_id": merge_id, "profile_id": stays, "restored_profile_id": restored})

    return api
