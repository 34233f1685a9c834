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


def test_rotating_the_secret_keeps_matching_and_keeps_the_erased_out(tmp_path: Path) -> None:
    database = str(tmp_path / "rotate.db")
    history = tmp_path / "people.jsonl"
    history.write_bytes(
        b"\n".join(
            orjson.dumps({"type": "identify", "userId": u, "traits": {"email": f"{u}@x.org"}})
            for u in ("gone", "stays")
        )
    )
    assert run("import", str(history), "--database", database).exit_code == 0
    assert run("erase", "email:gone@x.org", "--database", database).exit_code == 0
    new_key = "a-brand-new-secret-key"
    done = CliRunner().invoke(
        main,
        ["privacy", "rotate-secret", "--database", database],
        env={"ONEVOICE_SECRET_KEY": SECRET, "ONEVOICE_NEW_SECRET_KEY": new_key},
    )
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout)["nodes_moved"] == 1  # stays@x.org (gone was erased)

    refused = run("process", "--database", database)  # the old key no longer opens it
    assert refused.exit_code == 2 and "ONEVOICE_SECRET_KEY" in refused.stderr
    settings = Settings(database_url=database, secret_key=new_key, previous_secret_keys=SECRET)
    ov = bootstrap(settings)
    try:
        assert ov.profiles.view("email:stays@x.org")["identifiers"]  # still found by email
        ov.collector.collect(
            [{"type": "identify", "anonymousId": "a9", "traits": {"email": "stays@x.org"}}]
        )
        ov.processor.run_until_idle()
        assert ov.store.count_profiles() == 1  # matched by the re-hashed email: no new person
        before = ov.store.count_events()
        ov.collector.collect(
            [
                {
                    "type": "track",
                    "userId": "x",
                    "event": "e",
                    "context": {"traits": {"email": "gone@x.org"}},
                }
            ]
        )
        assert ov.store.count_events() == before  # the old tombstone still holds
    finally:
        ov.close()
