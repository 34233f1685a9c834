"""Contact policy: consent rules, caps, quiet hours, cooldowns, holdout — and their effect.

Before a marketer saves a cap, the page replays last week's marketing contacts (the
decision log and the delivery events of other senders) through it and says how many
customers it would have held back (:mod:`onevoice.services.contact_policy`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict
from typing import Any

from jinja2 import Environment
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from onevoice.bootstrap import Onevoice
from onevoice.domain.errors import InvalidInput
from onevoice.domain.policy import ALL_CHANNELS, PERIODS
from onevoice.studio.web import PREFIX, check_csrf, form_text, render, staff_of

CAP_SCOPES = ("email", "sms", "push", "call_centre", "web", "app", ALL_CHANNELS)
_NUMBERS = (
    "complaint_cooldown_days",
    "dismiss_cooldown_days",
    "fatigue_budget",
    "holdout_share",
    "control_share",
)


def policy_from_form(form: Mapping[str, Any]) -> dict[str, Any]:
    """The policy a Studio form describes, in the editable plain form (unchecked)."""
    caps: dict[str, dict[str, int | None]] = {}
    for scope in CAP_SCOPES:
        for period in PERIODS:
            name = f"caps.{scope}.{period}"
            text = form_text(form, name)
            if not text:
                continue
            try:
                caps.setdefault(scope, {})[period] = int(text)
            except ValueError:
                raise InvalidInput(f"{text!r} is not a whole number", field=name) from None
    raw: dict[str, Any] = {
        "caps": caps,
        "quiet_hours": form_text(form, "quiet_hours"),
        "quiet_hours_for_service": bool(form.get("quiet_hours_for_service")),
        "default_timezone": form_text(form, "default_timezone"),
    }
    for name in _NUMBERS:
        text = form_text(form, name)
        try:
            raw[name] = float(text)
        except ValueError:
            raise InvalidInput(f"{text!r} is not a number", field=name) from None
    return raw


def routes(ov: Onevoice, env: Environment) -> list[Route]:
    policies = ov.contact_policies

    def show(
        request: Request, who: Any, values: Mapping[str, Any], status: int = 200, **extra: Any
    ) -> Response:
        return render(
            env,
            request,
            "policy.html",
            who,
            status,
            p=values,
            scopes=CAP_SCOPES,
            periods=tuple(PERIODS),
            effect=asdict(policies.effect()) if extra.pop("with_effect", False) else None,
            history=policies.history(10),
            saved=request.query_params.get("saved"),
            **extra,
        )

    def page(request: Request) -> Response:
        # the effect replays a week of contacts (~0.1-0.2 s on the demo data): the page
        # loads it afterwards by script, or inline when asked (?effect=1, no script)
        who = staff_of(ov, request)
        inline = request.query_params.get("effect") == "1"
        return show(request, who, policies.current(), with_effect=inline)

    def effect_now(request: Request) -> Response:
        staff_of(ov, request)
        customers, reach = policies.consent_reach()
        return JSONResponse(
            {**asdict(policies.effect()), "consent": {"customers": customers, "reach": reach}}
        )

    async def save(request: Request) -> Response:
        form = await request.form()
        who = await run_in_threadpool(staff_of, ov, request, "marketer")
        check_csrf(who, request, form)
        try:
            raw = policy_from_form(form)
            if form.get("do") == "preview":
                policy, _arbitration = policies.check(raw)
                proposed = await run_in_threadpool(policies.effect, policy)
                return await run_in_threadpool(
                    show, request, who, raw, 200, proposed=proposed, with_effect=True
                )
            version = await run_in_threadpool(policies.save, raw, who.user.name)
        except InvalidInput as error:
            values = {**policies.current(), **_raw_values(form)}
            return await run_in_threadpool(
                show, request, who, values, 400, error=error, with_effect=True
            )
        return RedirectResponse(f"{PREFIX}/policy?saved={version}", 303)

    async def effect(request: Request) -> Response:
        form = await request.form()
        who = await run_in_threadpool(staff_of, ov, request)
        check_csrf(who, request, form)
        policy, _arbitration = policies.check(policy_from_form(form))
        found = await run_in_threadpool(policies.effect, policy)
        return JSONResponse(asdict(found))

    return [
        Route("/policy", page, methods=["GET"]),
        Route("/policy", save, methods=["POST"]),
        Route("/api/policy/effect", effect_now, methods=["GET"]),
        Route("/api/policy/effect", effect, methods=["POST"]),
    ]


def _raw_values(form: Mapping[str, Any]) -> dict[str, Any]:
    """What was typed, shown back after an error (caps as nested values)."""
    values: dict[str, Any] = {"caps": {}}
    for key, value in form.items():
        if not isinstance(value, str):
            continue
        if key.startswith("caps."):
            _caps, scope, period = key.split(".", 2)
            values["caps"].setdefault(scope, {})[period] = value
        elif key != "csrf_token":
            values[key] = value
    values["quiet_hours_for_service"] = bool(form.get("quiet_hours_for_service"))
    return values
