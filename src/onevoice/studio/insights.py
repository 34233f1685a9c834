"""Journeys and dashboards: charts over services other parts of onevoice provide.

The journey map (``GET /v1/journeys/map``: nodes, edges, paths) and the reports
(``/v1/reports/{lift,roi,budget,respect}``) are built elsewhere. The Studio takes them
as callables (``studio_app(ov, journeys=…, reports=…)``); until they are wired the
pages say plainly that they are not available yet, rather than draw made-up data.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import orjson
from jinja2 import Environment
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from onevoice.bootstrap import Onevoice
from onevoice.studio.web import CHANNEL_ICONS, render, script_json, staff_of

JourneySource = Callable[[Mapping[str, str]], Mapping[str, Any]]
ReportSource = Callable[[str, Mapping[str, str]], Mapping[str, Any]]
REPORTS = ("lift", "roi", "budget", "respect")


def sankey_figure(journey_map: Mapping[str, Any]) -> dict[str, Any]:
    """A plotly Sankey of a journey map's nodes and edges (counts as link widths).

    >>> fig = sankey_figure({"nodes": [{"id": "a", "label": "Home", "channel": "web",
    ...     "count": 3}, {"id": "b", "label": "Call", "channel": "call_centre", "count": 1}],
    ...     "edges": [{"source": "a", "target": "b", "count": 1, "share": 0.33,
    ...     "median_seconds": 60}]})
    >>> fig["data"][0]["link"]["source"], fig["data"][0]["link"]["value"]
    ([0], [1])
    """
    nodes = list(journey_map.get("nodes", []))
    index = {node["id"]: n for n, node in enumerate(nodes)}
    edges = [
        e for e in journey_map.get("edges", []) if e["source"] in index and e["target"] in index
    ]
    return {
        "data": [
            {
                "type": "sankey",
                "arrangement": "snap",
                "node": {
                    "label": [f"{n.get('label', n['id'])} ({n.get('channel', '')})" for n in nodes],
                    "pad": 14,
                    "color": [
                        CHANNEL_ICONS.get(str(n.get("channel")), CHANNEL_ICONS["other"])[1]
                        for n in nodes
                    ],
                },
                "link": {
                    "source": [index[e["source"]] for e in edges],
                    "target": [index[e["target"]] for e in edges],
                    "value": [e["count"] for e in edges],
                    "customdata": [
                        [round(100 * float(e.get("share", 0)), 1), e.get("median_seconds")]
                        for e in edges
                    ],
                    "hovertemplate": "%{source.label} → %{target.label}<br>%{value} customers "
                    "(%{customdata[0]}%)<br>median %{customdata[1]} s<extra></extra>",
                },
            }
        ],
        "layout": {"margin": {"l": 10, "r": 10, "t": 10, "b": 10}, "height": 520},
    }


def routes(
    ov: Onevoice,
    env: Environment,
    journeys: JourneySource | None = None,
    reports: ReportSource | None = None,
) -> list[Route]:
    def journeys_page(request: Request) -> Response:
        who = staff_of(ov, request)
        if journeys is None:
            return render(env, request, "journeys.html", who, available=False)
        found = journeys(dict(request.query_params))
        return render(
            env,
            request,
            "journeys.html",
            who,
            available=True,
            figure=script_json(sankey_figure(found)),
            paths=found.get("paths", [])[:20],
            filters=dict(request.query_params),
        )

    def dashboards_page(request: Request) -> Response:
        who = staff_of(ov, request)
        if reports is None:
            return render(env, request, "dashboards.html", who, available=False)
        params = dict(request.query_params)
        found = {name: reports(name, params) for name in REPORTS}
        return render(
            env,
            request,
            "dashboards.html",
            who,
            available=True,
            reports={k: orjson.dumps(v).decode() for k, v in found.items()},
        )

    return [
        Route("/journeys", journeys_page, methods=["GET"]),
        Route("/dashboards", dashboards_page, methods=["GET"]),
    ]
