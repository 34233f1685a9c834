"""The action catalog: list, read and replace actions. Needs an admin key (Bearer)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Request

from onevoice.api.auth import requires, token_of
from onevoice.api.responses import Json
from onevoice.bootstrap import Onevoice

_ACTION = Body(
    description="an action as in a catalog file: purpose, treatments per channel, value, "
    "cost, weight, validity window, cooldown, maximum, eligibility (CEL)…",
)


def router(ov: Onevoice) -> APIRouter:
    api = APIRouter(tags=["actions"], dependencies=[requires(ov.keys, "admin")])

    @api.get("/v1/actions", summary="Every action of the catalog")
    def list_actions(request: Request) -> Json:
        ov.keys.check(token_of(request), "admin")
        return Json({"actions": ov.actions.list()})

    @api.get("/v1/actions/{action_id}", summary="One action")
    def get_action(request: Request, action_id: str) -> Json:
        ov.keys.check(token_of(request), "admin")
        return Json(ov.actions.get(action_id))

    @api.put(
        "/v1/actions/{action_id}",
        summary="Add or replace an action; invalid fields and rules are refused by name",
    )
    def put_action(request: Request, action_id: str, action: dict[str, Any] = _ACTION) -> Json:
        actor = ov.keys.check(token_of(request), "admin")
        saved = ov.actions.put(action_id, action)
        ov.audit.record(actor.key_id, "action.put", action_id)
        return Json(saved)

    return api
