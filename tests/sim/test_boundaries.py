"""The simulator is core code: numpy and the domain, never a web framework or a driver."""

from __future__ import annotations

import ast
from pathlib import Path

import onevoice.sim

FORBIDDEN = ("fastapi", "starlette", "psycopg", "sqlite3", "uvicorn", "onevoice.store",
             "onevoice.api", "onevoice.stream")  # fmt: skip


def test_no_simulator_module_imports_an_adapter_or_a_driver() -> None:
    root = Path(onevoice.sim.__file__).parent
    for path in root.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                assert not name.startswith(FORBIDDEN), f"{path.name} imports {name}"
