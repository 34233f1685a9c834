"""Intent definitions and the model version in force: read (server key), replace (admin)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Request

from onevoice.api.auth import token_of
from onevoice.api.responses import Json
from onevoice.bootstrap import Onevoice

_DEFINITIONS = Body(
    description="intent definitions as in `sim/harbour_bank_intents.yaml`: `intents`, each "
    "with name, outcomes, hints, half_life_hours, horizon_days",
)


def router(ov: Onevoice) -> APIRouter:
    api = APIRouter(tags=["intents"])

    def current() -> dict[str, Any]:
        model = ov.intents.model
        return {
            "version": model.version,
            "kind": model.kind,
            "trained": sorted(model.models),
            "definitions": model.definitions.to_record(),
        }

    @api.get("/v1/intents", summary="The intent definitions and model version in force")
    def get_intents(request: Request) -> Json:
        ov.keys.check(token_of(request), "server")
        return Json(current())

    @api.put(
        "/v1/intents",
        summary="Replace the intent definitions (hand rules until `onevoice train intents`)",
    )
    def put_intents(request: Request, definitions: dict[str, Any] = _DEFINITIONS) -> Json:
        ov.keys.check(token_of(request), "admin")
        ov.intents.load_definitions(definitions)
        return Json(current())

    return api
