"""Actions and rules: list, create, edit, pause; rules checked as you type; previews.

Everything goes through the actions service (validation, compilation of the CEL rule)
and the decide service (previews decide for real, with the draft catalog, and log
nothing). Agents may read the catalog; marketers change it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from jinja2 import Environment
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from onevoice.bootstrap import Onevoice
from onevoice.domain.actions import PURPOSES, TREATMENT_FIELDS
from onevoice.domain.errors import InvalidInput, NotFound
from onevoice.domain.expressions import InvalidExpression
from onevoice.studio.web import PREFIX, check_csrf, form_text, render, staff_of

PREVIEW_SAMPLE = 50
#: how many of the newest decisions with failing rules the actions page counts
RULE_ERROR_WINDOW = 1_000
MAX_SAMPLE = 500
_OPTIONAL_TEXT = ("valid_from", "valid_until", "cooldown", "max_window")


def action_from_form(form: Mapping[str, Any]) -> dict[str, Any]:
    """The action a Studio form describes, in the catalog's plain form (unchecked)."""
    raw: dict[str, Any] = {
        "id": form_text(form, "id"),
        "purpose": form_text(form, "purpose"),
        "eligibility": form_text(form, "eligibility"),
        "paused": bool(form.get("paused")),
        "tags": [t.strip() for t in form_text(form, "tags").split(",") if t.strip()],
        "value": _number(form, "value", None),
        "weight": _number(form, "weight", 1.0),
    }
    raw["name"] = form_text(form, "name") or raw["id"]
    raw["description"] = form_text(form, "description")
    for name in _OPTIONAL_TEXT:
        if form_text(form, name):
            raw[name] = form_text(form, name)
    if form_text(form, "max_per_customer"):
        raw["max_per_customer"] = _whole(form, "max_per_customer")
    treatments: dict[str, dict[str, str]] = {}
    costs: dict[str, float] = {}
    for channel, (required, optional) in TREATMENT_FIELDS.items():
        if not form.get(f"use.{channel}"):
            continue
        treatments[channel] = {
            part: form_text(form, f"t.{channel}.{part}")
            for part in (*required, *optional)
            if part in required or form_text(form, f"t.{channel}.{part}")
        }
        if form_text(form, f"cost.{channel}"):
            costs[channel] = _number(form, f"cost.{channel}", 0.0) or 0.0
    raw["treatments"] = treatments
    default_cost = _number(form, "cost", 0.0)
    raw["cost"] = {"default": default_cost, **costs} if costs else default_cost
    return raw


def form_values(action: Mapping[str, Any]) -> dict[str, Any]:
    """An action's plain form as the form's field values."""
    values: dict[str, Any] = {
        k: ("" if action.get(k) is None else action[k])
        for k in ("id", "name", "description", "purpose", "eligibility", "valid_from")
    }
    values["valid_until"] = action.get("valid_until") or ""
    values["value"] = _shown(action.get("value"))
    values["weight"] = _shown(action.get("weight"))
    values["paused"] = bool(action.get("paused"))
    values["tags"] = ", ".join(action.get("tags") or [])
    values["max_per_customer"] = action.get("max_per_customer") or ""
    for name in ("cooldown", "max_window"):
        values[name] = _duration(action.get(name))
    cost = action.get("cost", 0)
    if isinstance(cost, Mapping):
        values["cost"] = _shown(cost.get("default", 0))
        for channel, amount in cost.items():
            if channel != "default":
                values[f"cost.{channel}"] = _shown(amount)
    else:
        values["cost"] = _shown(cost)
    for channel, content in (action.get("treatments") or {}).items():
        values[f"use.{channel}"] = True
        for part, text in content.items():
            values[f"t.{channel}.{part}"] = text
    return values


def routes(ov: Onevoice, env: Environment) -> list[Route]:
    def page(request: Request, who: Any, values: Mapping[str, Any], **extra: Any) -> Response:
        return render(
            env,
            request,
            "action_form.html",
            who,
            extra.pop("status", 200),
            v=values,
            purposes=PURPOSES,
            treatment_fields=TREATMENT_FIELDS,
            **extra,
        )

    def listing(request: Request) -> Response:
        who = staff_of(ov, request)
        return render(
            env,
            request,
            "actions.html",
            who,
            actions=ov.actions.list(),
            rule_errors=ov.store.rule_errors(RULE_ERROR_WINDOW),
            window=RULE_ERROR_WINDOW,
            saved=request.query_params.get("saved"),
        )

    def new(request: Request) -> Response:
        who = staff_of(ov, request, "marketer")
        return page(request, who, {"purpose": "marketing", "weight": "1", "cost": "0"}, new=True)

    def edit(request: Request) -> Response:
        who = staff_of(ov, request, "marketer")
        action = ov.actions.get(request.path_params["action_id"])
        return page(request, who, form_values(action), new=False)

    async def save(request: Request) -> Response:
        form = await request.form()
        who = await run_in_threadpool(staff_of, ov, request, "marketer")
        check_csrf(who, request, form)
        is_new = form.get("new") == "1"
        try:
            raw = action_from_form(form)
            if is_new and raw["id"] in {a.id for a in ov.decisions.catalog}:
                raise InvalidInput(f"there is already an action {raw['id']!r}", field="id")
            await run_in_threadpool(ov.actions.put, raw["id"], raw)
        except InvalidInput as error:
            values: dict[str, Any] = {k: v for k, v in form.items() if isinstance(v, str)}
            values.update({k: True for k in form if k.startswith("use.") or k == "paused"})
            return page(request, who, values, new=is_new, error=error, status=400)
        return RedirectResponse(f"{PREFIX}/actions?saved={raw['id']}", 303)

    async def pause(request: Request) -> Response:
        form = await request.form()
        who = await run_in_threadpool(staff_of, ov, request, "marketer")
        check_csrf(who, request, form)
        action_id = request.path_params["action_id"]
        action = await run_in_threadpool(ov.actions.get, action_id)
        await run_in_threadpool(
            ov.actions.put, action_id, {**action, "paused": not action.get("paused")}
        )
        return RedirectResponse(f"{PREFIX}/actions?saved={action_id}", 303)

    async def check_rule(request: Request) -> Response:
        who = await run_in_threadpool(staff_of, ov, request)
        check_csrf(who, request)
        body = await request.json()
        text = body.get("text") if isinstance(body, dict) else None
        if not isinstance(text, str):
            raise InvalidInput('send {"text": "<rule>"}', field="text")
        try:
            ov.actions.check_rule(text)
        except InvalidExpression as error:
            return JSONResponse(
                {"ok": False, "message": error.message, "line": error.line, "column": error.column}
            )
        except InvalidInput as error:
            return JSONResponse(
                {"ok": False, "message": error.message, "line": None, "column": None}
            )
        return JSONResponse({"ok": True})

    async def preview(request: Request) -> Response:
        form = await request.form()
        who = await run_in_threadpool(staff_of, ov, request)
        check_csrf(who, request, form)
        raw = action_from_form(form)
        channel = form_text(form, "preview_channel") or next(iter(raw["treatments"]), "web")
        size = _whole(form, "sample") if form_text(form, "sample") else PREVIEW_SAMPLE
        if not 1 <= size <= MAX_SAMPLE:
            raise InvalidInput(f"the sample is 1 to {MAX_SAMPLE} customers", field="sample")
        return JSONResponse(await run_in_threadpool(preview_action, ov, raw, channel, size))

    return [
        Route("/actions", listing, methods=["GET"]),
        Route("/actions", save, methods=["POST"]),
        Route("/actions/new", new, methods=["GET"]),
        Route("/actions/{action_id}", edit, methods=["GET"]),
        Route("/actions/{action_id}/pause", pause, methods=["POST"]),
        Route("/api/expression", check_rule, methods=["POST"]),
        Route("/api/actions/preview", preview, methods=["POST"]),
    ]


def preview_action(ov: Onevoice, raw: dict[str, Any], channel: str, size: int) -> dict[str, Any]:
    """Decide for ``size`` recently active customers with the draft in the catalog.

    Nothing is logged or learned: ``record=False``.
    """
    catalog = ov.actions.draft(raw)
    action_id = raw["id"]
    if channel not in catalog[action_id].treatments:
        raise InvalidInput(f"{action_id} has no {channel} treatment to preview", field="channel")
    rows = []
    for profile_id in ov.store.recent_profile_ids(size):
        reference = f"profile:{profile_id}"
        try:
            profile = ov.profiles.view(reference)
        except NotFound:
            continue
        decided = ov.decisions.decide(reference, channel, {}, catalog=catalog, record=False)
        decision = decided.decision
        mine = next((c for c in decision.candidates if c.action_id == action_id), None)
        eligible = mine is not None and mine.excluded_by is None
        why = (mine.reasons[0] if mine and mine.reasons else "") or (
            decision.reasons[0] if decision.reasons else ""
        )
        label = next(
            (f"{i['type']}:{i['value']}" for i in profile["identifiers"] if i["type"] == "userId"),
            reference,
        )
        rows.append(
            {
                "customer": label,
                "lifecycle": profile["lifecycle_stage"],
                "eligible": eligible,
                "offered": decision.actions[0].action_id if decision.actions else None,
                "why": why,
            }
        )
    return {
        "action_id": action_id,
        "channel": channel,
        "sample": len(rows),
        "eligible": sum(1 for r in rows if r["eligible"]),
        "offered": sum(1 for r in rows if r["offered"] == action_id),
        "rows": rows,
    }


def _number(form: Mapping[str, Any], name: str, default: float | None) -> float | None:
    text = form_text(form, name)
    if not text:
        return default
    try:
        return float(text)
    except ValueError:
        raise InvalidInput(f"{text!r} is not a number", field=name) from None


def _whole(form: Mapping[str, Any], name: str) -> int:
    text = form_text(form, name)
    try:
        return int(text)
    except ValueError:
        raise InvalidInput(f"{text!r} is not a whole number", field=name) from None


def _shown(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return "" if value is None else str(value)


def _duration(seconds: object) -> str:
    if not isinstance(seconds, (int, float)):
        return ""
    for unit, size in (("w", 604800), ("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return _shown(float(seconds))
