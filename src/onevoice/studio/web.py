"""What every Studio page shares: templates, the logged-in user, roles, CSRF, cookies.

A page calls :func:`staff_of` (which raises :class:`LoginRequired` or
:class:`~onevoice.domain.errors.Forbidden`, turned into a redirect to the login page or a
403 page by the app's handlers) and, for a change, :func:`check_csrf` with the form or the
``X-CSRF-Token`` header. The session token lives in an HttpOnly, SameSite=Lax cookie;
``Secure`` follows ``ONEVOICE_STUDIO_SECURE_COOKIES``.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import quote

import orjson
from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from onevoice.bootstrap import Onevoice
from onevoice.domain.errors import Forbidden
from onevoice.services.staff import ROLES, LoggedIn, may

SESSION_COOKIE = "ov_studio"
LOGIN_CSRF_COOKIE = "ov_login_csrf"
PREFIX = "/studio"
#: channel → (badge text, colour): a coloured badge per channel, readable in any font
CHANNEL_ICONS = {
    "web": ("WEB", "#0b57d0"),
    "app": ("APP", "#6f2dbd"),
    "email": ("EM", "#8a4b00"),
    "sms": ("SMS", "#146c2e"),
    "push": ("PU", "#a0005a"),
    "call_centre": ("CC", "#b3261e"),
    "chat": ("CH", "#00677f"),
    "branch": ("BR", "#3c4654"),
    "social": ("SO", "#5b4a00"),
    "ivr": ("IVR", "#7a2e0e"),
    "other": ("·", "#5f6670"),
}
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


class LoginRequired(Exception):
    """No live session: a page answers with a redirect to the login page."""


def templates() -> Environment:
    env = Environment(
        loader=PackageLoader("onevoice.studio", "templates"),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(prefix=PREFIX, icon=icon, roles=ROLES)
    env.filters["when"] = _when
    env.filters["money"] = lambda v: f"£{float(v or 0):,.2f}"
    return env


def render(
    env: Environment,
    request: Request,
    name: str,
    who: LoggedIn | None,
    status: int = 200,
    **context: Any,
) -> HTMLResponse:
    page = env.get_template(name).render(
        who=who,
        may=(lambda role: who is not None and may(who.user, role)),
        csrf=who.session.csrf_token if who else "",
        path=request.url.path,
        **context,
    )
    return HTMLResponse(page, status_code=status, headers=SECURITY_HEADERS)


def staff_of(ov: Onevoice, request: Request, role: str = "agent") -> LoggedIn:
    """The logged-in user, if they have ``role`` (or a higher one)."""
    who = ov.staff.session(request.cookies.get(SESSION_COOKIE))
    if who is None:
        raise LoginRequired
    if not may(who.user, role):
        raise Forbidden(
            f"this needs the {role} role; {who.user.name} is {_article(who.user.role)}",
            field="role",
        )
    return who


def check_csrf(who: LoggedIn, request: Request, form: FormData | None = None) -> None:
    """A change must carry the session's CSRF token (form field or header)."""
    sent = request.headers.get("x-csrf-token") or ""
    if form is not None and not sent:
        value = form.get("csrf_token")
        sent = value if isinstance(value, str) else ""
    if not sent or not secrets.compare_digest(sent, who.session.csrf_token):
        raise Forbidden("the form's CSRF token is missing or wrong; reload the page", field="csrf")


def secure_cookies(ov: Onevoice, request: Request) -> bool:
    mode = ov.settings.studio_secure_cookies.lower()
    if mode in ("true", "1", "yes"):
        return True
    if mode in ("false", "0", "no"):
        return False
    return request.url.scheme == "https"


def set_cookie(
    response: Response, ov: Onevoice, request: Request, name: str, value: str, max_age: int
) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path=PREFIX,
        httponly=True,
        samesite="lax",
        secure=secure_cookies(ov, request),
    )


def login_url(request: Request) -> str:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return f"{PREFIX}/login?next={quote(target, safe='')}"


def safe_next(target: object) -> str:
    """Only a Studio path may follow a login (no open redirect)."""
    if isinstance(target, str) and target.startswith(PREFIX) and not target.startswith("//"):
        return target
    return f"{PREFIX}/"


def form_text(form: Mapping[str, Any], name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def icon(channel: str) -> Markup:
    """The channel's badge (decorative: the channel's name is always written beside it)."""
    text, colour = CHANNEL_ICONS.get(channel, CHANNEL_ICONS["other"])
    return Markup(f'<span class="ch" style="background:{colour}" aria-hidden="true">{text}</span>')


def script_json(value: object) -> str:
    """JSON safe inside ``<script type="application/json">`` (no ``</script>`` breakout)."""
    return orjson.dumps(value).decode().replace("</", "<\\/")


def _when(value: object) -> str:
    if isinstance(value, datetime):
        return f"{value:%Y-%m-%d %H:%M} UTC"
    if isinstance(value, str) and len(value) >= 16:
        return f"{value[:10]} {value[11:16]} UTC"
    return "" if value is None else str(value)


def _article(role: str) -> str:
    return f"an {role}" if role[0] in "aeiou" else f"a {role}"
