"""Benchmark tables say which machine they were measured on."""

from __future__ import annotations

import os

from bench.bench_listening_post import _machine


def test_the_machine_is_named_by_its_cores_and_processor() -> None:
    cores, _, processor = _machine().partition(" cores, ")
    assert cores == str(os.cpu_count())
    assert processor.strip()
