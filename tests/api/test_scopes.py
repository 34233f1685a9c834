"""Every route of the app, called with no key and with each kind of credential, gets the
status its scope says: allowed credentials get past the check (any status but 401/403),
the others get 401. A route missing from ``SCOPES`` fails the test: a new endpoint must
declare who may call it."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi.routing import APIRoute
from starlette.routing import Mount, Route

from onevoice.api.app import create_app
from tests.conftest import LiveServer

PUBLIC, WRITE, SERVER, ADMIN, CUSTOMER = "public", "write", "server", "admin", "customer"
#: (method, path) → the scope it needs
SCOPES: dict[tuple[str, str], str] = {
    **{
        ("POST", f"/v1/{t}"): WRITE
        for t in ("track", "identify", "page", "screen", "group", "alias", "batch")
    },
    ("GET", "/v1/profiles/{reference}"): SERVER,
    ("GET", "/v1/profiles/{reference}/timeline"): SERVER,
    ("GET", "/v1/profiles/{reference}/merges"): SERVER,
    ("POST", "/v1/merges/{merge_id}/undo"): ADMIN,
    ("POST", "/v1/admin/keys"): ADMIN,
    ("GET", "/v1/admin/keys"): ADMIN,
    ("DELETE", "/v1/admin/keys/{key_id}"): ADMIN,
    ("POST", "/v1/decide"): SERVER,
    ("POST", "/v1/responses"): SERVER,
    ("GET", "/v1/actions"): ADMIN,
    ("GET", "/v1/actions/{action_id}"): ADMIN,
    ("PUT", "/v1/actions/{action_id}"): ADMIN,
    ("DELETE", "/v1/profiles/{reference}"): ADMIN,
    ("POST", "/v1/me/tokens"): SERVER,
    ("GET", "/v1/audit"): ADMIN,
    ("GET", "/v1/me"): CUSTOMER,
    ("POST", "/v1/me/consent"): CUSTOMER,
    ("POST", "/v1/me/budget"): CUSTOMER,
    ("GET", "/v1/journeys/map"): SERVER,
    ("GET", "/v1/journeys/friction"): SERVER,
    ("GET", "/v1/journeys/gap"): SERVER,
    ("GET", "/v1/journeys/value"): SERVER,
    ("POST", "/v1/journeys/conformance"): SERVER,
    ("GET", "/v1/intents"): SERVER,
    ("PUT", "/v1/intents"): ADMIN,
    **{
        ("GET", f"/v1/reports/{k}"): SERVER
        for k in ("lift", "roi", "budget", "respect", "components")
    },
    ("GET", "/healthz"): PUBLIC,
    ("GET", "/readyz"): PUBLIC,
    ("GET", "/metrics"): PUBLIC,
    ("GET", "/openapi.json"): PUBLIC,
    ("GET", "/docs"): PUBLIC,
    ("GET", "/docs/oauth2-redirect"): PUBLIC,
    ("GET", "/redoc"): PUBLIC,
}
#: who may pass each scope (an admin key may do what write and server keys do)
ALLOWED = {
    PUBLIC: {"none", WRITE, SERVER, ADMIN, CUSTOMER},
    WRITE: {WRITE, ADMIN},
    SERVER: {SERVER, ADMIN},
    ADMIN: {ADMIN},
    CUSTOMER: {CUSTOMER},
}
PATH_VALUES = {
    "reference": "userId:nobody-here",
    "key_id": "key_nothing",
    "action_id": "no-such-action",
    "merge_id": "999999",
}


#: Mounted apps with their own login (checked by ``test_the_studio_serves_nothing_to_api_keys``)
MOUNTS = {"/studio"}
#: Studio paths served without a login: the login form itself and its static files
STUDIO_PUBLIC = {"/login", "/static/{name}"}


def _flatten(routes: list[Any]) -> list[Route]:
    """Routes, looking inside included routers (FastAPI keeps them nested)."""
    found: list[Route] = []
    for route in routes:
        if isinstance(route, Mount) and route.path in MOUNTS:
            continue
        if isinstance(route, APIRoute | Route):
            found.append(route)
        elif hasattr(route, "original_router"):
            found += _flatten(route.original_router.routes)
        else:
            raise AssertionError(f"a route of an unknown kind: {route!r}")
    return found


def _routes(live: LiveServer) -> list[tuple[str, str]]:
    found = []
    for route in _flatten(create_app(live.ov, run_processor=False).routes):
        for method in sorted(route.methods or ()):
            if method != "HEAD":
                found.append((method, route.path))
    return found


def test_every_route_declares_a_scope(live: LiveServer) -> None:
    routes = set(_routes(live))
    assert routes - SCOPES.keys() == set(), "routes without a declared scope"
    assert SCOPES.keys() - routes == set(), "scopes of routes that do not exist"


def test_every_route_lets_in_exactly_the_credentials_of_its_scope(live: LiveServer) -> None:
    live.ov.collector.collect([{"type": "identify", "userId": "me-1"}])
    credentials: dict[str, dict[str, str]] = {
        "none": {},
        WRITE: {"Authorization": f"Bearer {live.write_key}"},
        SERVER: {"Authorization": f"Bearer {live.server_key}"},
        ADMIN: {"Authorization": f"Bearer {live.admin_key}"},
        CUSTOMER: {"Authorization": f"Bearer {live.ov.me_tokens.mint('userId:me-1')[0]}"},
    }
    wrong: list[str] = []
    for method, path in _routes(live):
        scope = SCOPES[(method, path)]
        url = live.url + path.format(**PATH_VALUES)
        for who, headers in credentials.items():
            body: Any = {} if method in ("POST", "PUT") else None
            answer = httpx.request(method, url, json=body, headers=headers, timeout=30)
            let_in = answer.status_code not in (401, 403)
            if let_in != (who in ALLOWED[scope]) or answer.status_code >= 500:
                wrong.append(f"{method} {path} as {who}: {answer.status_code} {answer.text[:120]}")
    assert wrong == [], "\n".join(wrong)


def test_the_studio_serves_nothing_to_api_keys(live: LiveServer) -> None:
    """Every Studio page but the login form answers an API key (or nothing) with the way to
    the login, never with the page: the Studio takes only a staff login."""
    routes = create_app(live.ov, run_processor=False).routes
    mount = next(r for r in routes if isinstance(r, Mount) and r.path == "/studio")
    headers = [{}, *({"Authorization": f"Bearer {k}"} for k in (live.server_key, live.admin_key))]
    wrong = []
    for route in mount.routes:
        assert isinstance(route, Route)
        if route.path in STUDIO_PUBLIC:
            continue
        for method in sorted((route.methods or set()) - {"HEAD"}):
            path = route.path.format(action_id="no-such-action")
            for sent in headers:
                answer = httpx.request(method, f"{live.url}/studio{path}", headers=sent, timeout=30)
                kept_out = answer.status_code in (401, 403) or (
                    answer.is_redirect and "/studio/login" in answer.headers.get("location", "")
                )
                if not kept_out:
                    wrong.append(f"{method} /studio{path}: {answer.status_code}")
    assert wrong == [], "\n".join(wrong)


def test_keys_are_stored_only_as_hashes(live: LiveServer) -> None:
    from onevoice.services.keys import hash_key

    keys = (live.write_key, live.server_key, live.admin_key)
    if live.ov.store.backend == "sqlite":
        from pathlib import Path

        path = live.ov.store.path  # type: ignore[attr-defined]
        raw = b"".join(Path(p).read_bytes() for p in (path, path + "-wal") if Path(p).exists())
        assert all(k.encode() not in raw for k in keys)
        assert all(hash_key(k).encode() in raw for k in keys)
    else:
        import psycopg

        with psycopg.connect(live.ov.store.url) as conn:  # type: ignore[attr-defined]
            stored = conn.execute("SELECT key_hash FROM api_keys").fetchall()
            text = str(conn.execute("SELECT api_keys::text FROM api_keys").fetchall())
        assert {hash_key(k) for k in keys} <= {h for (h,) in stored}
        assert all(k not in text for k in keys)
