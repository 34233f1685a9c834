"""``onevoice intents``, ``onevoice train intents`` and ``onevoice eval intents``."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from onevoice.cli import main

HARBOUR_BANK = Path(__file__).resolve().parents[2] / "src/onevoice/sim/harbour_bank_intents.yaml"


def run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), env={"ONEVOICE_SECRET_KEY": "k", **(env or {})})
    return result.exit_code, result.stdout, result.stderr


def test_a_bad_definitions_file_is_refused_naming_the_field(tmp_path: Path) -> None:
    bad = tmp_path / "intents.yaml"
    bad.write_text("intents:\n  - name: leaving\n    outcomes: []\n")
    code, _out, err = run("intents", "load", str(bad), "--database", str(tmp_path / "o.db"))
    assert code == 2
    assert "intents[0].outcomes" in err


def test_training_needs_definitions_first(tmp_path: Path) -> None:
    code, _out, err = run("train", "intents", "--database", str(tmp_path / "o.db"))
    assert code == 2 and "onevoice intents load" in err


def test_load_simulate_train_and_show(tmp_path: Path) -> None:
    db = str(tmp_path / "o.db")
    code, out, _err = run("intents", "load", str(HARBOUR_BANK), "--database", db)
    assert code == 0 and "version 1" in out
    code, _out, err = run(
        "simulate", "--customers", "400", "--days", "21", "--end", "2026-03-01", "--database", db
    )
    assert code == 0, err
    code, out, err = run("train", "intents", "--database", db)
    assert code == 0, err
    assert "card_problem" in out and "stored intent model version 2" in err
    code, out, _err = run("intents", "show", "--database", db)
    assert code == 0 and out.startswith("version 2 (")


@pytest.mark.timeout(300)
def test_eval_prints_one_row_per_intent_with_auc_baseline_and_lead_time() -> None:
    code, out, err = run("eval", "intents", "--customers", "1500", "--days", "21")
    assert code == 0, err
    for column in ("auc", "baseline_auc", "precision_at_top", "lead_time"):
        assert column in out
    for name in ("mortgage", "credit_card", "savings", "card_problem", "leaving"):
        assert name in out
