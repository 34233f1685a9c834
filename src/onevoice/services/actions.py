"""The action catalog as a use case: load a file's worth, read, and replace one action.

Every write is validated by the domain (:func:`parse_catalog`, :func:`parse_action`) and
compiled by the expression engine before anything is stored, so a bad field or an
invalid rule is refused with its name (and the rule's line and column).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from onevoice.domain.actions import Catalog, parse_action, parse_catalog
from onevoice.domain.errors import InvalidInput, NotFound
from onevoice.domain.expressions import ExpressionEngine, InvalidExpression
from onevoice.services.clock import Clock
from onevoice.services.ports import Store


class Actions:
    """Reads and writes the catalog; ``on_change`` gets the new catalog after each write."""

    def __init__(
        self,
        store: Store,
        engine: ExpressionEngine,
        clock: Clock,
        *,
        on_change: Callable[[Catalog], None] = lambda _catalog: None,
    ) -> None:
        self._store = store
        self._engine = engine
        self._clock = clock
        self._on_change = on_change

    def stored(self) -> Catalog:
        """The catalog as stored, compiled."""
        return parse_catalog(self._store.list_actions(), self._engine)

    def load(self, raw: object) -> Catalog:
        """Add or replace every action of a catalog (``{"actions": [...]}`` or a list).

        Nothing is stored unless all of it is valid. Returns the actions loaded.
        """
        loaded = parse_catalog(raw, self._engine)
        self._store.put_actions([(a.id, a.to_dict()) for a in loaded], self._clock())
        self._on_change(self.stored())
        return loaded

    def check_rule(self, text: str) -> None:
        """Compile an eligibility rule; :class:`InvalidExpression` (line, column) if wrong."""
        if text.strip():
            self._engine.compile(text)

    def draft(self, raw: object) -> Catalog:
        """The catalog as it would be with ``raw`` added or replaced (nothing is stored)."""
        try:
            return self.stored().with_action(parse_action(raw, where="action"), self._engine)
        except InvalidExpression as error:
            raise error.at(_relative(error.field) or "eligibility") from None
        except InvalidInput as error:
            raise InvalidInput(error.message, field=_relative(error.field)) from None

    def list(self) -> list[dict[str, Any]]:
        return [a.to_dict() for a in self.stored()]

    def get(self, action_id: str) -> dict[str, Any]:
        catalog = self.stored()
        if action_id not in catalog:
            raise NotFound(f"no action {action_id!r}", field="action_id")
        return catalog[action_id].to_dict()

    def put(self, action_id: str, raw: object) -> dict[str, Any]:
        """Add or replace one action; the body's ``id``, if given, must be ``action_id``."""
        if isinstance(raw, dict):
            if raw.get("id", action_id) != action_id:
                raise InvalidInput(f"the body's id is not {action_id!r}", field="id")
            raw = {**raw, "id": action_id}
        try:
            action = parse_action(raw, where="action")
            catalog = self.stored().with_action(action, self._engine)
        except InvalidExpression as error:
            raise error.at(_relative(error.field) or "eligibility") from None
        except InvalidInput as error:
            raise InvalidInput(error.message, field=_relative(error.field)) from None
        self._store.put_actions([(action.id, action.to_dict())], self._clock())
        self._on_change(catalog)
        return action.to_dict()


def _relative(field: str | None) -> str | None:
    """``action.treatments.web.title`` → ``treatments.web.title`` (the body's own names)."""
    if field is None or field == "action":
        return None
    return field.removeprefix("action.")
