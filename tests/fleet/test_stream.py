"""Stream mode against the real NATS JetStream, PostgreSQL and Redis: collectors publish,
``onevoice worker`` processes store — in order per customer, nothing lost, nothing twice,
across killed workers and a restarted NATS."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from onevoice.bootstrap import Onevoice, bootstrap
from onevoice.config import Settings
from tests.conftest import _empty_postgres
from tests.fleet.conftest import OwnNats, OwnRedis, Process, onevoice_env, wait_for

pytestmark = pytest.mark.slow

Start = Callable[[list[str], dict[str, str]], Process]


@pytest.fixture
def pg(postgres_url: str) -> str:
    _empty_postgres(postgres_url)
    return postgres_url


def _collector(pg: str, nats_url: str, prefix: str, partitions: int = 4) -> Onevoice:
    return bootstrap(
        Settings(
            database_url=pg,
            secret_key="test-secret",
            stream_url=nats_url,
            stream_prefix=prefix,
            stream_partitions=partitions,
        )
    )


@pytest.fixture
def api(pg: str, nats_url: str, prefix: str) -> Iterator[Onevoice]:
    built = _collector(pg, nats_url, prefix)
    yield built
    built.close()


def _events(customers: int, each: int, tag: str = "") -> list[dict[str, Any]]:
    """Interleaved: event n of every customer before event n+1 of any."""
    return [
        {
            "type": "track",
            "messageId": f"m{tag}-{c}-{n}",
            "userId": f"u{c}",
            "event": "Viewed",
            "properties": {"n": n},
            "timestamp": f"2026-03-02T09:{n // 60:02d}:{n % 60:02d}Z",
            "context": {"channel": "web"},
        }
        for n in range(each)
        for c in range(customers)
    ]


def _worker_env(pg: str, nats_url: str, prefix: str, **more: object) -> dict[str, str]:
    return onevoice_env(
        database_url=pg,
        secret_key="test-secret",
        stream_url=nats_url,
        stream_prefix=prefix,
        stream_partitions=4,
        metrics_port=0,
        **more,
    )


def _all_done(ov: Onevoice, total: int) -> Callable[[], bool]:
    def check() -> bool:
        return ov.store.count_events() >= total and not ov.store.read_events(0, 1)

    return check


def _event_count(ov: Onevoice, customers: int) -> int:
    total = 0
    for c in range(customers):
        profile = ov.profiles.get(f"userId:u{c}")
        total += profile.state.event_count
    return total


def test_the_collector_publishes_a_retried_message_id_once(api: Onevoice) -> None:
    first = api.collector.collect(_events(1, 3))
    again = api.collector.collect(_events(1, 3))
    assert (first.accepted, first.duplicates) == (3, 0)
    assert (again.accepted, again.duplicates) == (0, 3)
    assert api.store.count_events() == 0  # published, not stored: workers store


def test_a_worker_stores_each_customers_events_in_the_order_published(
    api: Onevoice, pg: str, nats_url: str, prefix: str, processes: Start
) -> None:
    customers, each = 12, 40
    for start in range(0, customers * each, 60):  # many small batches, as traffic comes
        api.collector.collect(_events(customers, each)[start : start + 60])
    worker = processes(["worker"], _worker_env(pg, nats_url, prefix))
    wait_for(_all_done(api, customers * each), 90, "the worker to store and process")
    assert worker.stop() == 0
    for c in range(customers):
        profile = api.profiles.get(f"userId:u{c}")
        numbers = [e.properties["n"] for _seq, e in api.store.events_of(profile.profile_id)]
        assert numbers == list(range(each)), f"customer u{c} out of order"
    assert "stopped" in worker.output()


def test_a_killed_worker_loses_nothing_and_counts_nothing_twice(
    api: Onevoice, pg: str, nats_url: str, prefix: str, processes: Start
) -> None:
    customers, each = 50, 120
    total = customers * each
    for start in range(0, total, 500):
        api.collector.collect(_events(customers, each)[start : start + 500])
    env = _worker_env(pg, nats_url, prefix)
    # small batches, so there are many commits to be killed between on a fast machine too
    first = processes(["worker", "--batch", "10"], env)
    wait_for(lambda: api.store.count_events() > 0, 60, "the worker to begin")
    first.kill()  # SIGKILL mid-stream: no goodbye, batches half done
    stored_at_kill = api.store.count_events()
    assert stored_at_kill < total, "the worker finished before it could be killed"
    second = processes(["worker"], env)
    wait_for(_all_done(api, total), 120, "the restarted worker to catch up")
    assert second.stop() == 0
    assert api.store.count_events() == total
    assert _event_count(api, customers) == total


def test_two_workers_share_the_partitions(
    api: Onevoice, pg: str, nats_url: str, prefix: str, redis_url: str, processes: Start
) -> None:
    import redis

    env = _worker_env(
        pg, nats_url, prefix, redis_url=redis_url, redis_prefix=prefix, lease_seconds=2
    )
    one = processes(["worker", "--name", "one"], env)
    two = processes(["worker", "--name", "two"], env)
    client = redis.Redis.from_url(redis_url)

    def owners() -> set[bytes]:
        keys = [f"{prefix}:workers:lease:{p}" for p in range(4)]
        return {owner for owner in client.mget(keys) if owner}

    wait_for(lambda: owners() == {b"one", b"two"}, 30, "both workers to hold partitions")
    customers = 20
    api.collector.collect(_events(customers, 10))
    wait_for(_all_done(api, customers * 10), 60, "the two workers to store and process")
    assert _event_count(api, customers) == customers * 10
    assert one.stop() == 0
    wait_for(lambda: owners() == {b"two"}, 30, "the other worker to take the partitions over")
    assert two.stop() == 0
    client.close()


def test_events_survive_a_nats_restart(
    pg: str, own_nats: OwnNats, prefix: str, processes: Start
) -> None:
    api = _collector(pg, own_nats.url, prefix)
    try:
        worker = processes(["worker"], _worker_env(pg, own_nats.url, prefix))
        api.collector.collect(_events(10, 20, tag="a"))
        own_nats.stop()
        own_nats.start()  # same port, same store directory: the stream is durable
        wait_for(lambda: _try_collect(api, _events(10, 20, tag="b")), 30, "NATS to come back")
        wait_for(_all_done(api, 400), 90, "the worker to store everything after the restart")
        assert api.store.count_events() == 400
        assert _event_count(api, 10) == 400
        assert worker.stop() == 0
    finally:
        api.close()


def _try_collect(api: Onevoice, events: list[dict[str, Any]]) -> bool:
    from onevoice.domain.errors import Unavailable

    try:
        api.collector.collect(events)
        return True
    except Unavailable:
        return False


def test_a_stopped_worker_finishes_its_batches_and_shows_its_metrics(
    api: Onevoice, pg: str, nats_url: str, prefix: str, processes: Start
) -> None:
    import asyncio

    from onevoice.stream.partitions import durable, stream_name
    from tests.conftest import free_port

    customers, each = 50, 100
    total = customers * each
    for start in range(0, total, 250):
        api.collector.collect(_events(customers, each)[start : start + 250])
    first = processes(["worker"], _worker_env(pg, nats_url, prefix))
    wait_for(lambda: api.store.count_events() > 0, 60, "the worker to begin")
    assert first.stop() == 0  # SIGTERM mid-stream: finish, acknowledge, hand back
    assert api.store.count_events() < total, "the worker finished before it could be stopped"

    async def unacknowledged() -> int:
        import nats

        nc = await nats.connect(nats_url)
        try:
            js = nc.jetstream()
            infos = [
                await js.consumer_info(stream_name(prefix), durable(prefix, p)) for p in range(4)
            ]
            return sum(info.num_ack_pending for info in infos)
        finally:
            await nc.close()

    assert asyncio.run(unacknowledged()) == 0  # nothing taken and left hanging
    port = free_port()
    env = _worker_env(pg, nats_url, prefix) | {"ONEVOICE_METRICS_PORT": str(port)}
    processes(["worker"], env)
    wait_for(_all_done(api, total), 90, "a new worker to finish the rest")
    assert _event_count(api, customers) == total
    wait_for(lambda: "onevoice_partition_lag{" in _metrics(port), 30, "partition lag metrics")
    assert "onevoice_worker_stored_total" in _metrics(port)


def _metrics(port: int) -> str:
    import httpx

    try:
        return httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=2).text
    except httpx.HTTPError:
        return ""


def test_a_worker_that_loses_redis_lets_go_and_resumes_when_it_is_back(
    api: Onevoice, pg: str, nats_url: str, prefix: str, own_redis: OwnRedis, processes: Start
) -> None:
    env = _worker_env(
        pg, nats_url, prefix, redis_url=own_redis.url, redis_prefix=prefix, lease_seconds=2
    )
    worker = processes(["worker", "--name", "solo"], env)
    wait_for(lambda: "partition 3 claimed" in worker.output(), 30, "the worker to claim")
    own_redis.stop()  # leases can no longer be renewed: they may go to someone else
    wait_for(lambda: "let go of every" in worker.output(), 30, "the worker to let go")
    api.collector.collect(_events(5, 10))
    time.sleep(2)
    assert api.store.count_events() == 0  # no lease, no reading: order cannot be broken
    own_redis.start()
    wait_for(_all_done(api, 50), 60, "the worker to claim again and store everything")
    assert _event_count(api, 5) == 50
    assert worker.stop() == 0
