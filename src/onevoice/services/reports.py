"""Reports as a use case: read the decision log of a period into columns, then measure.

A decision's outcome is what its customer ordered (the ``ONEVOICE_ORDER_EVENTS``, worth
their ``revenue``, else ``total``, else ``value``) in the attribution window after it —
measured the same way for shown, withheld and holdout decisions, so the comparison is
fair. Unsubscribes and complaints are the decision's own responses. The contact cost is
the action's cost on the decision's channel in today's catalog.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

import numpy as np

from onevoice.domain.actions import MARKETING, Catalog
from onevoice.domain.errors import InvalidInput
from onevoice.domain.measure import budget, reports
from onevoice.domain.measure.decision_log import (
    CONTROL,
    HOLDOUT,
    NO_PROGRAM,
    NONE,
    TREATED,
    DecisionLog,
)
from onevoice.domain.profiles import ProfileRules
from onevoice.services.clock import Clock
from onevoice.services.ports import DecisionFact, Store

DEFAULT_PERIOD = timedelta(days=28)
MAX_PERIOD = timedelta(days=3660)
UNKNOWN_SEGMENT = "unknown"


class Reports:
    """Lift, ROI, budget, respect and component reports over a period of the log."""

    def __init__(
        self,
        store: Store,
        catalog: Callable[[], Catalog],
        clock: Clock,
        *,
        rules: ProfileRules = ProfileRules(),
        attribution: timedelta = timedelta(days=7),
    ) -> None:
        self._store = store
        self._catalog = catalog
        self._clock = clock
        self._rules = rules
        self._attribution = attribution

    def period(
        self, since: datetime | None = None, until: datetime | None = None
    ) -> tuple[datetime, datetime]:
        """The period asked for; by default the last 28 days."""
        until = until or self._clock()
        since = since or until - DEFAULT_PERIOD
        if since >= until:
            raise InvalidInput("since must be before until", field="since")
        if until - since > MAX_PERIOD:
            raise InvalidInput("a report covers at most ten years", field="since")
        return since, until

    def log(self, since: datetime | None = None, until: datetime | None = None) -> DecisionLog:
        """The decisions of ``[since, until)`` as columns, with what followed each."""
        since, until = self.period(since, until)
        records = self._store.decision_facts_between(since, until)
        catalog = self._catalog()
        responses = self._store.responses_between(since, until + self._attribution)
        unsubscribed = {d for d, _a, o in responses if o == "unsubscribe"}
        complained = {d for d, _a, o in responses if o == "complaint"}
        orders = self._orders({r.subject for r in records}, since, until + self._attribution)
        return build_log(
            records,
            catalog,
            orders,
            unsubscribed,
            complained,
            since=since,
            until=until,
            attribution=self._attribution,
        )

    def _orders(
        self, subjects: set[str], since: datetime, until: datetime
    ) -> dict[str, tuple[list[float], list[float]]]:
        """Each customer's order times (seconds) and values, sorted by time."""
        found: dict[str, list[tuple[float, float]]] = defaultdict(list)
        known = {s for s in subjects if not s.startswith("ref:")}
        for profile_id, at, properties in self._store.orders_of(
            known, self._rules.order_events, since, until
        ):
            found[profile_id].append((at.timestamp(), self._value(properties)))
        result = {}
        for subject, items in found.items():
            items.sort()
            result[subject] = ([t for t, _v in items], [v for _t, v in items])
        return result

    def _value(self, properties: Mapping[str, Any]) -> float:
        for key in self._rules.value_properties:
            value = properties.get(key)
            if value is None or isinstance(value, bool):
                continue
            try:
                return float(Decimal(str(value)))
            except (InvalidOperation, ValueError, OverflowError):
                continue
        return 0.0

    # -- the reports -------------------------------------------------------------------------
    def lift(
        self, since: datetime | None = None, until: datetime | None = None, *,
        by: str = "action", against: str = "control",
    ) -> list[reports.LiftRow]:  # fmt: skip
        return reports.lift_report(self.log(since, until), by=by, against=against)

    def roi(
        self, since: datetime | None = None, until: datetime | None = None, *,
        by: str = "program", against: str = "control",
    ) -> list[reports.RoiRow]:  # fmt: skip
        return reports.roi_report(self.log(since, until), by=by, against=against)

    def budget(
        self, since: datetime | None = None, until: datetime | None = None, *,
        changes: Sequence[float] = (-0.2, -0.1, 0.1, 0.2),
    ) -> tuple[list[budget.BudgetRow], list[budget.CurvePoint]]:  # fmt: skip
        return budget.budget_report(self.log(since, until), changes)

    def respect(
        self, since: datetime | None = None, until: datetime | None = None, *, by: str = "action"
    ) -> list[reports.RespectRow]:
        return reports.respect_report(self.log(since, until), by=by)

    def components(
        self, since: datetime | None = None, until: datetime | None = None
    ) -> list[reports.ComponentRow]:
        return reports.components_report(self.log(since, until))


def build_log(
    records: Sequence[DecisionFact],
    catalog: Catalog,
    orders: Mapping[str, tuple[list[float], list[float]]],
    unsubscribed: set[str],
    complained: set[str],
    *,
    since: datetime,
    until: datetime,
    attribution: timedelta,
) -> DecisionLog:
    """Columns from logged decisions (see :mod:`onevoice.domain.measure.decision_log`)."""
    actions = {a.id: a for a in catalog}
    action_names = list(actions)
    programs = list(dict.fromkeys(a.program or NO_PROGRAM for a in catalog))
    codes: dict[str, dict[str, int]] = {
        "subject": {}, "action": {a: k for k, a in enumerate(action_names)}, "channel": {},
        "segment": {}, "component": {},
    }  # fmt: skip

    def code(kind: str, name: str) -> int:
        table = codes[kind]
        if name not in table:
            table[name] = len(table)
            if kind == "action":
                action_names.append(name)
        return table[name]

    n = len(records)
    cols: dict[str, Any] = {
        "subject": np.zeros(n, np.int64), "at": np.zeros(n), "action": np.full(n, -1, np.int32),
        "channel": np.zeros(n, np.int16), "segment": np.zeros(n, np.int16),
        "group": np.full(n, NONE, np.int8), "component": np.zeros(n, np.int8),
        "converted": np.zeros(n), "revenue": np.zeros(n), "cost": np.zeros(n),
        "unsubscribed": np.zeros(n, bool), "complained": np.zeros(n, bool),
        "later_orders": np.zeros(n), "later_revenue": np.zeros(n),
    }  # fmt: skip
    end = until.timestamp()
    window = attribution.total_seconds()
    for k, record in enumerate(records):
        at = record.at.timestamp()
        cols["subject"][k] = code("subject", record.subject)
        cols["at"][k] = at
        cols["channel"][k] = code("channel", record.channel)
        cols["segment"][k] = code("segment", record.lifecycle or UNKNOWN_SEGMENT)
        arm = record.component
        cols["component"][k] = code("component", arm) + 1 if arm else 0
        shown = [a for a, purpose in record.chosen if purpose == MARKETING]
        if shown:
            cols["group"][k] = TREATED
            cols["action"][k] = code("action", shown[0])
            action = actions.get(shown[0])
            cols["cost"][k] = action.cost(record.channel) if action is not None else 0.0
        elif record.withheld:
            cols["group"][k] = CONTROL
            cols["action"][k] = code("action", record.withheld)
        elif record.holdout:
            cols["group"][k] = HOLDOUT
        times, values = orders.get(record.subject, ((), ()))
        if times:
            # times are kept to the millisecond: an order in the decision's own millisecond
            # came after it (the decision was logged first), so the window includes it
            first = bisect.bisect_left(times, at)
            last = bisect.bisect_right(times, at + window)
            if last > first:
                cols["converted"][k] = 1.0
                cols["revenue"][k] = float(sum(values[first:last]))
            final = bisect.bisect_right(times, end)
            cols["later_orders"][k] = final - first
            cols["later_revenue"][k] = float(sum(values[first:final]))
        cols["unsubscribed"][k] = record.decision_id in unsubscribed
        cols["complained"][k] = record.decision_id in complained
    program_of = [
        programs.index(actions[a].program or NO_PROGRAM) if a in actions else _extra(programs)
        for a in action_names
    ]
    return DecisionLog(
        **cols,
        actions=tuple(action_names),
        programs=tuple(programs),
        program_of=np.array(program_of, dtype=np.int16),
        channels=tuple(codes["channel"]),
        segments=tuple(codes["segment"]),
        components=tuple(codes["component"]),
        start=since.timestamp(),
        end=until.timestamp(),
    )


def _extra(programs: list[str]) -> int:
    """Actions no longer in the catalog are counted under no program."""
    if NO_PROGRAM not in programs:
        programs.append(NO_PROGRAM)
    return programs.index(NO_PROGRAM)
