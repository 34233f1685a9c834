"""Studio benchmark: server-side time of every main page with the demo data (2,000
simulated customers, the demo's world), target < 300 ms each.

Times are the server's own (the ``Server-Timing`` header each Studio answer carries),
measured over real HTTP against a live server, after one warm-up request per page.
"""

from __future__ import annotations

import re
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from onevoice.bootstrap import bootstrap
from onevoice.config import Settings
from onevoice.demo import DEMO, load_demo
from onevoice.sim import WorldConfig
from onevoice.sim.policies.onevoice import harbour_bank_catalog

TARGET_MS = 300.0
PASSWORD = "bench password"


def bench_studio(options: dict[str, Any]) -> list[dict[str, Any]]:
    config = (
        WorldConfig(customers=300, days=DEMO.days, seed=DEMO.seed) if options.get("quick") else DEMO
    )
    repeats = 5 if options.get("quick") else 20
    with tempfile.TemporaryDirectory() as folder:
        ov = bootstrap(
            Settings(database_url=str(Path(folder) / "studio.db"), sqlite_synchronous="NORMAL")
        )
        try:
            load_demo(ov, lambda _line: None, config=config)
            if not ov.actions.list():
                ov.actions.load(harbour_bank_catalog())
            ov.staff.add("bench", "admin", PASSWORD)
            return _measure(ov, config, repeats)
        finally:
            ov.close()


def _measure(ov: Any, config: WorldConfig, repeats: int) -> list[dict[str, Any]]:
    import uvicorn

    from onevoice.api.app import create_app

    server = uvicorn.Server(
        uvicorn.Config(create_app(ov), host="127.0.0.1", port=0, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        client = httpx.Client(base_url=f"http://127.0.0.1:{port}/studio", timeout=30)
        token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text)
        assert token is not None
        client.post("/login", data={"csrf_token": token.group(1), "name": "bench",
                                    "password": PASSWORD})  # fmt: skip
        customers = [f"profile:{pid}" for pid in ov.store.recent_profile_ids(repeats)]
        pages = {
            "customers (search page)": ["/customers"] * repeats,
            "customer 360 (profile, timeline, decide)": [
                f"/customers?q={c}&channel=call_centre" for c in customers
            ],
            "actions": ["/actions"] * repeats,
            "action editor": [f"/actions/{ov.actions.list()[0]['id']}"] * repeats,
            "contact policy": ["/policy"] * repeats,
            "… its effect last week (JSON, loaded after the page)": ["/api/policy/effect"]
            * repeats,
            "admin": ["/admin"] * repeats,
            "journeys": ["/journeys"] * repeats,
            "… its map, friction (JSON, loaded after the page, kept 60 s)": ["/api/journeys"]
            * repeats,
            "dashboards": ["/dashboards"] * repeats,
            "… their reports (JSON, loaded after the page, kept 60 s)": ["/api/dashboards"]
            * repeats,
        }
        rows = []
        for name, paths in pages.items():
            first = client.get(paths[0])  # warm-up (and, for the JSON, the uncached answer)
            cold = float(first.headers["server-timing"].split("dur=")[1])
            took = []
            for path in paths:
                answer = client.get(path)
                assert answer.status_code == 200, (path, answer.status_code)
                took.append(float(answer.headers["server-timing"].split("dur=")[1]))
            worst = max(took)
            rows.append(
                {
                    "benchmark": f"studio: {name}",
                    "result": f"p50 {statistics.median(took):.0f} ms, max {worst:.0f} ms",
                    "target": f"< {TARGET_MS:.0f} ms",
                    "note": f"{len(took)} requests, {config.customers:,} customers, "
                    f"first {cold:.0f} ms" + ("" if worst < TARGET_MS else " — MISSED"),
                }
            )
        return rows
    finally:
        server.should_exit = True
        thread.join(10)


SUITES = {"studio": bench_studio}
