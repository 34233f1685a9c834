"""Ground truth and events agree, and the truth's incremental effects are honest."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from onevoice.sim import World
from onevoice.sim import catalog as cat
from onevoice.sim import truth as t
from onevoice.sim.compare import compare
from onevoice.sim.export import write_truth
from onevoice.sim.policies import POLICIES
from tests.sim.conftest import small


def _count(world: World, content: int) -> int:
    return int((world.rows.content == content).sum())


def test_every_sale_in_the_truth_is_one_order_event(ruled: World) -> None:
    converted = ruled.truth.episodes["outcome"] == t.CONVERTED
    assert converted.sum() > 0
    assert _count(ruled, cat.ORDER) == converted.sum()
    orders = ruled.rows.content == cat.ORDER
    by_product = np.bincount(ruled.rows.action[orders], minlength=cat.N_INTENTS)
    truth = np.bincount(ruled.truth.episodes["intent"][converted], minlength=cat.N_INTENTS)
    assert by_product.tolist() == truth.tolist()


def test_customers_who_leave_say_so_once_and_then_fall_silent(blasted: World) -> None:
    churned = blasted.truth.episodes["outcome"] == t.CHURNED
    assert churned.sum() > 0
    assert _count(blasted, cat.CLOSED) == churned.sum()
    closed = blasted.rows.content == cat.CLOSED
    left_at = dict(zip(blasted.rows.customer[closed], blasted.rows.at[closed], strict=True))
    for customer, at in left_at.items():
        mine = blasted.rows.customer == customer
        assert blasted.rows.at[mine].max() == at
    assert not blasted.final.alive[list(left_at)].any()


def test_every_contact_in_the_truth_was_delivered_as_an_event(ruled: World) -> None:
    contacts = ruled.truth.contacts
    assert _count(ruled, cat.DELIVERED) == contacts["customer"].size
    assert _count(ruled, cat.CLICKED) == contacts["responded"].sum()
    assert _count(ruled, cat.UNSUBSCRIBED) == contacts["unsubscribed"].sum()


def test_episodes_end_after_they_start_and_irrelevant_contacts_have_no_effect(
    ruled: World,
) -> None:
    ep = ruled.truth.episodes
    ended = ep["end"] >= 0
    assert (ep["end"][ended] >= ep["start"][ended]).all()
    contacts = ruled.truth.contacts
    irrelevant = ~contacts["relevant"].astype(bool)
    assert (contacts["incremental_outcome"][irrelevant] == 0).all()
    assert (contacts["incremental_outcome"] >= -1e-12).all()


def test_the_truths_expected_lift_matches_the_paired_difference() -> None:
    reports = compare(small(customers=4_000, days=42), POLICIES)
    for report in reports[1:]:
        assert report.incremental_conversions is not None
        expected = report.expected_incremental_conversions
        assert expected > 0
        assert abs(report.incremental_conversions - expected) < 0.35 * expected + 10
        # the revenue of those sales: at least the cheapest sale's worth of each, at most
        # the dearest's
        values = [i.value for i in cat.INTENTS if i.kind == cat.SALE]
        revenue = report.expected_incremental_revenue
        assert min(values) * 0.2 * expected < revenue < max(values) * 5 * expected


def test_ground_truth_is_written_as_parquet_and_csv(blasted: World, tmp_path: Path) -> None:
    paths = write_truth(blasted, tmp_path / "pq")
    assert {p.stem for p in paths} == {"customers", "episodes", "contacts", "daily"}
    episodes = pq.read_table(tmp_path / "pq" / "episodes.parquet").to_pydict()
    assert set(episodes["intent"]) <= {i.name for i in cat.INTENTS}
    assert set(episodes["outcome"]) <= set(t.OUTCOMES)
    contacts = pq.read_table(tmp_path / "pq" / "contacts.parquet")
    assert contacts.num_rows == blasted.truth.contacts["customer"].size
    write_truth(blasted, tmp_path / "csv", format="csv")
    header = (tmp_path / "csv" / "contacts.csv").read_text().splitlines()[0]
    assert "incremental_value" in header and "p_unsubscribe" in header
