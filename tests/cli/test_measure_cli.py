"""``onevoice lift`` on the real Hillstrom campaign and ``onevoice ope obd`` on the OBD sample.

The data lives in ``../shared/data`` beside the repository (where tests and CI run).
"""

from __future__ import annotations

import csv
import io
import math
import statistics
from pathlib import Path

import numpy as np
import pytest
import yaml
from click.testing import CliRunner

from onevoice.cli import main

DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
HILLSTROM = DATA / "hillstrom" / "hillstrom.csv"
OBD = DATA / "obd"
Z = statistics.NormalDist().inv_cdf(0.975)


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def rows_of(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def hillstrom_by(column: str | None) -> dict[tuple[str, str], dict[str, list[float]]]:
    """Outcomes per (group, arm), read with nothing but the csv module."""
    found: dict[tuple[str, str], dict[str, list[float]]] = {}
    with HILLSTROM.open(newline="") as handle:
        for row in csv.DictReader(handle):
            key = (row[column] if column else "", row["segment"])
            cell = found.setdefault(key, {"visit": [], "conversion": [], "spend": []})
            for name, values in cell.items():
                values.append(float(row[name]))
    return found


def check_against_independent_computation(
    row: dict[str, str], t: list[float], c: list[float]
) -> None:
    mean_t, mean_c = statistics.fmean(t), statistics.fmean(c)
    se = math.sqrt(statistics.variance(t) / len(t) + statistics.variance(c) / len(c))
    diff = mean_t - mean_c
    assert int(row["n"]) == len(t) and int(row["control_n"]) == len(c)
    assert float(row["mean"]) == pytest.approx(mean_t, rel=1e-9)
    assert float(row["control_mean"]) == pytest.approx(mean_c, rel=1e-9)
    assert float(row["lift"]) == pytest.approx(diff, rel=1e-9)
    assert float(row["lower"]) == pytest.approx(diff - Z * se, rel=1e-9)
    assert float(row["upper"]) == pytest.approx(diff + Z * se, rel=1e-9)
    assert float(row["relative_lift"]) == pytest.approx(mean_t / mean_c - 1, rel=1e-9)
    p = 2 * (1 - statistics.NormalDist().cdf(abs(diff) / se))
    assert float(row["p_value"]) == pytest.approx(p, rel=1e-6, abs=1e-12)


OUTCOMES = ("--outcome", "visit", "--outcome", "conversion", "--outcome", "spend")


def test_hillstrom_lift_of_each_email_matches_an_independent_computation() -> None:
    code, out, err = run(
        "lift", str(HILLSTROM), "--arm", "segment", "--control", "No E-Mail", *OUTCOMES, "--csv"
    )
    assert code == 0, err
    rows = rows_of(out)
    assert [(r["arm"], r["outcome"]) for r in rows] == [
        (arm, o)
        for arm in ("Mens E-Mail", "Womens E-Mail")
        for o in ("visit", "conversion", "spend")
    ]
    data = hillstrom_by(None)
    for row in rows:
        treated, control = data[("", row["arm"])], data[("", "No E-Mail")]
        check_against_independent_computation(row, treated[row["outcome"]], control[row["outcome"]])
        assert row["verdict"] == "lift"
    mens_visit = rows[0]
    assert float(mens_visit["mean"]) == pytest.approx(0.1828, abs=5e-5)  # the README's figure


def test_hillstrom_lift_by_zip_code_gives_every_group_and_matches_independently() -> None:
    code, out, err = run(
        "lift", str(HILLSTROM), "--arm", "segment", "--control", "No E-Mail",
        *OUTCOMES, "--by", "zip_code", "--csv",
    )  # fmt: skip
    assert code == 0, err
    rows = rows_of(out)
    assert len(rows) == 3 * 2 * 3 and {r["zip_code"] for r in rows} == {
        "Urban",
        "Surburban",
        "Rural",
    }
    data = hillstrom_by("zip_code")
    for row in rows:
        group = row["zip_code"]
        treated, control = data[(group, row["arm"])], data[(group, "No E-Mail")]
        check_against_independent_computation(row, treated[row["outcome"]], control[row["outcome"]])


def test_the_lift_table_names_its_interval_and_says_when_data_is_too_thin(tmp_path: Path) -> None:
    file = tmp_path / "small.csv"
    file.write_text("arm,bought\nA,yes\nA,no\nA,YES\nB,no\nB,yes\nB,false\nB,no\n")
    code, out, err = run("lift", str(file), "--arm", "arm", "--control", "B", "--outcome", "bought")
    assert code == 0, err
    assert "lower" in out and "upper" in out and "Welch" in out
    assert "not enough data yet (~" in out and "per arm)" in out


def test_a_bad_outcome_value_is_refused_naming_its_line_and_column(tmp_path: Path) -> None:
    file = tmp_path / "bad.csv"
    file.write_text("arm,bought\nA,1\nB,maybe\n")
    code, _, err = run("lift", str(file), "--arm", "arm", "--control", "B", "--outcome", "bought")
    assert code == 2
    assert "line 3, column 'bought'" in err and "'maybe'" in err


def test_a_missing_column_or_control_is_refused_by_name(tmp_path: Path) -> None:
    file = tmp_path / "x.csv"
    file.write_text("arm,bought\nA,1\nB,0\n")
    code, _, err = run("lift", str(file), "--arm", "arm", "--control", "B", "--outcome", "spend")
    assert code == 2 and "'spend'" in err
    code, _, err = run("lift", str(file), "--arm", "arm", "--control", "C", "--outcome", "bought")
    assert code == 2 and "'C'" in err


@pytest.mark.parametrize("campaign", ["all", "men"])
def test_obd_bts_value_is_estimated_from_the_random_logs(campaign: str) -> None:
    code, out, err = run("ope", "obd", str(OBD), "--campaign", campaign, "--csv")
    assert code == 0, err
    rows = rows_of(out)
    assert [r["estimator"] for r in rows] == ["IPS", "SNIPS", "DR"]
    with (OBD / "bts" / campaign / f"{campaign}.csv").open(newline="") as handle:
        on_policy = statistics.fmean(float(r["click"]) for r in csv.DictReader(handle))
    for row in rows:
        estimate = float(row["estimate"])
        assert float(row["on_policy"]) == pytest.approx(on_policy)
        assert float(row["lower"]) < estimate < float(row["upper"])
        assert float(row["relative_error"]) == pytest.approx(abs(estimate - on_policy) / on_policy)
        assert float(row["relative_error"]) < 0.5


def test_obd_table_prints_the_columns_the_issue_names() -> None:
    code, out, err = run("ope", "obd", str(OBD), "--campaign", "men", "--draws", "20000")
    assert code == 0, err
    for heading in ("estimator", "estimate", "95% interval", "on-policy value", "relative error"):
        assert heading in out


def _write_campaign(folder: Path, name: str, rng: np.random.Generator) -> None:
    n_items = 4
    for policy in ("random", "bts"):
        (folder / policy / name).mkdir(parents=True)
        with (folder / policy / name / f"{name}.csv").open("w", newline="") as handle:
            out = csv.writer(handle)
            out.writerow(["", "timestamp", "item_id", "position", "click", "propensity_score"])
            for i in range(600):
                out.writerow([i, i, int(rng.integers(n_items)), i % 3 + 1, int(rng.random() < 0.3),
                              1 / n_items])  # fmt: skip
    priors = {name: {"alpha": [5.0, 3.0, 2.0, 1.0], "beta": [10.0, 10.0, 10.0, 10.0]}}
    (folder / "prior_bts.yaml").write_text(yaml.safe_dump(priors))


def test_any_campaign_laid_out_the_same_way_is_evaluated(tmp_path: Path) -> None:
    _write_campaign(tmp_path, "kids", np.random.default_rng(0))
    code, out, err = run("ope", "obd", str(tmp_path), "--campaign", "kids", "--draws", "5000")
    assert code == 0, err
    assert "IPS" in out and "SNIPS" in out and "DR" in out


def test_an_unknown_campaign_is_refused_naming_the_known_ones() -> None:
    code, _, err = run("ope", "obd", str(OBD), "--campaign", "kids")
    assert code == 2 and "'kids'" in err and "all" in err
