"""``onevoice erase`` and ``onevoice privacy`` as an operator runs them."""

from __future__ import annotations

import json
from pathlib import Path

import orjson
from click.testing import CliRunner, Result

from onevoice.bootstrap import bootstrap
from onevoice.cli import main
from onevoice.config import Settings

SECRET = "test-secret"


def run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args), env={"ONEVOICE_SECRET_KEY": SECRET})


def test_erase_prints_the_report_and_a_reimport_stores_nothing(
    database_url: str, tmp_path: Path
) -> None:
    history = tmp_path / "people.jsonl"
    history.write_bytes(
        b"\n".join(
            orjson.dumps({"type": "identify", "userId": u, "traits": {"email": f"{u}@x.org"}})
            for u in ("gone", "stays")
        )
    )
    assert run("import", str(history), "--database", database_url).exit_code == 0
    done = run("erase", "email:gone@x.org", "--database", database_url)
    assert done.exit_code == 0, done.output
    report = json.loads(done.stdout)
    assert report["removed"]["events"] == 1 and report["removed"]["profiles"] == 1
    assert report["learned_state"]["rewards"] == 0

    again = run("import", str(history), "--database", database_url)
    assert again.exit_code == 0, again.output
    ov = bootstrap(Settings(database_url=database_url, secret_key=SECRET))
    try:
        ov.processor.run_until_idle()
        assert ov.store.count_events() == 1  # only the person who stays
        assert ov.store.count_profiles() == 1
    finally:
        ov.close()

    audit = run("privacy", "audit", "--database", database_url)
    [entry] = [json.loads(line) for line in audit.stdout.splitlines()]
    assert (entry["action"], entry["actor"]) == ("profile.erase", "cli")
    assert "gone" not in audit.stdout


def test_erasing_someone_unknown_says_so(database_url: str) -> None:
    done = run("erase", "email:nobody@x.org", "--database", database_url)
    assert done.exit_code == 2
    assert "no profile" in done.stderr


def test_a_customer_token_is_printed_alone(database_url: str) -> None:
    done = run("privacy", "token", "userId:u1", "--minutes", "5", "--database", database_url)
    assert done.exit_code == 0, done.output
    assert done.stdout.count(".") == 2  # a JWT: header.claims.signature
