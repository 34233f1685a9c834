"""Who the simulated customers are: the hidden traits that drive everything they do.

A :class:`Population` is a set of columns, one row per customer, drawn once from the
seed. Stages, channel preference, value and price sensitivity are hidden truth; a policy
only ever sees what customers reveal through their events (see :mod:`.view`).

>>> import numpy as np
>>> people = make_population(np.random.default_rng(1), 1000)
>>> people.size, people.pref.shape[1] == N_CHANNELS
(1000, True)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from onevoice.sim.catalog import CH, INBOUND, N_CHANNELS, N_INTENTS, TIMEZONE_WEIGHTS

STAGES = ("prospect", "new", "established", "dormant")
PROSPECT, NEW, ESTABLISHED, DORMANT = range(4)
_STAGE_WEIGHTS = (0.08, 0.12, 0.62, 0.18)
#: How active each stage is, relative to the customer's own activity.
STAGE_ACTIVITY = np.array([0.5, 1.3, 1.0, 0.25])
#: How each stage changes the chance of starting each intent.
STAGE_INTENT = np.array(
    [  # mortgage, card, savings, card problem, leaving
        [0.6, 1.5, 1.5, 0.0, 0.2],
        [1.2, 1.5, 1.3, 1.2, 0.5],
        [1.0, 1.0, 1.0, 1.0, 1.0],
        [0.3, 0.4, 0.4, 0.5, 3.0],
    ]
)

# channel "personas": (share, inbound preference); a quarter of people use one channel
_PERSONAS: tuple[tuple[float, dict[str, float]], ...] = (
    (0.30, {"app": 6, "web": 2, "call_centre": 0.5, "chat": 0.5, "branch": 0.2}),
    (0.22, {"web": 6, "app": 1, "call_centre": 0.7, "chat": 0.7, "branch": 0.3}),
    (0.18, {"web": 2, "app": 2, "call_centre": 2, "chat": 1, "branch": 1, "ivr": 0.5,
            "social": 0.3}),
    (0.10, {"call_centre": 5, "ivr": 1, "web": 1, "branch": 1}),
    (0.08, {"branch": 5, "call_centre": 1.5, "web": 0.5}),
    (0.12, {"app": 1}),  # app only
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Population:
    """Hidden customer traits as columns (row ``i`` is customer ``i``)."""

    stage: NDArray[np.int8]
    timezone: NDArray[np.int8]  # index into catalog.TIMEZONES
    pref: NDArray[np.float64]  # (n, channels) inbound preference, rows sum to 1
    response: NDArray[np.float64]  # (n, channels) log-odds offset of responding there
    consent: NDArray[np.bool_]  # (n, channels) may the brand send here
    value: NDArray[np.float64]  # value multiplier, mean 1
    price_sensitivity: NDArray[np.float64]  # 0..1
    activity: NDArray[np.float64]  # background sessions per day
    unsubscribe_proneness: NDArray[np.float64]  # log-odds offset
    intent_proneness: NDArray[np.float64]  # (n, intents) multiplier on starting each intent
    has_app: NDArray[np.bool_]
    browsers: NDArray[np.int8]  # 1 or 2 browsers (desktop, phone)
    has_phone: NDArray[np.bool_]  # the bank knows their phone number

    @property
    def size(self) -> int:
        return int(self.stage.shape[0])


def make_population(rng: np.random.Generator, size: int) -> Population:
    """Draw ``size`` customers."""
    stage = rng.choice(len(STAGES), size=size, p=_STAGE_WEIGHTS).astype(np.int8)
    timezone = rng.choice(len(TIMEZONE_WEIGHTS), size=size, p=TIMEZONE_WEIGHTS).astype(np.int8)
    shares = np.array([share for share, _ in _PERSONAS])
    persona = rng.choice(len(_PERSONAS), size=size, p=shares / shares.sum())
    base = np.zeros((len(_PERSONAS), N_CHANNELS))
    for n, (_share, weights) in enumerate(_PERSONAS):
        for channel, weight in weights.items():
            base[n, CH[channel]] = weight
    # each person varies around their persona (gamma noise = a Dirichlet draw)
    pref = rng.gamma(shape=base[persona] * 2.0 + 1e-9) * (base[persona] > 0)
    single = rng.random(size) < 0.15  # a single-channel customer: all on their favourite
    favourite = np.argmax(pref, axis=1)
    pref[single] = 0.0
    pref[single, favourite[single]] = 1.0
    pref /= pref.sum(axis=1, keepdims=True)
    inbound_mask = np.zeros(N_CHANNELS, dtype=bool)
    inbound_mask[list(INBOUND)] = True
    pref[:, ~inbound_mask] = 0.0
    pref /= pref.sum(axis=1, keepdims=True)

    has_app = pref[:, CH["app"]] > 0.02
    response = rng.normal(0.0, 0.5, size=(size, N_CHANNELS))
    response[:, CH["email"]] += 0.0
    response[:, CH["sms"]] += 0.3
    response[:, CH["push"]] += np.where(has_app, 0.4, -9.0)
    response[:, CH["app"]] += 0.3
    consent = np.ones((size, N_CHANNELS), dtype=bool)
    consent[:, CH["email"]] = rng.random(size) < 0.82
    consent[:, CH["sms"]] = rng.random(size) < 0.5
    consent[:, CH["push"]] = has_app & (rng.random(size) < 0.55)
    has_phone = rng.random(size) < 0.85
    consent[:, CH["sms"]] &= has_phone
    return Population(
        stage=stage,
        timezone=timezone,
        pref=pref,
        response=response,
        consent=consent,
        value=rng.lognormal(-0.18, 0.6, size),
        price_sensitivity=rng.beta(2.0, 2.0, size),
        activity=rng.lognormal(np.log(0.16), 0.7, size) * STAGE_ACTIVITY[stage],
        unsubscribe_proneness=rng.normal(0.0, 0.6, size),
        intent_proneness=STAGE_INTENT[stage] * rng.lognormal(-0.125, 0.5, (size, N_INTENTS)),
        has_app=has_app,
        browsers=np.where(rng.random(size) < 0.35, 2, 1).astype(np.int8),
        has_phone=has_phone,
    )
