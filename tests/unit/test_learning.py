"""Learners: fair starts, seeded draws, convergence on a known world, state that survives."""

from __future__ import annotations

import doctest
import json
import random
from collections import Counter
from collections.abc import Callable, Mapping
from types import ModuleType

import pytest

import onevoice.domain.learning.base
import onevoice.domain.learning.beta
import onevoice.domain.learning.logistic
from onevoice.domain.errors import InvalidInput
from onevoice.domain.learning import load
from onevoice.domain.learning.base import Learner, decision_reward
from onevoice.domain.learning.beta import BetaBernoulli
from onevoice.domain.learning.logistic import BayesianLogistic

LEARNERS: dict[str, Callable[[], Learner]] = {
    "beta": lambda: BetaBernoulli(prior_rate=0.1, segment_by=("young",)),
    "logistic": lambda: BayesianLogistic(prior_rate=0.1),
}
ACTIONS = ["a", "b", "c"]


def _play(
    learner: Learner,
    rates: Callable[[Mapping[str, float]], Mapping[str, float]],
    rounds: int,
    seed: int,
    contexts: list[dict[str, float]],
) -> list[tuple[int, str]]:
    """Thompson sampling against a world whose true response rates are known."""
    world = random.Random(seed)
    choices = []
    for t in range(rounds):
        n = world.randrange(len(contexts))
        x = contexts[n]
        row = learner.sample(ACTIONS, x, 1, seed * 100_000 + t)[0]
        action = ACTIONS[max(range(len(ACTIONS)), key=row.__getitem__)]
        reward = 1.0 if world.random() < rates(x)[action] else 0.0
        learner.learn_one(action, x, reward)
        choices.append((n, action))
    return choices


@pytest.mark.parametrize("kind", LEARNERS)
def test_learning_converges_to_the_best_action_on_a_known_world(kind: str) -> None:
    learner = LEARNERS[kind]()
    choices = _play(learner, lambda x: {"a": 0.04, "b": 0.08, "c": 0.20}, 2500, 7, [{}])
    late = Counter(action for _, action in choices[-500:])
    assert late["c"] / 500 > 0.85
    assert max(ACTIONS, key=lambda a: learner.predict_one(a, {})) == "c"


@pytest.mark.parametrize("kind", LEARNERS)
def test_learning_finds_a_different_best_action_per_context(kind: str) -> None:
    learner = LEARNERS[kind]()

    def rates(x: Mapping[str, float]) -> Mapping[str, float]:
        young = x.get("young", 0.0) >= 0.5
        return {"a": 0.25 if young else 0.05, "b": 0.05 if young else 0.25, "c": 0.10}

    contexts = [{"young": 1.0}, {"young": 0.0}]
    choices = _play(learner, rates, 3000, 11, contexts)
    late = choices[-600:]
    young = Counter(a for n, a in late if n == 0)
    old = Counter(a for n, a in late if n == 1)
    assert young["a"] / sum(young.values()) > 0.7
    assert old["b"] / sum(old.values()) > 0.7


@pytest.mark.parametrize("kind", LEARNERS)
def test_a_new_action_gets_the_same_start_as_every_other(kind: str) -> None:
    learner = LEARNERS[kind]()
    learner.learn_one("a", {}, 0.0)
    assert learner.predict_one("new", {}) == learner.predict_one("other-new", {})
    draws = learner.sample(["new", "other-new"], {}, 4000, 3)
    means = [sum(row[i] for row in draws) / len(draws) for i in range(2)]
    assert means[0] == pytest.approx(means[1], abs=0.02)


@pytest.mark.parametrize("kind", LEARNERS)
def test_draws_depend_only_on_the_seed(kind: str) -> None:
    learner = LEARNERS[kind]()
    learner.learn_one("a", {"young": 1.0}, 1.0)
    assert learner.sample(ACTIONS, {}, 5, 42) == learner.sample(ACTIONS, {}, 5, 42)
    assert learner.sample(ACTIONS, {}, 5, 42) != learner.sample(ACTIONS, {}, 5, 43)


@pytest.mark.parametrize("kind", LEARNERS)
def test_a_model_survives_a_restart_through_plain_json(kind: str) -> None:
    learner = LEARNERS[kind]()
    _play(learner, lambda x: {"a": 0.1, "b": 0.3, "c": 0.2}, 300, 5, [{"young": 1.0}, {}])
    restored = load(json.loads(json.dumps(learner.to_state())))
    assert restored.version == learner.version
    for x in ({}, {"young": 1.0}, {"unseen": 1.0}):
        for action in [*ACTIONS, "new"]:
            assert restored.predict_one(action, x) == learner.predict_one(action, x)
        assert restored.sample(ACTIONS, x, 3, 9) == learner.sample(ACTIONS, x, 3, 9)
    restored.learn_one("a", {}, 1.0)
    learner.learn_one("a", {}, 1.0)
    assert restored.to_state() == learner.to_state()


@pytest.mark.parametrize("kind", LEARNERS)
def test_the_version_counts_updates(kind: str) -> None:
    learner = LEARNERS[kind]()
    before = learner.version
    learner.learn_one("a", {}, 0.5)
    assert learner.version != before and learner.version.endswith("@1")


def test_the_logistic_posterior_narrows_as_it_learns() -> None:
    learner = BayesianLogistic()
    wide = learner.sample(["a"], {}, 2000, 1)
    for n in range(300):
        learner.learn_one("a", {}, 1.0 if n % 5 == 0 else 0.0)
    narrow = learner.sample(["a"], {}, 2000, 1)

    def spread(rows: list[list[float]]) -> float:
        values = [r[0] for r in rows]
        mean = sum(values) / len(values)
        return sum((v - mean) ** 2 for v in values) / len(values)

    assert spread(narrow) < spread(wide) / 5
    assert learner.predict_one("a", {}) == pytest.approx(0.2, abs=0.04)


def test_an_unknown_learner_state_is_refused() -> None:
    with pytest.raises(InvalidInput):
        load({"kind": "oracle"})


@pytest.mark.parametrize(
    ("outcomes", "reward"),
    [
        (["impression"], None),
        ([], None),
        (["impression", "click"], 0.5),
        (["click", "accept"], 1.0),
        (["click", "convert", "complaint"], 0.0),
        (["dismiss"], 0.0),
        (["unsubscribe"], 0.0),
        (["no_response"], 0.0),
    ],
)
def test_outcomes_map_to_one_reward_per_decision(outcomes: list[str], reward: float | None) -> None:
    assert decision_reward(outcomes) == reward


@pytest.mark.parametrize(
    "module",
    [
        onevoice.domain.learning.base,
        onevoice.domain.learning.beta,
        onevoice.domain.learning.logistic,
    ],
)
def test_the_docstring_examples_run(module: ModuleType) -> None:
    assert doctest.testmod(module).failed == 0


def test_logistic_draws_follow_the_posterior_and_are_independent_within_a_decision() -> None:
    """Each decision's draws (a window of a table made once): per action, the score's
    logit has the posterior's mean and spread, and two actions' draws do not move together."""
    import numpy as np

    learner = BayesianLogistic()
    for n in range(200):
        learner.learn_one("a", {}, float(n % 4 == 0))
    mu, variance = learner._scores(["a", "b"], {})
    logits = [
        np.log(d / (1 - d))
        for seed in range(40)
        for d in learner.sample_matrix(["a", "b"], {}, 500, 10**12 + seed).astype(float)
    ]
    drawn = np.array(logits)
    spread = np.sqrt(variance)
    assert np.all(np.abs(drawn.mean(axis=0) - mu) < 0.05 * spread)
    assert np.all(np.abs(drawn.std(axis=0) / spread - 1) < 0.05)
    assert abs(np.corrcoef(drawn[:, 0], drawn[:, 1])[0, 1]) < 0.03
    wide = learner.sample_matrix([f"x{n}" for n in range(12_000)], {}, 200, 5)
    assert wide.shape == (200, 12_000)  # more than the table holds: drawn afresh


def test_thompson_on_tanh_draws_matches_the_sigmoid_path() -> None:
    """The logistic learner hands ``thompson`` its draws as ``2p − 1`` (cheaper to score):
    the same draws, ranking and first-choice shares as scoring ``σ`` draws directly."""
    import numpy as np

    from onevoice.domain.learning.thompson import _first_choice, thompson

    learner = BayesianLogistic(prior_rate=0.1)
    for n in range(300):
        learner.learn_one(f"a{n % 3}", {"young": float(n % 2)}, float(n % 5 == 0))
    ids = [f"a{n}" for n in range(6)]
    gains, costs = [40.0, 35.0, 50.0, 10.0, 45.0, 20.0], [0.5, 0.2, 3.0, 0.1, 1.0, 0.3]
    for seed in range(20):
        means, sampled = learner.predict_and_sample(ids, {"young": 1.0}, 200, seed)
        _, t = learner.predict_and_sample_tanh(ids, {"young": 1.0}, 200, seed)
        assert np.allclose((1.0 + t) / 2.0, sampled, atol=1e-6)
        drawn = thompson(learner, ids, {"young": 1.0}, gains, costs, 200, seed)
        assert drawn.means == means.tolist()
        assert np.allclose(drawn.first, sampled[0], atol=1e-6)
        expected = _first_choice(sampled.reshape(200, 6), gains, costs)
        assert np.abs(np.array(drawn.first_choice) - expected).max() <= 1 / 200 + 1e-9
        assert abs(sum(drawn.first_choice) - 1.0) < 1e-9
