"""Plotly figures (plain dicts, drawn in the browser by plotly.js) of the journey map and
the reports. Pure functions of the services' JSON, so they are easy to check."""

from __future__ import annotations

import math
from collections import defaultdict, deque
from collections.abc import Mapping, Sequence
from typing import Any

from onevoice.studio.web import CHANNEL_ICONS

#: the busiest steps and transitions drawn (a map of every step is unreadable)
MAX_NODES = 24
MAX_EDGES = 60
BLUE, GREY, RED = "#0b57d0", "#5f6670", "#b3261e"


def _colour(channel: object) -> str:
    return CHANNEL_ICONS.get(str(channel), CHANNEL_ICONS["other"])[1]


def _label(node: Mapping[str, Any]) -> str:
    return f"{node.get('label') or node['id']} ({str(node.get('channel') or '').replace('_', ' ')})"


def busiest(journey_map: Mapping[str, Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The ``MAX_NODES`` busiest steps and the ``MAX_EDGES`` busiest transitions between
    them, loops (a step followed by itself) left out, and steps left with no transition."""
    nodes = sorted(journey_map.get("nodes", []), key=lambda n: (-n["count"], n["id"]))[:MAX_NODES]
    kept = {n["id"] for n in nodes}
    edges = [
        e
        for e in journey_map.get("edges", [])
        if e["source"] in kept and e["target"] in kept and e["source"] != e["target"]
    ]
    edges.sort(key=lambda e: (-e["count"], e["source"], e["target"]))
    edges = edges[:MAX_EDGES]
    linked = {e["source"] for e in edges} | {e["target"] for e in edges}
    return [n for n in nodes if n["id"] in linked], edges


def acyclic(edges: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The busiest transitions that flow one way: each edge, busiest first, is kept unless
    it closes a cycle with those kept (a Sankey of cycles is a tangle; the flow graph shows
    the way back).

    >>> [(e["source"], e["target"]) for e in acyclic([{"source": "a", "target": "b",
    ...     "count": 5}, {"source": "b", "target": "a", "count": 2}])]
    [('a', 'b')]
    """
    outgoing: dict[str, set[str]] = defaultdict(set)

    def reaches(start: str, goal: str) -> bool:
        seen, todo = {start}, [start]
        while todo:
            here = todo.pop()
            if here == goal:
                return True
            for there in outgoing[here] - seen:
                seen.add(there)
                todo.append(there)
        return False

    kept = []
    for e in sorted(edges, key=lambda e: -e["count"]):
        if not reaches(e["target"], e["source"]):
            outgoing[e["source"]].add(e["target"])
            kept.append(e)
    return kept


def sankey_figure(journey_map: Mapping[str, Any]) -> dict[str, Any]:
    """A plotly Sankey of a journey map's busiest steps and one-way transitions (see
    :func:`acyclic`; counts as widths).

    >>> fig = sankey_figure({"nodes": [{"id": "a", "label": "Home", "channel": "web",
    ...     "count": 3}, {"id": "b", "label": "Call", "channel": "call_centre", "count": 1}],
    ...     "edges": [{"source": "a", "target": "b", "count": 1, "share": 0.33,
    ...     "median_seconds": 60}]})
    >>> fig["data"][0]["link"]["source"], fig["data"][0]["link"]["value"]
    ([0], [1])
    """
    nodes, edges = busiest(journey_map)
    forward = acyclic(edges)
    index = {node["id"]: n for n, node in enumerate(nodes)}
    return {
        "data": [
            {
                "type": "sankey",
                "arrangement": "snap",
                "node": {
                    "label": [_label(n) for n in nodes],
                    "pad": 14,
                    "color": [_colour(n.get("channel")) for n in nodes],
                },
                "link": {
                    "source": [index[e["source"]] for e in forward],
                    "target": [index[e["target"]] for e in forward],
                    "value": [e["count"] for e in forward],
                    "customdata": [
                        [round(100 * float(e.get("share") or 0), 1), e.get("median_seconds")]
                        for e in forward
                    ],
                    "hovertemplate": "%{source.label} → %{target.label}<br>%{value} moves "
                    "(%{customdata[0]}% of the step's)<br>median wait %{customdata[1]} s"
                    "<extra></extra>",
                },
            }
        ],
        "layout": {"margin": {"l": 10, "r": 10, "t": 10, "b": 10}, "height": 560},
    }


def layers(
    nodes: Sequence[Mapping[str, Any]], edges: Sequence[Mapping[str, Any]]
) -> dict[str, int]:
    """Each step's column in the flow graph: steps that mostly start journeys first, then
    breadth-first along the busiest transitions (a loop never moves a step right).

    >>> layers([{"id": "a", "starts": 5, "count": 5}, {"id": "b", "starts": 0, "count": 3}],
    ...        [{"source": "a", "target": "b", "count": 3}, {"source": "b", "target": "a",
    ...          "count": 1}])
    {'a': 0, 'b': 1}
    """
    ids = [n["id"] for n in nodes]
    outgoing: dict[str, list[str]] = defaultdict(list)
    for e in sorted(edges, key=lambda e: -e["count"]):
        outgoing[e["source"]].append(e["target"])
    entries = [n["id"] for n in nodes if n.get("starts", 0) >= 0.5 * max(n.get("count", 1), 1)]
    if not entries and ids:
        entries = [max(nodes, key=lambda n: (n.get("starts", 0), n["count"]))["id"]]
    column = {i: 0 for i in entries}
    queue = deque(entries)
    while queue:
        here = queue.popleft()
        for there in outgoing[here]:
            if there not in column:
                column[there] = column[here] + 1
                queue.append(there)
    deepest = max(column.values(), default=-1)
    for i in ids:  # steps reached by no entry: a last column of their own
        column.setdefault(i, deepest + 1)
    return {i: column[i] for i in ids}


def flow_figure(journey_map: Mapping[str, Any]) -> dict[str, Any]:
    """The journey map as a directed graph: steps as circles sized by visits, placed in
    columns (see :func:`layers`); transitions as arrows as wide as their share of moves."""
    nodes, edges = busiest(journey_map)
    column = layers(nodes, edges)
    by_column: dict[int, list[Mapping[str, Any]]] = defaultdict(list)
    for n in nodes:
        by_column[column[n["id"]]].append(n)
    where: dict[str, tuple[float, float]] = {}
    for x, members in by_column.items():
        for k, member in enumerate(members):
            # every other step a little to the right: arrows inside a column stay visible
            where[member["id"]] = (x + 0.3 * (k % 2), (len(members) - 1) / 2 - k)
    top = max((e["count"] for e in edges), default=1)
    biggest = max((n["count"] for n in nodes), default=1)
    arrows = [
        {
            "x": where[e["target"]][0],
            "y": where[e["target"]][1],
            "ax": where[e["source"]][0],
            "ay": where[e["source"]][1],
            "xref": "x",
            "yref": "y",
            "axref": "x",
            "ayref": "y",
            "showarrow": True,
            "arrowhead": 2,
            "arrowsize": 1,
            "standoff": 12,
            "startstandoff": 12,
            "arrowwidth": round(0.8 + 5 * e["count"] / top, 2),
            "arrowcolor": "rgba(60,70,84,0.45)",
            "text": "",
            "hovertext": f"{e['source']} → {e['target']}: {e['count']} moves",
        }
        for e in edges
    ]
    return {
        "data": [
            {
                "type": "scatter",
                "mode": "markers+text",
                "x": [where[n["id"]][0] for n in nodes],
                "y": [where[n["id"]][1] for n in nodes],
                "text": [_label(n) for n in nodes],
                "textposition": "top center",
                "customdata": [[n["count"], n.get("starts", 0), n.get("ends", 0)] for n in nodes],
                "hovertemplate": "%{text}<br>%{customdata[0]} visits, starts %{customdata[1]}, "
                "ends %{customdata[2]}<extra></extra>",
                "marker": {
                    "size": [round(12 + 30 * math.sqrt(n["count"] / biggest), 1) for n in nodes],
                    "color": [_colour(n.get("channel")) for n in nodes],
                    "line": {"color": "#ffffff", "width": 1},
                },
            }
        ],
        "layout": {
            "height": 560,
            "margin": {"l": 10, "r": 10, "t": 10, "b": 10},
            "showlegend": False,
            "annotations": arrows,
            "xaxis": {"visible": False, "range": [-0.6, max(column.values(), default=0) + 0.9]},
            "yaxis": {"visible": False},
            "hovermode": "closest",
        },
    }


def friction_figure(summary: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Journeys flagged per kind of friction, as a share of all journeys."""
    return {
        "data": [
            {
                "type": "bar",
                "orientation": "h",
                "y": [str(r["flag"]).replace("_", " ") for r in summary],
                "x": [round(100 * float(r["share"]), 2) for r in summary],
                "text": [f"{r['journeys']} journeys" for r in summary],
                "textposition": "auto",
                "marker": {"color": RED},
                "hovertemplate": "%{y}: %{x}% of journeys (%{text})<extra></extra>",
            }
        ],
        "layout": {
            "height": 240,
            "margin": {"l": 130, "r": 20, "t": 10, "b": 40},
            "xaxis": {"title": {"text": "% of journeys"}, "rangemode": "tozero"},
            "yaxis": {"autorange": "reversed"},
        },
    }


def _bars_with_interval(
    rows: Sequence[Mapping[str, Any]], value: str, lower: str, upper: str, title: str
) -> dict[str, Any]:
    """Bars of ``value`` per row key with asymmetric error bars from ``lower``/``upper``
    (an end that does not exist, ``null``, draws no whisker)."""

    def gap(row: Mapping[str, Any], end: str) -> float:
        v, e = row.get(value), row.get(end)
        if v is None or e is None:
            return 0.0
        return abs(float(e) - float(v))

    keys = [str(r["key"]) for r in rows]
    values = [r.get(value) for r in rows]
    return {
        "data": [
            {
                "type": "bar",
                "x": keys,
                "y": values,
                "text": [_short(v) for v in values],
                "textposition": "outside",
                "marker": {"color": [BLUE if (v or 0) >= 0 else RED for v in values]},
                "error_y": {
                    "type": "data",
                    "symmetric": False,
                    "array": [gap(r, upper) for r in rows],
                    "arrayminus": [gap(r, lower) for r in rows],
                    "color": "#1f1f1f",
                },
                "customdata": [[r.get(lower), r.get(upper)] for r in rows],
                "hovertemplate": "%{x}: %{y}<br>95% interval %{customdata[0]} to "
                "%{customdata[1]}<extra></extra>",
            }
        ],
        "layout": {
            "height": 320,
            "margin": {"l": 60, "r": 20, "t": 20, "b": 60},
            "yaxis": {"title": {"text": title}, "zeroline": True},
        },
    }


def roi_figure(rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Incremental revenue per program with its 95% interval."""
    return _bars_with_interval(
        rows, "incremental_revenue", "revenue_lower", "revenue_upper", "incremental revenue"
    )


def lift_figure(rows: Sequence[Mapping[str, Any]], outcome: str = "conversion") -> dict[str, Any]:
    """Lift in ``outcome`` rate (percentage points) per key with its 95% interval."""
    chosen = [
        {
            "key": r["key"],
            **{k: None if r.get(k) is None else round(100 * float(r[k]), 3) for k in _LIFT},
        }
        for r in rows
        if r.get("outcome") == outcome
    ]
    return _bars_with_interval(chosen, "estimate", "lower", "upper", f"{outcome} lift (points)")


_LIFT = ("estimate", "lower", "upper")


def gap_figure(weekly: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The engagement-gap signs week by week, one line each (NPS on its own axis)."""
    signs = sorted({k for row in weekly for k in row if k != "week"})
    weeks = [row["week"] for row in weekly]
    data = []
    for sign in signs:
        nps = sign == "disconnected_conversations"
        data.append(
            {
                "type": "scatter",
                "mode": "lines+markers",
                "name": sign.replace("_", " ") + (" (NPS)" if nps else ""),
                "x": weeks,
                "y": [row.get(sign) for row in weekly],
                "yaxis": "y2" if nps else "y",
                "connectgaps": False,
            }
        )
    return {
        "data": data,
        "layout": {
            "height": 340,
            "margin": {"l": 60, "r": 60, "t": 20, "b": 40},
            "legend": {"orientation": "h", "y": -0.2},
            "xaxis": {"type": "category", "title": {"text": "week starting"}},
            "yaxis": {"title": {"text": "share"}, "rangemode": "tozero"},
            "yaxis2": {"title": {"text": "NPS"}, "overlaying": "y", "side": "right"},
        },
    }


def respect_figure(rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Messages per customer per week, per key."""
    values = [r.get("messages_per_customer_week") for r in rows]
    return {
        "data": [
            {
                "type": "bar",
                "x": [str(r["key"]) for r in rows],
                "y": values,
                "text": [_short(v) for v in values],
                "textposition": "outside",
                "marker": {"color": GREY},
                "hovertemplate": "%{x}: %{y} messages per customer per week<extra></extra>",
            }
        ],
        "layout": {
            "height": 280,
            "margin": {"l": 60, "r": 20, "t": 20, "b": 60},
            "yaxis": {"title": {"text": "messages / customer / week"}, "rangemode": "tozero"},
        },
    }


def _short(value: object) -> str:
    if value is None or not isinstance(value, int | float):
        return "–"
    return f"{value:,.2f}" if abs(value) < 100 else f"{value:,.0f}"
