"""Reports over the decision log, as JSON for the Studio to chart. Needs a server key.

Every report answers ``{"report", "since", "until", "rows": [...]}``; each row carries its
estimate with ``lower`` and ``upper`` (95%), figures that do not exist (an interval with
no end, a rate of nothing) as ``null``. The budget report adds ``curves``: points of each
program's fitted response curve with its band.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Query
from starlette.concurrency import run_in_threadpool

from onevoice.api.auth import requires
from onevoice.api.responses import Json
from onevoice.bootstrap import Onevoice
from onevoice.domain.errors import InvalidInput
from onevoice.domain.measure.reports import as_dicts

_SINCE = Query(None, description="start of the period, ISO 8601 (default: 28 days before until)")
_UNTIL = Query(None, description="end of the period, ISO 8601 (default: now)")
_BY = Query(None, description="action, program, channel, segment or all")
_AGAINST = Query("control", description="control (per-action random control) or holdout")
_CHANGE = Query(None, description="budget changes as fractions, comma-separated: -0.1,0.1")


def _time(value: str | None, name: str) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(f"{value!r} is not an ISO 8601 date or time", field=name) from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _changes(value: str | None) -> tuple[float, ...]:
    if value is None:
        return (-0.2, -0.1, 0.1, 0.2)
    try:
        return tuple(float(part) for part in value.split(",") if part.strip())
    except ValueError:
        raise InvalidInput(
            f"change must be fractions separated by commas, like -0.1,0.1, not {value!r}",
            field="change",
        ) from None


def router(ov: Onevoice) -> APIRouter:
    api = APIRouter(tags=["reports"], dependencies=[requires(ov.keys, "server")])
    reports = ov.reports

    def answer(kind: str, since: str | None, until: str | None, **extra: Any) -> dict[str, Any]:
        start, end = reports.period(_time(since, "since"), _time(until, "until"))
        return {"report": kind, "since": start, "until": end, **extra}

    @api.get("/v1/reports/lift", summary="Lift with 95% intervals, per action, program, …")
    async def lift(
        since: str | None = _SINCE,
        until: str | None = _UNTIL,
        by: str | None = _BY,
        against: str = _AGAINST,
    ) -> Json:
        body = answer("lift", since, until, by=by or "action", against=against)
        rows = await run_in_threadpool(
            reports.lift, body["since"], body["until"], by=body["by"], against=against
        )
        return Json({**body, "rows": as_dicts(rows)})

    @api.get("/v1/reports/roi", summary="Incremental revenue, cost, net, ROI; ranked")
    async def roi(
        since: str | None = _SINCE,
        until: str | None = _UNTIL,
        by: str | None = _BY,
        against: str = _AGAINST,
    ) -> Json:
        default = "program" if against == "control" else "all"
        body = answer("roi", since, until, by=by or default, against=against)
        rows = await run_in_threadpool(
            reports.roi, body["since"], body["until"], by=body["by"], against=against
        )
        return Json({**body, "rows": as_dicts(rows)})

    @api.get("/v1/reports/budget", summary="What ±X% contacts would bring, per program")
    async def budget(
        since: str | None = _SINCE,
        until: str | None = _UNTIL,
        change: str | None = _CHANGE,
    ) -> Json:
        changes = _changes(change)
        body = answer("budget", since, until, changes=changes)
        rows, curves = await run_in_threadpool(
            reports.budget, body["since"], body["until"], changes=changes
        )
        return Json({**body, "rows": as_dicts(rows), "curves": as_dicts(curves)})

    @api.get("/v1/reports/respect", summary="Messages per customer, unsubscribes, erosion")
    async def respect(
        since: str | None = _SINCE,
        until: str | None = _UNTIL,
        by: str | None = _BY,
    ) -> Json:
        body = answer("respect", since, until, by=by or "action")
        rows = await run_in_threadpool(reports.respect, body["since"], body["until"], by=body["by"])
        return Json({**body, "rows": as_dicts(rows)})

    @api.get("/v1/reports/components", summary="What each part of the engine earns")
    async def components(since: str | None = _SINCE, until: str | None = _UNTIL) -> Json:
        body = answer("components", since, until)
        rows = await run_in_threadpool(reports.components, body["since"], body["until"])
        return Json({**body, "rows": as_dicts(rows)})

    return api
