"""Scoring intents: a trained linear model per intent, or the hand rules when there is none.

A trained model is logistic regression over the sparse features of
:func:`onevoice.domain.intent.state.features` (standardisation folded into the weights,
so only the features a person has cost anything); its reasons are the features that
pushed the score up most. Without a model (cold start, or an intent the model has not
learned) the intent's hints are the rule: ``score = 1 - 2**-z`` where ``z`` sums each
hinted signal's recent count times its weight. Scores decay with the intent's half-life
from the moment they were computed (:func:`decayed`).

>>> from onevoice.domain.intent.definitions import IntentDefinition, Outcome, Definitions
>>> from onevoice.domain.intent.state import IntentState, observe
>>> d = Definitions((IntentDefinition("mortgage", "mortgage", (Outcome("Order Completed"),),
...                  {"page:mortgages": 1.0}),))
>>> s = IntentState()
>>> observe(s, ("channel:web", "page:mortgages"), "web", 10.0)
>>> [(x.name, round(x.score, 2), x.reasons) for x in IntentModel(d).score(s, 10.0)]
[('mortgage', 0.5, ('page:mortgages ×1.0 lately',))]
>>> decayed(0.8, 72.0, 72.0)
0.4
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from onevoice.domain.intent.definitions import EMPTY, Definitions
from onevoice.domain.intent.events import OUTCOME
from onevoice.domain.intent.state import IntentState, features

REASONS = 3
RULES = "rules"
_META = {"meta:events": "events", "meta:switch": "channel switches"}


@dataclass(frozen=True, slots=True)
class IntentScore:
    """How likely a person is pursuing an intent now, and the signals that say so."""

    name: str
    score: float
    reasons: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class LinearModel:
    """Logistic regression with sparse weights: ``p = σ(intercept + Σ w_f · x_f)``.

    ``floor`` (the lowest score training gave anyone showing the intent's hinted signals)
    keeps the brand's evidence first: a person showing none of them scores ``floor · p``, so
    other signals reorder people within "has shown the signals" and within "has not", but a
    handful of outcomes cannot teach the model to rank a stranger above someone reading the
    intent's pages."""

    intercept: float
    weights: Mapping[str, float]
    floor: float | None = None

    def explain(self, x: Mapping[str, float]) -> tuple[float, list[tuple[float, str]]]:
        """The probability and each present feature's contribution to the log-odds."""
        z = self.intercept
        parts: list[tuple[float, str]] = []
        weights = self.weights
        for name, value in x.items():
            w = weights.get(name)
            if w is not None:
                c = w * value
                z += c
                parts.append((c, name))
        return _sigmoid(z), parts

    def to_record(self) -> dict[str, Any]:
        record: dict[str, Any] = {"intercept": self.intercept, "weights": dict(self.weights)}
        if self.floor is not None:
            record["floor"] = self.floor
        return record

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> LinearModel:
        floor = record.get("floor")
        return cls(
            float(record["intercept"]),
            {str(k): float(v) for k, v in record["weights"].items()},
            None if floor is None else float(floor),
        )


@dataclass(frozen=True, slots=True)
class IntentModel:
    """The definitions in force, their trained models (if any) and the stored version."""

    definitions: Definitions = EMPTY
    models: Mapping[str, LinearModel] = field(default_factory=dict)
    version: int = 0

    @property
    def kind(self) -> str:
        return "trained" if self.models else RULES

    def score(self, state: IntentState, at: float) -> tuple[IntentScore, ...]:
        """Every intent's score for ``state`` read at ``at`` (hours), best first."""
        if not self.definitions.intents or state.t0 is None:
            return ()
        x = model_features(self.definitions, state, at) if self.models else {}
        scores = []
        for d in self.definitions.intents:
            model = self.models.get(d.name)
            if model is None:
                scores.append(hand_rule(d.name, d.hints, state, at))
                continue
            p, parts = model.explain(x)
            if model.floor is not None and "rule|" + d.name not in x:
                p *= model.floor  # none of the intent's own signals: below everyone with some
            top = sorted((c, n) for c, n in parts if c > 0)[-REASONS:]
            scores.append(
                IntentScore(d.name, p, tuple(_reason(n, x[n]) for _c, n in reversed(top)))
            )
        scores.sort(key=lambda s: -s.score)
        return tuple(scores)


#: Half-lives (hours) of the recency features: a day, a week.
RECENCY_HALF_LIVES = (("", 24.0), ("_week", 168.0))


def model_features(definitions: Definitions, state: IntentState, at: float) -> dict[str, float]:
    """What a trained model reads: the state's features, and per intent the brand's own
    knowledge — its hand-rule evidence (``rule|<name>`` = log(1 + z)), how recently any hinted
    signal was seen (``recent|<name>``, ``recent_week|<name>`` = 2^(−age/half-life)) and how
    recently the intent was fulfilled (``done|<name>``, ``done_week|<name>``) — so a model
    starts from the rules and learns how far to trust them, whether a trail is fresh or only
    fading, and that an intent just fulfilled is over."""
    x = features(state, at)
    seen = state.seen
    for d in definitions.intents:
        z = hint_sum(d.hints, state, at, explain=False)[0]
        if z > 0:
            x["rule|" + d.name] = math.log1p(z)
        last = max((seen[t] for t in d.hints if t in seen), default=None)
        if last is not None:
            for suffix, half_life in RECENCY_HALF_LIVES:
                x[f"recent{suffix}|{d.name}"] = 2.0 ** (-max(at - last, 0.0) / half_life)
        done = seen.get(OUTCOME + d.name)
        if done is not None:
            for suffix, half_life in RECENCY_HALF_LIVES:
                x[f"done{suffix}|{d.name}"] = 2.0 ** (-max(at - done, 0.0) / half_life)
    return x


def hint_sum(
    hints: Mapping[str, float], state: IntentState, at: float, *, explain: bool = True
) -> tuple[float, list[tuple[float, str]]]:
    """``z`` = Σ weight × recent count of each hinted signal, and each hint's part."""
    z = 0.0
    parts: list[tuple[float, str]] = []
    if state.t0 is None:
        return z, parts
    long = state.long
    factor = 2.0 ** (-(at - state.t0) / state.half_lives[1])
    for token, weight in hints.items():
        stored = long.get(token)
        if stored:
            c = stored * factor
            z += weight * c
            if explain:
                parts.append((weight * c, f"{token} ×{c:.1f} lately"))
    return z, parts


def hand_rule(name: str, hints: Mapping[str, float], state: IntentState, at: float) -> IntentScore:
    """The cold-start score: ``1 - 2**-z`` (see :func:`hint_sum`)."""
    z, parts = hint_sum(hints, state, at)
    parts.sort(key=lambda p: -p[0])
    score = 1.0 - 2.0 ** (-max(z, 0.0))
    return IntentScore(name, score, tuple(text for c, text in parts[:REASONS] if c > 0))


def decayed(score: float, hours_since: float, half_life_hours: float) -> float:
    """A score computed ``hours_since`` ago, faded by the intent's half-life."""
    if hours_since <= 0:
        return score
    return float(score * 2.0 ** (-hours_since / half_life_hours))


def _reason(feature: str, value: float) -> str:
    """``s|page:mortgages`` → ``page:mortgages ×1.0 just now`` (counts from log1p values)."""
    scale, _sep, token = feature.partition("|")
    if scale == "rule":
        return f"matches the {token} hand rules"
    for prefix, what in (("recent", "{} signals"), ("done", "{} done")):
        for suffix, half_life in RECENCY_HALF_LIVES:
            if scale == prefix + suffix:
                hours = -half_life * math.log2(value) if value > 0 else math.inf
                return f"{what.format(token)} {hours:.0f}h ago"
    if not token:
        return {"gap": "time since the previous visit", "depth": "a deep session"}.get(
            feature, feature
        )
    when = "just now" if scale == "s" else "lately"
    token = _META.get(token, token)
    return f"{token} ×{math.expm1(value):.1f} {when}"


def _sigmoid(z: float) -> float:
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)
