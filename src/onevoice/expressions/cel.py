"""Eligibility rules in CEL, Google's Common Expression Language.

Backed by ``common-expression-language`` (Python bindings to the Rust ``cel`` interpreter):
no Python ``eval``, no loops, no I/O — a rule can only read the activation it is given.

>>> engine = CelEngine()
>>> rule = engine.compile("profile.orders > 0 && channel == 'web'")
>>> rule.evaluate({"profile": {"orders": 2}, "channel": "web"}).matched
True
>>> rule.evaluate({"profile": {}, "channel": "web"}).describe()
"error: no such key: 'orders'"
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field

import cel

from onevoice.domain.expressions import Evaluation, InvalidExpression

MAX_LENGTH = 4_000
_POSITION = re.compile(r"<input>:(\d+):(\d+):\s*(.*)")
#: The two answers of a rule that ran (a decision evaluates dozens: built once).
_MATCHED, _UNMATCHED = Evaluation(True), Evaluation(False)


class CelEngine:
    """Compiles CEL text into :class:`CelExpression`; syntax errors carry line and column.

    Converting an activation into CEL values costs far more than evaluating a rule, so the
    engine keeps the converted form of the last activation it saw (per thread) and reuses
    it while the *same object* is passed again — as a decision does for every action.
    Activations are therefore treated as immutable: build a new one, never mutate it.
    """

    def __init__(self) -> None:
        self._cache = _ContextCache()

    def compile(self, text: str) -> CelExpression:
        if not isinstance(text, str) or not text.strip():
            raise InvalidExpression("an expression must be a non-empty string")
        if len(text) > MAX_LENGTH:
            raise InvalidExpression(f"an expression is limited to {MAX_LENGTH} characters")
        try:
            program = cel.compile(text)
        except ValueError as error:
            raise _syntax_error(str(error)) from None
        return CelExpression(text, program, self._cache)


class _ContextCache(threading.local):
    """The converted form of the last activation seen by this thread."""

    def __init__(self) -> None:
        self.source: Mapping[str, object] | None = None
        self.context: cel.Context | None = None

    def context_for(self, activation: Mapping[str, object]) -> cel.Context:
        if self.context is None or self.source is not activation:
            self.context = cel.Context(dict(activation))
            self.source = activation
        return self.context


@dataclass(frozen=True, slots=True)
class CelExpression:
    """One compiled rule. ``evaluate`` never raises: failures come back as an error result."""

    source: str
    program: cel.Program
    cache: _ContextCache = field(default_factory=_ContextCache, repr=False, compare=False)

    def evaluate(self, activation: Mapping[str, object]) -> Evaluation:
        try:
            value = self.program.execute(self.cache.context_for(activation))
        # isolation point: whatever the interpreter raises becomes a reported error result,
        # which the decision records and the caller counts beside the action
        except Exception as error:
            return Evaluation.failure(_describe(error))
        if value is True:
            return _MATCHED
        if value is False:
            return _UNMATCHED
        return Evaluation.failure(
            f"the rule gave {value!r} ({type(value).__name__}), not true or false"
        )


def _syntax_error(text: str) -> InvalidExpression:
    match = _POSITION.search(text)
    if match is None:
        return InvalidExpression(f"invalid expression: {text}")
    line, column, detail = int(match.group(1)), int(match.group(2)), match.group(3)
    return InvalidExpression(
        f"invalid expression at line {line}, column {column}: {detail}", line=line, column=column
    )


def _describe(error: Exception) -> str:
    if isinstance(error, KeyError):
        return f"no such key: {error.args[0]!r}" if error.args else "no such key"
    return str(error) or type(error).__name__
