"""Structured logs: one JSON object a line, extra fields and exceptions included."""

from __future__ import annotations

import logging

import orjson

from onevoice.ops.logs import JsonFormatter


def test_a_log_record_becomes_one_json_line_with_its_extra_fields() -> None:
    record = logging.makeLogRecord(
        {
            "name": "onevoice.worker",
            "levelname": "INFO",
            "msg": "partition %d claimed",
            "args": (3,),
            "partition": 3,
            "created": 1_772_442_000.25,
            "msecs": 250.0,
        }
    )
    line = JsonFormatter().format(record)
    assert "\n" not in line
    entry = orjson.loads(line)
    assert entry["message"] == "partition 3 claimed"
    assert entry["level"] == "info" and entry["logger"] == "onevoice.worker"
    assert entry["partition"] == 3
    assert entry["ts"] == "2026-03-02T09:00:00.250Z"


def test_an_exception_is_kept_in_the_line() -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        import sys

        record = logging.makeLogRecord({"msg": "failed", "exc_info": sys.exc_info()})
    entry = orjson.loads(JsonFormatter().format(record))
    assert "ValueError: boom" in entry["exc"]
