"""``onevoice intents``, ``onevoice train intents`` and ``onevoice eval intents``.

Exit codes: 0 done, 2 for a definitions file that cannot be read or is not valid (the
message names the field), or nothing to train on.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from onevoice.actions_cli import read_catalog_file
from onevoice.domain.errors import InvalidInput
from onevoice.sim.policies.onevoice import harbour_bank_intents

__all__ = ["evaluate_group", "harbour_bank_intents", "intents", "train"]


@click.group()
def intents() -> None:
    """Load and show intent definitions (and the model version in force)."""


@intents.command("load")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--database", default=None, help="SQLite path or postgresql:// URL")
def intents_load(file: Path, database: str | None) -> None:
    """Store FILE's intent definitions as the newest version (hand rules until trained)."""
    from onevoice.cli import opened

    with opened(database) as ov:
        version = ov.intents.load_definitions(read_catalog_file(file))
        names = ", ".join(ov.intents.names())
        click.echo(f"intent definitions version {version}: {names}")


@intents.command("show")
@click.option("--database", default=None, help="SQLite path or postgresql:// URL")
def intents_show(database: str | None) -> None:
    """The version in force: its kind (rules or trained) and each intent."""
    from onevoice.cli import opened

    with opened(database) as ov:
        record = ov.store.load_intent_model()
        if record is None:
            click.echo("no intent definitions (load some with `onevoice intents load FILE`)")
            return
        click.echo(f"version {record.version} ({record.kind}), {record.created_at:%Y-%m-%d %H:%M}Z")
        for item in record.body["definitions"]["intents"]:
            trained = "trained" if item["name"] in record.body.get("models", {}) else "rules"
            click.echo(
                f"{item['name']}\t{trained}\thalf-life {item['half_life_hours']:g}h\t"
                f"horizon {item['horizon_days']:g}d"
            )


@click.group()
def train() -> None:
    """Train models from the history in the store."""


@train.command("intents")
@click.option("--database", default=None, help="SQLite path or postgresql:// URL")
@click.option("--c", "strength", type=float, default=None,
              help="inverse L2 regularisation strength (default: chosen per intent by "
              "cross-validation)")  # fmt: skip
def train_intents(database: str | None, strength: float | None) -> None:
    """Learn each intent from processed events, with its confirming outcomes as labels;
    store the models as a new version (running processes swap to it)."""
    from onevoice.cli import opened
    from onevoice.intent_training import snapshots, train

    console = Console(stderr=True)
    with opened(database) as ov:
        model = ov.intents.model
        if not model.definitions.intents:
            raise InvalidInput(
                "no intent definitions: load some first (`onevoice intents load FILE`)",
                field="intents",
            )
        started = time.perf_counter()
        with console.status("reading history and computing features"):
            data = snapshots(
                (events for _pid, events in ov.store.processed_history()), model.definitions
            )
        with console.status(f"training on {len(data):,} snapshots"):
            models, summary = train(data, model.definitions, c=strength)
        version = ov.intents.save_models(models, {"training": summary})
        table = Table(
            *("intent", "snapshots", "positives", "people"),
            *("held-back auc (model / rules)", "in force"),
        )
        for d in model.definitions.intents:
            s = summary.get(d.name, {})
            checked = "validation_auc" in s
            if d.name in models:
                verdict = "trained model"
            elif checked:
                verdict = "hand rules (the model was not better)"
            else:
                verdict = "hand rules (too few outcomes)"
            table.add_row(
                d.name,
                f"{int(s.get('rows', 0)):,}",
                f"{int(s.get('positives', 0)):,}",
                f"{int(s.get('people', 0)):,}",
                f"{s['validation_auc']:.3f} / {s['hand_rules_auc']:.3f}" if checked else "—",
                verdict,
            )
        Console().print(table)
        console.print(
            f"stored intent model version {version} in {time.perf_counter() - started:.1f}s"
        )


@click.group(name="eval")
def evaluate_group() -> None:
    """Evaluate models against the simulator's ground truth."""


@evaluate_group.command("intents")
@click.option("--customers", type=click.IntRange(100, 200_000), default=10_000, show_default=True)
@click.option("--days", type=click.IntRange(7, 365), default=30, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--holdout", type=click.FloatRange(0.05, 0.95), default=0.3, show_default=True,
              help="share of customers held out for the evaluation")  # fmt: skip
@click.option("--definitions", "file", type=click.Path(path_type=Path), default=None,
              help="intent definitions (default: Harbour Bank's)")  # fmt: skip
def eval_intents(customers: int, days: int, seed: int, holdout: float, file: Path | None) -> None:
    """Train on simulated customers, score held-out ones after every event, and compare
    with the truth: ROC AUC (model and hand rules), precision at the top 1%, lead time."""
    from onevoice.domain.intent import parse_definitions
    from onevoice.intent_eval import TOP_SHARE, evaluate

    console = Console(stderr=True)
    definitions = parse_definitions(
        read_catalog_file(file) if file is not None else harbour_bank_intents()
    )
    started = time.perf_counter()
    reports = evaluate(
        definitions,
        customers=customers,
        days=days,
        seed=seed,
        holdout=holdout,
        on_step=lambda text: console.print(f"[dim]{text}…[/dim]"),
    )
    table = Table(
        "intent", "active", "auc", "baseline_auc", "auc_gain (95% CI)", "precision_at_top",
        "baseline_precision",
        "lead_time", "baseline_lead_time", "detected", "outcomes",
        title=f"intent detection on held-out customers (top = highest {TOP_SHARE:.0%} of "
        "snapshots; lead_time = median hours from first top-scored event to the outcome)",
    )  # fmt: skip
    for r in reports:
        table.add_row(
            r.name,
            f"{r.positives:,}",
            f"{r.auc:.3f}",
            f"{r.baseline_auc:.3f}",
            _gain(r.auc - r.baseline_auc, r.gain_interval),
            f"{r.precision_at_top:.3f}",
            f"{r.baseline_precision_at_top:.3f}",
            _hours(r.lead_time_hours),
            _hours(r.baseline_lead_time_hours),
            f"{r.detected:.0%}",
            f"{r.outcomes:,}",
        )
    Console(width=200).print(table)
    console.print(f"evaluated in {time.perf_counter() - started:.0f}s")


def _gain(gain: float, interval: tuple[float, float]) -> str:
    low, high = interval
    if math.isnan(gain) or math.isnan(low):
        return "—"
    return f"{gain:+.3f} ({low:+.3f} to {high:+.3f})"


def _hours(value: float) -> str:
    return "—" if math.isnan(value) else f"{value:.0f}h"
