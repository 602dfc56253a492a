"""The pure billing rules (hub.core), one named test per worked example of the seeds."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from fractions import Fraction

import pytest

from hub.core.changes import LineSnapshot, describe_change
from hub.core.contracts import CycleRef, build_cycles, choose_cycle, next_uninvoiced
from hub.core.groups import GroupRef, advance_group, choose_group, plan_join
from hub.core.lines import FutureItemRef, price_line, take_future_items
from hub.core.money import Money
from hub.core.numbering import render_number, sequence_key
from hub.core.periods import Cadence, Frequency, Period
from hub.core.prorata import coverage, prorate
from hub.errors import ConfigError, NotFound, ValidationFailed

D = dt.date
USD = "USD"


def test_splynx_billing_day_1_bills_from_the_first_to_the_end_of_the_month():
    cadence = Cadence(Frequency.monthly, 1, 1)
    assert cadence.period_for(D(2026, 3, 15)) == Period(D(2026, 3, 1), D(2026, 3, 31))
    assert cadence.period_for(D(2026, 2, 1)) == Period(D(2026, 2, 1), D(2026, 2, 28))


def test_splynx_billing_day_10_bills_from_the_10th_to_the_9th_of_next_month():
    cadence = Cadence(Frequency.monthly, 1, 10)
    assert cadence.period_for(D(2026, 3, 10)) == Period(D(2026, 3, 10), D(2026, 4, 9))
    assert cadence.period_for(D(2026, 3, 9)) == Period(D(2026, 2, 10), D(2026, 3, 9))
    assert cadence.next_start_after(D(2026, 3, 10)) == D(2026, 4, 10)


def test_splynx_billing_day_is_limited_to_28_because_of_february():
    with pytest.raises(ValueError, match="use 28 or 1"):
        Cadence(Frequency.monthly, 1, 29)
    feb = Cadence(Frequency.monthly, 1, 28).period_for(D(2026, 2, 28))
    assert feb == Period(D(2026, 2, 28), D(2026, 3, 27))


def test_quarterly_yearly_every_n_months_and_every_n_weeks_periods():
    quarterly = Cadence(Frequency.quarterly, 1, 1, anchor=D(2026, 2, 1))
    assert quarterly.period_for(D(2026, 6, 30)) == Period(D(2026, 5, 1), D(2026, 7, 31))
    yearly = Cadence(Frequency.yearly, 1, 1, anchor=D(2026, 1, 1))
    assert yearly.period_for(D(2026, 12, 31)) == Period(D(2026, 1, 1), D(2026, 12, 31))
    every_two = Cadence(Frequency.months, 2, 15, anchor=D(2026, 1, 15))
    assert every_two.period_for(D(2026, 4, 1)) == Period(D(2026, 3, 15), D(2026, 5, 14))
    fortnightly = Cadence(Frequency.weeks, 2, 1, anchor=D(2026, 3, 2))
    assert fortnightly.period_for(D(2026, 3, 20)) == Period(D(2026, 3, 16), D(2026, 3, 29))
    assert fortnightly.next_start_after(D(2026, 3, 20)) == D(2026, 3, 30)
    with pytest.raises(ValueError, match="use 'months'"):
        Cadence(Frequency.monthly, 3, 1)


def test_splynx_example_a_prorata_from_service_start():
    """Service start 15 March, billing day 1, invoice made in March: 15–31 March, then the
    next invoice 1–30 April."""
    cadence = Cadence(Frequency.monthly, 1, 1)
    march = coverage(cadence, D(2026, 3, 15), cadence.period_for(D(2026, 3, 15)).end)
    assert [s.covered for s in march] == [Period(D(2026, 3, 15), D(2026, 3, 31))]
    assert march[0].fraction == Fraction(17, 31)
    assert march[0].explain() == "15 Mar 2026–31 Mar 2026: 17/31 days of 01 Mar 2026–31 Mar 2026"
    assert prorate(Money("45.00", USD), march[0].fraction) == Money("24.68", USD)
    april = coverage(cadence, D(2026, 4, 1), cadence.period_for(D(2026, 4, 1)).end)
    assert [s.covered for s in april] == [Period(D(2026, 4, 1), D(2026, 4, 30))]
    assert not april[0].is_partial


def test_splynx_example_b_first_invoice_in_april_covers_15_march_to_30_april():
    cadence = Cadence(Frequency.monthly, 1, 1)
    segments = coverage(cadence, D(2026, 3, 15), cadence.period_for(D(2026, 4, 1)).end)
    assert (segments[0].covered.start, segments[-1].covered.end) == (D(2026, 3, 15), D(2026, 4, 30))
    assert [s.fraction for s in segments] == [Fraction(17, 31), Fraction(1)]
    amounts = [price_line(Money("45.00", USD), 1, "0", s.fraction).amount for s in segments]
    assert amounts == [Money("24.68", USD), Money("45.00", USD)]


def test_seed001_agreement_dated_16_november_joins_group_aligned_to_the_1st():
    group = GroupRef(1, "1st of month", Cadence(Frequency.monthly, 1, 1), D(2026, 12, 1))
    plan = plan_join(D(2026, 11, 16), group)
    assert plan.next_date == D(2026, 12, 1)
    assert plan.prorata.covered == Period(D(2026, 11, 16), D(2026, 11, 30))
    assert plan.prorata.fraction == Fraction(15, 30)
    assert prorate(Money("100.00", USD), plan.prorata.fraction) == Money("50.00", USD)
    # the two agreements already aligned to 1 December need no pro-rata
    assert plan_join(D(2026, 12, 1), group).prorata is None


def test_seed001_master_agreement_advances_the_group_date():
    group = GroupRef(1, "1st of month", Cadence(Frequency.monthly, 1, 1), D(2026, 12, 1))
    assert advance_group(group, D(2027, 1, 1)) == D(2027, 1, 1)
    assert advance_group(group, D(2026, 11, 1)) == D(2026, 12, 1)


def test_seed001_required_group_with_exactly_one_match_is_chosen_automatically():
    only = GroupRef(7, "Monthly", Cadence(), D(2026, 12, 1))
    assert choose_group([only], required=True) is only
    assert choose_group([only], required=False) is None
    other = GroupRef(8, "Quarterly", Cadence(), D(2026, 12, 1))
    with pytest.raises(ValidationFailed, match="several match") as err:
        choose_group([only, other], required=True)
    assert "7 (Monthly)" in err.value.hint
    with pytest.raises(ValidationFailed, match="has none"):
        choose_group([], required=True)
    assert choose_group([only, other], required=True, chosen_id=8) is other


def test_work365_next_uninvoiced_cycle_is_preselected():
    cadence = Cadence(Frequency.monthly, 1, 1, anchor=D(2026, 1, 1))
    periods = build_cycles(cadence, D(2026, 1, 1), 3)
    cycles = [CycleRef(1, periods[0], invoice_id=11), CycleRef(2, periods[1]),
              CycleRef(3, periods[2])]
    assert next_uninvoiced(cycles).number == 2
    assert choose_cycle(cycles).cycle.number == 2


def test_work365_invoiced_cycle_is_refused_unless_replace_which_keeps_the_old_invoice():
    periods = build_cycles(Cadence(), D(2026, 1, 1), 2)
    cycles = [CycleRef(1, periods[0], invoice_id=11), CycleRef(2, periods[1])]
    with pytest.raises(ValidationFailed, match="already invoiced") as err:
        choose_cycle(cycles, 1)
    assert "--replace" in err.value.hint
    choice = choose_cycle(cycles, 1, replace=True)
    assert (choice.cycle.number, choice.replaces_invoice_id) == (1, 11)
    with pytest.raises(NotFound):
        choose_cycle(cycles, 9)


def test_splynx_default_number_format_year_partner_next():
    fmt = "{year}{partner_id|2}{next|6}"
    assert render_number(fmt, next_value=1, issue_date=D(2026, 4, 1), partner_id=1) == "202601000001"
    assert sequence_key(fmt, issue_date=D(2026, 4, 1), partner_id=1) == "202601{next|6}"
    assert sequence_key(fmt, issue_date=D(2027, 1, 1), partner_id=1) != \
        sequence_key(fmt, issue_date=D(2026, 4, 1), partner_id=1)
    assert render_number("INV-{year2}{month|2}-{next}", next_value=42, issue_date=D(2026, 4, 1),
                         partner_id=3) == "INV-2604-42"
    with pytest.raises(ConfigError, match="unknown token"):
        render_number("{yaer}{next}", next_value=1, issue_date=D(2026, 4, 1), partner_id=1)


def test_line_quantity_times_unit_price_plus_tax_rounded_per_line():
    line = price_line(Money("7.00", USD), 3, "20")
    assert (line.amount, line.tax, line.gross) == (Money("21.00", USD), Money("4.20", USD),
                                                   Money("25.20", USD))
    assert price_line(Money("0.333", USD), 1, "0").amount == Money("0.33", USD)
    assert price_line(Money("1000", "JPY"), 1, "8", Fraction(1, 3)).amount == Money("333", "JPY")


def test_splynx_future_items_debit_100_and_credit_200_never_make_the_total_negative():
    """Seed 002: a future item of 100$ is a +Debit, one of -200$ a -Credit; the invoice total
    may be zero but not negative."""
    debit = FutureItemRef(1, "Installation", Money("100", USD))
    credit = FutureItemRef(2, "Goodwill credit", Money("-200", USD))
    taken = take_future_items(Money("50.00", USD), [debit, credit])
    assert [(t.item.id, t.taken, t.left) for t in taken] == [
        (1, Money("100", USD), Money("0", USD)),
        (2, Money("-150.00", USD), Money("-50.00", USD))]
    total = Money("50.00", USD) + sum((t.taken for t in taken), Money.zero(USD))
    assert total == Money("0", USD)
    # nothing to reduce: the credit waits
    assert take_future_items(Money("0", USD), [credit]) == []


def test_change_cause_plus_three_devices_from_provenance():
    before = LineSnapshot("asset_counter", Decimal(2), Decimal("30"),
                          [{"ref": "asset:1", "label": "PC-01"}, {"ref": "asset:2", "label": "PC-02"}])
    after = LineSnapshot("asset_counter", Decimal(4), Decimal("30"),
                         [{"ref": "asset:2", "label": "PC-02"}, {"ref": "asset:3", "label": "PC-03"},
                          {"ref": "asset:4", "label": "PC-04"}, {"ref": "asset:5", "label": "LAPTOP-9"}])
    assert describe_change(before, after) == \
        "+3 devices: LAPTOP-9, PC-03, PC-04; -1 device: PC-01"
    assert describe_change(before, before) is None
    assert describe_change(None, after) == "new line"
    flat = LineSnapshot("standard", Decimal(1), Decimal("10"))
    assert describe_change(flat, LineSnapshot("standard", Decimal(1), Decimal("12"))) == \
        "unit price 10 → 12"
