"""The command line as an outside user drives it: keys, serve, collect, look up."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import free_port

ONEVOICE = str(Path(sys.executable).with_name("onevoice"))


def run(*args: str, database: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [ONEVOICE, *args, "--database", database], capture_output=True, text=True, timeout=60
    )


@pytest.fixture
def served(database_url: str, tmp_path: Path) -> Iterator[tuple[str, str]]:
    port = free_port()
    process = subprocess.Popen(
        [ONEVOICE, "serve", "--port", str(port), "--database", database_url],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.get(f"{url}/healthz")
            break
        except httpx.TransportError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                pytest.fail(f"onevoice serve did not start: {process.stdout.read()}")  # type: ignore[union-attr]
            time.sleep(0.1)
    yield url, database_url
    process.terminate()
    process.wait(10)


def test_keys_create_prints_the_key_alone_on_stdout(database_url: str) -> None:
    done = run("keys", "create", "--kind", "write", "--name", "web", database=database_url)
    assert done.returncode == 0, done.stderr
    assert len(done.stdout.splitlines()) == 1
    assert done.stdout.startswith("ovw_")
    listed = run("keys", "list", database=database_url)
    assert "web" in listed.stdout and done.stdout.strip() not in listed.stdout


def test_a_served_onevoice_collects_and_answers_by_identifier(served: tuple[str, str]) -> None:
    url, database = served
    write = run("keys", "create", "--kind", "write", "--name", "site", database=database)
    server = run("keys", "create", "--kind", "server", "--name", "crm", database=database)
    response = httpx.post(
        f"{url}/v1/identify",
        json={"userId": "u42", "traits": {"email": "ann@example.com"}},
        auth=(write.stdout.strip(), ""),
    )
    assert response.status_code == 200
    headers = {"Authorization": f"Bearer {server.stdout.strip()}"}
    profile = httpx.get(f"{url}/v1/profiles/email:ann@example.com", headers=headers)
    assert profile.status_code == 200
    assert profile.json()["identifiers"][0] == {"type": "userId", "value": "u42"}
    timeline = httpx.get(f"{url}/v1/profiles/userId:u42/timeline?limit=5", headers=headers)
    assert len(timeline.json()["events"]) == 1


def test_a_bad_database_url_is_one_clear_line(tmp_path: Path) -> None:
    done = run("keys", "list", database="mysql://nope")
    assert done.returncode == 2
    assert done.stderr.strip().startswith("error (database):")


def test_a_different_secret_key_than_the_database_was_built_with_is_refused(
    tmp_path: Path,
) -> None:
    database = str(tmp_path / "x.db")
    assert run("keys", "list", database=database).returncode == 0
    done = subprocess.run(
        [ONEVOICE, "keys", "list", "--database", database],
        capture_output=True,
        text=True,
        env={**os.environ, "ONEVOICE_SECRET_KEY": "another"},
        timeout=60,
    )
    assert done.returncode == 2
    assert "ONEVOICE_SECRET_KEY" in done.stderr


def test_serve_demo_plays_the_demo_world_and_serves_what_it_learned(tmp_path: Path) -> None:
    """The README's first command (``./run demo`` runs ``onevoice serve --demo``) on the
    embedded default: the world is played, keys are printed, decide answers and the
    reports read the demo's own decision log."""
    port = free_port()
    process = subprocess.Popen(
        [ONEVOICE, "serve", "--demo", "--port", str(port)],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    lines: list[str] = []
    try:
        for line in process.stdout:  # the demo's progress, then uvicorn's start-up lines
            lines.append(line)
            if "Uvicorn running" in line or "Application startup complete" in line:
                break
        output = "".join(lines)
        assert "demo world ready" in output, output
        keys = dict(line.split()[:2] for line in lines if line.startswith(("  server", "  admin")))
        url = f"http://127.0.0.1:{port}"
        decided = httpx.post(
            f"{url}/v1/decide",
            json={"customer": "userId:hb-53e75a-0000194", "channel": "web"},
            headers={"Authorization": f"Bearer {keys['server']}"},
            timeout=30,
        )
        assert decided.status_code == 200, decided.text
        roi = httpx.get(
            f"{url}/v1/reports/roi",
            headers={"Authorization": f"Bearer {keys['admin']}"},
            timeout=60,
        )
        assert roi.status_code == 200 and roi.json()["rows"], roi.text
        assert (tmp_path / "onevoice.db").exists()  # the embedded default, in the working folder
    finally:
        process.terminate()
        process.wait(20)
