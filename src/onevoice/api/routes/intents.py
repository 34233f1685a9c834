"""Intent definitions and the model version in force: read (server key), replace (admin)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body

from onevoice.api.auth import requires
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

    @api.get(
        "/v1/intents",
        summary="The intent definitions and model version in force",
        dependencies=[requires(ov.keys, "server")],
    )
    def get_intents() -> Json:
        return Json(current())

    @api.put(
        "/v1/intents",
        summary="Replace the intent definitions (hand rules until `onevoice train intents`)",
        dependencies=[requires(ov.keys, "admin")],
    )
    def put_intents(definitions: dict[str, Any] = _DEFINITIONS) -> Json:
        ov.intents.load_definitions(definitions)
        return Json(current())

    return api
