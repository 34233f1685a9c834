"""The shared contact state in Redis: versioned per customer, admitted atomically by Lua.

Per customer (``<prefix>:{<subject>}:…``; the braces keep one customer's keys in one
Redis Cluster slot): ``v`` the version, ``c`` the contacts (a sorted set by time, trimmed
to the longest policy window), ``conv`` the decision that opened the open conversation
(expiring with the conversation window) and ``said`` the responses to conversations.
Every key expires; nothing here is the only copy (the decision log in the database is).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from datetime import datetime, timedelta

import orjson
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from onevoice.domain.errors import Unavailable
from onevoice.domain.events import format_time, parse_time
from onevoice.domain.policy import Contact
from onevoice.services.ports import DecisionRecord, ResponseRecord
from onevoice.services.shared_state import SharedView, contacts_of, opened

_PAUSE = 1.0
_ADMIT = """
local v = redis.call('GET', KEYS[1]) or '0'
if v ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], tostring(tonumber(v) + 1), 'PX', ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', tonumber(ARGV[2]) - tonumber(ARGV[3]))
for i = 6, #ARGV, 2 do redis.call('ZADD', KEYS[2], ARGV[i + 1], ARGV[i]) end
redis.call('PEXPIRE', KEYS[2], ARGV[3])
if ARGV[4] ~= '' then redis.call('SET', KEYS[3], ARGV[4], 'PX', ARGV[5]) end
return 1
"""


def client(url: str, *, timeout: float = 0.5) -> redis.Redis:
    """A client that fails fast: a decision waits at most ``timeout`` before it blocks
    marketing rather than hanging."""
    return redis.Redis.from_url(
        url,
        socket_connect_timeout=timeout,
        socket_timeout=timeout,
        retry=Retry(NoBackoff(), 1),
    )


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


class RedisSharedState:
    """:class:`onevoice.services.shared_state.SharedState` over one Redis."""

    def __init__(
        self, connection: redis.Redis, prefix: str, *, keep: timedelta = timedelta(days=35)
    ) -> None:
        self._redis = connection
        self._prefix = prefix
        self._keep_ms = int(keep.total_seconds() * 1000)
        self._admit = connection.register_script(_ADMIT)
        self._down_until = 0.0  # after a failure, answer "unavailable" at once for a moment

    @contextlib.contextmanager
    def _calling(self) -> Iterator[None]:
        """Translate Redis failures; after one, skip Redis for ``_PAUSE`` seconds, so that a
        Redis that hangs costs one timeout, not one per decision."""
        if time.monotonic() < self._down_until:
            raise Unavailable("Redis failed a moment ago", field="ONEVOICE_REDIS_URL")
        try:
            yield
        except redis.RedisError as error:
            self._down_until = time.monotonic() + _PAUSE
            raise Unavailable(f"Redis: {error}", field="ONEVOICE_REDIS_URL") from None

    def _keys(self, subject: str) -> tuple[str, str, str, str]:
        base = f"{self._prefix}:{{{subject}}}"
        return f"{base}:v", f"{base}:c", f"{base}:conv", f"{base}:said"

    def read(self, subject: str, since: datetime) -> SharedView:
        version, contacts, conversation, said = self._keys(subject)
        with self._calling():
            pipe = self._redis.pipeline(transaction=True)
            pipe.get(version)
            pipe.zrangebyscore(contacts, _ms(since), "+inf")
            pipe.get(conversation)
            pipe.lrange(said, 0, -1)
            got_version, members, opened_by, responses = pipe.execute()
        seen = tuple(
            Contact(action, channel, purpose, parse_time(at, "at"))
            for _decision, action, channel, purpose, at in map(orjson.loads, members)
        )
        record = None
        answers: tuple[tuple[str, str, datetime], ...] = ()
        if opened_by:
            decision_id, channel, at, chosen = orjson.loads(opened_by)
            record = DecisionRecord(
                decision_id,
                subject,
                channel,
                parse_time(at, "at"),
                tuple((a, p) for a, p in chosen),
                decision_id,
                {},
            )
            answers = tuple(
                (outcome, where, parse_time(when, "at"))
                for conversation_id, outcome, where, when in map(orjson.loads, responses)
                if conversation_id == decision_id
            )
        return SharedView((got_version or b"0").decode(), seen, record, answers)

    def admit(
        self, subject: str, seen: SharedView, record: DecisionRecord, window: timedelta
    ) -> bool:
        keys = self._keys(subject)[:3]
        conversation = ""
        if opened(record):
            conversation = orjson.dumps(
                [record.decision_id, record.channel, format_time(record.at), record.chosen]
            ).decode()
        args: list[str | int] = [
            seen.version,
            _ms(record.at),
            self._keep_ms,
            conversation,
            max(1, int(window.total_seconds() * 1000)),
        ]
        for contact in contacts_of(record):
            member = [record.decision_id, contact.action_id, contact.channel, contact.purpose]
            args += [orjson.dumps([*member, format_time(contact.at)]).decode(), _ms(contact.at)]
        with self._calling():
            return bool(self._admit(keys=list(keys), args=args))

    def responded(self, record: ResponseRecord, window: timedelta) -> None:
        version, _contacts, _conversation, said = self._keys(record.subject)
        with self._calling():
            pipe = self._redis.pipeline(transaction=True)
            if record.conversation_id:
                entry = [record.conversation_id, record.outcome, record.channel]
                pipe.rpush(said, orjson.dumps([*entry, format_time(record.at)]))
                pipe.pexpire(said, max(1, int(window.total_seconds() * 1000)))
            pipe.incr(version)
            pipe.pexpire(version, self._keep_ms)
            pipe.execute()

    @contextlib.contextmanager
    def model_turn(self, name: str) -> Iterator[str | None]:
        key = f"{self._prefix}:model:{name}"
        with self._calling():
            lock = self._redis.lock(f"{key}:lock", timeout=10, blocking_timeout=5)
            if not lock.acquire():
                raise Unavailable("the model is busy on another replica", field="model")
            version = self._redis.get(key)
        try:
            yield None if version is None else _text(version)
        finally:
            with contextlib.suppress(redis.RedisError):
                lock.release()

    def model_saved(self, name: str, version: str) -> None:
        with self._calling():
            self._redis.set(f"{self._prefix}:model:{name}", version)

    def model_version(self, name: str) -> str | None:
        with self._calling():
            got = self._redis.get(f"{self._prefix}:model:{name}")
        return None if got is None else _text(got)

    def ping(self) -> bool:
        try:
            return bool(self._redis.ping())
        except redis.RedisError:
            return False
