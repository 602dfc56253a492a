"""`hub demo` starts clean: its folder is deleted and recreated, but only a folder it made (or
an empty one); the sample MSP is the same for the same seed."""

from __future__ import annotations

import datetime as dt

import pytest

from hub.demo import sample as S
from hub.demo.setup import MARKER, fresh_folder
from hub.errors import ValidationFailed


def test_an_earlier_demo_folder_is_recreated_empty(tmp_path):
    folder = fresh_folder(tmp_path / "demo-data")
    (folder / "hub.sqlite").write_text("old month")
    again = fresh_folder(tmp_path / "demo-data")
    assert sorted(p.name for p in again.iterdir()) == [MARKER]


def test_a_folder_the_demo_did_not_make_is_never_deleted(tmp_path):
    mine = tmp_path / "work"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    with pytest.raises(ValidationFailed, match="not made by `hub demo`"):
        fresh_folder(mine)
    assert (mine / "notes.txt").read_text() == "keep me"


def test_the_sample_is_deterministic_and_plants_each_leak():
    today = dt.date(2026, 11, 22)
    first, second = S.generate(50, today=today), S.generate(50, today=today)
    assert first == second
    assert S.generate(50, seed=7, today=today) != first
    orgs = first.organisations
    assert len(orgs) == 50 and len({o.name for o in orgs}) == 50
    assert sum(1 for o in orgs if o.card is None) == 10
    assert first.organisation(S.DECLINING_ORG).card == "pm_card_chargeDeclined"
    true_up = first.organisation(S.TRUE_UP_ORG).licence("M365-BP")
    assert true_up.after == true_up.quantity[1] + 2
    assert first.organisation(S.UNBILLED_SKU_ORG).licence("DEF-EP") is not None
    # the unbilled time is older than the reconciliation's 30 days
    opening, _ = S.months_for(today)
    assert all(e.day < opening for e in first.organisation(S.NO_TICKET_CHARGES_ORG).time)
    # something changes between the months, so the preview has per-line changes
    assert any(d.months != (0, 1) for o in orgs for d in o.devices)
    assert any(p.remote_access[0] != p.remote_access[1] for o in orgs for p in o.people)
    with pytest.raises(ValueError, match="at least 8"):
        S.generate(3)
