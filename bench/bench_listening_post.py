"""Listening-post benchmarks: HTTP ingest, profile look-up latency, identity resolution.

* ``ingest`` — ``onevoice serve`` (one process) on a fresh database; a client process posts
  ``/v1/batch`` bodies of 100 events over several keep-alive connections. Events/s on
  SQLite (``synchronous=FULL``, the default, and ``NORMAL`` for comparison) and
  PostgreSQL, and the processing lag: from the last 2xx until the background processor
  had filed every event.
* ``lookup`` — 100,000 profiles loaded in-process (Collector + Processor), then sequential
  keep-alive ``GET /v1/profiles/{type}:{value}`` from a client process: p50 and p99.
* ``identity`` — 1,000,000 events of 200,000 people appended first, then the real
  Processor on SQLite timed with ``run_until_idle``.

Workloads are deterministic (``bench/_workload.py``). ``--quick`` shrinks every size.
"""

from __future__ import annotations

import contextlib
import os
import platform
import random
import secrets
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson

from bench._workload import Workload
from onevoice.bootstrap import bootstrap
from onevoice.config import Settings
from onevoice.ops.heap import tune_long_running
from onevoice.services.processing import CATCH_UP_STEPS

ROOT = Path(__file__).resolve().parent.parent
Row = dict[str, Any]


def _machine() -> str:
    """Cores and processor model. These benchmarks have run on an AMD EPYC and an Intel Xeon,
    both 2 cores, shared; the same code's figures also moved by a quarter within an hour on
    one host, so a table should be read beside its machine and its moment."""
    return f"{os.cpu_count()} cores, {_processor()}"


def _processor() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.partition(":")[2].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "processor unknown"


def _row(benchmark: str, result: str, target: str = "", note: str = "") -> Row:
    # each row also goes to stderr as it is measured: long runs show progress
    print(f"  {benchmark}: {result}  [{target or '-'}]  {note}", file=sys.stderr, flush=True)
    return {"benchmark": benchmark, "result": result, "target": target, "note": note}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _onevoice(*args: str, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "onevoice.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    if done.returncode != 0:
        raise RuntimeError(f"onevoice {' '.join(args)} failed: {done.stderr.strip()}")
    return done.stdout.strip()


SERVED_PIDS: dict[str, int] = {}  # url → pid of the `onevoice serve` behind it


def _cpu_seconds(pid: int) -> tuple[float, float]:
    """CPU time (user + system) of a process and of its children (Linux ``/proc``; else 0)."""
    own = children = 0.0
    tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            fields = (proc / "stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        seconds = (int(fields[11]) + int(fields[12])) / tick
        if proc.name == str(pid):
            own += seconds
        elif fields[1] == str(pid):
            children += seconds
    return own, children


@contextlib.contextmanager
def _served(database: str, *, env_extra: dict[str, str] | None = None) -> Iterator[str]:
    """``onevoice serve`` on a free port in a subprocess; yields its URL."""
    port = _free_port()
    database_arg = f"--database={database}"
    env = {**os.environ, **(env_extra or {}), "ONEVOICE_LOG_LEVEL": "warning"}
    with tempfile.TemporaryDirectory() as cwd, open(Path(cwd) / "serve.log", "w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "onevoice.cli", "serve", *("--port", str(port)), database_arg],
            cwd=cwd,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
        url = f"http://127.0.0.1:{port}"
        SERVED_PIDS[url] = process.pid
        deadline = time.monotonic() + 60
        try:
            while True:
                try:
                    httpx.get(f"{url}/healthz", timeout=2)
                    break
                except httpx.TransportError:
                    if process.poll() is not None or time.monotonic() > deadline:
                        output = (Path(cwd) / "serve.log").read_text()[-2000:]
                        raise RuntimeError(f"onevoice serve did not start: {output}") from None
                    time.sleep(0.05)
            yield url
        finally:
            process.terminate()
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)


def _client(*args: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "bench._client", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    if done.returncode != 0:
        raise RuntimeError(f"bench client failed: {done.stderr.strip()[-2000:]}")
    result: dict[str, Any] = orjson.loads(done.stdout.strip().splitlines()[-1])
    return result


# -- ingest ----------------------------------------------------------------------------


def _sqlite_backlog(path: str) -> Callable[[], int]:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)

    def backlog() -> int:
        return int(
            conn.execute("SELECT COUNT(*) FROM events WHERE profile_id IS NULL").fetchone()[0]
        )

    return backlog


def _postgres_backlog(url: str) -> Callable[[], int]:
    import psycopg

    conn = psycopg.connect(url, autocommit=True)

    def backlog() -> int:
        row = conn.execute("SELECT COUNT(*) FROM events WHERE profile_id IS NULL").fetchone()
        return int(row[0]) if row else 0

    return backlog


def _ingest_once(
    label: str,
    database: str,
    backlog_of: Callable[[str], Callable[[], int]],
    options: dict[str, Any],
    *,
    env_extra: dict[str, str] | None = None,
    note: str = "",
) -> list[Row]:
    quick = bool(options.get("quick"))
    people, events = (4_000, 20_000) if quick else (40_000, 200_000)
    concurrency = 8
    env = {**os.environ, **(env_extra or {})}
    key = _onevoice(
        "keys", "create", "--kind", "write", "--name", "bench", "--database", database, env=env
    )
    with _served(database, env_extra=env_extra) as url:
        tag = secrets.token_hex(3)
        cpu_before = _cpu_seconds(SERVED_PIDS[url])
        done = _client(
            "ingest", url, key, str(people), str(events), "100", str(concurrency), "7", tag
        )
        cpu_ingest = _cpu_seconds(SERVED_PIDS[url])
        backlog = backlog_of(database)
        limit = time.monotonic() + (60 if quick else 300)
        waiting = backlog()
        while waiting and time.monotonic() < limit:
            time.sleep(0.02)
            waiting = backlog()
        finished = time.monotonic()
        cpu_total = _cpu_seconds(SERVED_PIDS[url])
    rate = done["events"] / done["seconds"]
    failed = sum(done["failures"].values())
    detail = (
        f"{done['events']:,} events in {done['requests']} batches of 100 over {concurrency} "
        f"connections, {done['seconds']:.1f} s; ~{done['mean_event_bytes']:.0f} B/event; "
        f"batch p50 {done['p50_ms']:.0f} ms, p99 {done['p99_ms']:.0f} ms"
        + (f"; {failed} failed requests {done['failures']}" if failed else "")
        + "; CPU per event while ingesting: API "
        f"{1e6 * (cpu_ingest[0] - cpu_before[0]) / done['events']:.0f} µs, processor "
        f"{1e6 * (cpu_ingest[1] - cpu_before[1]) / done['events']:.0f} µs; until all were "
        f"processed: API {1e6 * (cpu_total[0] - cpu_before[0]) / done['events']:.0f} µs, "
        f"processor {1e6 * (cpu_total[1] - cpu_before[1]) / done['events']:.0f} µs; "
        f"{_machine()} at load "
        f"{os.getloadavg()[0]:.1f}, client in another process" + (f"; {note}" if note else "")
    )
    lag = finished - done["last_ok_monotonic"]
    lag_text = f"{lag:.1f} s" if not waiting else f"> {lag:.0f} s ({waiting:,} still waiting)"
    return [
        _row(f"ingest {label}", f"{rate:,.0f} events/s", "≥ 20,000 events/s", detail),
        _row(
            f"processing lag {label}",
            lag_text,
            "",
            "from the last 2xx until every event was filed under a person",
        ),
    ]


def ingest(options: dict[str, Any]) -> list[Row]:
    rows: list[Row] = []
    with tempfile.TemporaryDirectory() as tmp:
        rows += _ingest_once(
            "SQLite (synchronous=FULL)",
            str(Path(tmp) / "full.db"),
            _sqlite_backlog,
            options,
            note="durable: each 2xx is committed and fsynced",
        )
        if not options.get("quick"):
            rows += _ingest_once(
                "SQLite (synchronous=NORMAL)",
                str(Path(tmp) / "normal.db"),
                _sqlite_backlog,
                options,
                env_extra={"ONEVOICE_SQLITE_SYNCHRONOUS": "NORMAL"},
                note="not the default: a power cut may lose the last commits",
            )
    rows += _ingest_postgres(options)
    return rows


def _ingest_postgres(options: dict[str, Any]) -> list[Row]:
    admin_url = str(options.get("postgres_url") or "")
    try:
        import psycopg

        admin = psycopg.connect(admin_url, autocommit=True, connect_timeout=3)
    except Exception as error:  # no server: a row that says so, not a crash
        reason = str(error).strip().splitlines()[0] if str(error).strip() else repr(error)
        return [_row("ingest PostgreSQL", "skipped", "", f"no PostgreSQL at {admin_url}: {reason}")]
    name = f"onevoice_bench_{secrets.token_hex(4)}"
    admin.execute(f'CREATE DATABASE "{name}"')
    base, _sep, _db = admin_url.rpartition("/")
    try:
        return _ingest_once("PostgreSQL", f"{base}/{name}", _postgres_backlog, options)
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


# -- lookup ----------------------------------------------------------------------------


def _load(database: str, workload: Workload, *, process: bool, refs: list[str] | None) -> None:
    """Feed the workload through Collector (and Processor) in-process; no HTTP."""
    ov = bootstrap(Settings(database_url=database, sqlite_synchronous="OFF"))
    try:
        for n, chunk in enumerate(workload.chunks(2000)):
            result = ov.collector.collect(chunk, source="bench")
            if result.rejected:
                raise RuntimeError(f"the workload was rejected: {result.rejected[0]}")
            if refs is not None:
                for m, call in enumerate(chunk):
                    if (n * 2000 + m) % 7 == 0:
                        refs.append(_reference(call))
            if process:
                ov.processor.run_until_idle()
    finally:
        ov.close()


def _reference(call: dict[str, Any]) -> str:
    if call.get("userId"):
        return f"userId:{call['userId']}"
    email = (call.get("traits") or {}).get("email")
    if email:
        return f"email:{email}"
    return f"anonymousId:{call['anonymousId']}"


def lookup(options: dict[str, Any]) -> list[Row]:
    quick = bool(options.get("quick"))
    people, requests = (5_000, 1_000) if quick else (100_000, 5_000)
    with tempfile.TemporaryDirectory() as tmp:
        database = str(Path(tmp) / "lookup.db")
        refs: list[str] = []
        began = time.perf_counter()
        _load(database, Workload(people, people * 2, seed=21), process=True, refs=refs)
        loaded = time.perf_counter() - began
        ov = bootstrap(Settings(database_url=database))
        try:
            n_profiles = ov.store.count_profiles()
            n_events = ov.store.count_events()
            key = ov.keys.create("server", "bench")[1]
        finally:
            ov.close()
        random.Random(5).shuffle(refs)
        ref_file = Path(tmp) / "refs.txt"
        ref_file.write_text("\n".join(refs[:20_000]) + "\n")
        with _served(database) as url:
            done = _client("lookup", url, key, str(ref_file), str(requests))
    failed = sum(done["failures"].values())
    note = (
        f"{n_profiles:,} profiles from {n_events:,} events (loaded in {loaded:.0f} s); "
        f"{done['requests']:,} sequential keep-alive GETs by userId/email/anonymousId, "
        f"timed in the client process (stdlib http.client); mean {done['mean_ms']:.2f} ms, "
        f"max {done['max_ms']:.1f} ms; the same with httpx as the client: p50 "
        f"{done['httpx_p50_ms']:.2f} ms, p99 {done['httpx_p99_ms']:.2f} ms"
        + (f"; {failed} non-200 {done['failures']}" if failed else "")
        + f"; {_machine()} at load {os.getloadavg()[0]:.1f}"
    )
    return [
        _row("profile lookup p50", f"{done['p50_ms']:.2f} ms", "", note),
        _row("profile lookup p99", f"{done['p99_ms']:.2f} ms", "p99 ≤ 2 ms", ""),
    ]


# -- identity --------------------------------------------------------------------------


def identity(options: dict[str, Any]) -> list[Row]:
    quick = bool(options.get("quick"))
    people, events = (10_000, 50_000) if quick else (200_000, 1_000_000)
    with tempfile.TemporaryDirectory() as tmp:
        database = str(Path(tmp) / "identity.db")
        began = time.perf_counter()
        workload = Workload(people, events, seed=42)
        _load(database, workload, process=False, refs=None)
        appended = time.perf_counter() - began
        ov = bootstrap(Settings(database_url=database))  # synchronous=FULL, the default
        tune_long_running()  # the collector settings of `serve`'s processor process
        try:
            began, cpu_began = time.perf_counter(), time.process_time()
            done = ov.processor.run_until_idle()
            seconds = time.perf_counter() - began
            cpu = time.process_time() - cpu_began
            n_profiles = ov.store.count_profiles()
            with ov.store._read() as cur:  # type: ignore[attr-defined]
                cur.execute("SELECT COUNT(*) FROM merges")
                n_merges = int(cur.fetchone()[0])
                cur.execute("SELECT COUNT(*) FROM refusals")
                n_refusals = int(cur.fetchone()[0])
                cur.execute("SELECT COUNT(*) FROM nodes WHERE shared = 1")
                n_shared = int(cur.fetchone()[0])
        finally:
            ov.close()
    note = (
        f"{done:,} events of {people:,} people → {n_profiles:,} profiles, {n_merges:,} merges, "
        f"{n_refusals:,} refusals, {n_shared:,} shared identifiers; SQLite synchronous=FULL "
        "(a processing batch commits without a flush of its own), "
        f"steps of {Settings().process_batch_size:,} growing to "
        f"{CATCH_UP_STEPS * Settings().process_batch_size:,} while the backlog lasts; "
        f"generating + appending took "
        f"{appended:.0f} s (not timed); CPU {cpu:.1f} s ({1e6 * cpu / max(done, 1):.0f} µs/event); "
        f"{_machine()} at load {os.getloadavg()[0]:.1f}, one process"
    )
    target = f"{events:,} events in ≤ {60 * events // 1_000_000} s"
    return [
        _row("identity resolution", f"{done / seconds:,.0f} events/s", "≥ 16,667 events/s", note),
        _row("identity resolution total", f"{seconds:.1f} s", target, ""),
    ]


SUITES: dict[str, Callable[[dict[str, Any]], list[Row]]] = {
    "ingest": ingest,
    "lookup": lookup,
    "identity": identity,
}
