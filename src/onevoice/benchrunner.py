"""``onevoice bench``: find the suites in the checkout's ``bench/`` and print their table.

A suite is a function ``(options: dict) -> list[dict]``; each dict is one row with the
keys ``benchmark``, ``result``, ``target`` and ``note``. Benchmarks live beside the code
in ``bench/`` (not in the installed package): they are a tool for people with a checkout.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

Suite = Callable[[dict[str, Any]], list[dict[str, Any]]]
DEFAULT_SUITES = ("ingest", "lookup", "identity")


def bench_dir() -> Path | None:
    here = Path(__file__).resolve()
    for parent in here.parents:
        candidate = parent / "bench"
        if (candidate / "__init__.py").exists():
            return candidate
    return None


def discover() -> dict[str, Suite]:
    """Every suite of every ``bench/bench_*.py``."""
    folder = bench_dir()
    if folder is None:
        return {}
    if str(folder.parent) not in sys.path:
        sys.path.insert(0, str(folder.parent))
    suites: dict[str, Suite] = {}
    for path in sorted(folder.glob("bench_*.py")):
        module = importlib.import_module(f"bench.{path.stem}")
        suites.update(getattr(module, "SUITES", {}))
    return suites
