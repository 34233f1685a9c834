"""Eligibility rules in CEL, Google's Common Expression Language.

Backed by ``common-expression-language`` (Python bindings to the Rust ``cel`` interpreter):
no Python ``eval``, no loops, no I/O — a rule can only read the activation it is given.

>>> engine = CelEngine()
>>> rule = engine.compile("profile.orders > 0 && channel == 'web'")
>>> rule.evaluate({"profile": {"orders": 2}, "channel": "web"}).matched
True
>>> rule.evaluate({"profile": {}, "channel": "web"}).describe()
"error: no such key: 'orders'"

A rule says what it can read, so that a decision converts only that into CEL values:

>>> rule.reads
{'profile': {'orders': None}, 'channel': None}
>>> engine.compile("'web' in profile.channels && size(profile.traits) > 2").reads
{'profile': {'channels': None, 'traits': None}}
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TypeAlias

import cel

from onevoice.domain.expressions import Evaluation, InvalidExpression, Reads

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
        return CelExpression(text, program, self._cache, reads_of(text, program))


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
    #: what the rule can read of an activation (``None``: anything; see :func:`reads_of`)
    reads: Reads | None = field(default=None, compare=False)

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


#: CEL's tokens as its lexer (CEL.g4) reads them: strings (raw, bytes, triple-quoted)
#: first, so that nothing inside one is taken for code; ``.5`` is a number, not a dot.
_TOKEN = re.compile(
    r"""
    (?P<skip>[ \t\n\f\r]+|//[^\n]*)
  | (?P<string>[bB]?[rR](?:\"\"\"[\s\S]*?\"\"\"|'''[\s\S]*?'''|"[^"\n\r]*"|'[^'\n\r]*')
      | [bB]?(?:\"\"\"(?:\\[\s\S]|[^\\])*?\"\"\"|'''(?:\\[\s\S]|[^\\])*?'''
              |"(?:\\[\s\S]|[^"\\\n\r])*"|'(?:\\[\s\S]|[^'\\\n\r])*'))
  | (?P<name>[_a-zA-Z][_a-zA-Z0-9]*)
  | (?P<number>0[xX][0-9a-fA-F]+[uU]?|[0-9]*\.[0-9]+(?:[eE][+-]?[0-9]+)?
      |[0-9]+[eE][+-]?[0-9]+|[0-9]+[uU]?)
  | (?P<punct>[.,()\[\]{}?:!<>=&|+\-*/%])
    """,
    re.VERBOSE,
)


_Tree: TypeAlias = dict[str, "_Tree | None"]


def reads_of(text: str, program: cel.Program) -> Reads | None:
    """What a rule can read of its activation, so that a decision converts no more.

    Conservative by construction: a variable (``program.variables()``) keeps only the
    fields named where *every* use of it is a plain selection (``profile.orders``, also in
    ``has()``), nested alike (``profile.traits.plan``); any other use (indexing, ``in``,
    ``size()``, a method or macro, a comparison, passing it whole) keeps the whole value.
    ``None`` — anything — when the text cannot be followed (an unknown character) or a
    variable the compiler found was not seen.
    """
    tokens: list[str] = []
    at = 0
    while at < len(text):
        match = _TOKEN.match(text, at)
        if match is None:
            return None
        at = match.end()
        if match.lastgroup == "name":
            tokens.append(match.group())
        elif match.lastgroup != "skip":
            # a literal's text could be taken for a name or a dot: keep only its kind
            tokens.append(" " if match.lastgroup != "punct" else match.group())
    names = set(program.variables())
    reads: _Tree = {}
    n = 0
    while n < len(tokens):
        word = tokens[n]
        if word not in names:
            n += 1
        elif n and tokens[n - 1] == ".":
            # a selection of something that is not a chain of names (``f(x).profile``):
            # if it is the variable at all, it is read whole
            reads[word] = None
            n += 1
        else:
            path = [word]
            n += 1
            while n + 1 < len(tokens) and tokens[n] == "." and _is_name(tokens[n + 1]):
                path.append(tokens[n + 1])
                n += 2
            follows = tokens[n] if n < len(tokens) else ""
            if follows == "{":  # a message type's name: keep it all
                del path[1:]
            elif follows == "(" and len(path) > 1:  # a method of what precedes it
                path.pop()
            _read(reads, path)
    if not names <= reads.keys():
        return None
    return reads


def _is_name(token: str) -> bool:
    return token[0] == "_" or token[0].isalpha()


def _read(reads: _Tree, path: list[str]) -> None:
    """Record that ``path`` (a variable, then fields) is read whole."""
    node = reads
    for name in path[:-1]:
        child = node.setdefault(name, {})
        if child is None:
            return  # already read whole
        node = child
    node[path[-1]] = None


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
