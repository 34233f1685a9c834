"""No SQL built from input: every f-string in the store's SQL interpolates only
placeholder lists and names from constants. A new interpolation must be added here, with a
reason, or be rewritten with ``?`` placeholders."""

from __future__ import annotations

import ast
from pathlib import Path

import onevoice.store

#: What may be interpolated into SQL text, and why it is safe.
ALLOWED = {
    "self._marks(len(chunk))": "a list of ? placeholders",
    "self._marks(len(wanted))": "a list of ? placeholders",
    "self._marks(len(members))": "a list of ? placeholders",
    "_DECISION_COLUMNS": "a constant column list",
    "_USER_COLUMNS": "a constant column list",
    "marks": "a list of ? placeholders, one per constant outbound channel",
    "likes": "'body LIKE ? ESCAPE' repeated: placeholders only",
    "table": "from the constant PERSON_TABLES / person_tables()",
    "column": "from the constant PERSON_TABLES",
    "where": "built in the module from constants and placeholders",
    "how": "one of two constant VACUUM option lists",
    "self._synchronous": "checked against OFF, NORMAL, FULL, EXTRA",
    "synchronous": "the log process's, checked against OFF, NORMAL, FULL, EXTRA",
    "_BACKSTOP_PAGES": "an integer constant (sqlite.py)",
    "self._body_bytes": "a constant column expression per backend",
    "name.replace(chr(39), '')": "a packaged migration file name",
    "'FULL ' if thorough else ''": "a line of the erasure report, not SQL",
    "properties": "a constant JSON expression per SQL dialect (sql_reports._PROPERTIES)",
    "event": "a constant JSON expression per SQL dialect (sql_reports.orders_of)",
}
SQL_WORDS = ("SELECT", "INSERT", "UPDATE", "DELETE", "VACUUM", "PRAGMA", "WHERE", "VALUES")


def test_sql_interpolates_only_placeholders_and_constants() -> None:
    root = Path(onevoice.store.__file__).parent
    found: dict[str, str] = {}
    for path in sorted(root.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.JoinedStr):
                continue
            text = "".join(v.value for v in node.values if isinstance(v, ast.Constant))
            if not any(word in text for word in SQL_WORDS):
                continue
            for value in node.values:
                if isinstance(value, ast.FormattedValue):
                    found[ast.unparse(value.value)] = f"{path.name}:{node.lineno}"
    unexplained = {expr: where for expr, where in found.items() if expr not in ALLOWED}
    assert unexplained == {}
