"""The eligibility-expression port: compile a rule once, evaluate it per decision.

An action's eligibility is a short expression over the profile and the request context
(``profile.orders > 0 && 'web' in profile.channels``). The core never evaluates the text
itself and never uses Python ``eval``: an :class:`ExpressionEngine` adapter (CEL, in
``onevoice.expressions.cel``) compiles it into a :class:`CompiledExpression`.

Two kinds of failure, handled differently:

- a rule that does not parse is rejected when it is saved: ``compile`` raises
  :class:`InvalidExpression`, carrying the line and column of the error;
- a rule that fails while running (a missing key, a division by zero, a non-boolean
  result) never silently means "not eligible": ``evaluate`` returns an
  :class:`Evaluation` that says ``error``, so the decision records it and the caller counts
  it beside the action.

>>> ALWAYS.evaluate({}).matched
True
>>> Evaluation.failure("no such key: plan").describe()
'error: no such key: plan'
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol, TypeAlias, overload

from onevoice.domain.errors import InvalidInput


class InvalidExpression(InvalidInput):
    """An expression that does not compile; ``line`` and ``column`` are 1-based."""

    code = "invalid_expression"

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        line: int | None = None,
        column: int | None = None,
    ) -> None:
        super().__init__(message, field=field)
        self.line = line
        self.column = column

    def at(self, field: str) -> InvalidExpression:
        """The same error, reported against ``field`` (e.g. ``actions[3].eligibility``)."""
        return InvalidExpression(self.message, field=field, line=self.line, column=self.column)


@dataclass(frozen=True, slots=True)
class Evaluation:
    """The outcome of one evaluation: matched, not matched, or an error with its message."""

    matched: bool
    error: str | None = None

    @classmethod
    def failure(cls, message: str) -> Evaluation:
        return cls(False, message)

    @property
    def failed(self) -> bool:
        return self.error is not None

    def describe(self) -> str:
        if self.error is not None:
            return f"error: {self.error}"
        return "matched" if self.matched else "not matched"


#: What a rule can read of an activation, by name: ``None`` for the whole value (indexed,
#: iterated, compared, passed whole...), else the fields it only ever selects by name
#: (``profile.orders``), read the same way. A rule's ``reads`` of ``None`` means anything.
Reads: TypeAlias = Mapping[str, "Reads | None"]


class CompiledExpression(Protocol):
    """A rule ready to run; ``source`` is the text it was compiled from, ``reads`` what
    of an activation it can read (``None``: anything)."""

    @property
    def source(self) -> str: ...

    @property
    def reads(self) -> Reads | None: ...

    def evaluate(self, activation: Mapping[str, object]) -> Evaluation:
        """Run against plain data; must not raise for run-time errors (return a failure)."""
        ...


class ExpressionEngine(Protocol):
    """Compiles rule text; raises :class:`InvalidExpression` with the error's position."""

    def compile(self, text: str) -> CompiledExpression: ...


@dataclass(frozen=True, slots=True)
class Always:
    """The rule of an action with no eligibility expression: everyone is eligible."""

    source: str = ""

    @property
    def reads(self) -> Reads:
        return {}

    def evaluate(self, activation: Mapping[str, object]) -> Evaluation:
        return Evaluation(True)


ALWAYS = Always()


def reads_of(rules: Iterable[CompiledExpression]) -> Reads | None:
    """What any of ``rules`` can read (``None``: anything)."""
    merged: Reads | None = {}
    for rule in rules:
        merged = _merge(merged, rule.reads)
    return merged


def _merge(a: Reads | None, b: Reads | None) -> Reads | None:
    if a is None or b is None:
        return None
    merged = dict(a)
    for name, fields in b.items():
        merged[name] = _merge(merged[name], fields) if name in merged else fields
    return merged


@overload
def narrowed(value: Mapping[str, object], reads: Reads | None) -> Mapping[str, object]: ...
@overload
def narrowed(value: object, reads: Reads | None) -> object: ...
def narrowed(value: object, reads: Reads | None) -> object:
    """``value`` with only the fields ``reads`` selects of it, nested dicts alike: what a
    rule cannot read need not be converted for it. Fields ``value`` lacks stay absent
    (``has()`` answers the same), and anything not a dict stays whole (selecting a field
    of it fails the same way)."""
    if reads is None or type(value) is not dict:
        return value
    return {name: narrowed(value[name], sub) for name, sub in reads.items() if name in value}
