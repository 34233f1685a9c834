"""Fixtures of the Studio's browser tests: a real headless Chromium (Debian's
``chromium``, driven by Playwright with ``executable_path``; ``./run test`` installs it
where it can). Screenshots go under ``docs/screenshots/`` (linked from the README).

Without chromium these tests skip saying so — unless ``ONEVOICE_REQUIRE_SERVICES=1``
(CI), where a missing browser is a failure.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from onevoice.bootstrap import Onevoice, bootstrap
from onevoice.config import Settings
from onevoice.demo import load_demo
from onevoice.sim import WorldConfig
from tests.conftest import LiveServer, unavailable

CHROMIUM = os.environ.get("ONEVOICE_TEST_CHROMIUM", "/usr/bin/chromium")
SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
PASSWORD = "correct horse"
WORLD = WorldConfig(customers=150, days=14, seed=11)
CATALOG = {
    "actions": [
        {
            "id": "card-help",
            "name": "Help with your card",
            "purpose": "service",
            "value": 10,
            "max_per_customer": 1,
            "treatments": {
                "call_centre": {"script": "Offer to fix the card problem in the app, now"},
                "web": {"title": "Card trouble?", "body": "Fix it in two taps"},
            },
            "eligibility": "profile.event_count > 0",
        },
        {
            "id": "savings-bonus",
            "name": "Bonus savings rate",
            "purpose": "marketing",
            "value": 40,
            "treatments": {"email": {"subject": "A bonus rate", "body": "2% more this year"}},
            "eligibility": "profile.lifecycle in ['customer', 'repeat']",
        },
    ]
}


def _chromium_or_skip() -> Any:
    reason = None
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        reason = "Playwright for Python is not installed (pip install -e '.[dev]')"
    if reason is None and not shutil.which(CHROMIUM):
        reason = f"no chromium at {CHROMIUM} (apt-get install chromium; ./run test does it as root)"
    if reason is not None:
        unavailable(reason)
    return sync_playwright


@pytest.fixture(scope="package")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A small simulated bank on SQLite behind a live server, with one user per role."""
    sync_playwright = _chromium_or_skip()
    del sync_playwright
    path = tmp_path_factory.mktemp("studio") / "onevoice.db"
    ov = bootstrap(
        Settings(
            database_url=str(path),
            secret_key="test-secret",
            explore_share=0.0,
            holdout_share=0.0,
            control_share=0.0,
            sqlite_synchronous="NORMAL",
        )
    )
    # the test's own catalog first, so the demo does not add Harbour Bank's: which of its
    # actions a random customer qualifies for would make the agent's next best action vary
    ov.actions.load(CATALOG)
    load_demo(ov, lambda _line: None, config=WORLD)
    for name, role in (("agnes", "agent"), ("mark", "marketer"), ("ada", "admin")):
        ov.staff.add(name, role, PASSWORD)
    server = LiveServer(ov)
    server.start()
    yield server
    server.stop()
    ov.close()


@pytest.fixture(scope="package")
def browser() -> Iterator[Any]:
    sync_playwright = _chromium_or_skip()
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield launched
        launched.close()


@pytest.fixture
def page_for(browser: Any) -> Iterator[Any]:
    contexts: list[Any] = []

    def new_page() -> Any:
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        contexts.append(context)
        return context.new_page()

    yield new_page
    for context in contexts:
        context.close()


def log_in(page: Any, live: LiveServer | str, name: str, start: str = "/studio/customers") -> None:
    page.goto((live if isinstance(live, str) else live.url) + start)
    assert "/studio/login" in page.url
    page.get_by_label("User name").fill(name)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"**{start}*")


def shot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def a_customer(ov: Onevoice) -> str:
    """A known customer with events on more than one channel."""
    for profile_id in ov.store.recent_profile_ids(200):
        stored = ov.store.get_profile(profile_id)
        if stored is None or len(stored.state.channels) < 2:
            continue
        for identifier in stored.identifiers:
            if identifier.type == "userId":
                return f"userId:{identifier.value}"
    raise AssertionError("the simulated world has no multi-channel customer")
