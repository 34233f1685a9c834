"""The journey map draws as a Sankey once a journeys service is wired in.

The journeys service (``GET /v1/journeys/map``) is being built elsewhere; this checks that
the Studio draws its documented shape — nodes, edges, paths — in a real browser, by
passing a source that answers in that shape to ``studio_app(ov, journeys=…)``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Mapping
from typing import Any

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.routing import Mount

from onevoice.bootstrap import Onevoice
from onevoice.studio import studio_app
from tests.browser.conftest import log_in, shot
from tests.conftest import free_port

JOURNEY_MAP = {
    "nodes": [
        {"id": "home", "label": "Home", "channel": "web", "count": 120},
        {"id": "rates", "label": "Mortgage rates", "channel": "web", "count": 80},
        {"id": "call", "label": "Called", "channel": "call_centre", "count": 30},
        {"id": "apply", "label": "Applied", "channel": "branch", "count": 12},
    ],
    "edges": [
        {"source": "home", "target": "rates", "count": 80, "share": 0.67, "median_seconds": 40},
        {"source": "rates", "target": "call", "count": 30, "share": 0.38, "median_seconds": 9000},
        {"source": "call", "target": "apply", "count": 12, "share": 0.4, "median_seconds": 86400},
    ],
    "paths": [
        {
            "path": "Home → Mortgage rates → Called → Applied",
            "journeys": 12,
            "steps": 4,
            "goal_share": 1.0,
        },
    ],
}


class Server:
    def __init__(self, ov: Onevoice) -> None:
        asked: list[Mapping[str, str]] = []
        self.asked = asked

        def journeys(params: Mapping[str, str]) -> Mapping[str, Any]:
            asked.append(dict(params))
            return JOURNEY_MAP

        app = Starlette(routes=[Mount("/studio", studio_app(ov, journeys=journeys))])
        self.url = f"http://127.0.0.1:{free_port()}"
        port = int(self.url.rsplit(":", 1)[1])
        self._server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
        )
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        while not self._server.started:
            time.sleep(0.02)

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(10)


@pytest.fixture
def wired(world: Any) -> Iterator[Server]:
    server = Server(world.ov)
    yield server
    server.stop()


def test_the_journey_map_draws_as_a_sankey_with_the_service_s_counts(
    wired: Server, page_for: Any
) -> None:
    page = page_for()
    log_in(page, wired.url, "ada", "/studio/journeys")
    page.wait_for_selector("#sankey .sankey-node")
    assert page.locator("#sankey .sankey-node").count() == len(JOURNEY_MAP["nodes"])
    assert page.locator("#sankey .sankey-link").count() == len(JOURNEY_MAP["edges"])
    assert "Mortgage rates (web)" in page.locator("#sankey").inner_text()
    assert "Home → Mortgage rates → Called → Applied" in page.locator("ol").inner_text()
    page.get_by_label("Segment").fill("multi-channel")
    page.get_by_role("button", name="Show").click()
    page.wait_for_selector("#sankey .sankey-node")
    assert wired.asked[-1] == {"segment": "multi-channel", "days": "", "entry": ""}
    shot(page, "journeys-map")
