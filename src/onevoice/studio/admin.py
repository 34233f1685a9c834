"""Admin: Studio users and roles, and API keys. Admins only."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from jinja2 import Environment
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from onevoice.bootstrap import Onevoice
from onevoice.domain.errors import InvalidInput, OnevoiceError
from onevoice.services.keys import KINDS
from onevoice.studio.web import PREFIX, check_csrf, form_text, render, staff_of


def routes(ov: Onevoice, env: Environment) -> list[Route]:
    def page(request: Request) -> Response:
        who = staff_of(ov, request, "admin")
        return render(
            env,
            request,
            "admin.html",
            who,
            users=ov.staff.list(),
            keys=ov.keys.list(),
            kinds=KINDS,
            done=request.query_params.get("done"),
        )

    async def change(request: Request) -> Response:
        form = await request.form()
        who = await run_in_threadpool(staff_of, ov, request, "admin")
        check_csrf(who, request, form)
        do = form_text(form, "do")
        try:
            done = await run_in_threadpool(_change, ov, do, form, who.user.user_id)
        except OnevoiceError as error:
            return render(
                env,
                request,
                "admin.html",
                who,
                400,
                users=ov.staff.list(),
                keys=ov.keys.list(),
                kinds=KINDS,
                error=error,
            )
        if do == "create_key":
            # the secret is shown once, on this page, never in a URL
            return render(
                env,
                request,
                "admin.html",
                who,
                users=ov.staff.list(),
                keys=ov.keys.list(),
                kinds=KINDS,
                new_key=done,
            )
        return RedirectResponse(f"{PREFIX}/admin?done={do}", 303)

    return [
        Route("/admin", page, methods=["GET"]),
        Route("/admin", change, methods=["POST"]),
    ]


def _change(ov: Onevoice, do: str, form: Mapping[str, Any], me: str) -> str:
    """Carry out one admin change; returns a word for the notice (a new key: its secret)."""
    if do == "add_user":
        password = form.get("password")
        ov.staff.add(
            form_text(form, "name"),
            form_text(form, "role"),
            password if isinstance(password, str) else "",
        )
        return "added"
    if do == "set_role":
        ov.staff.change(form_text(form, "user_id"), role=form_text(form, "role"))
        return "changed"
    if do in ("disable", "enable"):
        if form_text(form, "user_id") == me:
            raise InvalidInput("you cannot disable yourself", field="user_id")
        ov.staff.change(form_text(form, "user_id"), disabled=do == "disable")
        return "changed"
    if do == "create_key":
        _record, token = ov.keys.create(form_text(form, "kind"), form_text(form, "name"))
        return token
    if do == "revoke_key":
        ov.keys.revoke(form_text(form, "key_id"))
        return "revoked"
    raise InvalidInput(f"unknown change {do!r}", field="do")
