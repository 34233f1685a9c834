"""Admin: API keys per source (create, list, revoke). Needs an admin key."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from onevoice.api.auth import requires, token_of
from onevoice.api.responses import Json
from onevoice.bootstrap import Onevoice
from onevoice.services.ports import KeyRecord


class NewKey(BaseModel):
    kind: str = Field(description="write (collect), server (read profiles), admin (everything)")
    name: str = Field(description="the source or person the key is for", min_length=1)


def key_json(record: KeyRecord) -> dict[str, Any]:
    return {
        "key_id": record.key_id,
        "kind": record.kind,
        "name": record.name,
        "created_at": record.created_at,
        "revoked_at": record.revoked_at,
    }


def router(ov: Onevoice) -> APIRouter:
    api = APIRouter(tags=["admin"], dependencies=[requires(ov.keys, "admin")])

    @api.post("/v1/admin/keys", status_code=201, summary="Create a key; the secret is shown once")
    def create(request: Request, new: NewKey) -> Json:
        actor = ov.keys.check(token_of(request), "admin")
        record, token = ov.keys.create(new.kind, new.name)
        ov.audit.record(
            actor.key_id, "key.create", record.key_id, kind=record.kind, name=record.name
        )
        return Json(key_json(record) | {"key": token}, status_code=201)

    @api.get("/v1/admin/keys", summary="List keys (never their secrets)")
    def list_keys(request: Request) -> Json:
        ov.keys.check(token_of(request), "admin")
        return Json({"keys": [key_json(k) for k in ov.keys.list()]})

    @api.delete("/v1/admin/keys/{key_id}", summary="Revoke a key; it stops working at once")
    def revoke(request: Request, key_id: str) -> Json:
        actor = ov.keys.check(token_of(request), "admin")
        ov.keys.revoke(key_id)
        ov.audit.record(actor.key_id, "key.revoke", key_id)
        return Json({"key_id": key_id, "revoked": True})

    return api
