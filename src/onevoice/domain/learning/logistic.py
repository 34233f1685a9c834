"""Bayesian logistic regression per action, updated online, sampled by Thompson.

The posterior of each action's weights is a Gaussian with a diagonal precision — the
Laplace approximation of Chapelle & Li (2011), "An Empirical Evaluation of Thompson
Sampling", algorithm 3 — kept up to date one observation at a time:

1. the new mode ``w`` minimises ``½ Σ qᵢ (wᵢ − mᵢ)² + logloss(r, σ(w·x))``. Its gradient is
   along ``x/q``, so ``w = m + c · x/q`` with the scalar ``c`` solving
   ``c = r − σ(m·x + c · Σ xᵢ²/qᵢ)`` — one-dimensional, monotone, solved by Newton;
2. ``m ← w`` and ``qᵢ ← qᵢ + p(1 − p) xᵢ²`` with ``p = σ(w·x)``.

The score ``w·x`` is then Gaussian with mean ``μ = m·x`` and variance ``s² = Σ xᵢ²/qᵢ``,
so a Thompson draw is ``σ(μ + s·ε)`` and the posterior mean of the probability is
MacKay's probit approximation ``σ(μ / √(1 + π s²/8))``.

Every action starts from the same prior: the bias at ``logit(prior_rate)`` (so
``prior_rate`` is the prior median; the mean is a little nearer ½), every other weight at
0, variance ``prior_variance`` — a new action gets a fair start, and its wide posterior
makes Thompson sampling try it. A bias feature is always added; features never
seen before start from the prior too.

>>> learner = BayesianLogistic(prior_rate=0.1)
>>> for n in range(400):
...     learner.learn_one("a", {"young": 1.0}, 1.0 if n % 2 else 0.0)
>>> round(learner.predict_one("a", {"young": 1.0}), 1), round(learner.predict_one("b", {}), 2)
(0.5, 0.13)
"""

from __future__ import annotations

import functools
import math
import statistics
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from onevoice.domain.errors import InvalidInput
from onevoice.domain.learning.base import Features

KIND = "bayes-logistic"
BIAS = "_bias"
_NEWTON_STEPS = 20

Vector = NDArray[np.float64]


class BayesianLogistic:
    """One diagonal-Gaussian logistic posterior per action; Thompson draws on the score."""

    def __init__(self, *, prior_rate: float = 0.05, prior_variance: float = 1.0) -> None:
        if not 0 < prior_rate < 1 or prior_variance <= 0:
            raise InvalidInput("prior_rate must be in (0, 1) and prior_variance above 0")
        self.prior_rate = prior_rate
        self.prior_variance = prior_variance
        self._index: dict[str, int] = {BIAS: 0}
        self._mean: dict[str, Vector] = {}
        self._precision: dict[str, Vector] = {}
        self._updates = 0
        self._stack: _Stack | None = None

    @property
    def version(self) -> str:
        return f"{KIND}@{self._updates}"

    # -- posterior access ---------------------------------------------------------------

    def _prior(self, size: int) -> tuple[Vector, Vector]:
        mean = np.zeros(size)
        mean[0] = math.log(self.prior_rate / (1 - self.prior_rate))
        return mean, np.full(size, 1.0 / self.prior_variance)

    def _posterior(self, action_id: str) -> tuple[Vector, Vector]:
        size = len(self._index)
        mean = self._mean.get(action_id)
        precision = self._precision.get(action_id)
        if mean is None or precision is None:
            return self._prior(size)
        if len(mean) < size:  # features first seen after this action: their prior
            prior_mean, prior_precision = self._prior(size)
            mean = np.concatenate([mean, prior_mean[len(mean) :]])
            precision = np.concatenate([precision, prior_precision[len(precision) :]])
        return mean, precision

    def _vector(self, x: Features, *, grow: bool) -> Vector:
        if grow:
            for name in x:
                if name not in self._index:
                    self._index[name] = len(self._index)
        vector = np.zeros(len(self._index))
        vector[0] = 1.0
        for name, value in x.items():
            position = self._index.get(name)
            if position is not None and position != 0:
                vector[position] = float(value)
        return vector

    def _score(self, action_id: str, vector: Vector) -> tuple[float, float]:
        mean, precision = self._posterior(action_id)
        return float(mean @ vector), float(np.sum(vector * vector / precision))

    def _scores(self, action_ids: Sequence[str], x: Features) -> tuple[Vector, Vector]:
        """Mean and variance of every action's score ``w·x``, by matrix products.

        The posteriors are stacked into one matrix (means, variances; a last row holds the
        prior) built on first use after an update and reused by every decision until the
        next ``learn_one``: a decision costs two small matrix-vector products.
        """
        vector = self._vector(x, grow=False)
        stack = self._stack
        if stack is None or stack.size != len(vector):
            stack = self._stack = self._stacked()
        prior = len(stack.rows)
        rows = [stack.rows.get(a, prior) for a in action_ids]
        mu: Vector = stack.mean[rows] @ vector
        variance: Vector = stack.variance[rows] @ (vector * vector)
        return mu, variance

    def _stacked(self) -> _Stack:
        size = len(self._index)
        ids = sorted(self._mean)
        posteriors = [self._posterior(a) for a in ids]
        prior_mean, prior_precision = self._prior(size)
        mean = np.vstack([*(m for m, _ in posteriors), prior_mean])
        variance = 1.0 / np.vstack([*(q for _, q in posteriors), prior_precision])
        return _Stack({a: n for n, a in enumerate(ids)}, size, mean, variance)

    # -- the learner protocol -----------------------------------------------------------

    def predict_one(self, action_id: str, x: Features) -> float:
        mu, variance = self._score(action_id, self._vector(x, grow=False))
        return _sigmoid(mu / math.sqrt(1.0 + math.pi * variance / 8.0))

    def predict_many(self, action_ids: Sequence[str], x: Features) -> Vector:
        mu, variance = self._scores(action_ids, x)
        return _sigmoids(mu / np.sqrt(1.0 + math.pi * variance / 8.0))

    def sample(
        self, action_ids: Sequence[str], x: Features, draws: int, seed: int
    ) -> list[list[float]]:
        rows: list[list[float]] = self.sample_matrix(action_ids, x, draws, seed).tolist()
        return rows

    def sample_matrix(
        self, action_ids: Sequence[str], x: Features, draws: int, seed: int
    ) -> NDArray[np.float32]:
        return self.predict_and_sample(action_ids, x, draws, seed)[1]

    def predict_and_sample(
        self, action_ids: Sequence[str], x: Features, draws: int, seed: int
    ) -> tuple[Vector, NDArray[np.float32]]:
        """``predict_many`` and ``sample_matrix`` from one computation of the scores; the
        draws in single precision, plenty for a probability and half the work."""
        mu, variance = self._scores(action_ids, x)
        means = _sigmoids(mu / np.sqrt(1.0 + math.pi * variance / 8.0))
        z = _standard_normals(seed, draws, len(action_ids)) * np.sqrt(variance).astype(np.float32)
        z += mu.astype(np.float32)
        return means, _sigmoids(z)

    def predict_and_sample_tanh(
        self, action_ids: Sequence[str], x: Features, draws: int, seed: int
    ) -> tuple[Vector, NDArray[np.float32]]:
        """``predict_and_sample`` with each draw ``p`` given as ``tanh(z/2) = 2p − 1``: the
        same draws (``σ(z) = (1 + tanh(z/2))/2``), in one array pass where σ takes five,
        and a score ``p·g − c`` is then ``t·g/2 + (g/2 − c)`` (see ``thompson``)."""
        mu, variance = self._scores(action_ids, x)
        means = _sigmoids(mu / np.sqrt(1.0 + math.pi * variance / 8.0))
        half = np.sqrt(variance).astype(np.float32)
        half *= 0.5
        t = _standard_normals(seed, draws, len(action_ids)) * half
        t += (0.5 * mu).astype(np.float32)
        np.tanh(t, out=t)
        return means, t

    def learn_one(self, action_id: str, x: Features, reward: float) -> None:
        target = min(1.0, max(0.0, float(reward)))
        vector = self._vector(x, grow=True)
        mean, precision = self._posterior(action_id)
        mu = float(mean @ vector)
        spread = float(np.sum(vector * vector / precision))
        c = _solve(mu, spread, target)
        mean = mean + c * vector / precision
        p = _sigmoid(float(mean @ vector))
        self._mean[action_id] = mean
        self._precision[action_id] = precision + p * (1.0 - p) * vector * vector
        self._updates += 1
        self._stack = None

    def to_state(self) -> dict[str, Any]:
        return {
            "kind": KIND,
            "settings": {"prior_rate": self.prior_rate, "prior_variance": self.prior_variance},
            "updates": self._updates,
            "features": sorted(self._index, key=self._index.__getitem__),
            "actions": {
                a: {"mean": self._mean[a].tolist(), "precision": self._precision[a].tolist()}
                for a in sorted(self._mean)
            },
        }

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> BayesianLogistic:
        learner = cls(**state["settings"])
        features = list(state["features"])
        if not features or features[0] != BIAS:
            raise InvalidInput("a bayes-logistic state must start with the bias feature")
        learner._index = {name: n for n, name in enumerate(features)}
        learner._updates = int(state["updates"])
        for action_id, posterior in state["actions"].items():
            learner._mean[action_id] = np.array(posterior["mean"], dtype=float)
            learner._precision[action_id] = np.array(posterior["precision"], dtype=float)
        return learner


@dataclass(frozen=True, slots=True)
class _Stack:
    """Every action's posterior as rows of two matrices; row ``len(rows)`` is the prior."""

    rows: dict[str, int]
    size: int
    mean: NDArray[np.float64]
    variance: NDArray[np.float64]


class _BitGenerators(threading.local):
    """One PCG64 per thread, put into the state a seed names on each use."""

    def __init__(self) -> None:
        self.bits = np.random.PCG64(0)


_BITS = _BitGenerators()
_MASK_128 = (1 << 128) - 1
#: A draw picks one of 2**16 equally likely quantiles of the standard normal.
_LEVELS = 1 << 16


def _random_bits(seed: int) -> np.random.PCG64:
    """A PCG64 in the state ``seed`` names, the same for the same seed: set directly (2 µs)
    rather than through NumPy's ``SeedSequence`` (15 µs; it would run per decision). The
    seeds are already hashes of the decision id (``seed_of``): they need no more mixing."""
    bits = _BITS.bits
    seed &= _MASK_128
    bits.state = {
        "bit_generator": "PCG64",
        "state": {"state": seed, "inc": (seed << 1 | 1) & _MASK_128},
        "has_uint32": 0,
        "uinteger": 0,
    }
    return bits


@functools.cache
def _normal_quantiles() -> NDArray[np.float32]:
    """N(0, 1)'s quantiles at the midpoints of ``_LEVELS`` equal slices of (0, 1)."""
    normal = statistics.NormalDist()
    return np.array([normal.inv_cdf((k + 0.5) / _LEVELS) for k in range(_LEVELS)], dtype=np.float32)


#: How many standard normal draws are made once per process; a decision's draws are a
#: window of them (:func:`_standard_normals`).
_TABLE_SIZE = 1 << 21
#: The seed of that table: the same on every machine and after every restart.
_TABLE_SEED = 0x0E_0015_E


@functools.cache
def _normal_table() -> NDArray[np.float32]:
    """``_TABLE_SIZE`` standard normal draws (8 MB), read-only."""
    table = _grid_normals(_TABLE_SEED, _TABLE_SIZE)
    table.flags.writeable = False
    return table


def _grid_normals(seed: int, count: int) -> NDArray[np.float32]:
    """``count`` standard normal draws by inverse transform on a grid: 16 random bits pick
    one of 2**16 equally likely quantiles (a quarter of the cost of NumPy's ziggurat).
    The draws are exact to the grid and stop at ±4.3σ: a tail of 2·10⁻⁵ that neither the
    ranking draw nor the propensity's Monte Carlo can notice. Built from the raw bit
    stream, which NumPy keeps stable across versions (its samplers it does not)."""
    raw = _random_bits(seed).random_raw((count + 3) // 4)
    drawn: NDArray[np.float32] = _normal_quantiles()[raw.view(np.uint16)[:count]]
    return drawn


def _standard_normals(seed: int, draws: int, width: int) -> NDArray[np.float32]:
    """A ``draws × width`` array of standard normal draws for one decision (read-only).

    The window of :func:`_normal_table` that starts where ``seed`` says: the same seed, the
    same draws, and within a decision independent draws. A window is a slice, not a
    copy — making 11,000 fresh draws was a tenth of a decision's time. Two decisions
    share draws only when their windows overlap, which matters to neither: each
    decision's ranking and its Monte Carlo propensity use only its own draws.
    """
    count = draws * width
    table = _normal_table()
    if count > table.size:  # a catalog of more than 10,000 eligible actions
        return _grid_normals(seed, count).reshape(draws, width)
    start = seed % (table.size - count + 1)
    return table[start : start + count].reshape(draws, width)


def _sigmoids(z: NDArray[Any]) -> NDArray[Any]:
    """σ(z) elementwise, in place (float32 or float64), without overflow warnings for large
    ``|z|`` (float32's ``exp`` overflows past 88)."""
    np.negative(z, out=z)
    bound = 80.0 if z.dtype == np.float32 else 700.0
    np.minimum(z, bound, out=z)  # two ufuncs: np.clip's Python layers cost twice as much
    np.maximum(z, -bound, out=z)
    np.exp(z, out=z)
    z += 1.0
    np.reciprocal(z, out=z)
    return z


def _sigmoid(z: float) -> float:
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


def _solve(mu: float, spread: float, target: float) -> float:
    """The root of ``c − target + σ(mu + c·spread)``; it lies in [target − 1, target]."""
    low, high = target - 1.0, target
    c = 0.0
    for _ in range(_NEWTON_STEPS):
        p = _sigmoid(mu + c * spread)
        g = c - target + p
        if abs(g) < 1e-10:
            break
        if g > 0:
            high = c
        else:
            low = c
        step = c - g / (1.0 + spread * p * (1.0 - p))
        c = step if low <= step <= high else (low + high) / 2.0
    return c
