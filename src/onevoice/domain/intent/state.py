"""A person's recent behaviour as a small state, updated in O(1) as each event arrives.

Counts of signals decay with two half-lives (``short``: this session; ``long``: lately),
kept by *forward decay*: an event at time ``t`` adds ``2**((t - t0) / h)`` to its tokens,
and reading at ``t`` multiplies by ``2**(-(t - t0) / h)``. An update therefore touches
only the event's own tokens, never the history, and events that arrive out of order
count exactly as if they had come in order. When the scale grows large the state is
rebased (``t0`` moves forward) and tokens that decayed to nothing are dropped, so the
state stays small. Beside the counts: when the last event was, the gap before it, the
depth of the current session, channel switches, and when each token was last seen (so a
model can tell a fresh trail from an old one that is only fading).

>>> s = IntentState()
>>> observe(s, ("channel:web", "page:mortgages"), "web", 0.0)
>>> observe(s, ("channel:web", "page:mortgages"), "web", 96.0)
>>> round(s.count("page:mortgages", 96.0, long=True), 3)  # 1 + 1/2 after one half-life
1.5
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from onevoice.domain.intent.definitions import DEFAULT_FEATURE_HALF_LIVES

SESSION_GAP_HOURS = 0.5
EVENTS = "meta:events"
SWITCH = "meta:switch"
_REBASE_AT = 40.0  # rebase once the short scale passes 2**40
_DROP_BELOW = 1e-3
MAX_TOKENS = 200


@dataclass(slots=True)
class IntentState:
    """Decayed signal counts and session facts of one person (times in hours since epoch)."""

    half_lives: tuple[float, float] = DEFAULT_FEATURE_HALF_LIVES
    t0: float | None = None
    short: dict[str, float] = field(default_factory=dict)
    long: dict[str, float] = field(default_factory=dict)
    last_at: float | None = None
    last_channel: str | None = None
    gap: float | None = None  # hours between the last event and the one before it
    depth: int = 0  # events in the current session
    seen: dict[str, float] = field(default_factory=dict)  # token → when it was last observed

    def count(self, token: str, at: float, *, long: bool = False) -> float:
        """The decayed count of ``token`` read at ``at``."""
        table = self.long if long else self.short
        stored = table.get(token)
        if stored is None or self.t0 is None:
            return 0.0
        return float(stored * 2.0 ** (-(at - self.t0) / self.half_lives[1 if long else 0]))

    def counts(self, at: float, *, long: bool = False) -> dict[str, float]:
        """Every decayed count read at ``at``."""
        if self.t0 is None:
            return {}
        factor = 2.0 ** (-(at - self.t0) / self.half_lives[1 if long else 0])
        table = self.long if long else self.short
        return {k: v * factor for k, v in table.items()}

    def to_record(self) -> dict[str, Any]:
        return {
            "h": list(self.half_lives),
            "t0": self.t0,
            "s": self.short,
            "l": self.long,
            "last": self.last_at,
            "ch": self.last_channel,
            "gap": self.gap,
            "depth": self.depth,
            "seen": self.seen,
        }

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> IntentState:
        short_h, long_h = record.get("h", DEFAULT_FEATURE_HALF_LIVES)
        return cls(
            (float(short_h), float(long_h)),
            record.get("t0"),
            dict(record.get("s", {})),
            dict(record.get("l", {})),
            record.get("last"),
            record.get("ch"),
            record.get("gap"),
            int(record.get("depth", 0)),
            dict(record.get("seen", {})),
        )


def observe(state: IntentState, tokens: tuple[str, ...], channel: str, at: float) -> None:
    """Fold one event (its signal tokens, channel and time in hours) into ``state``."""
    if state.t0 is None:
        state.t0 = at
    elif (at - state.t0) / state.half_lives[0] > _REBASE_AT:
        rebase(state, at)
    t0 = state.t0
    add_short = 2.0 ** ((at - t0) / state.half_lives[0])
    add_long = 2.0 ** ((at - t0) / state.half_lives[1])
    short, long, seen = state.short, state.long, state.seen
    for token in tokens:
        if at > seen.get(token, -math.inf):
            seen[token] = at
    for token in (*tokens, EVENTS):
        short[token] = short.get(token, 0.0) + add_short
        long[token] = long.get(token, 0.0) + add_long
    last = state.last_at
    if last is None or at >= last:
        if last is None or at - last > SESSION_GAP_HOURS:
            state.depth = 1
        else:
            state.depth += 1
        if state.last_channel is not None and channel != state.last_channel:
            long[SWITCH] = long.get(SWITCH, 0.0) + add_long
        state.gap = None if last is None else at - last
        state.last_at = at
        state.last_channel = channel
    if len(long) > MAX_TOKENS:
        rebase(state, state.last_at or at, keep=MAX_TOKENS // 2)


def rebase(state: IntentState, at: float, *, keep: int | None = None) -> None:
    """Move ``t0`` to ``at`` and drop what decayed to nothing (or all but the ``keep`` largest)."""
    if state.t0 is None:
        state.t0 = at
        return
    for index, table in ((0, state.short), (1, state.long)):
        factor = 2.0 ** (-(at - state.t0) / state.half_lives[index])
        kept = {k: v * factor for k, v in table.items() if v * factor >= _DROP_BELOW}
        if keep is not None and len(kept) > keep:
            kept = dict(sorted(kept.items(), key=lambda kv: -kv[1])[:keep])
        table.clear()
        table.update(kept)
    seen = state.seen
    for token in [t for t in seen if t not in state.long]:
        del seen[token]  # forgotten with its counts
    state.t0 = at


def merge(a: IntentState, b: IntentState) -> IntentState:
    """One person's state from two people's (when their profiles merge): counts add up."""
    if a.t0 is None:
        return b
    if b.t0 is None:
        return a
    at = max(a.t0, b.t0)
    rebase(a, at)
    rebase(b, at)
    merged = IntentState(a.half_lives, at)
    for mine, theirs, into in ((a.short, b.short, merged.short), (a.long, b.long, merged.long)):
        into.update(mine)
        for k, v in theirs.items():
            into[k] = into.get(k, 0.0) + v
    merged.seen = dict(a.seen)
    for k, v in b.seen.items():
        merged.seen[k] = max(v, merged.seen.get(k, v))
    later = a if (a.last_at or -math.inf) >= (b.last_at or -math.inf) else b
    merged.last_at, merged.last_channel = later.last_at, later.last_channel
    merged.gap, merged.depth = later.gap, later.depth
    return merged


def features(state: IntentState, at: float) -> dict[str, float]:
    """What models read at ``at``: log counts (``s|`` right now, ``l|`` lately), the gap
    before the last event, the session depth. Only non-zero features are listed."""
    out: dict[str, float] = {}
    if state.t0 is None:
        return out
    short_factor = 2.0 ** (-(at - state.t0) / state.half_lives[0])
    long_factor = 2.0 ** (-(at - state.t0) / state.half_lives[1])
    log1p = math.log1p
    for k, v in state.short.items():
        c = v * short_factor
        if c >= 0.01:
            out["s|" + k] = log1p(c)
    for k, v in state.long.items():
        c = v * long_factor
        if c >= 0.01:
            out["l|" + k] = log1p(c)
    gap = state.gap
    out["gap"] = log1p(gap) if gap is not None else log1p(24.0 * 30)
    if state.last_at is not None:
        out["depth"] = log1p(state.depth) if at - state.last_at <= SESSION_GAP_HOURS else 0.0
    return out
