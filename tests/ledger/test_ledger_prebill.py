"""Seed 003 (Synergy) pre-bill examples: every option of the $1,000/$1,400 example and the
September/October example, and credits versus write-offs."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import pytest
from sqlmodel import select

from hub.core.ledger import prebill as rules
from hub.core.money import Money
from hub.db.models import WipEntry
from hub.errors import ValidationFailed
from hub.ledger import (
    add_wip, attach_options, attach_wip, close_prebill, create_credit_note, create_prebill,
    prebill_balance,
)

NOW = dt.datetime(2026, 11, 1, tzinfo=dt.timezone.utc)


def usd(v):
    return Money(v, "USD")


def five_transactions():
    """Pre-bill 1000; WIP 200, 300, 600, 100, 200 in date order (total 1400)."""
    values = ["200", "300", "600", "100", "200"]
    return [rules.Wip(i + 1, dt.date(2026, 9, 1 + 5 * i), usd(v)) for i, v in enumerate(values)]


# ------------------------------------------------------------------ pure rules
def test_prebill_by_percentage_or_value():
    assert rules.prebill_amount(usd("2500"), percent="40") == usd("1000.00")
    assert rules.prebill_amount(usd("2500"), value=usd("1000")) == usd("1000")
    with pytest.raises(ValidationFailed):
        rules.prebill_amount(usd("2500"))


@pytest.mark.parametrize("fee, share, refusal", [
    ("-1000", {"percent": "50"}, "is not a fee"),         # an IntegrityError (500) before
    ("0", {"percent": "50"}, "is not a fee"),             # a 0.00 invoice, "paid" at once
    ("1000", {"value": usd("2000")}, "more than the stage fee"),  # a 200 % pre-bill
    ("0.01", {"percent": "10"}, "comes to 0.00"),         # rounds to nothing
])
def test_a_prebill_is_a_positive_share_of_a_positive_fee(fee, share, refusal):
    with pytest.raises(ValidationFailed, match=refusal):
        rules.prebill_amount(usd(fee), **share)


def test_closest_offers_markup_500_and_markdown_1100_for_1000_prebill_with_1400_wip():
    runs = rules.closest_runs(five_transactions(), usd("1000"))
    assert [w.key for w in runs["markup"]] == [1, 2]          # $500: transactions #1 + #2
    assert [w.key for w in runs["markdown"]] == [1, 2, 3]     # $1100: #1 + #2 + #3


def test_closest_option_1_markup_500_to_1000_and_close():
    run = rules.closest_runs(five_transactions(), usd("1000"))["markup"]
    result = rules.attach(run, usd("1000"), "markup")
    assert sum((p.amount for _, p in result.billed), D(0)) == D("1000")
    assert result.adjustment == usd("500") and result.closed
    assert result.balance_after == usd("0")
    assert dict(result.billed) == {1: usd("400.00"), 2: usd("600.00")}


def test_closest_option_2_markdown_1100_to_1000_and_close():
    run = rules.closest_runs(five_transactions(), usd("1000"))["markdown"]
    result = rules.attach(run, usd("1000"), "markdown")
    assert sum((p.amount for _, p in result.billed), D(0)) == D("1000")
    assert result.adjustment == usd("-100") and result.closed


def test_closest_is_only_offered_with_more_wip_than_the_prebill():
    with pytest.raises(ValidationFailed, match="more WIP than the pre-bill"):
        rules.closest_runs(five_transactions()[:2], usd("1000"))


def september_october():
    return [rules.Wip("s1", dt.date(2026, 9, 3), usd("500")),
            rules.Wip("s2", dt.date(2026, 9, 20), usd("300")),
            rules.Wip("o1", dt.date(2026, 10, 8), usd("600"))]


def test_september_october_offers_markup_and_exact():
    sept = rules.select_range(september_october(), dt.date(2026, 9, 1), dt.date(2026, 9, 30))
    assert sum((w.value.amount for w in sept), D(0)) == D("800")
    options = rules.options_for(sept, usd("1000"))
    assert [(o.use, o.billed, o.close, o.balance_after) for o in options] == [
        ("markup", usd("1000"), True, usd("0")), ("exact", usd("800"), False, usd("200"))]


def test_september_option_1_markup_800_to_1000_and_close():
    sept = rules.select_range(september_october(), dt.date(2026, 9, 1), dt.date(2026, 9, 30))
    result = rules.attach(sept, usd("1000"), "markup")
    assert dict(result.billed) == {"s1": usd("625.00"), "s2": usd("375.00")} and result.closed


def test_september_option_2_exactly_800_leaves_200():
    sept = rules.select_range(september_october(), dt.date(2026, 9, 1), dt.date(2026, 9, 30))
    result = rules.attach(sept, usd("1000"), "exact")
    assert result.balance_after == usd("200") and not result.closed
    assert dict(result.billed) == {"s1": usd("500"), "s2": usd("300")}


def test_date_range_defaults_to_earliest_and_latest_wip():
    assert [w.key for w in rules.select_range(september_october())] == ["s1", "s2", "o1"]


def test_all_wip_over_the_prebill_is_marked_down_never_used_exactly():
    options = rules.options_for(rules.select_all(five_transactions()), usd("1000"))
    assert [o.use for o in options] == ["markdown"]
    with pytest.raises(ValidationFailed, match="not offered"):
        rules.attach(rules.select_all(five_transactions()), usd("1000"), "exact")


def test_credit_example_1_credit_note_of_50_percent_leaves_100():
    assert rules.prebill_balance(usd("200"), credits=usd("100")) == usd("100")


def test_write_off_example_2_leaves_the_prebill_at_200():
    assert rules.prebill_balance(usd("200"), write_offs=usd("200")) == usd("200")


# ------------------------------------------------------------------ through the database
@pytest.fixture
def stage(session, org):
    pb = create_prebill(session, org.id, project="Website", stage="Build", stage_fee="2500",
                        percent="40", issue_date=dt.date(2026, 8, 25))
    for day, value in [(3, "500"), (20, "300")]:
        add_wip(session, org.id, project="Website", stage="Build", date=dt.date(2026, 9, day),
                value=value)
    add_wip(session, org.id, project="Website", stage="Build", date=dt.date(2026, 10, 8),
            value="600")
    return pb


def test_prebill_is_a_posted_invoice_with_its_balance(session, stage):
    assert stage.amount == D("1000.00")
    assert prebill_balance(session, stage.id) == usd("1000.00")


def test_db_september_exact_then_close_later(session, stage):
    options = attach_options(session, stage.id, "range", start=dt.date(2026, 9, 1),
                             end=dt.date(2026, 9, 30))
    assert [o.use for o in options] == ["markup", "exact"]
    attach_wip(session, stage.id, "range", "exact", start=dt.date(2026, 9, 1),
               end=dt.date(2026, 9, 30), when=NOW)
    assert prebill_balance(session, stage.id) == usd("200.00")
    close_prebill(session, stage.id, when=NOW)
    assert prebill_balance(session, stage.id) == usd("0")


def test_db_closest_offers_markup_800_and_markdown_1400_then_markup_closes(session, stage):
    options = attach_options(session, stage.id, "closest")
    assert [(o.use, o.wip_total, o.billed, o.close) for o in options] == [
        ("markdown", usd("1400"), usd("1000.00"), True),
        ("markup", usd("800"), usd("1000.00"), True)]
    attach_wip(session, stage.id, "closest", "markup", when=NOW)  # 500 + 300 marked up to 1000
    rows = session.exec(select(WipEntry).where(WipEntry.prebill_id == stage.id)).all()
    assert sorted(r.billed_value for r in rows) == [D("375.00"), D("625.00")]
    assert prebill_balance(session, stage.id) == usd("0")


def test_db_credit_note_reduces_the_prebill_balance(session, stage):
    create_credit_note(session, invoice_id=stage.invoice_id, percent="50",
                       date=dt.date(2026, 9, 1))
    assert prebill_balance(session, stage.id) == usd("500.00")
