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

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

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


class CompiledExpression(Protocol):
    """A rule ready to run; ``source`` is the text it was compiled from."""

    @property
    def source(self) -> str: ...

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

    def evaluate(self, activation: Mapping[str, object]) -> Evaluation:
        return Evaluation(True)


ALWAYS = Always()
