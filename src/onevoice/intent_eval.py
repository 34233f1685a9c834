"""``onevoice eval intents``: how well intents are detected, against the simulator's truth.

A simulated Harbour Bank world (the simulator's default: batch-and-blast marketing) is
split by customer: models are trained on the training
customers' events with outcomes as labels (exactly as ``onevoice train intents`` does
from a store), then scored on the held-out customers after every event. The truth is
the simulator's latent intents: a snapshot is positive for an intent when the customer
had an episode of it under way at that moment. For each intent:

* ``auc`` — ROC AUC of the trained model's scores; ``baseline_auc`` of the hand rules;
* ``auc_gain`` — ``auc − baseline_auc`` with a 95% interval from a paired bootstrap over
  held-out customers (a customer's snapshots are resampled together: they are not
  independent), so "above the hand rules" is told apart from noise;
* ``precision_at_top`` — share of truly active intents among the top 1% of snapshots;
* ``lead_time`` — median hours from first detection (score above the top-1% cut) to the
  confirming outcome, over episodes that ended in it; ``detected`` — share of those.

Events are grouped by the simulator's customer (identity resolution is assumed perfect,
which the listening post's own tests and benchmarks cover).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
from numpy.typing import NDArray

from onevoice.domain.events import Event, parse_event
from onevoice.domain.intent import Definitions, IntentModel, IntentState, event_hours, observe
from onevoice.domain.intent.events import intent_signals
from onevoice.domain.intent.scoring import hand_rule
from onevoice.intent_training import Snapshots, snapshots, train
from onevoice.sim import catalog as cat
from onevoice.sim import truth as t
from onevoice.sim.policies import BatchAndBlast
from onevoice.sim.runner import World, WorldConfig, simulate
from onevoice.sim.segment import Identities, people_tag, row_calls, world_tag

TOP_SHARE = 0.01
#: Bootstrap resamples behind each ``auc_gain`` interval.
GAIN_DRAWS = 400
CONFIRMED = (t.CONVERTED, t.RESOLVED, t.CHURNED)
END = datetime(2026, 6, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class IntentReport:
    name: str
    positives: int
    auc: float
    baseline_auc: float
    #: 95% bootstrap interval of ``auc - baseline_auc`` (customers resampled)
    gain_interval: tuple[float, float]
    precision_at_top: float
    baseline_precision_at_top: float
    lead_time_hours: float
    baseline_lead_time_hours: float
    detected: float
    outcomes: int


def world_events(world: World) -> list[list[Event]]:
    """Every customer's events, parsed by the collector's own rules, in time order."""
    config = world.config
    ids = Identities(people_tag(config.seed, config.customers))
    prefix = f"sim-{world_tag(config.seed, config.customers, config.days, world.policy)}-"
    received = world.end + timedelta(minutes=1)
    calls = row_calls(ids, world.rows, world.people.timezone, world.people.has_phone, prefix)
    people: list[list[Event]] = [[] for _ in range(world.people.size)]
    for customer, call in zip(world.rows.customer.tolist(), calls, strict=True):
        people[customer].append(
            parse_event(call, received_at=received, max_future=timedelta(days=1))
        )
    return people


def evaluate(
    definitions: Definitions,
    *,
    customers: int = 10_000,
    days: int = 30,
    seed: int = 0,
    holdout: float = 0.3,
    on_step: Callable[[str], None] | None = None,
) -> list[IntentReport]:
    """Simulate, train on ``1 - holdout`` of the customers, report on the rest."""
    say = on_step or (lambda _text: None)
    say(f"simulating {customers:,} customers over {days} days (seed {seed})")
    world = simulate(
        WorldConfig(customers=customers, days=days, seed=seed, end=END), BatchAndBlast()
    )
    people = world_events(world)
    rng = np.random.default_rng([seed, 99])
    held = rng.random(len(people)) < holdout
    training = [p for p, h in zip(people, held, strict=True) if not h]
    testing_ids = np.flatnonzero(held)
    say(f"training on {len(training):,} customers")
    models, _summary = train(snapshots(training, definitions), definitions)
    model = IntentModel(definitions, models)
    say(f"scoring {testing_ids.size:,} held-out customers after every event")
    test = snapshots((people[i] for i in testing_ids), definitions)
    scores, baseline = _scores(model, [people[i] for i in testing_ids], definitions)
    customer = testing_ids[test.person]
    return [
        _report(k, d.name, scores[:, k], baseline[:, k], customer, test, world)
        for k, d in enumerate(definitions.intents)
    ]


def _scores(
    model: IntentModel, people: list[list[Event]], definitions: Definitions
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Model and hand-rule scores after every event (rows as in :func:`snapshots`)."""
    names = definitions.names()
    rows_model: list[list[float]] = []
    rows_rules: list[list[float]] = []
    for events in people:
        state = IntentState(definitions.feature_half_lives)
        for event in events:
            at = event_hours(event)
            if definitions.observes(event.name):
                observe(state, intent_signals(event, definitions.intents), event.channel, at)
            by_name = {s.name: s.score for s in model.score(state, at)}
            rows_model.append([by_name.get(n, 0.0) for n in names])
            rows_rules.append(
                [hand_rule(d.name, d.hints, state, at).score for d in definitions.intents]
            )
    return np.array(rows_model), np.array(rows_rules)


def _truth(
    k: int, name: str, customer: NDArray[np.int64], at_ms: NDArray[np.int64], world: World
) -> tuple[NDArray[np.bool_], NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]]:
    """Per snapshot: was an episode of intent ``k`` under way; and the confirmed episodes."""
    episodes = world.truth.episodes
    index = cat.INTENTS.index(next(i for i in cat.INTENTS if i.name == name))
    mine = episodes["intent"] == index
    ep_customer = episodes["customer"][mine].astype(np.int64)
    start = episodes["start"][mine]
    end = np.where(episodes["end"][mine] < 0, np.iinfo(np.int64).max, episodes["end"][mine])
    active = np.zeros(customer.size, dtype=bool)
    order = np.argsort(ep_customer, kind="stable")
    ep_customer, start, end = ep_customer[order], start[order], end[order]
    outcome = episodes["outcome"][mine][order]
    lo = np.searchsorted(ep_customer, customer, side="left")
    hi = np.searchsorted(ep_customer, customer, side="right")
    for j in range(int((hi - lo).max(initial=0))):
        has = lo + j < hi
        e = np.minimum(lo + j, max(ep_customer.size - 1, 0))
        active |= has & (start[e] <= at_ms) & (at_ms < end[e])
    confirmed = np.isin(outcome, CONFIRMED)
    return active, ep_customer[confirmed], start[confirmed], end[confirmed]


def _report(
    k: int,
    name: str,
    scores: NDArray[np.float64],
    baseline: NDArray[np.float64],
    customer: NDArray[np.int64],
    test: Snapshots,
    world: World,
) -> IntentReport:
    at_ms = np.round(test.at * 3_600_000).astype(np.int64)
    active, ep_customer, ep_start, ep_end = _truth(k, name, customer, at_ms, world)
    held = np.isin(ep_customer, np.unique(customer))
    ep_customer, ep_start, ep_end = ep_customer[held], ep_start[held], ep_end[held]
    lead, detected = _lead(scores, customer, at_ms, ep_customer, ep_start, ep_end)
    base_lead, _ = _lead(baseline, customer, at_ms, ep_customer, ep_start, ep_end)
    return IntentReport(
        name,
        int(active.sum()),
        auc(scores, active),
        auc(baseline, active),
        auc_gain_interval(scores, baseline, active, customer, seed=k),
        precision_at_top(scores, active),
        precision_at_top(baseline, active),
        lead,
        base_lead,
        detected,
        int(ep_customer.size),
    )


def _lead(
    scores: NDArray[np.float64],
    customer: NDArray[np.int64],
    at_ms: NDArray[np.int64],
    ep_customer: NDArray[np.int64],
    ep_start: NDArray[np.int64],
    ep_end: NDArray[np.int64],
) -> tuple[float, float]:
    """Median hours from first detection to the outcome, and the share detected."""
    cut = _top_cut(scores)
    hit = scores >= cut
    leads: list[float] = []
    for c, s, e in zip(ep_customer.tolist(), ep_start.tolist(), ep_end.tolist(), strict=True):
        inside = (customer == c) & (at_ms >= s) & (at_ms <= e) & hit
        if inside.any():
            leads.append((e - int(at_ms[inside].min())) / 3_600_000)
    if not leads:
        return float("nan"), 0.0
    return float(np.median(leads)), len(leads) / max(ep_customer.size, 1)


def _top_cut(scores: NDArray[np.float64]) -> float:
    return float(np.quantile(scores, 1.0 - TOP_SHARE))


def auc_gain_interval(
    scores: NDArray[np.float64],
    baseline: NDArray[np.float64],
    truth: NDArray[np.bool_],
    customer: NDArray[np.int64],
    *,
    draws: int = GAIN_DRAWS,
    seed: int = 0,
) -> tuple[float, float]:
    """95% interval of ``auc(scores) − auc(baseline)`` by a paired cluster bootstrap:
    each draw resamples whole customers with replacement (one weight per customer, shared
    by both scores), so a customer's many snapshots count as the one draw they are."""
    if truth.all() or not truth.any():
        return float("nan"), float("nan")
    _, cluster = np.unique(customer, return_inverse=True)
    rng = np.random.default_rng([seed, 7])
    ours, theirs = _WeightedAuc(scores, truth), _WeightedAuc(baseline, truth)
    n = int(cluster.max()) + 1
    gains = np.empty(draws)
    for d in range(draws):
        weight = np.bincount(rng.integers(0, n, n), minlength=n)[cluster].astype(np.float64)
        gains[d] = ours(weight) - theirs(weight)
    low, high = np.quantile(gains, [0.025, 0.975])
    return float(low), float(high)


class _WeightedAuc:
    """ROC AUC under snapshot weights, ties counted half: the scores are sorted and
    grouped once, so each bootstrap draw costs a few passes over the data."""

    def __init__(self, scores: NDArray[np.float64], truth: NDArray[np.bool_]) -> None:
        _, self._group = np.unique(scores, return_inverse=True)
        self._groups = int(self._group.max()) + 1
        self._truth = truth

    def __call__(self, weight: NDArray[np.float64]) -> float:
        pos = np.bincount(self._group, weight * self._truth, self._groups)
        neg = np.bincount(self._group, weight * ~self._truth, self._groups)
        below = np.cumsum(neg) - neg  # negative weight scored strictly lower
        total_pos, total_neg = pos.sum(), neg.sum()
        if total_pos == 0 or total_neg == 0:
            return float("nan")
        return float((pos * (below + 0.5 * neg)).sum() / (total_pos * total_neg))


def precision_at_top(scores: NDArray[np.float64], truth: NDArray[np.bool_]) -> float:
    """Share of true positives among the ``TOP_SHARE`` highest scores."""
    top = max(1, round(scores.size * TOP_SHARE))
    order = np.argsort(-scores, kind="stable")[:top]
    return float(truth[order].mean())


def auc(scores: NDArray[np.float64], truth: NDArray[np.bool_]) -> float:
    """ROC AUC with ties counted half (the Mann–Whitney statistic)."""
    from sklearn.metrics import roc_auc_score

    if truth.all() or not truth.any():
        return float("nan")
    return float(roc_auc_score(truth, scores))
