"""Which partition an event belongs to: a stable hash of its customer key.

One customer's events share a partition, so the one worker holding it appends them in
the order they were published. The key is the ``userId`` when there is one, else the
``anonymousId``, else the first identifier (an anonymous visitor who later logs in may
straddle two partitions; identity resolution joins them, order within each holds).

>>> partition_of("userId:u42", 16) == partition_of("userId:u42", 16)
True
>>> subject("ov", 3)
'ov.events.3'
"""

from __future__ import annotations

import hashlib

from onevoice.domain.events import Event


def customer_key(event: Event) -> str:
    if event.user_id:
        return f"userId:{event.user_id}"
    if event.anonymous_id:
        return f"anonymousId:{event.anonymous_id}"
    if event.identifiers:
        first = event.identifiers[0]
        return f"{first.type}:{first.value}"
    return f"messageId:{event.message_id}"


def partition_of(key: str, partitions: int) -> int:
    """Stable across processes and versions (never Python's salted ``hash``)."""
    digest = hashlib.blake2b(key.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") % partitions


def subject(prefix: str, partition: int) -> str:
    return f"{prefix}.events.{partition}"


def durable(prefix: str, partition: int) -> str:
    """The durable pull consumer of one partition (names allow no dots)."""
    return f"{prefix.replace('.', '_')}_p{partition}"


def stream_name(prefix: str) -> str:
    return prefix.replace(".", "_").upper()
