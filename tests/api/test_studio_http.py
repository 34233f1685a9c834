"""The Studio over real HTTP: logins, roles, CSRF, cookies — no page without a login."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest

from onevoice.bootstrap import Onevoice
from tests.conftest import LiveServer
from tests.services.test_decisions import catalog, shopper

PASSWORD = "correct horse"


def csrf_of(page: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found, "the page has no CSRF token"
    return found.group(1)


def log_in(live: LiveServer, name: str, password: str = PASSWORD) -> httpx.Client:
    client = httpx.Client(base_url=f"{live.url}/studio", follow_redirects=False)
    token = csrf_of(client.get("/login").text)
    answer = client.post("/login", data={"csrf_token": token, "name": name, "password": password})
    assert answer.status_code == 303, answer.text
    return client


@pytest.fixture
def studio(live: LiveServer) -> Iterator[LiveServer]:
    ov: Onevoice = live.ov
    ov.staff.add("agnes", "agent", PASSWORD)
    ov.staff.add("mark", "marketer", PASSWORD)
    ov.staff.add("ada", "admin", PASSWORD)
    ov.actions.load(catalog())
    shopper(ov, "u1")
    yield live


def test_no_page_is_reachable_without_a_login(studio: LiveServer) -> None:
    with httpx.Client(base_url=f"{studio.url}/studio") as client:
        for path in ("/", "/customers", "/actions", "/actions/new", "/policy", "/admin",
                     "/journeys", "/dashboards", "/customers?q=userId:u1"):  # fmt: skip
            answer = client.get(path)
            assert answer.status_code == 303, path
            assert answer.headers["location"].startswith("/studio/login?next=")
        answer = client.post("/api/expression", json={"text": "true"})
        assert answer.status_code == 401
        assert answer.json()["error"]["code"] == "unauthorized"


def test_a_login_sets_an_httponly_samesite_cookie_and_goes_where_it_was_asked(
    studio: LiveServer,
) -> None:
    client = httpx.Client(base_url=f"{studio.url}/studio")
    token = csrf_of(client.get("/login?next=/studio/policy").text)
    answer = client.post(
        "/login",
        data={"csrf_token": token, "name": "agnes", "password": PASSWORD, "next": "/studio/policy"},
    )
    assert answer.headers["location"] == "/studio/policy"
    cookie = next(c for c in answer.headers.get_list("set-cookie") if c.startswith("ov_studio="))
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/studio" in cookie
    assert "Secure" not in cookie  # plain http and ONEVOICE_STUDIO_SECURE_COOKIES=auto
    assert client.get("/customers").status_code == 200


def test_a_login_never_redirects_off_the_studio(studio: LiveServer) -> None:
    client = httpx.Client(base_url=f"{studio.url}/studio")
    token = csrf_of(client.get("/login").text)
    answer = client.post(
        "/login",
        data={
            "csrf_token": token,
            "name": "agnes",
            "password": PASSWORD,
            "next": "https://evil.example/",
        },
    )
    assert answer.headers["location"] == "/studio/"


def test_a_wrong_password_or_a_forged_login_form_opens_no_session(studio: LiveServer) -> None:
    client = httpx.Client(base_url=f"{studio.url}/studio")
    token = csrf_of(client.get("/login").text)
    wrong = client.post("/login", data={"csrf_token": token, "name": "agnes", "password": "nope"})
    assert wrong.status_code == 401
    assert "wrong user name or password" in wrong.text
    assert not any(c.startswith("ov_studio=") for c in wrong.headers.get_list("set-cookie"))
    stranger = httpx.Client(base_url=f"{studio.url}/studio")  # no login-CSRF cookie
    forged = stranger.post(
        "/login", data={"csrf_token": token, "name": "agnes", "password": PASSWORD}
    )
    assert forged.status_code == 400
    assert stranger.get("/customers").status_code == 303


def test_an_agent_reads_customers_but_cannot_edit_actions_policy_or_users(
    studio: LiveServer,
) -> None:
    agent = log_in(studio, "agnes")
    page = agent.get("/customers", params={"q": "userId:u1", "channel": "call_centre"})
    assert page.status_code == 200
    token = csrf_of(page.text)
    assert agent.get("/actions").status_code == 200
    assert agent.get("/actions/new").status_code == 403
    assert agent.get("/actions/card-upgrade").status_code == 403
    assert agent.get("/admin").status_code == 403
    changed = agent.post("/actions/card-upgrade/pause", data={"csrf_token": token})
    assert changed.status_code == 403
    assert "needs the marketer role" in changed.text
    saved = agent.post("/policy", data={"csrf_token": token, "do": "save"})
    assert saved.status_code == 403
    assert studio.ov.actions.get("card-upgrade")["paused"] is False
    assert studio.ov.contact_policies.history() == []


def test_a_marketer_pauses_an_action_with_the_csrf_token_and_not_without(
    studio: LiveServer,
) -> None:
    marketer = log_in(studio, "mark")
    token = csrf_of(marketer.get("/actions").text)
    forged = marketer.post("/actions/card-upgrade/pause", data={})
    assert forged.status_code == 403
    assert "CSRF" in forged.text
    wrong = marketer.post("/actions/card-upgrade/pause", data={"csrf_token": "x" * 43})
    assert wrong.status_code == 403
    assert studio.ov.actions.get("card-upgrade")["paused"] is False
    done = marketer.post("/actions/card-upgrade/pause", data={"csrf_token": token})
    assert done.status_code == 303
    assert studio.ov.actions.get("card-upgrade")["paused"] is True
    assert marketer.get("/admin").status_code == 403


def test_the_json_endpoints_need_the_csrf_header(studio: LiveServer) -> None:
    marketer = log_in(studio, "mark")
    token = csrf_of(marketer.get("/actions/new").text)
    refused = marketer.post("/api/expression", json={"text": "true"})
    assert refused.status_code == 403
    assert refused.json()["error"]["field"] == "csrf"
    bad = marketer.post(
        "/api/expression", json={"text": "profile.orders >"}, headers={"x-csrf-token": token}
    )
    assert bad.json()["ok"] is False
    assert (bad.json()["line"], bad.json()["column"]) == (1, 17)
    good = marketer.post(
        "/api/expression", json={"text": "profile.orders > 1"}, headers={"x-csrf-token": token}
    )
    assert good.json() == {"ok": True}


def test_logging_out_ends_the_session(studio: LiveServer) -> None:
    agent = log_in(studio, "agnes")
    token = csrf_of(agent.get("/customers").text)
    assert agent.post("/logout", data={"csrf_token": token}).status_code == 303
    assert agent.get("/customers").status_code == 303


def test_an_admin_adds_a_user_who_can_then_log_in(studio: LiveServer) -> None:
    admin = log_in(studio, "ada")
    token = csrf_of(admin.get("/admin").text)
    added = admin.post(
        "/admin",
        data={
            "csrf_token": token,
            "do": "add_user",
            "name": "newbie",
            "role": "agent",
            "password": "long enough",
        },
    )
    assert added.status_code == 303
    log_in(studio, "newbie", "long enough")
    short = admin.post(
        "/admin",
        data={
            "csrf_token": token,
            "do": "add_user",
            "name": "x",
            "role": "agent",
            "password": "short",
        },
    )
    assert short.status_code == 400
    assert "at least 8 characters" in short.text


def test_plotly_is_served_from_the_installed_package(studio: LiveServer) -> None:
    answer = httpx.get(f"{studio.url}/studio/static/plotly.min.js")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/javascript")
    assert b"plotly.js" in answer.content[:2000]
    assert httpx.get(f"{studio.url}/studio/static/..%2Fapp.py").status_code == 404


def test_a_rule_that_fails_at_run_time_is_counted_beside_its_action(studio: LiveServer) -> None:
    ov = studio.ov
    broken = {
        "id": "broken-rule",
        "purpose": "service",
        "value": 1,
        "treatments": {"web": {"title": "Hi", "body": "there"}},
        "eligibility": "profile.traits.interest == 'mortgage'",
    }
    ov.actions.put("broken-rule", broken)
    shopper(ov, "u2")
    for customer in ("userId:u1", "userId:u2"):  # (a second decide for u1 would honour
        ov.decisions.decide(customer, "web")  # its open conversation, not run the rules)
    agent = log_in(studio, "agnes")
    page = agent.get("/actions").text
    row = page[page.index('id="action-broken-rule"') :]
    assert "Failed at run time 2 times" in row[: row.index("</tr>")]
    assert "no such key" in row[: row.index("</tr>")]
    other = page[page.index('id="action-card-upgrade"') :]
    assert "Failed at run time" not in other[: other.index("</tr>")]


def test_an_unknown_studio_page_is_a_404_page(studio: LiveServer) -> None:
    agent = log_in(studio, "agnes")
    answer = agent.get("/no-such-page")
    assert answer.status_code == 404
    assert "Not found" in answer.text and "/studio/no-such-page" in answer.text
