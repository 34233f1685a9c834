"""Sharing the partitions out among workers: leases in Redis.

Each worker heartbeats into a sorted set of live workers and holds at most its fair
share (``ceil(partitions / live workers)``) of partition leases — ``SET … NX PX`` keys
renewed while it works. One more lease names the worker that runs the processor
(identity and profiles file events in log order, one batch at a time: a second processor
would only redo the same batch and lose the race to commit it). A new worker makes the
others' share smaller: they hand partitions back (after finishing their in-flight batch)
and the newcomer picks them up. A killed worker's leases expire after ``ttl``; a paused
one that lost its lease stops consuming it. Even when two workers briefly overlap, an
event is stored once (its ``messageId`` is unique).
"""

from __future__ import annotations

import math
import time
from collections.abc import Set
from typing import Protocol

import redis

_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class Leases(Protocol):
    def tick(self, held: Set[int]) -> tuple[set[int], set[int]]:
        """Renew what is held; return (partitions to start, partitions to stop)."""
        ...

    def release(self, partition: int) -> None: ...
    def leave(self) -> None: ...

    def processing(self) -> bool:
        """Take or keep the processor's lease: whether this worker should process now."""
        ...


class AllPartitions:
    """Without Redis: one worker, every partition (start a second one only with Redis)."""

    def __init__(self, partitions: int) -> None:
        self._all = set(range(partitions))

    def tick(self, held: Set[int]) -> tuple[set[int], set[int]]:
        return self._all - set(held), set()

    def release(self, partition: int) -> None:
        return None

    def leave(self) -> None:
        return None

    def processing(self) -> bool:
        return True


class RedisLeases:
    """Fair-share partition leases for one worker (``owner``)."""

    def __init__(
        self, client: redis.Redis, prefix: str, owner: str, partitions: int, ttl: float
    ) -> None:
        self._redis = client
        self._prefix = f"{prefix}:workers"
        self.owner = owner
        self.partitions = partitions
        self._ttl_ms = max(1000, int(ttl * 1000))
        self._renew = client.register_script(_RENEW)
        self._release = client.register_script(_RELEASE)

    def _key(self, partition: int) -> str:
        return f"{self._prefix}:lease:{partition}"

    def share(self) -> int:
        """Heartbeat; the most partitions this worker should hold now."""
        now = int(time.time() * 1000)
        members = f"{self._prefix}:live"
        pipe = self._redis.pipeline()
        pipe.zadd(members, {self.owner: now})
        pipe.zremrangebyscore(members, "-inf", now - self._ttl_ms)
        pipe.zcard(members)
        pipe.pexpire(members, self._ttl_ms * 10)
        live = int(pipe.execute()[2])
        return math.ceil(self.partitions / max(1, live))

    def tick(self, held: Set[int]) -> tuple[set[int], set[int]]:
        share = self.share()
        kept = {
            p
            for p in sorted(held)
            if self._renew(keys=[self._key(p)], args=[self.owner, self._ttl_ms])
        }
        stop = set(held) - kept
        if len(kept) > share:  # a newcomer: hand back the surplus
            surplus = sorted(kept)[share:]
            stop.update(surplus)
            kept.difference_update(surplus)
        start: set[int] = set()
        for partition in range(self.partitions):
            if len(kept) + len(start) >= share:
                break
            if partition in kept or partition in held:
                continue
            if self._redis.set(self._key(partition), self.owner, nx=True, px=self._ttl_ms):
                start.add(partition)
        return start, stop

    def release(self, partition: int) -> None:
        self._release(keys=[self._key(partition)], args=[self.owner])

    def processing(self) -> bool:
        key = f"{self._prefix}:processor"
        if self._renew(keys=[key], args=[self.owner, self._ttl_ms]):
            return True
        return bool(self._redis.set(key, self.owner, nx=True, px=self._ttl_ms))

    def leave(self) -> None:
        self._redis.zrem(f"{self._prefix}:live", self.owner)
        self._release(keys=[f"{self._prefix}:processor"], args=[self.owner])
