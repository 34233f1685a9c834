"""``onevoice users``: the first admin from the command line, the password never echoed."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from onevoice.bootstrap import bootstrap
from onevoice.cli import main
from onevoice.config import Settings


def test_users_add_creates_a_login_with_the_password_from_the_environment(
    tmp_path: Path,
) -> None:
    db = str(tmp_path / "onevoice.db")
    runner = CliRunner()
    result = runner.invoke(
        main,
        ["users", "add", "ann", "--role", "admin", "--database", db],
        env={"ONEVOICE_USER_PASSWORD": "correct horse"},
    )
    assert result.exit_code == 0, result.output
    assert "added admin ann" in result.stderr
    assert "correct horse" not in result.output
    listed = runner.invoke(main, ["users", "list", "--database", db])
    assert "\tann\tadmin\tactive" in listed.stdout
    ov = bootstrap(Settings(database_url=db))
    try:
        assert ov.staff.login("ann", "correct horse").user.role == "admin"
    finally:
        ov.close()


def test_users_add_prompts_for_the_password_twice_and_refuses_a_short_one(
    tmp_path: Path,
) -> None:
    db = str(tmp_path / "onevoice.db")
    runner = CliRunner()
    result = runner.invoke(
        main, ["users", "add", "bob", "--role", "agent", "--database", db], input="short\nshort\n"
    )
    assert result.exit_code == 2
    assert "error (password): a password needs at least 8 characters" in result.stderr
    result = runner.invoke(
        main, ["users", "add", "bob", "--role", "boss", "--database", db], input="x\n"
    )
    assert result.exit_code == 2
    assert "boss" in result.stderr
