"""Records of a file shaped into Segment calls: mapping, text values, defaults, ids."""

from __future__ import annotations

import doctest
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from onevoice.domain import rows
from onevoice.domain.errors import InvalidEvent, InvalidInput
from onevoice.domain.events import parse_event
from onevoice.domain.rows import RowShape, Unreadable, check_shape, ignored_columns, shape_row

CSV = RowShape(text_values=True)


def _shape(**changes: Any) -> RowShape:
    return RowShape(**{"text_values": True, **changes})


def rejected_field(row: object, shape: RowShape = CSV) -> str | None:
    with pytest.raises(InvalidEvent) as caught:
        shape_row(row, shape)
    return caught.value.field


def test_the_module_examples_run() -> None:
    assert doctest.testmod(rows, raise_on_error=False).failed == 0


def test_a_dotted_column_goes_into_the_nested_field() -> None:
    call = shape_row(
        {"userId": "u1", "context.page.url": "https://x", "traits.name": "Ann"},
        _shape(default_type="identify"),
    )
    assert call["context"] == {"page": {"url": "https://x"}}
    assert call["traits"] == {"name": "Ann"}


def test_map_renames_a_column_to_a_field_or_a_nested_field() -> None:
    shape = _shape(
        renames={"customer": "userId", "ts": "timestamp", "amount": "properties.revenue"}
    )
    call = shape_row({"customer": "u1", "ts": "2025-01-01", "amount": "9.5"}, shape)
    assert call["userId"] == "u1" and call["timestamp"] == "2025-01-01"
    assert call["properties"] == {"revenue": 9.5}


def test_map_to_nothing_drops_the_column() -> None:
    call = shape_row({"userId": "u1", "event": "E", "note": "x"}, _shape(renames={"note": ""}))
    assert "note" not in call


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("42", 42),
        ("-7", -7),
        ("0", 0),
        ("19.99", 19.99),
        ("-0.5", -0.5),
        ("true", True),
        ("FALSE", False),
        ("007", "007"),
        ("+4420", "+4420"),
        ("1e5", "1e5"),
        ("1,000", "1,000"),
        (" 12", " 12"),
        ("12.", "12."),
        (".5", ".5"),
        ("NaN", "NaN"),
        ("1234567890123456", "1234567890123456"),
        ("yes", "yes"),
    ],
)
def test_text_under_properties_becomes_the_number_or_boolean_it_plainly_is(
    text: str, value: object
) -> None:
    call = shape_row({"userId": "u1", "event": "E", "properties.x": text}, CSV)
    assert call["properties"]["x"] == value
    assert type(call["properties"]["x"]) is type(value)


def test_identifier_traits_ids_and_context_stay_text() -> None:
    call = shape_row(
        {
            "userId": "42",
            "event": "E",
            "traits.crm_id": "12345",
            "traits.phone": "4155550100",
            "traits.age": "41",
            "context.traits.email": "1@x.io",
            "context.traits.visits": "3",
            "context.app.build": "17",
        },
        CSV,
    )
    assert call["userId"] == "42"
    assert call["traits"] == {"crm_id": "12345", "phone": "4155550100", "age": 41}
    assert call["context"]["traits"] == {"email": "1@x.io", "visits": 3}
    assert call["context"]["app"] == {"build": "17"}


def test_json_values_are_left_as_they_are() -> None:
    call = shape_row({"userId": "u1", "event": "E", "properties": {"code": "007"}}, RowShape())
    assert call["properties"] == {"code": "007"}
    assert shape_row({"userId": "u1", "event": "E", "properties.n": "42"}, RowShape())[
        "properties"
    ] == {"n": "42"}


def test_an_empty_cell_is_absent() -> None:
    call = shape_row({"userId": "u1", "anonymousId": "", "event": "E", "properties.x": ""}, CSV)
    assert "anonymousId" not in call and "properties" not in call


def test_an_object_column_may_hold_json_and_dotted_columns_add_to_it() -> None:
    call = shape_row(
        {"userId": "u1", "event": "E", "properties": '{"a": 1}', "properties.b": "2"}, CSV
    )
    assert call["properties"] == {"a": 1, "b": 2}


def test_an_object_column_with_bad_json_is_rejected_naming_the_column() -> None:
    assert rejected_field({"userId": "u1", "event": "E", "context": "{oops"}) == "context"
    assert rejected_field({"userId": "u1", "event": "E", "traits": "[1]"}) == "traits"


def test_a_dotted_column_under_a_value_that_is_not_an_object_is_rejected() -> None:
    row = {"userId": "u1", "event": "E", "context.page": "home", "context.page.url": "/"}
    assert rejected_field(row) == "context.page.url"


def test_defaults_fill_type_event_and_channel_and_the_row_wins() -> None:
    shape = _shape(default_event="Order Completed", default_channel="branch")
    assert shape_row({"userId": "u1"}, shape) == {
        "userId": "u1",
        "type": "track",
        "event": "Order Completed",
        "context": {"channel": "branch"},
        "messageId": shape_row({"userId": "u1"}, shape)["messageId"],
    }
    own = shape_row({"userId": "u1", "event": "Called", "context.channel": "call_centre"}, shape)
    assert own["event"] == "Called" and own["context"] == {"channel": "call_centre"}
    identify = shape_row({"userId": "u1", "type": "identify"}, shape)
    assert "event" not in identify


def test_a_row_without_message_id_or_timestamp_gets_the_same_content_id_each_time() -> None:
    first = shape_row({"userId": "u1", "traits.email": "a@x.io"}, _shape(default_type="identify"))
    again = shape_row({"userId": "u1", "traits.email": "a@x.io"}, _shape(default_type="identify"))
    other = shape_row({"userId": "u2", "traits.email": "a@x.io"}, _shape(default_type="identify"))
    assert first["messageId"] == again["messageId"] != other["messageId"]


def test_a_row_with_a_timestamp_gets_its_content_id_from_parse_event() -> None:
    call = shape_row({"userId": "u1", "event": "E", "timestamp": "2025-01-01T00:00:00Z"}, CSV)
    assert "messageId" not in call
    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert (
        parse_event(call, received_at=now).message_id
        == parse_event(dict(call), received_at=datetime(2026, 6, 1, tzinfo=UTC)).message_id
    )


@pytest.mark.parametrize(
    ("given", "iso"),
    [
        ("1735689600", "2025-01-01T00:00:00Z"),
        ("1735689600000", "2025-01-01T00:00:00Z"),
        (1735689600, "2025-01-01T00:00:00Z"),
        (1735689600.5, "2025-01-01T00:00:00.500000Z"),
        ("2025-01-01 10:00", "2025-01-01 10:00"),
    ],
)
def test_a_unix_timestamp_becomes_iso_8601(given: object, iso: str) -> None:
    assert shape_row({"userId": "u1", "event": "E", "timestamp": given}, CSV)["timestamp"] == iso


def test_values_from_parquet_become_json_ready() -> None:
    moment = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)
    call = shape_row(
        {
            "userId": "u1",
            "event": "E",
            "timestamp": moment,
            "properties.revenue": Decimal("19.90"),
            "properties.items": Decimal("2"),
            "properties.score": float("nan"),
            "properties.when": {"at": moment},
        },
        RowShape(),
    )
    assert call["timestamp"] == "2025-01-01T12:00:00+00:00"
    assert call["properties"] == {
        "revenue": 19.9,
        "items": 2,
        "when": {"at": "2025-01-01T12:00:00+00:00"},
    }


def test_sent_at_and_other_unknown_keys_are_dropped() -> None:
    call = shape_row(
        {"userId": "u1", "event": "E", "sentAt": "2020-01-01T00:00:00Z", "plan": "gold"}, CSV
    )
    assert "sentAt" not in call and "plan" not in call


def test_columns_that_land_nowhere_are_listed() -> None:
    columns = ["userId", "properties.x", "plan", "sentAt", "note", "customer"]
    shape = _shape(renames={"note": "", "customer": "userId"})
    assert ignored_columns(columns, shape) == ["plan", "sentAt"]


def test_more_cells_than_columns_a_line_that_is_not_json_or_not_an_object_are_rejected() -> None:
    assert rejected_field({"userId": "u1", None: ["x"]}) is None
    assert rejected_field(Unreadable("{oops", "not valid JSON")) is None
    assert rejected_field([1, 2]) is None


@pytest.mark.parametrize(
    ("shape", "field"),
    [
        (RowShape(renames={"a": "revenue"}), "--map"),
        (RowShape(renames={"a": "properties."}), "--map"),
        (RowShape(renames={"a": "traits..x"}), "--map"),
        (RowShape(default_type="purchase"), "--type"),
        (RowShape(default_channel="fax"), "--channel"),
    ],
)
def test_a_shape_that_cannot_work_is_refused_naming_the_option(shape: RowShape, field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        check_shape(shape)
    assert caught.value.field == field


def test_a_workable_shape_passes() -> None:
    check_shape(
        RowShape(
            renames={"a": "properties.revenue", "b": "userId", "c": ""},
            default_channel="Call Center",
        )
    )
