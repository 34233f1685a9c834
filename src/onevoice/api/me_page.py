"""The readable form of ``GET /v1/me``: one plain HTML page, every value escaped."""

from __future__ import annotations

from datetime import datetime
from html import escape
from typing import Any


def _text(value: Any) -> str:
    if isinstance(value, datetime):
        return escape(value.strftime("%Y-%m-%d %H:%M UTC"))
    return escape(str(value))


def _rows(rows: list[list[Any]]) -> str:
    return "".join("<tr>" + "".join(f"<td>{_text(c)}</td>" for c in r) + "</tr>" for r in rows)


def _table(head: list[str], rows: list[list[Any]], empty: str) -> str:
    if not rows:
        return f"<p>{escape(empty)}</p>"
    th = "".join(f"<th>{escape(h)}</th>" for h in head)
    return f"<table><tr>{th}</tr>{_rows(rows)}</table>"


def render(view: dict[str, Any]) -> str:
    profile = view["profile"]
    consent = view["consent"]
    identifiers = [[i["type"], i["value"]] for i in profile["identifiers"]]
    traits = [[k, v] for k, v in profile["traits"].items()]
    current = [
        [c["purpose"], c["channel"], "yes" if c["granted"] else "no", c["source"], c["at"]]
        for c in consent["current"]
    ]
    history = [
        [
            c["at"],
            c["purpose"],
            c["channel"],
            "granted" if c["granted"] else "withdrawn",
            c["source"],
            c["legal_basis"],
        ]
        for c in consent["history"]
    ]
    budget = [[b["channel"], b["period"], b["max_messages"]] for b in view["budget"]]
    decisions = []
    for d in view["decisions"]:
        shown = ", ".join(a["action_id"] for a in d["shown"]) or "nothing"
        why = "; ".join(str(r) for r in d["reasons"]) or "—"
        decisions.append([d["at"], d["channel"], shown, why])
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>What we know about you</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}}
table{{border-collapse:collapse;margin-bottom:1.5rem}}td,th{{border:1px solid #ccc;
padding:.3rem .6rem;text-align:left;vertical-align:top}}</style></head><body>
<h1>What we know about you</h1>
<p>First seen {_text(profile["first_seen"])}, last seen {_text(profile["last_seen"])};
{_text(profile["event_count"])} interactions on {
        _text(", ".join(profile["channels"]) or "no channel")
    }.
<a href="?format=json">Download everything as JSON</a>.</p>
<h2>How we recognise you</h2>{_table(["type", "value"], identifiers, "No identifiers.")}
<h2>What you told us or we observed</h2>{_table(["trait", "value"], traits, "Nothing.")}
<h2>Your consent now</h2>{
        _table(
            ["purpose", "channel", "granted", "source", "since"],
            current,
            "No consent recorded: we send you no marketing.",
        )
    }
<h2>Every consent change</h2>{
        _table(["when", "purpose", "channel", "change", "source", "legal basis"], history, "None.")
    }
<h2>Your own limit on messages</h2>{
        _table(["channel", "period", "at most"], budget, "You set none.")
    }
<h2>What we decided for you, and why</h2>{
        _table(["when", "channel", "shown", "why"], decisions, "No decisions yet.")
    }
</body></html>"""
