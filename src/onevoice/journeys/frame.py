"""The event frame every journey report reads: one row per event, flat columns.

``customer, ts, type, event, channel, reason, offer, survey, score, revenue, timezone,
expires``. It comes from the store (each stored event's JSON, reduced once), from a
Parquet or JSON Lines file of such rows (an export), or straight from a simulated world.

Survey answers are ``track`` events: ``nps`` or ``ces`` with ``properties.score`` (NPS
0–10, CES 1–7), or ``Survey Answered`` with ``properties.survey`` (``nps``/``ces``) and
``properties.score``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import polars as pl

from onevoice.domain.errors import InvalidInput

SCHEMA: dict[str, Any] = {
    "customer": pl.Utf8,
    "ts": pl.Datetime("ms", "UTC"),
    "type": pl.Utf8,
    "event": pl.Utf8,
    "channel": pl.Utf8,
    "reason": pl.Utf8,
    "offer": pl.Utf8,
    "survey": pl.Utf8,
    "score": pl.Float64,
    "revenue": pl.Float64,
    "timezone": pl.Utf8,
    "expires": pl.Datetime("ms", "UTC"),
}
REQUIRED = ("customer", "ts", "event", "channel")
_REASON_KEYS = ("reason", "topic", "menu", "query")
_OFFER_KEYS = ("campaign", "promotion_id", "action_id", "offer_id")
_SURVEY_NAMES = ("survey answered", "survey completed", "survey_answered", "survey_completed")
_ORDER_NAMES = frozenset(
    ("Order Completed", "order_completed", "Purchase", "purchase", "Order Placed")
)


def row_of(customer: str, record: Mapping[str, Any]) -> tuple[Any, ...]:
    """One frame row from a stored Segment record (``Event.to_record`` shape)."""
    kind = record.get("type", "track")
    props = record.get("properties") or {}
    event = record.get("event") if kind == "track" else record.get("name")
    if not event:
        page = (record.get("context") or {}).get("page") or {}
        event = props.get("path") or page.get("path") or kind
    reason = _first_text(props, _REASON_KEYS)
    offer = _first_text(props, _OFFER_KEYS)
    survey, score = _survey(str(event), props)
    revenue = None
    if event in _ORDER_NAMES:
        for key in ("revenue", "total", "value"):
            if isinstance(props.get(key), int | float):
                revenue = float(props[key])
                break
    context = record.get("context") or {}
    timezone = context.get("timezone") or (record.get("traits") or {}).get("timezone")
    expires = props.get("valid_until") or props.get("expires_at")
    return (
        customer,
        record["timestamp"],
        kind,
        str(event),
        record.get("channel", "other"),
        reason,
        offer,
        survey,
        score,
        revenue,
        timezone if isinstance(timezone, str) else None,
        expires if isinstance(expires, str) else None,
    )


def _first_text(props: Mapping[str, Any], keys: tuple[str, ...]) -> str | None:
    for key in keys:
        value = props.get(key)
        if isinstance(value, str) and value:
            return value
    return None


def _survey(event: str, props: Mapping[str, Any]) -> tuple[str | None, float | None]:
    name = event.strip().lower()
    kind = name if name in ("nps", "ces") else None
    if kind is None and name in _SURVEY_NAMES:
        declared = str(props.get("survey") or props.get("type") or "").lower()
        kind = declared if declared in ("nps", "ces") else None
    if kind is None:
        return None, None
    for key in ("score", "value", "answer", "rating"):
        value = props.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return kind, float(value)
    return kind, None


def from_rows(rows: Iterable[tuple[Any, ...]]) -> pl.DataFrame:
    """A frame from :func:`row_of` tuples (times as ISO text)."""
    text_schema = {k: (pl.Utf8 if k in ("ts", "expires") else v) for k, v in SCHEMA.items()}
    frame = pl.DataFrame(list(rows), schema=text_schema, orient="row")
    return frame.with_columns(
        pl.col("ts").str.to_datetime(time_unit="ms", time_zone="UTC"),
        pl.col("expires").str.to_datetime(time_unit="ms", time_zone="UTC", strict=False),
    )


def read_events(path: Path) -> pl.LazyFrame:
    """Events from a Parquet or JSON Lines file of frame rows (``ts`` as a time or ISO text)."""
    if not path.exists():
        raise InvalidInput(f"{path} does not exist", field="file")
    suffix = "".join(path.suffixes[-2:]).lower()
    if suffix.endswith(".parquet"):
        lazy = pl.scan_parquet(path)
    elif suffix.endswith((".jsonl", ".ndjson", ".json")):
        lazy = pl.scan_ndjson(path, infer_schema_length=10_000)
    else:
        raise InvalidInput(f"{path.name}: use a .parquet or .jsonl file", field="file")
    return normalise(lazy)


def normalise(lazy: pl.LazyFrame) -> pl.LazyFrame:
    """Types made the frame's: text times parsed, every column present."""
    schema = lazy.collect_schema()
    for name in REQUIRED:
        if name not in schema:
            raise InvalidInput(f"the events have no {name!r} column", field=name)
    columns = []
    for name, dtype in SCHEMA.items():
        if name not in schema:
            columns.append(pl.lit(None, dtype=dtype).alias(name))
        elif name in ("ts", "expires"):
            columns.append(_time(name, schema[name], dtype))
        elif name == "customer":
            columns.append(pl.col(name))  # ints stay ints: faster to group
        else:
            columns.append(pl.col(name).cast(dtype))
    return lazy.select(columns)


def _time(name: str, current: Any, dtype: Any) -> pl.Expr:
    col = pl.col(name)
    if current == pl.Utf8 or current == pl.String:
        return col.str.to_datetime(time_unit="ms", time_zone="UTC", strict=False).alias(name)
    if isinstance(current, pl.Datetime):
        if current.time_zone is None:
            return col.dt.replace_time_zone("UTC").dt.cast_time_unit("ms").alias(name)
        return col.dt.convert_time_zone("UTC").dt.cast_time_unit("ms").alias(name)
    if current.is_integer():  # milliseconds since the epoch
        return col.cast(pl.Int64).cast(pl.Datetime("ms")).dt.replace_time_zone("UTC").alias(name)
    return col.cast(dtype).alias(name)
