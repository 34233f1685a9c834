"""Shared caps, conversations and models across API replicas, on the real Redis and
PostgreSQL: caps hold across two ``onevoice serve`` processes, a decision overtaken by
another replica is decided again, Redis out of reach blocks marketing (never lets it
through), and a model learned on one replica reaches the other."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from onevoice.bootstrap import Onevoice, bootstrap
from onevoice.config import Settings
from onevoice.services.ports import DecisionRecord
from onevoice.services.shared_state import BLOCKED_REASON
from onevoice.shared.redis_state import RedisSharedState, client
from tests.conftest import _empty_postgres, free_port
from tests.fleet.conftest import Process, onevoice_env, wait_for

Start = Callable[[list[str], dict[str, str]], Process]
OPEN_ALL_DAY = {"quiet_hours": "00:00-00:00", "control_share": 0.0, "holdout_share": 0.0}
CATALOG: dict[str, Any] = {
    "actions": [
        {
            "id": "card-upgrade",
            "purpose": "marketing",
            "value": 80,
            "cost": 0.01,
            "treatments": {
                "email": {"subject": "Your upgrade", "body": "More cashback"},
                "web": {"title": "Upgrade your card", "body": "More cashback"},
            },
        },
        {
            "id": "card-delivery",
            "purpose": "service",
            "value": 20,
            "treatments": {"web": {"title": "Your card is on its way", "body": "Track it"}},
        },
    ]
}
CUSTOMER = {
    "type": "identify",
    "messageId": "consent-1",
    "userId": "u1",
    "traits": {"consent": {"marketing": {"*": True}}},
    "timestamp": "2026-03-01T09:00:00Z",
}


@pytest.fixture
def pg(postgres_url: str) -> str:
    _empty_postgres(postgres_url)
    return postgres_url


def _replica(pg: str, redis_url: str, prefix: str) -> Onevoice:
    settings = Settings(
        database_url=pg,
        secret_key="test-secret",
        redis_url=redis_url,
        redis_prefix=prefix,
        quiet_hours="00:00-00:00",
        control_share=0.0,
        holdout_share=0.0,
        explore_share=0.0,  # rank by the posterior mean: the tests expect the best action
    )
    return bootstrap(settings)


@pytest.fixture
def replicas(pg: str, redis_url: str, prefix: str) -> Iterator[tuple[Onevoice, Onevoice]]:
    one, two = _replica(pg, redis_url, prefix), _replica(pg, redis_url, prefix)
    one.actions.load(CATALOG)
    assert two.fleet.models is not None and two.fleet.models.check_catalog()
    one.collector.collect([CUSTOMER])
    one.processor.run_until_idle()
    yield one, two
    one.close()
    two.close()


@pytest.mark.slow
def test_caps_hold_across_two_api_processes_sharing_redis(
    replicas: tuple[Onevoice, Onevoice], pg: str, redis_url: str, prefix: str, processes: Start
) -> None:
    one, _two = replicas
    server_key = one.keys.create("server", "crm")[1]
    urls = []
    for _ in range(2):
        port = free_port()
        env = onevoice_env(
            database_url=pg,
            secret_key="test-secret",
            redis_url=redis_url,
            redis_prefix=prefix,
            port=port,
            **OPEN_ALL_DAY,
        )
        processes(["serve"], env)
        urls.append(f"http://127.0.0.1:{port}")
    for url in urls:
        wait_for(lambda url=url: _up(url), 60, f"onevoice serve at {url}")
    # 40 requests at once, split between the processes; without Redis the same burst sent
    # 7 and 21 emails in two runs (each process saw the log before the others wrote it)
    answers: list[dict[str, Any]] = []
    barrier = threading.Barrier(40)

    def ask(url: str) -> None:
        with httpx.Client(timeout=30) as http:
            barrier.wait()
            reply = http.post(
                f"{url}/v1/decide",
                headers={"Authorization": f"Bearer {server_key}"},
                json={"customer": "userId:u1", "channel": "email"},
            )
            assert reply.status_code == 200, reply.text
            answers.append(reply.json())

    threads = [threading.Thread(target=ask, args=(urls[n % 2],)) for n in range(40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(answers) == 40
    sent = [a for a in answers if a["actions"]]
    assert len(sent) == 1, f"email cap of 1 a day broken: {len(sent)} sent"
    refused = " ".join(" ".join(a["reasons"]) for a in answers if not a["actions"])
    assert "email cap reached" in refused


def _up(url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def test_a_decision_overtaken_by_another_replica_is_not_admitted(
    redis_url: str, prefix: str
) -> None:
    state = RedisSharedState(client(redis_url), prefix)
    now = datetime.now(UTC)
    seen = state.read("p1", now - timedelta(days=31))

    def record(decision_id: str) -> DecisionRecord:
        chosen = (("card-upgrade", "marketing"),)
        return DecisionRecord(decision_id, "p1", "email", now, chosen, decision_id, {})

    assert state.admit("p1", seen, record("d1"), timedelta(hours=72))
    assert not state.admit("p1", seen, record("d2"), timedelta(hours=72))
    fresh = state.read("p1", now - timedelta(days=31))
    assert fresh.version != seen.version
    assert [c.channel for c in fresh.contacts] == ["email"]
    assert fresh.conversation is not None and fresh.conversation.decision_id == "d1"


def test_without_redis_marketing_is_blocked_and_service_still_answers(pg: str, prefix: str) -> None:
    closed = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    ov = _replica(pg, closed, prefix)
    try:
        ov.actions.load(CATALOG)
        ov.collector.collect([CUSTOMER])
        ov.processor.run_until_idle()
        decided = ov.decisions.decide("userId:u1", "web").decision
        assert decided.action_ids == ("card-delivery",)
        assert decided.reasons[0] == BLOCKED_REASON
        assert "card-upgrade" not in {c.action_id for c in decided.candidates}
        logged = ov.store.get_decision(decided.decision_id)
        assert logged is not None and BLOCKED_REASON in logged.body["reasons"]
        email = ov.decisions.decide("userId:u1", "email").decision
        assert email.actions == ()
        assert ov.fleet.metrics.shared_state_failures._value.get() >= 2
    finally:
        ov.close()


def test_with_redis_the_same_customer_gets_marketing(
    replicas: tuple[Onevoice, Onevoice],
) -> None:
    one, _two = replicas
    decided = one.decisions.decide("userId:u1", "web").decision
    assert decided.action_ids == ("card-upgrade",)


def test_a_model_learned_on_one_replica_reaches_the_other(
    replicas: tuple[Onevoice, Onevoice],
) -> None:
    one, two = replicas
    models_two = two.fleet.models
    models_one = one.fleet.models
    assert models_one is not None and models_two is not None
    first = one.decisions.decide("userId:u1", "web").decision
    assert first.actions
    assert one.decisions.respond(first.decision_id, first.action_ids[0], "convert").learned
    assert models_two.check()  # two reloads what one saved
    assert two.decisions.learner.version == one.decisions.learner.version
    second = two.decisions.decide("userId:u1", "web").decision
    assert second.actions
    action = second.action_ids[0]
    assert two.decisions.respond(second.decision_id, action, "dismiss").learned
    assert models_one.check()
    # both updates are in the model: neither replica's save overwrote the other's
    assert one.decisions.learner.version.endswith("@2")
