"""Settings from ``ONEVOICE_*`` environment variables, each with a documented default.

``SETTINGS`` is the single list of them; the README's configuration table is checked
against it by a test, so the two cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import timedelta

from onevoice.domain.errors import InvalidInput
from onevoice.domain.identity import IdentityRules
from onevoice.domain.profiles import ProfileRules


@dataclass(frozen=True, slots=True)
class Settings:
    database_url: str = "onevoice.db"
    host: str = "127.0.0.1"
    port: int = 8000
    secret_key: str = ""
    max_body_bytes: int = 512_000
    max_event_bytes: int = 32_000
    max_future_hours: float = 24.0
    shared_identifier_limit: int = 5
    max_identifiers_per_profile: int = 100
    unique_identifier_types: str = "userId,crm_id"
    order_events: str = "Order Completed,order_completed,Purchase,purchase,Order Placed"
    repeat_after_orders: int = 2
    lapsed_after_days: float = 90.0
    sqlite_synchronous: str = "FULL"
    process_batch_size: int = 2000
    log_level: str = "info"

    @classmethod
    def from_env(cls, environ: Mapping[str, str], **overrides: object) -> Settings:
        """Read ``ONEVOICE_<NAME>`` for each field; ``overrides`` (CLI flags) win."""
        values: dict[str, object] = {}
        for f in fields(cls):
            raw = environ.get(f"ONEVOICE_{f.name.upper()}")
            if raw is None:
                continue
            kind = type(getattr(cls(), f.name))
            try:
                values[f.name] = kind(raw)
            except ValueError:
                raise InvalidInput(
                    f"ONEVOICE_{f.name.upper()}={raw!r} is not a valid {kind.__name__}",
                    field=f"ONEVOICE_{f.name.upper()}",
                ) from None
        values.update({k: v for k, v in overrides.items() if v is not None})
        settings = cls(**values)  # type: ignore[arg-type]
        if settings.sqlite_synchronous.upper() not in ("OFF", "NORMAL", "FULL", "EXTRA"):
            raise InvalidInput(
                "ONEVOICE_SQLITE_SYNCHRONOUS must be OFF, NORMAL, FULL or EXTRA",
                field="ONEVOICE_SQLITE_SYNCHRONOUS",
            )
        return settings

    @property
    def max_future(self) -> timedelta:
        return timedelta(hours=self.max_future_hours)

    def identity_rules(self) -> IdentityRules:
        return IdentityRules(
            unique_types=frozenset(_split(self.unique_identifier_types)),
            max_people_per_identifier=self.shared_identifier_limit,
            max_identifiers_per_profile=self.max_identifiers_per_profile,
        )

    def profile_rules(self) -> ProfileRules:
        return ProfileRules(
            order_events=frozenset(_split(self.order_events)),
            repeat_after_orders=self.repeat_after_orders,
            lapsed_after=timedelta(days=self.lapsed_after_days),
        )


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


#: What each setting does, for ``onevoice config`` and the README table.
DOCS: dict[str, str] = {
    "database_url": "SQLite file path (or `sqlite:///path`), or `postgresql://…` for PostgreSQL",
    "host": "address `onevoice serve` listens on",
    "port": "port `onevoice serve` listens on",
    "secret_key": "key for the keyed hashes of email and phone; empty: generated once and "
    "kept in the database (set it in production and keep it out of the database)",
    "max_body_bytes": "largest request body accepted (Segment's batch limit is 500 KB)",
    "max_event_bytes": "largest single event accepted (Segment's limit is 32 KB)",
    "max_future_hours": "how far in the future an event's timestamp may be",
    "shared_identifier_limit": "an identifier seen with more people than this is shared and "
    "stops merging",
    "max_identifiers_per_profile": "cap on identifiers one person may hold",
    "unique_identifier_types": "identifier types of which a person has one (never merged)",
    "order_events": "track events that count as orders (lifetime value, lifecycle)",
    "repeat_after_orders": "orders after which a customer is `repeat`",
    "lapsed_after_days": "days of silence after which a customer is `lapsed`",
    "sqlite_synchronous": "SQLite `synchronous` pragma; FULL makes each 2xx durable",
    "process_batch_size": "events per processing step (identity + profiles)",
    "log_level": "log level of the server",
}
