"""Journeys and dashboards: charts over the journeys service and the reports.

The pages render at once (a form and empty chart boxes); the figures come from JSON
endpoints under ``/studio/api/`` that the page loads next, because a journey map of a
large window takes longer than a page should. Their answers are kept for
``CACHE_SECONDS`` per set of filters, so going back and forth between filters is quick.

``studio_app(ov, journeys=store_journeys(ov), reports=ov.reports)`` wires them (the API
does); a Studio built without them says so on these pages rather than draw made-up data.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol, cast

import orjson
import polars as pl
from jinja2 import Environment
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from onevoice.bootstrap import Onevoice
from onevoice.domain.errors import InvalidInput
from onevoice.domain.journeys import DesignedJourney
from onevoice.domain.measure.reports import as_dicts
from onevoice.journeys.analytics import Filters, JourneyAnalytics, rules_from
from onevoice.journeys.sources import from_store, shown_from_store
from onevoice.studio import charts
from onevoice.studio.web import render, staff_of

#: builds the journeys facade over the store (fresh rules and data each call)
JourneySource = Callable[[str], JourneyAnalytics]
CACHE_SECONDS = 60.0
GRANULARITIES = ("reason", "event", "channel")
#: the budget changes the what-if slider steps through (−50% … +50% contacts)
SLIDER = tuple(round(k / 20, 2) for k in range(-10, 11) if k)
FRICTION_LISTED = 20


class ReportSource(Protocol):
    """What the dashboards read: :class:`onevoice.services.reports.Reports`."""

    def period(
        self, since: datetime | None = None, until: datetime | None = None
    ) -> tuple[datetime, datetime]: ...

    def lift(
        self, since: datetime | None = None, until: datetime | None = None, *,
        by: str = "action", against: str = "control",
    ) -> list[Any]: ...  # fmt: skip

    def roi(
        self, since: datetime | None = None, until: datetime | None = None, *,
        by: str = "program", against: str = "control",
    ) -> list[Any]: ...  # fmt: skip

    def budget(
        self, since: datetime | None = None, until: datetime | None = None, *,
        changes: Any = (-0.2, -0.1, 0.1, 0.2),
    ) -> tuple[list[Any], list[Any]]: ...  # fmt: skip

    def respect(
        self, since: datetime | None = None, until: datetime | None = None, *, by: str = "action"
    ) -> list[Any]: ...


def store_journeys(ov: Onevoice) -> JourneySource:
    """The journeys facade over the store's events, as ``GET /v1/journeys/*`` builds it;
    a window's events, read from the store (most of a map's time), are kept
    ``CACHE_SECONDS`` so another segment, entry step or naming of the same window is quick."""
    windows = Cache(size=4)

    def events(since: datetime | None, until: datetime | None) -> pl.LazyFrame:
        frame = windows.get((since, until), lambda: from_store(ov.store, since, until).collect())
        return cast(pl.DataFrame, frame).lazy()

    def make(granularity: str) -> JourneyAnalytics:
        rules = rules_from(ov.settings, granularity=granularity)
        ov.background.sync()
        return JourneyAnalytics(
            events,
            *rules,
            shown=lambda s, e: shown_from_store(ov.store, s, e),
        )

    return make


class Cache:
    """A few recent answers, each kept ``seconds`` (one lock: the answers are small)."""

    def __init__(self, seconds: float = CACHE_SECONDS, size: int = 32) -> None:
        self.seconds, self.size = seconds, size
        self._kept: OrderedDict[tuple[Any, ...], tuple[float, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[Any, ...], compute: Callable[[], Any]) -> Any:
        now = time.monotonic()
        with self._lock:
            found = self._kept.get(key)
            if found is not None and found[0] > now:
                return found[1]
        value = compute()
        with self._lock:
            self._kept[key] = (now + self.seconds, value)
            while len(self._kept) > self.size:
                self._kept.popitem(last=False)
        return value


def day(text: str | None, field: str, *, end: bool = False) -> datetime | None:
    """A date (``2026-11-01``, the whole day) or an ISO 8601 time, UTC unless it says."""
    if not text or not text.strip():
        return None
    text = text.strip()
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(
            f"{text!r} is not a date (YYYY-MM-DD) or ISO 8601 time", field=field
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    if end and len(text) == 10:  # a date as the end of a period includes that day
        moment += timedelta(days=1)
    return moment


def journey_filters(params: Mapping[str, str]) -> tuple[Filters, str]:
    granularity = (params.get("granularity") or "reason").strip()
    if granularity not in GRANULARITIES:
        raise InvalidInput(
            f"granularity must be one of {', '.join(GRANULARITIES)}", field="granularity"
        )
    filters = Filters(
        (params.get("segment") or "").strip() or None,
        day(params.get("from"), "from"),
        day(params.get("to"), "to", end=True),
        (params.get("entry") or "").strip() or None,
    )
    return filters, granularity


def journey_answer(source: JourneySource, params: Mapping[str, str]) -> dict[str, Any]:
    """The map (as a Sankey and a flow graph), its top paths and the friction hot spots."""
    filters, granularity = journey_filters(params)
    analytics = source(granularity)
    found = analytics.map(filters, top=15).to_json()
    friction = analytics.friction(filters).to_json(FRICTION_LISTED)
    return {
        "journeys": found["journeys"],
        "customers": found["customers"],
        "steps": len(found["nodes"]),
        "drawn_steps": len(charts.busiest(found)[0]),
        "sankey": charts.sankey_figure(found),
        "flow": charts.flow_figure(found),
        "paths": found["paths"],
        "ends": found["ends"][:10],
        "entries": [n["id"] for n in found["nodes"] if n.get("starts")][:40],
        "friction": {
            "summary": friction["summary"],
            "where": friction["where"],
            "flagged_journeys": friction["flagged_journeys"],
            "figure": charts.friction_figure(friction["summary"]),
        },
    }


def conformance_answer(source: JourneySource, params: Mapping[str, str]) -> dict[str, Any]:
    """How the real journeys follow the designed one given as ``steps``, one per line."""
    filters, _granularity = journey_filters({**params, "entry": ""})
    lines = [line.strip() for line in (params.get("steps") or "").splitlines() if line.strip()]
    name = (params.get("name") or "").strip() or "designed journey"
    design = DesignedJourney.parse({"name": name, "steps": lines})
    return source("reason").conformance(design, filters).to_json()


def dashboards_answer(
    reports: ReportSource, journeys: JourneySource | None, params: Mapping[str, str]
) -> dict[str, Any]:
    """ROI and lift with intervals, the budget what-if, respect, and the weekly gap."""
    since, until = reports.period(
        day(params.get("since"), "since"), day(params.get("until"), "until", end=True)
    )
    roi = as_dicts(reports.roi(since, until, by="program"))
    lift = as_dicts(reports.lift(since, until, by="program"))
    rows, curves = reports.budget(since, until, changes=SLIDER)
    respect = as_dicts(reports.respect(since, until, by="action"))
    weekly: list[dict[str, Any]] = []
    if journeys is not None:
        weekly = journeys("reason").gap(Filters(None, since, until, None))["weekly"]
    return {
        "since": since.isoformat(),
        "until": until.isoformat(),
        "roi": {"rows": roi, "figure": charts.roi_figure(roi)},
        "lift": {"rows": lift, "figure": charts.lift_figure(lift)},
        "budget": {"rows": as_dicts(rows), "curves": as_dicts(curves), "changes": SLIDER},
        "respect": {"rows": respect, "figure": charts.respect_figure(respect)},
        "gap": {"weekly": weekly, "figure": charts.gap_figure(weekly)},
    }


def routes(
    ov: Onevoice,
    env: Environment,
    journeys: JourneySource | None = None,
    reports: ReportSource | None = None,
) -> list[Route]:
    cache = Cache()

    def journeys_page(request: Request) -> Response:
        who = staff_of(ov, request)
        return render(
            env,
            request,
            "journeys.html",
            who,
            available=journeys is not None,
            filters=dict(request.query_params),
            segments=("single-channel", "multi-channel"),
            granularities=GRANULARITIES,
        )

    async def journeys_api(request: Request) -> Response:
        staff_of(ov, request)
        if journeys is None:
            return _unavailable("journeys")
        params = dict(request.query_params)
        journey_filters(params)  # a bad filter answers before any work
        key = ("map", *sorted(params.items()))
        found = await run_in_threadpool(cache.get, key, lambda: journey_answer(journeys, params))
        return _json(found)

    async def conformance_api(request: Request) -> Response:
        staff_of(ov, request)
        if journeys is None:
            return _unavailable("journeys")
        params = dict(request.query_params)
        key = ("conformance", *sorted(params.items()))
        found = await run_in_threadpool(
            cache.get, key, lambda: conformance_answer(journeys, params)
        )
        return _json(found)

    def dashboards_page(request: Request) -> Response:
        who = staff_of(ov, request, "marketer")
        return render(
            env,
            request,
            "dashboards.html",
            who,
            available=reports is not None,
            filters=dict(request.query_params),
        )

    async def dashboards_api(request: Request) -> Response:
        staff_of(ov, request, "marketer")
        if reports is None:
            return _unavailable("reports")
        params = {k: v for k, v in request.query_params.items() if k in ("since", "until")}
        key = ("dashboards", *sorted(params.items()))
        found = await run_in_threadpool(
            cache.get, key, lambda: dashboards_answer(reports, journeys, params)
        )
        return _json(found)

    return [
        Route("/journeys", journeys_page, methods=["GET"]),
        Route("/api/journeys", journeys_api, methods=["GET"]),
        Route("/api/journeys/conformance", conformance_api, methods=["GET"]),
        Route("/dashboards", dashboards_page, methods=["GET"]),
        Route("/api/dashboards", dashboards_api, methods=["GET"]),
    ]


def _json(value: object, status: int = 200) -> Response:
    """orjson: dates as ISO 8601, undefined figures (NaN) as ``null`` — valid JSON."""
    body = orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS)
    return Response(body, status, media_type="application/json")


def _unavailable(what: str) -> Response:
    message = f"this Studio was started without the {what} service"
    return _json({"error": {"code": "unavailable", "message": message, "field": None}}, 503)
