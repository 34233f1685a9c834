"""The opt-out model: how often each action, on each channel, costs the brand the channel.

An unsubscribe or a complaint is not just a "no": the customer can no longer be reached
there (or will not listen). Arbitration prices that risk (``optout_cost`` × this rate,
see :mod:`onevoice.domain.decide`), so it needs the rate per action and channel, learned
from the same answers as the response model. Counts are enough — opt-outs are rare, and a
Beta posterior per (action, channel) is exact, cheap and can be taken back on erasure —
starting from a prior of ``PRIOR_RATE`` worth ``PRIOR_STRENGTH`` contacts, so one early
unsubscribe does not condemn an action and a new action starts from the same rate.

>>> model = optout_model()
>>> for n in range(400):
...     model.learn_one("card_help", {"channel=email": 1.0}, 1.0 if n % 20 == 0 else 0.0)
>>> round(model.predict_one("card_help", {"channel=email": 1.0}), 3)
0.042
>>> model.predict_one("card_help", {"channel=push": 1.0}) == PRIOR_RATE
True
"""

from __future__ import annotations

from onevoice.domain.events import CHANNELS
from onevoice.domain.learning.beta import KIND as BETA_KIND
from onevoice.domain.learning.beta import BetaBernoulli

#: The rate every action starts from on every channel, and how many contacts it weighs.
PRIOR_RATE = 0.01
PRIOR_STRENGTH = 100.0
#: The kind of model stored (a restart loads it back only if it is of this kind).
KIND = BETA_KIND


def optout_model() -> BetaBernoulli:
    """A fresh opt-out model: one Beta posterior per (action, channel)."""
    return BetaBernoulli(
        prior_rate=PRIOR_RATE,
        prior_strength=PRIOR_STRENGTH,
        segment_by=tuple(f"channel={name}" for name in CHANNELS),
    )
