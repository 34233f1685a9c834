"""Read the files the measuring commands work on: experiment CSVs and Open Bandit logs."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml
from numpy.typing import NDArray

from onevoice.domain.errors import InvalidInput

_TRUE = {"yes", "true"}
_FALSE = {"no", "false"}


@dataclass(frozen=True)
class Experiment:
    """One row per customer: its arm, its group (``""`` without ``--by``) and outcomes."""

    arms: list[str]
    groups: list[str] | None
    outcomes: dict[str, NDArray[np.float64]]


def outcome_value(text: str, *, line: int, column: str) -> float:
    """0/1, yes/no, true/false (any case) or a number; anything else names its place."""
    cleaned = text.strip().lower()
    if cleaned in _TRUE:
        return 1.0
    if cleaned in _FALSE:
        return 0.0
    try:
        value = float(cleaned)
    except ValueError:
        value = float("nan")
    if not np.isfinite(value):
        raise InvalidInput(
            f"line {line}, column {column!r}: {text!r} is not 0/1, yes/no, true/false or a number",
            field=column,
        )
    return value


def read_experiment(
    path: Path, *, arm: str, outcomes: Sequence[str], by: str | None = None
) -> Experiment:
    """Read a CSV of a randomized experiment (header on line 1)."""
    try:
        handle = path.open(newline="", encoding="utf-8-sig")
    except OSError as error:
        raise InvalidInput(f"cannot read {path}: {error.strerror}", field="FILE") from error
    with handle:
        reader = csv.DictReader(handle)
        header = reader.fieldnames or []
        wanted = [arm, *outcomes, *([by] if by else [])]
        missing = [c for c in wanted if c not in header]
        if missing:
            raise InvalidInput(
                f"{path.name} has no column {', '.join(map(repr, missing))}; "
                f"its columns are {', '.join(header)}",
                field=missing[0],
            )
        arms: list[str] = []
        groups: list[str] = []
        values: dict[str, list[float]] = {name: [] for name in outcomes}
        for line, row in enumerate(reader, start=2):
            arms.append((row[arm] or "").strip())
            if by:
                groups.append((row[by] or "").strip())
            for name in outcomes:
                values[name].append(outcome_value(row[name] or "", line=line, column=name))
    if not arms:
        raise InvalidInput(f"{path.name} has no rows", field="FILE")
    return Experiment(
        arms=arms,
        groups=groups if by else None,
        outcomes={name: np.asarray(v, dtype=np.float64) for name, v in values.items()},
    )


@dataclass(frozen=True)
class BanditLogs:
    """Logged slates, one row per shown slot: item, slot (0-based), click, propensity."""

    items: NDArray[np.int64]
    slots: NDArray[np.int64]
    clicks: NDArray[np.float64]
    propensities: NDArray[np.float64]


@dataclass(frozen=True)
class ObdCampaign:
    """An Open Bandit Dataset campaign: random logs, BTS logs and the BTS priors."""

    name: str
    random: BanditLogs
    bts: BanditLogs
    alpha: NDArray[np.float64]
    beta: NDArray[np.float64]


def _bandit_logs(path: Path) -> BanditLogs:
    if not path.is_file():
        raise InvalidInput(f"{path} not found", field="FOLDER")
    columns = ("item_id", "position", "click", "propensity_score")
    with path.open(newline="") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in columns if c not in (reader.fieldnames or [])]
        if missing:
            raise InvalidInput(f"{path} has no column {missing[0]!r}", field=missing[0])
        rows: list[tuple[int, int, float, float]] = []
        for line, row in enumerate(reader, start=2):
            try:
                rows.append(
                    (
                        int(row["item_id"]),
                        int(row["position"]) - 1,
                        outcome_value(row["click"], line=line, column="click"),
                        float(row["propensity_score"]),
                    )
                )
            except ValueError as error:
                raise InvalidInput(f"{path}, line {line}: {error}") from error
    if not rows:
        raise InvalidInput(f"{path} has no rows", field="FOLDER")
    items, slots, clicks, propensities = zip(*rows, strict=True)
    return BanditLogs(
        items=np.asarray(items, dtype=np.int64),
        slots=np.asarray(slots, dtype=np.int64),
        clicks=np.asarray(clicks, dtype=np.float64),
        propensities=np.asarray(propensities, dtype=np.float64),
    )


def read_obd(folder: Path, campaign: str) -> ObdCampaign:
    """``random/NAME/NAME.csv``, ``bts/NAME/NAME.csv`` and ``prior_bts.yaml`` of FOLDER."""
    prior_path = folder / "prior_bts.yaml"
    if not prior_path.is_file():
        raise InvalidInput(f"{prior_path} not found", field="FOLDER")
    priors = yaml.safe_load(prior_path.read_text())
    if not isinstance(priors, dict) or campaign not in priors:
        known = ", ".join(map(str, priors)) if isinstance(priors, dict) else "none"
        raise InvalidInput(
            f"{prior_path.name} has no campaign {campaign!r} (it has {known})", field="campaign"
        )
    try:
        alpha = np.asarray(priors[campaign]["alpha"], dtype=np.float64)
        beta = np.asarray(priors[campaign]["beta"], dtype=np.float64)
    except (KeyError, TypeError, ValueError) as error:
        raise InvalidInput(
            f"{prior_path.name}: campaign {campaign!r} needs alpha and beta lists of numbers",
            field="campaign",
        ) from error
    return ObdCampaign(
        name=campaign,
        random=_bandit_logs(folder / "random" / campaign / f"{campaign}.csv"),
        bts=_bandit_logs(folder / "bts" / campaign / f"{campaign}.csv"),
        alpha=alpha,
        beta=beta,
    )
