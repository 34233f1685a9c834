"""Training intent models from history, with scikit-learn (outside the pure core).

Every event of every person is a *snapshot*: the intent features right after it, the same
ones the processor computes live (:func:`onevoice.domain.intent.features`). Its label for
an intent is whether one of the intent's confirming outcomes followed within the intent's
horizon. One logistic regression per intent (class-balanced, so scores read as "looks
like people who went on to the outcome" rather than as a rare-event probability, and
L2-regularised, its strength chosen per intent by cross-validation over people) is fitted on
the sparse features scaled by their largest value; the scaling is folded back into the
weights, so serving needs no scikit-learn and reads only the features a person has.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import sparse
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import MaxAbsScaler

from onevoice.domain.errors import InvalidInput
from onevoice.domain.events import Event
from onevoice.domain.intent import (
    Definitions,
    IntentState,
    LinearModel,
    event_hours,
    intent_signals,
    observe,
)
from onevoice.domain.intent.scoring import model_features

MIN_SUPPORT = 20
MIN_PEOPLE = 25
VALIDATION_SEED = 20260601
#: How much more the brand's own knowledge (hand-rule evidence ``rule|…``, how recently a
#: hinted signal was seen ``recent…|…``, how recently the intent was fulfilled ``done…|…``)
#: is trusted than any other feature: its column is scaled up before the L2 penalty, so its
#: weight is penalised this squared times less — other signals must earn their weight.
RULE_TRUST = 5.0
TRUSTED = ("rule|", "recent|", "recent_week|", "done|", "done_week|")
#: Inverse regularisation strengths tried per intent; the one whose models rank the
#: outcomes of people they did not see best (``CV_FOLDS``-fold, by person) is kept.
C_GRID = (0.001, 0.003, 0.01, 0.03, 0.1)
CV_FOLDS = 3


@dataclass(slots=True)
class Snapshots:
    """Feature rows (one per event), labels per intent, and whose/when each row is."""

    rows: list[dict[str, float]]
    labels: NDArray[np.bool_]  # (rows, intents)
    person: NDArray[np.int64]
    at: NDArray[np.float64]  # hours since the epoch

    def __len__(self) -> int:
        return len(self.rows)


def snapshots(people: Iterable[Sequence[Event]], definitions: Definitions) -> Snapshots:
    """A snapshot after every event of every person (events in time order per person)."""
    rows: list[dict[str, float]] = []
    labels: list[list[bool]] = []
    person_of: list[int] = []
    times: list[float] = []
    intents = definitions.intents
    horizons = [d.horizon_days * 24.0 for d in intents]
    for n, events in enumerate(people):
        state = IntentState(definitions.feature_half_lives)
        hours = [event_hours(e) for e in events]
        outcome_times = [
            sorted(
                h
                for e, h in zip(events, hours, strict=True)
                if d.confirmed_by(e.name, e.properties) and e.type == "track"
            )
            for d in intents
        ]
        for event, at in zip(events, hours, strict=True):
            if definitions.observes(event.name):
                observe(state, intent_signals(event, intents), event.channel, at)
            rows.append(model_features(definitions, state, at))
            labels.append([_within(outcome_times[k], at, horizons[k]) for k in range(len(intents))])
            person_of.append(n)
            times.append(at)
    return Snapshots(
        rows,
        np.array(labels, dtype=bool).reshape(len(rows), len(intents)),
        np.array(person_of, dtype=np.int64),
        np.array(times, dtype=np.float64),
    )


def _within(times: list[float], at: float, horizon: float) -> bool:
    """An outcome strictly after ``at`` and no later than ``at + horizon``."""
    i = bisect.bisect_right(times, at)
    return i < len(times) and times[i] <= at + horizon


def vocabulary(rows: Sequence[dict[str, float]], min_support: int = MIN_SUPPORT) -> list[str]:
    """Features present in at least ``min_support`` rows, sorted."""
    seen: dict[str, int] = {}
    for row in rows:
        for name in row:
            seen[name] = seen.get(name, 0) + 1
    return sorted(name for name, count in seen.items() if count >= min_support)


def matrix(rows: Sequence[dict[str, float]], vocab: Sequence[str]) -> sparse.csr_matrix:
    index = {name: i for i, name in enumerate(vocab)}
    indptr = [0]
    indices: list[int] = []
    data: list[float] = []
    for row in rows:
        for name, value in row.items():
            i = index.get(name)
            if i is not None:
                indices.append(i)
                data.append(value)
        indptr.append(len(indices))
    return sparse.csr_matrix(
        (np.array(data), np.array(indices, dtype=np.int64), np.array(indptr, dtype=np.int64)),
        shape=(len(rows), len(vocab)),
    )


def train(
    data: Snapshots,
    definitions: Definitions,
    *,
    c: float | None = None,
    min_support: int = MIN_SUPPORT,
    min_people: int = MIN_PEOPLE,
) -> tuple[dict[str, LinearModel], dict[str, dict[str, float]]]:
    """One model per intent that earns its place; and per intent what training saw.

    An intent needs confirmed outcomes from at least ``min_people`` people. A fifth of
    the people (by a seeded draw) are held back: the model fitted on the rest must rank
    their outcomes better (ROC AUC) than the intent's hand rules do, or the hand rules stay;
    a model that earns its place is refitted on everyone. ``c`` (inverse L2 strength) is
    chosen per intent from :data:`C_GRID` by cross-validation over the other people unless
    given.
    """
    if not len(data):
        raise InvalidInput("no processed events to learn from", field="events")
    from sklearn.metrics import roc_auc_score

    vocab = vocabulary(data.rows, min_support)
    x = matrix(data.rows, vocab)
    scaler = MaxAbsScaler().fit(x)
    trust = np.array([RULE_TRUST if n.startswith(TRUSTED) else 1.0 for n in vocab])
    scaled = sparse.csr_matrix(scaler.transform(x) @ sparse.diags(trust))
    scale = np.asarray(scaler.scale_, dtype=np.float64) / trust
    people = int(data.person.max()) + 1 if len(data) else 0
    held = np.random.default_rng(VALIDATION_SEED).random(people) < 0.2
    check = held[data.person]
    models: dict[str, LinearModel] = {}
    summary: dict[str, dict[str, float]] = {}
    for k, definition in enumerate(definitions.intents):
        y = data.labels[:, k]
        who = np.unique(data.person[y])
        info: dict[str, float] = {
            "rows": float(len(y)),
            "positives": float(y.sum()),
            "people": float(who.size),
        }
        summary[definition.name] = info
        if who.size < min_people or y.all():
            continue  # too few confirmed outcomes: this intent keeps its hand rules
        rule = f"rule|{definition.name}"
        evidence = np.fromiter((rule in row for row in data.rows), dtype=bool, count=len(y))
        strength = (
            c
            if c is not None
            else _choose_c(scaled[~check], y[~check], data.person[~check], evidence[~check])
        )
        info["c"] = strength
        fit = _fit(scaled[~check], y[~check], strength)
        if y[check].any() and not y[check].all():
            hand = (
                x[check][:, vocab.index(rule)].toarray().ravel()
                if rule in vocab
                else np.zeros(int(check.sum()))
            )
            info["validation_auc"] = float(
                roc_auc_score(
                    y[check], _evidence_first(fit.decision_function(scaled[check]), evidence[check])
                )
            )
            info["hand_rules_auc"] = float(roc_auc_score(y[check], hand))
            if info["validation_auc"] <= info["hand_rules_auc"]:
                continue  # the model does not beat the brand's own rules: keep them
        fit = _fit(scaled, y, strength)
        weights = fit.coef_[0] / scale
        z = fit.decision_function(scaled[evidence]) if evidence.any() else np.zeros(1)
        models[definition.name] = LinearModel(
            float(fit.intercept_[0]),
            {name: float(w) for name, w in zip(vocab, weights, strict=True) if abs(w) > 1e-6},
            floor=float(1.0 / (1.0 + np.exp(-float(z.min())))),
        )
    return models, summary


def _evidence_first(z: NDArray[np.float64], evidence: NDArray[np.bool_]) -> NDArray[np.float64]:
    """Scores ranked as served: anyone showing the intent's hinted signals above anyone not."""
    result: NDArray[np.float64] = np.where(evidence, z + 1e6, z)
    return result


def _choose_c(
    x: sparse.csr_matrix,
    y: NDArray[np.bool_],
    person: NDArray[np.int64],
    evidence: NDArray[np.bool_],
) -> float:
    """The strength from :data:`C_GRID` with the best mean ROC AUC on held-out folds of people
    (ties go to the stronger regularisation)."""
    from sklearn.metrics import roc_auc_score

    fold = np.random.default_rng(VALIDATION_SEED + 1).integers(0, CV_FOLDS, int(person.max()) + 1)
    rows = fold[person]
    best, best_auc = C_GRID[0], -1.0
    for c in C_GRID:
        aucs = []
        for f in range(CV_FOLDS):
            train_rows, test_rows = rows != f, rows == f
            if y[test_rows].all() or not y[test_rows].any() or not y[train_rows].any():
                continue
            fit = _fit(x[train_rows], y[train_rows], c)
            z = _evidence_first(fit.decision_function(x[test_rows]), evidence[test_rows])
            aucs.append(float(roc_auc_score(y[test_rows], z)))
        if aucs and float(np.mean(aucs)) > best_auc + 1e-4:
            best, best_auc = c, float(np.mean(aucs))
    return best


def _fit(x: sparse.csr_matrix, y: NDArray[np.bool_], c: float) -> LogisticRegression:
    return LogisticRegression(C=c, class_weight="balanced", max_iter=2000).fit(x, y)
