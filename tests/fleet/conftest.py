"""The fleet's real servers: NATS JetStream (``ONEVOICE_TEST_NATS_URL``, default
``nats://127.0.0.1:4222``) and Redis (``ONEVOICE_TEST_REDIS_URL``, default
``redis://127.0.0.1:6379/0``), shared with other users: every test gets its own random
stream, subject and key prefix. Without a server the tests skip naming it — unless
``ONEVOICE_REQUIRE_SERVICES=1`` (CI), which makes that a failure."""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlparse

import pytest

from tests.conftest import free_port, unavailable

NATS_URL = os.environ.get("ONEVOICE_TEST_NATS_URL", "nats://127.0.0.1:4222")
REDIS_URL = os.environ.get("ONEVOICE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
NATS_SERVER = shutil.which("nats-server") or "/usr/sbin/nats-server"


def _reachable(url: str) -> bool:
    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or 0), 2):
            return True
    except OSError:
        return False


def _need(url: str, what: str, start: str) -> str:
    if _reachable(url):
        return url
    unavailable(f"{what} is not reachable at {url}; start it (e.g. `{start}`)")


@pytest.fixture
def nats_url() -> str:
    return _need(NATS_URL, "NATS JetStream", "nats-server -js")


@pytest.fixture
def redis_url() -> str:
    return _need(REDIS_URL, "Redis", "redis-server")


@pytest.fixture
def prefix(request: pytest.FixtureRequest) -> Iterator[str]:
    """A unique stream/subject/key prefix; the stream and keys are removed afterwards."""
    name = f"ovt{secrets.token_hex(4)}"
    yield name
    if _reachable(NATS_URL):
        _delete_stream(NATS_URL, name)
    if _reachable(REDIS_URL):
        import redis

        client = redis.Redis.from_url(REDIS_URL)
        keys = list(client.scan_iter(f"{name}:*", count=1000))
        if keys:
            client.delete(*keys)
        client.close()


def _delete_stream(url: str, prefix: str) -> None:
    import asyncio

    import nats

    from onevoice.stream.partitions import stream_name

    async def delete() -> None:
        nc = await nats.connect(url, connect_timeout=2, max_reconnect_attempts=0)
        with contextlib.suppress(Exception):  # the test may never have created it
            await nc.jetstream().delete_stream(stream_name(prefix))
        await nc.close()

    asyncio.run(delete())


def onevoice_env(**settings: object) -> dict[str, str]:
    """The environment of an ``onevoice`` subprocess with these ``ONEVOICE_*`` settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ONEVOICE_")}
    env.update({f"ONEVOICE_{k.upper()}": str(v) for k, v in settings.items()})
    return env


class Process:
    """An ``onevoice`` sub-command in its own process, killed at the end if still alive."""

    def __init__(self, args: list[str], env: dict[str, str], log: Path) -> None:
        self.args, self.env, self.log = args, env, log
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Process:
        out = self.log.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "onevoice.cli", *self.args],
            env=self.env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        return self

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self, timeout: float = 30) -> int:
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout)

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@pytest.fixture
def processes(tmp_path: Path) -> Iterator[Callable[[list[str], dict[str, str]], Process]]:
    started: list[Process] = []

    def start(args: list[str], env: dict[str, str]) -> Process:
        process = Process(args, env, tmp_path / f"{args[0]}-{len(started)}.log").start()
        started.append(process)
        return process

    yield start
    for process in started:
        process.kill()


def wait_for(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(0.2)


class OwnNats:
    """A throwaway ``nats-server -js`` on a free port, to restart without disturbing others."""

    def __init__(self, store_dir: Path) -> None:
        self.port = free_port()
        self.url = f"nats://127.0.0.1:{self.port}"
        self.store_dir = store_dir
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                NATS_SERVER,
                "-js",
                "-a",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-sd",
                str(self.store_dir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for(lambda: _reachable(self.url), 15, "nats-server to listen")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(15)


@pytest.fixture
def own_nats(tmp_path: Path) -> Iterator[OwnNats]:
    if not os.path.exists(NATS_SERVER):
        unavailable(f"nats-server is not installed ({NATS_SERVER}); install NATS to test restarts")
    server = OwnNats(tmp_path / "nats")
    server.start()
    yield server
    server.stop()


class OwnRedis:
    """A throwaway ``redis-server`` on a free port, to lose and bring back."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.workdir = workdir
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(
            [
                REDIS_SERVER,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.workdir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for(lambda: _reachable(self.url), 15, "redis-server to listen")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(15)


REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[OwnRedis]:
    if not os.path.exists(REDIS_SERVER):
        unavailable(
            f"redis-server is not installed ({REDIS_SERVER}); install Redis to test outages"
        )
    server = OwnRedis(tmp_path / "redis")
    server.start()
    yield server
    server.stop()
