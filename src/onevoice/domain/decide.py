"""Arbitration: the next best action, or — often — none, with every reason kept.

For each action in the catalog, in order: it needs a treatment for the channel; marketing
is withheld from the universal holdout; its eligibility rule must match (a rule that
errors is an exclusion *and* an entry in ``Decision.errors``, never a silent no); then
the contact policy (:mod:`onevoice.domain.policy`). Every refusal is kept as a reason.

Each eligible action is scored by expected value::

    EV = P(positive | features) × value × weight − contact cost − fatigue risk − opt-out risk
    fatigue risk = fatigue_cost × channel points × (1 + current fatigue)
    opt-out risk = P(unsubscribe or complaint | action, channel) × optout_cost

so the risk grows with recent contacts, and a message that makes people leave a channel
pays for the customers it loses there. The opt-out probability comes from a second
model learned from the same responses (``optout``, the rate of each action on each
channel), read at its posterior mean, and counts only where the channel interrupts the
customer (outbound: an email, a push, an SMS); without such a model it is 0.
"No action" is always a candidate with EV 0; the best ``k`` actions with EV above 0 are
chosen, and none when nothing beats it.

Exploration is Thompson sampling, bounded: with probability ``explore_share`` the ranking
uses one posterior draw of P, otherwise the posterior mean (``Decision.explored`` says
which). A per-action random control then withholds a chosen marketing action with
probability ``control_share``. The probability that the logged first choice was picked
under this policy (``Decision.propensity``, for off-policy evaluation) is::

    P(a)         = [(1 − e)·1{a is the greedy choice} + e·P_TS(a)] × (1 − c)
    P(no action) = P_sel(none) + c · Σ P_sel(a) over marketing actions a

where ``P_TS`` — the chance that ``a`` ranks first under Thompson sampling — is estimated by
Monte Carlo over ``propensity_draws`` posterior draws, seeded from the decision id, so
the same decision always gets the same answer. Randomness comes only from that seed.
For ``k > 1`` the propensity is that of the first slot shown; when the control withheld
the actions ranked above it, the path "those were picked and withheld" is added, taking
this decision's order of the rest as given (exact when the ranking did not explore).

**Component experiments.** A share ``component_share`` of decisions *per arm* (outside the
universal holdout; chosen by a hash of the decision id) switches off one part of the
engine, so that the part's lift is measured live against the full engine
(:data:`COMPONENTS`): ``random_action`` picks a random eligible action instead of the best
(and acts even when "no action" would have won), ``propensity_only`` ranks by P(positive)
alone without value, weight, contact cost and fatigue, ``no_fatigue`` drops the fatigue
risk, ``no_intent`` drops every learner feature named ``intent…`` and the strong intents
that keep a conversation open. The arm is logged with the decision (``Decision.component``)
and the propensity is the one *within* the arm.
"""

from __future__ import annotations

import hashlib
import heapq
import random
from collections import Counter
from collections.abc import Mapping, Sequence, Set
from dataclasses import dataclass, field, replace
from datetime import datetime

from onevoice.domain.actions import MARKETING, Action, Catalog, Treatment
from onevoice.domain.candidates import Candidate, Excluded, Scores
from onevoice.domain.conversation import Conversation, one_voice
from onevoice.domain.expressions import ALWAYS, CompiledExpression, Evaluation
from onevoice.domain.learning.base import Features, Learner
from onevoice.domain.learning.thompson import batched, thompson
from onevoice.domain.policy import (
    DEFAULT_POLICY,
    Consent,
    ContactHistory,
    Policy,
    check,
    check_action_limits,
    check_channel,
    check_cooldowns,
    check_live,
    fatigue,
    refusals,
)

NO_ACTION = "no_action"
#: The component-experiment arms, each switching off one part of arbitration.
COMPONENTS = ("random_action", "propensity_only", "no_fatigue", "no_intent")
_ARM_STORY = {
    "random_action": "a random eligible action instead of the best",
    "propensity_only": "ranked by propensity alone",
    "no_fatigue": "no fatigue cost",
    "no_intent": "no intent features",
}
#: Learner features with names starting so are intent features (dropped by ``no_intent``).
INTENT_FEATURE_PREFIX = "intent"


@dataclass(frozen=True, slots=True)
class Arbitration:
    """Arbitration settings: control groups, exploration and the price of fatigue."""

    holdout_share: float = 0.05
    holdout_salt: str = "onevoice-holdout"
    control_share: float = 0.10
    explore_share: float = 1.0
    propensity_draws: int = 200
    fatigue_cost: float = 0.05
    #: what losing a customer on an outbound channel costs, in the catalog's currency
    optout_cost: float = 0.0
    component_share: float = 0.0
    components: tuple[str, ...] = COMPONENTS


DEFAULT_ARBITRATION = Arbitration()


@dataclass(frozen=True, slots=True)
class DecideRequest:
    """What a channel asks, with what the core needs to know about the customer.

    ``customer_key`` is a stable identifier of the person (for the holdout), ``inbound``
    says the customer is there (a visit, a call) rather than being contacted,
    ``activation`` is what eligibility rules read and ``features`` what the learner reads.
    ``signals`` are sentences about the customer's current state worth showing as reasons
    (e.g. "viewed mortgage pages 3 times this week").
    """

    decision_id: str
    customer_key: str
    channel: str
    now: datetime
    k: int = 1
    inbound: bool = True
    timezone: str | None = None
    consent: Consent = field(default_factory=Consent)
    history: ContactHistory = field(default_factory=ContactHistory)
    activation: Mapping[str, object] = field(default_factory=dict)
    features: Features = field(default_factory=dict)
    signals: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Chosen:
    """An action to carry out, in the asking channel's treatment."""

    action_id: str
    treatment: Treatment
    score: float
    reasons: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ExpressionFailure:
    """An eligibility rule that failed at run time: count it and show it by the action."""

    action_id: str
    message: str


@dataclass(frozen=True, slots=True)
class Decision:
    """The answer and its full explanation, as it is logged."""

    decision_id: str
    channel: str
    at: datetime
    actions: tuple[Chosen, ...]
    reasons: tuple[str, ...]
    #: the actions not scored nor in ``excluded``: exclusions found one by one, or the
    #: action an open conversation carried over
    unscored: tuple[Candidate, ...]
    holdout: bool
    control: bool
    explored: bool
    propensity: float
    model_version: str
    errors: tuple[ExpressionFailure, ...] = ()
    honoured: str | None = None
    component: str | None = None
    #: the eligible actions' numbers (None when nothing was scored)
    scores: Scores | None = None
    #: exclusions in groups (see :class:`Excluded`)
    excluded: tuple[Excluded, ...] = ()

    @property
    def action_ids(self) -> tuple[str, ...]:
        return tuple(a.action_id for a in self.actions)

    @property
    def candidates(self) -> tuple[Candidate, ...]:
        """Every action as arbitration saw it: the exclusions, then the scored ones (built
        on each read: arbitration itself keeps groups and columns)."""
        grouped = [c for group in self.excluded for c in group.candidates()]
        scored = () if self.scores is None else self.scores.candidates()
        return (*grouped, *self.unscored, *scored)

    def purpose_of(self, action_id: str) -> str:
        """The purpose of an action this decision saw ("" if it saw none by that id)."""
        if self.scores is not None:
            n = self.scores.position(action_id)
            if n is not None:
                return self.scores.purposes[n]
        return next((c.purpose for c in self.unscored if c.action_id == action_id), "")


def in_holdout(customer_key: str, share: float, salt: str = "onevoice-holdout") -> bool:
    """Stable membership of the universal holdout: the same customer, the same answer.

    >>> in_holdout("user:42", 0.05) == in_holdout("user:42", 0.05)
    True
    """
    digest = hashlib.sha256(f"{salt}:{customer_key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < share


def component_arm(decision_id: str, share: float, arms: Sequence[str]) -> str | None:
    """The component-experiment arm of a decision, or None for the full engine: each arm
    takes ``share`` of decisions, by a hash of the id (independent of every other draw).

    >>> component_arm("d-1", 0.0, COMPONENTS) is None
    True
    >>> component_arm("d-1", 0.25, COMPONENTS) in COMPONENTS
    True
    """
    if share <= 0 or not arms:
        return None
    digest = hashlib.sha256(f"component:{decision_id}".encode()).digest()
    u = int.from_bytes(digest[:8], "big") / 2**64
    slot = int(u / share)
    return arms[slot] if slot < len(arms) else None


def seed_of(decision_id: str) -> int:
    """The seed of every random choice made for one decision."""
    return int.from_bytes(hashlib.sha256(decision_id.encode()).digest()[:8], "big")


_MASK_64 = (1 << 64) - 1


class Draws:
    """A decision's own random numbers: SplitMix64 (Steele, Lea and Flood, 2014) from its
    seed. Seeding ``random.Random`` for each decision cost 5 µs — its Mersenne Twister fills
    2.5 KB of state — to make three or four draws; here a draw is a few integer operations.

    >>> a, b = Draws(7), Draws(7)
    >>> [a.random() for _ in range(3)] == [b.random() for _ in range(3)]
    True
    >>> 0 <= Draws(1).random() < 1, Draws(1).getrandbits(63) < 2**63
    (True, True)
    """

    __slots__ = ("_state",)

    def __init__(self, seed: int) -> None:
        self._state = seed & _MASK_64

    def _next(self) -> int:
        self._state = z = (self._state + 0x9E3779B97F4A7C15) & _MASK_64
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK_64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK_64
        return z ^ (z >> 31)

    def getrandbits(self, bits: int) -> int:
        """``bits`` (at most 64) random bits, as an integer."""
        return self._next() >> (64 - bits)

    def random(self) -> float:
        """Uniform in [0, 1), with 53 random bits."""
        return (self._next() >> 11) * 2.0**-53


def decide(
    catalog: Catalog,
    request: DecideRequest,
    learner: Learner,
    *,
    policy: Policy = DEFAULT_POLICY,
    settings: Arbitration = DEFAULT_ARBITRATION,
    conversation: Conversation | None = None,
    strong_intents: Set[str] = frozenset(),
    optout: Learner | None = None,
) -> Decision:
    """Choose up to ``request.k`` actions for one customer on one channel (``optout``:
    the model of P(unsubscribe or complaint), see the module docstring)."""
    holdout = in_holdout(request.customer_key, settings.holdout_share, settings.holdout_salt)
    arm = (
        None
        if holdout
        else component_arm(request.decision_id, settings.component_share, settings.components)
    )
    if arm == "no_intent":
        strong_intents = frozenset()
        features = {
            k: v for k, v in request.features.items() if not k.startswith(INTENT_FEATURE_PREFIX)
        }
        request = replace(request, features=features)
    voice = one_voice(
        conversation, request.channel, request.now, catalog, strong_intents=strong_intents
    )
    if voice.honour and voice.action_id is not None and conversation is not None:
        return _honour(
            catalog[voice.action_id], voice.reason, conversation, request, learner, policy, holdout
        )

    errors: list[ExpressionFailure] = []
    groups, candidates, steps = _screen(
        _plan(catalog, request.channel), request, policy, holdout, errors
    )
    eligible = [step.action for step in steps]
    if not eligible:
        return replace(
            _nothing(
                request,
                learner,
                candidates,
                errors,
                holdout,
                _why_none(request, groups, candidates, holdout),
            ),
            excluded=tuple(groups),
            component=arm,
        )

    rng = Draws(seed_of(request.decision_id))
    risk = (
        0.0
        if arm == "no_fatigue"
        else settings.fatigue_cost
        * policy.points(request.channel)
        * (1.0 + fatigue(request.history, request.now, policy))
    )
    gains = [step.gain for step in steps]
    lost = _optout_risks(optout, eligible, request, settings.optout_cost)
    costs = [step.cost + risk + o for step, o in zip(steps, lost, strict=True)]
    if arm == "propensity_only":
        gains, costs = [1.0] * len(eligible), [0.0] * len(eligible)
    ids = [a.id for a in eligible]
    drawn = thompson(
        learner,
        ids,
        request.features,
        gains,
        costs,
        settings.propensity_draws,
        rng.getrandbits(63),
    )
    means = drawn.means
    explored = rng.random() < settings.explore_share
    probabilities = drawn.first if explored else means
    scores = [p * g - c for p, g, c in zip(probabilities, gains, costs, strict=True)]
    expected = [p * g - c for p, g, c in zip(means, gains, costs, strict=True)]
    selected = _selection_probabilities(drawn.first_choice, expected, settings.explore_share)

    # the k best, first on ties: sorted(…, reverse=True)[:k] without sorting them all
    ranked = heapq.nlargest(max(1, request.k), range(len(eligible)), key=scores.__getitem__)
    picked = [n for n in ranked if scores[n] > 0]
    if arm == "random_action":
        ranked = random.Random(seed_of(f"random:{request.decision_id}")).sample(
            range(len(eligible)), len(eligible)
        )
        picked = ranked[: max(1, request.k)]
        selected = {n: 1.0 / len(eligible) for n in range(len(eligible))}
    withheld = {
        n
        for n in picked
        if eligible[n].purpose == MARKETING and rng.random() < settings.control_share
    }
    scored = Scores(
        action_ids=ids,
        purposes=[a.purpose for a in eligible],
        probability=means,
        expected_value=expected,
        score=scores,
        chosen_probability=[selected.get(n, 0.0) for n in range(len(eligible))],
        value=[a.value for a in eligible],
        weight=[a.weight for a in eligible],
        contact_cost=[step.cost for step in steps],
        optout_risk=lost,
        fatigue_risk=risk,
        withheld=frozenset(withheld),
    )
    chosen = tuple(
        Chosen(
            eligible[n].id,
            eligible[n].treatments[request.channel],
            scores[n],
            (
                scored.story(n),
                *((f"matches {eligible[n].eligibility}",) if eligible[n].eligibility else ()),
                f"best of {len(eligible)} eligible on {request.channel}"
                if rank == 0
                else f"ranked {rank + 1} of {len(eligible)}",
            ),
        )
        for rank, n in enumerate(picked)
        if n not in withheld
    )
    control_share = settings.control_share
    if chosen:
        first = next(n for n in picked if n not in withheld)
        keep = 1.0 - control_share if eligible[first].purpose == MARKETING else 1.0
        propensity = selected.get(first, 0.0)
        ahead = picked.index(first)
        if ahead:  # the actions ranked above it were withheld by the control: that path too
            propensity += selected.get(picked[0], 0.0) * control_share**ahead
        propensity *= keep
        reasons: tuple[str, ...] = (*request.signals, *chosen[0].reasons)
    else:
        marketing = sum(
            p for n, p in selected.items() if n >= 0 and eligible[n].purpose == MARKETING
        )
        propensity = selected.get(-1, 0.0) + control_share * marketing
        if withheld:
            names = ", ".join(eligible[n].id for n in sorted(withheld))
            reasons = (
                f"random control group for {names}: no action ({control_share:.0%} of decisions)",
            )
        else:
            best = ranked[0]
            reasons = (
                f"nothing is worth the customer's attention: best was {eligible[best].id} "
                f"at {scores[best]:.2f}",
            )
        if holdout:
            reasons = (*reasons, "universal holdout: no marketing for this customer")
    if arm is not None:
        reasons = (*reasons, f"component experiment: {_ARM_STORY[arm]}")
    return Decision(
        decision_id=request.decision_id,
        channel=request.channel,
        at=request.now,
        actions=chosen,
        reasons=reasons,
        unscored=tuple(candidates),
        holdout=holdout,
        control=bool(withheld),
        explored=explored,
        propensity=min(1.0, propensity),
        model_version=learner.version,
        errors=tuple(errors),
        component=arm,
        scores=scored,
        excluded=tuple(groups),
    )


@dataclass(frozen=True, slots=True)
class _Step:
    """What arbitration needs of one action on one channel that the request cannot change,
    worked out once per catalog and channel (:func:`_plan`) rather than per decision."""

    action: Action
    rule: CompiledExpression
    #: whether the action has a treatment for the channel
    treated: bool
    #: no pause, validity window, own cooldown or limit: only the purpose's channel rules,
    #: the marketing checks and the eligibility rule can refuse it
    plain: bool
    marketing: bool
    #: the exclusion when its eligibility rule does not match
    unmatched: Candidate
    gain: float
    cost: float


@dataclass(frozen=True, slots=True)
class _Plan:
    """A catalog on one channel as screening reads it (:func:`_screen`): its steps, and the
    plain ones grouped by purpose and by eligibility rule, so that a decision refuses a
    whole purpose at once and runs each rule once for all the actions that share it."""

    steps: tuple[_Step, ...]
    #: the actions without a treatment for the channel, as one exclusion (None: there are none)
    untreated: Excluded | None
    #: per purpose: the positions of its plain steps, in catalog order
    plain: dict[str, tuple[int, ...]]
    #: per purpose: those positions grouped by eligibility rule text, with their exclusion
    #: when the rule does not match
    by_rule: dict[str, tuple[tuple[CompiledExpression, tuple[int, ...], Excluded], ...]]
    #: treated steps that are not plain (a pause, a window, their own cooldown or limit)
    others: tuple[int, ...]
    #: each action's catalog position (rule failures are told in catalog order)
    position: dict[str, int]
    #: what a purpose's channel refusal makes of its plain steps, by refusal (a cache)
    refused: dict[tuple[str, tuple[tuple[str, str], ...]], Excluded]

    def refusals(self, purpose: str, refused: tuple[tuple[str, str], ...]) -> Excluded:
        """The exclusion of the purpose's plain steps under ``refused`` (built once per
        refusal: most recur word for word, decision after decision)."""
        key = (purpose, refused)
        known = self.refused.get(key)
        if known is None:
            if len(self.refused) >= _REFUSALS_KEPT:  # time-stamped reasons: start afresh
                self.refused.clear()
            rule, reasons = refused[0][0], tuple(r for _, r in refused)
            known = self.refused[key] = _excluded(
                rule, reasons, [self.steps[n].action for n in self.plain[purpose]]
            )
        return known


def _excluded(rule: str, reasons: tuple[str, ...], actions: Sequence[Action]) -> Excluded:
    return Excluded(rule, reasons, tuple(a.id for a in actions), tuple(a.purpose for a in actions))


#: Plans per (catalog, channel); a catalog is immutable, so its plan never goes stale. Kept
#: with the catalog itself so that its id cannot be reused while the entry lives.
_PLANS: dict[tuple[int, str], tuple[Catalog, _Plan]] = {}
_PLANS_KEPT = 64
_REFUSALS_KEPT = 256


def _plan(catalog: Catalog, channel: str) -> _Plan:
    """The catalog's actions on ``channel`` as a :class:`_Plan`."""
    key = (id(catalog), channel)
    known = _PLANS.get(key)
    if known is not None and known[0] is catalog:
        return known[1]
    steps = tuple(_step(action, catalog.rule(action.id), channel) for action in catalog)
    plain: dict[str, list[int]] = {}
    rules: dict[str, dict[str, tuple[CompiledExpression, list[int]]]] = {}
    others = []
    untreated = [step.action for step in steps if not step.treated]
    for n, step in enumerate(steps):
        if not step.treated:
            continue
        if not step.plain:
            others.append(n)
            continue
        purpose = step.action.purpose
        plain.setdefault(purpose, []).append(n)
        groups = rules.setdefault(purpose, {})
        groups.setdefault(step.rule.source, (step.rule, []))[1].append(n)
    plan = _Plan(
        steps=steps,
        untreated=_excluded("channel", (f"no {channel} treatment",), untreated)
        if untreated
        else None,
        plain={purpose: tuple(positions) for purpose, positions in plain.items()},
        by_rule={
            purpose: tuple(
                (rule, tuple(positions), _unmatched(rule, [steps[n].action for n in positions]))
                for rule, positions in groups.values()
            )
            for purpose, groups in rules.items()
        },
        others=tuple(others),
        position={step.action.id: n for n, step in enumerate(steps)},
        refused={},
    )
    if len(_PLANS) >= _PLANS_KEPT:  # catalogs replaced, previews, fallbacks: start afresh
        _PLANS.clear()
    _PLANS[key] = (catalog, plan)
    return plan


def _unmatched(rule: CompiledExpression, actions: Sequence[Action]) -> Excluded:
    return _excluded("eligibility", _no_match(rule), actions)


def _no_match(rule: CompiledExpression) -> tuple[str, ...]:
    """Why an action whose rule does not match is excluded: the same words whether it is
    screened with its group (:func:`_unmatched`) or on its own (``_Step.unmatched``)."""
    return (f"does not match {rule.source}",)


def _screen(
    plan: _Plan,
    request: DecideRequest,
    policy: Policy,
    holdout: bool,
    errors: list[ExpressionFailure],
) -> tuple[list[Excluded], list[Candidate], list[_Step]]:
    """Every action's exclusion — in groups where the plan keeps them (no treatment, a
    purpose refused, a shared rule that does not match), one by one otherwise — and the
    steps of the eligible ones, in catalog order.

    A plain action can be refused only by its purpose's channel rules (shared by the whole
    purpose), the marketing checks and its rule; when the marketing checks cannot refuse
    (no holdout, no response to cool down after), its purpose is screened as a block: one
    refusal for all its actions, or each distinct rule run once for the actions sharing it.
    Every other action goes through :func:`_exclusions` on its own.
    """
    steps = plan.steps
    groups = [plan.untreated] if plan.untreated is not None else []
    loose: list[Candidate] = []
    passed: list[int] = []
    by_purpose: dict[str, tuple[tuple[str, str], ...]] = {}
    evaluated: dict[str, Evaluation] = {}
    marked = holdout or bool(request.history.responses)
    for purpose, positions in plan.plain.items():
        if marked and purpose == MARKETING:
            alone = positions
        else:
            alone = ()
            refused = _channel_refusals(purpose, request, policy, by_purpose)
            if refused:
                groups.append(plan.refusals(purpose, refused))
                continue
            for rule, group, unmatched in plan.by_rule[purpose]:
                if rule is ALWAYS:
                    passed.extend(group)
                    continue
                outcome = evaluated.get(rule.source)
                if outcome is None:
                    outcome = evaluated[rule.source] = rule.evaluate(request.activation)
                if outcome.matched:
                    passed.extend(group)
                elif outcome.error is None:
                    groups.append(unmatched)
                else:
                    loose.extend(
                        _rule_failed(steps[n].action, outcome.error, errors) for n in group
                    )
        for n in alone:
            excluded = _exclusions(
                steps[n], request, policy, holdout, errors, by_purpose, evaluated
            )
            if excluded is None:
                passed.append(n)
            else:
                loose.append(excluded)
    for n in plan.others:
        excluded = _exclusions(steps[n], request, policy, holdout, errors, by_purpose, evaluated)
        if excluded is None:
            passed.append(n)
        else:
            loose.append(excluded)
    if len(errors) > 1:  # found rule by rule: told in catalog order
        errors.sort(key=lambda e: plan.position[e.action_id])
    passed.sort()
    return groups, loose, [steps[n] for n in passed]


def _step(action: Action, rule: CompiledExpression, channel: str) -> _Step:
    treated = channel in action.treatments
    cost = action.cost(channel)
    return _Step(
        action=action,
        rule=rule,
        treated=treated,
        plain=not action.paused
        and action.valid_from is None
        and action.valid_until is None
        and action.cooldown is None
        and action.max_per_customer is None,
        marketing=action.purpose == MARKETING,
        unmatched=Candidate(action.id, action.purpose, "eligibility", _no_match(rule)),
        gain=action.value * action.weight,
        cost=cost,
    )


def _exclusions(
    step: _Step,
    request: DecideRequest,
    policy: Policy,
    holdout: bool,
    errors: list[ExpressionFailure],
    by_purpose: dict[str, tuple[tuple[str, str], ...]],
    evaluated: dict[str, Evaluation],
) -> Candidate | None:
    """The exclusion of an action with a treatment for the channel that :func:`_screen`
    cannot screen as part of a block (every refusal, as (rule, reason), in its reasons);
    None when eligible.

    The cheap checks come first — holdout, validity, the purpose's channel rules (once per
    purpose), cooldowns and the action's own limits, each skipped when it cannot refuse —
    and the eligibility rule runs only for an action they all let through (the rule
    cannot make a refused action eligible). Rules with the same text share one evaluation
    per decision (``evaluated``): an outcome depends only on the text and the activation.
    """
    action = step.action
    refused: list[tuple[str, str]] = []
    if holdout and step.marketing:
        refused.append(("holdout", "universal holdout: no marketing"))
    if action.paused or action.valid_from is not None or action.valid_until is not None:
        live = check_live(action, request.now)
        if not live.allowed:
            refused.append((live.rule, live.reason))
    refused.extend(_channel_refusals(action.purpose, request, policy, by_purpose))
    if request.history.responses and step.marketing:
        cooldown = check_cooldowns(action, request.channel, request.history, request.now, policy)
        if not cooldown.allowed:
            refused.append((cooldown.rule, cooldown.reason))
    if action.cooldown is not None or action.max_per_customer is not None:
        limits = check_action_limits(action, request.history, request.now)
        if not limits.allowed:
            refused.append((limits.rule, limits.reason))
    if refused:
        return Candidate(action.id, action.purpose, refused[0][0], tuple(r for _, r in refused))
    return _eligibility(step, request, errors, evaluated)


def _channel_refusals(
    purpose: str,
    request: DecideRequest,
    policy: Policy,
    by_purpose: dict[str, tuple[tuple[str, str], ...]],
) -> tuple[tuple[str, str], ...]:
    """The purpose's channel rules that refuse this request, as (rule, reason): checked
    once per purpose and decision (``by_purpose``)."""
    known = by_purpose.get(purpose)
    if known is None:
        known = by_purpose[purpose] = tuple(
            (v.rule, v.reason)
            for v in refusals(
                check_channel(
                    purpose,
                    request.channel,
                    request.now,
                    consent=request.consent,
                    history=request.history,
                    policy=policy,
                    timezone=request.timezone,
                    inbound=request.inbound,
                )
            )
        )
    return known


def _eligibility(
    step: _Step,
    request: DecideRequest,
    errors: list[ExpressionFailure],
    evaluated: dict[str, Evaluation],
) -> Candidate | None:
    """The exclusion by the action's eligibility rule (an error is one, and is kept in
    ``errors``), or None when it matches."""
    action = step.action
    rule = step.rule
    if rule is ALWAYS:
        return None
    outcome = evaluated.get(rule.source)
    if outcome is None:
        outcome = evaluated[rule.source] = rule.evaluate(request.activation)
    if outcome.error is not None:
        return _rule_failed(action, outcome.error, errors)
    if not outcome.matched:
        return step.unmatched
    return None


def _rule_failed(action: Action, error: str, errors: list[ExpressionFailure]) -> Candidate:
    """The exclusion of an action whose rule failed; the failure is kept in ``errors``."""
    errors.append(ExpressionFailure(action.id, error))
    return Candidate(
        action.id, action.purpose, "eligibility_error", (f"eligibility rule failed: {error}",)
    )


def _selection_probabilities(
    first_choice: Sequence[float], expected: Sequence[float], explore_share: float
) -> dict[int, float]:
    """P(each eligible action, or -1 for none, is ranked first) under bounded Thompson.

    ``first_choice`` holds the Monte Carlo shares of the posterior draws (the last entry is
    "no action"); the greedy choice adds the share of decisions that do not explore.
    """
    none = len(first_choice) - 1
    share = {
        (-1 if n == none else n): explore_share * p for n, p in enumerate(first_choice) if p > 0
    }
    greedy, greedy_score = -1, 0.0
    for n, score in enumerate(expected):
        if score > greedy_score:
            greedy, greedy_score = n, score
    share[greedy] = share.get(greedy, 0.0) + (1.0 - explore_share)
    return share


def _optout_risks(
    optout: Learner | None, eligible: Sequence[Action], request: DecideRequest, cost: float
) -> list[float]:
    """Each eligible action's opt-out risk on this channel (0 where the customer came by
    themselves: an offer in a visit cannot cost a consent)."""
    if optout is None or cost <= 0 or request.inbound:
        return [0.0] * len(eligible)
    if batched(optout):  # one call for every action (the same numbers as one by one)
        ids = [a.id for a in eligible]
        rates: list[float] = optout.predict_many(ids, request.features).tolist()
        return [cost * p for p in rates]
    return [cost * optout.predict_one(a.id, request.features) for a in eligible]


def _why_none(
    request: DecideRequest,
    groups: Sequence[Excluded],
    candidates: Sequence[Candidate],
    holdout: bool,
) -> tuple[str, ...]:
    if not groups and not candidates:
        return ("the catalog has no actions",)
    rules: Counter[str | None] = Counter()
    for group in groups:
        rules[group.excluded_by] += len(group.action_ids)
    rules.update(c.excluded_by for c in candidates)
    summary = ", ".join(f"{count} by {rule}" for rule, count in rules.most_common())
    told: list[tuple[str | None, tuple[str, ...]]] = [(g.excluded_by, g.reasons) for g in groups]
    told.extend((c.excluded_by, c.reasons) for c in candidates)
    details = list(dict.fromkeys(r for rule, reasons in told for r in reasons if rule != "channel"))
    reasons = [f"no eligible action on {request.channel}: {summary}", *details[:3]]
    if holdout:
        reasons.append("universal holdout: no marketing for this customer")
    return tuple(reasons)


def _nothing(
    request: DecideRequest,
    learner: Learner,
    candidates: Sequence[Candidate],
    errors: Sequence[ExpressionFailure],
    holdout: bool,
    reasons: tuple[str, ...],
) -> Decision:
    return Decision(
        decision_id=request.decision_id,
        channel=request.channel,
        at=request.now,
        actions=(),
        reasons=reasons,
        unscored=tuple(candidates),
        holdout=holdout,
        control=False,
        explored=False,
        propensity=1.0,
        model_version=learner.version,
        errors=tuple(errors),
    )


def _honour(
    action: Action,
    story: str,
    conversation: Conversation,
    request: DecideRequest,
    learner: Learner,
    policy: Policy,
    holdout: bool,
) -> Decision:
    """Repeat the open conversation's action here, unless policy forbids this channel (the
    action's cooldown counts only its showings on this channel: carrying the conversation
    to another channel is not a repeat)."""
    refused = refusals(
        check(
            action,
            request.channel,
            request.now,
            consent=request.consent,
            history=request.history,
            policy=policy,
            timezone=request.timezone,
            inbound=request.inbound,
            continuing=True,
        )
    )
    candidate = Candidate(
        action.id,
        action.purpose,
        refused[0].rule if refused else None,
        (story, *(v.reason for v in refused)),
    )
    if refused:
        chosen: tuple[Chosen, ...] = ()
        reasons: tuple[str, ...] = (
            f"conversation open with {action.id} ({story}), but {refused[0].reason}",
        )
    else:
        chosen = (Chosen(action.id, action.treatments[request.channel], 0.0, (story,)),)
        reasons = (*request.signals, story)
    return Decision(
        decision_id=request.decision_id,
        channel=request.channel,
        at=request.now,
        actions=chosen,
        reasons=reasons,
        unscored=(candidate,),
        holdout=holdout,
        control=False,
        explored=False,
        propensity=1.0,
        model_version=learner.version,
        honoured=conversation.decision_id,
    )
