"""Journeys: the discovered map, friction, conformance to a designed journey, the
engagement gap and value by channel mix. Needs a server key (Bearer)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Body, Query
from starlette.concurrency import run_in_threadpool

from onevoice.api.auth import requires
from onevoice.api.responses import Json
from onevoice.bootstrap import Onevoice
from onevoice.domain.errors import InvalidEvent, InvalidInput
from onevoice.domain.events import parse_time
from onevoice.domain.journeys import DesignedJourney
from onevoice.journeys.analytics import Filters, JourneyAnalytics, rules_from
from onevoice.journeys.sources import from_store, shown_from_store

_SEGMENT = Query(None, description="`single-channel`, `multi-channel` or `channel:NAME`")
_FROM = Query(None, alias="from", description="ISO 8601 time; events at or after it")
_TO = Query(None, alias="to", description="ISO 8601 time; events before it")
_ENTRY = Query(None, description="journeys whose first step is this step id or event")
_GAP = Query(None, ge=0.01, le=24 * 90, description="inactivity gap that ends a journey (hours)")
_GRANULARITY = Query(None, description="step names: `reason` (default), `event` or `channel`")
_DESIGN = Body(
    description='{"name": "...", "steps": ["web:Card Not Working", "Call Received", '
    '{"event": "Case Resolved", "channel": "call_centre"}]}'
)


def _time(text: str | None, field: str) -> datetime | None:
    try:
        return parse_time(text, field) if text else None
    except InvalidEvent as error:
        raise InvalidInput(error.message, field=field) from None


def router(ov: Onevoice) -> APIRouter:
    api = APIRouter(tags=["journeys"], dependencies=[requires(ov.keys, "server")])

    def analytics(gap_hours: float | None, granularity: str | None) -> Any:
        rules = rules_from(ov.settings, gap_hours=gap_hours, granularity=granularity or "reason")
        ov.background.sync()
        return JourneyAnalytics(
            lambda s, e: from_store(ov.store, s, e),
            *rules,
            shown=lambda s, e: shown_from_store(ov.store, s, e),
        )

    def filters(
        segment: str | None, start: str | None, end: str | None, entry: str | None
    ) -> Filters:
        return Filters(segment, _time(start, "from"), _time(end, "to"), entry)

    @api.get("/v1/journeys/map", summary="The journeys customers take: steps, transitions, paths")
    async def journey_map(
        segment: str | None = _SEGMENT,
        start: str | None = _FROM,
        end: str | None = _TO,
        entry: str | None = _ENTRY,
        gap_hours: float | None = _GAP,
        granularity: str | None = _GRANULARITY,
        top: int = Query(20, ge=1, le=500, description="how many paths and end steps"),
    ) -> Json:
        chosen = filters(segment, start, end, entry)
        reports = analytics(gap_hours, granularity)
        result = await run_in_threadpool(reports.map, chosen, top=top)
        return Json(result.to_json())

    @api.get("/v1/journeys/friction", summary="Repeat contacts, channel hopping, dead ends, waits")
    async def journey_friction(
        segment: str | None = _SEGMENT,
        start: str | None = _FROM,
        end: str | None = _TO,
        entry: str | None = _ENTRY,
        gap_hours: float | None = _GAP,
        limit: int = Query(100, ge=0, le=10_000, description="flagged journeys listed"),
    ) -> Json:
        chosen = filters(segment, start, end, entry)
        reports = analytics(gap_hours, None)
        result = await run_in_threadpool(reports.friction, chosen)
        return Json(result.to_json(limit))

    @api.get("/v1/journeys/gap", summary="The five signs of the engagement gap, and by week")
    async def journey_gap(
        segment: str | None = _SEGMENT,
        start: str | None = _FROM,
        end: str | None = _TO,
        gap_hours: float | None = _GAP,
    ) -> Json:
        chosen = filters(segment, start, end, None)
        reports = analytics(gap_hours, None)
        return Json(await run_in_threadpool(reports.gap, chosen))

    @api.get("/v1/journeys/value", summary="Value, conversion and retention by channel mix")
    async def journey_value(start: str | None = _FROM, end: str | None = _TO) -> Json:
        chosen = filters(None, start, end, None)
        reports = analytics(None, None)
        table = await run_in_threadpool(reports.value, chosen)
        return Json({"groups": table.to_dicts()})

    @api.post(
        "/v1/journeys/conformance",
        summary="How real journeys follow a designed one, where they leave it",
    )
    async def journey_conformance(
        design: dict[str, Any] = _DESIGN,
        segment: str | None = _SEGMENT,
        start: str | None = _FROM,
        end: str | None = _TO,
        gap_hours: float | None = _GAP,
    ) -> Json:
        designed = DesignedJourney.parse(design)
        chosen = filters(segment, start, end, None)
        reports = analytics(gap_hours, None)
        result = await run_in_threadpool(reports.conformance, designed, chosen)
        return Json(result.to_json())

    return api
