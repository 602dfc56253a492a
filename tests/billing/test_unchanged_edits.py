"""An edit whose values all equal the stored ones changes nothing: the CLI says "nothing
changed" and exits 0, and nothing is written, not even an audit event. This holds for every
record an ``edit`` command changes (the services compare before they write, so the API answers
the same: see test_api_empty_changes.py); a real change is still made and audited."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from hub.db.engine import make_engine
from hub.db.models import AuditEvent
from hub.testing.cli import real_cli
from hub.testing.snapshots import cli_rows

SETUP = [
    ["org", "create", "Acme", "--email", "billing@acme.test"],
    ["org", "add-product", "WS", "Managed workstation", "30"],
    ["org", "add-asset", "1", "PC-01"],
    ["org", "add-contact", "1", "Ann"],
    ["org", "future-item", "1", "Setup", "50"],
    ["recurring", "create", "1", "--start", "2026-03-01"],
    ["recurring", "add-line", "1", "--type", "asset_counter", "--product", "WS",
     "--filters", '{"asset_type": "workstation"}'],
    ["recurring", "add-line", "1", "--description", "Backup", "--price", "20"],
    ["recurring", "group-create", "1", "Monthly", "--date", "2026-03-01"],
    ["contract", "create", "1", "Support", "--start", "2026-03-01", "--cycles", "2"],
    ["invoice", "create", "1", "--date", "2026-03-01", "--note", "setup"],
    ["invoice", "add-line", "1", "--description", "Switch", "--price", "100", "--tax", "10"],
    ["invoice", "finalise", "1"],
]

#: Each edit command with the values already stored (typed as a user would: "30.00" for the
#: stored 30.0000, the e-mail and currency it has).
SAME = [
    ["org", "edit", "1", "--name", "Acme", "--email", "billing@acme.test", "--currency", "EUR",
     "--billing-day", "1"],
    ["contact", "edit", "1", "--name", "Ann"],
    ["asset", "edit", "1", "--name", "PC-01", "--status", "active"],
    ["product", "edit", "WS", "--price", "30.00", "--update-lines"],
    ["org", "future-item-edit", "1", "--description", "Setup", "--amount", "50.00"],
    ["recurring", "edit", "1", "--name", "Recurring invoice"],
    ["recurring", "edit-line", "1", "--filters", '{"asset_type": "workstation"}'],
    ["recurring", "edit-line", "2", "--description", "Backup", "--price", "20", "--qty", "1"],
    ["recurring", "group-edit", "1", "--description", "Monthly"],
    ["contract", "edit", "1", "--name", "Support"],
    ["ledger", "edit", "id:1", "--note", "setup"],
    ["ledger", "edit", "id:1", "--lines",
     '[{"description": "Switch", "unit_price": "100.00", "tax_rate": "10"}]'],
]


EUR = '[company]\ncurrency = "EUR"\n'


@pytest.fixture
def hub(tmp_path, monkeypatch, capsys):
    with real_cli(tmp_path, monkeypatch, capsys, settings=EUR, setup=SETUP) as run:
        yield run



@pytest.mark.parametrize("args", SAME, ids=[" ".join(a[:2]) for a in SAME])
def test_an_edit_to_the_stored_values_says_nothing_changed_and_writes_nothing(hub, tmp_path,
                                                                             args):
    before = cli_rows(tmp_path)
    code, out, err = hub(*args)
    assert code == 0, err
    assert "nothing changed" in out and "\n" not in out.strip(), out
    assert cli_rows(tmp_path) == before  # no audit event, no row touched


def test_ending_an_agreement_on_its_end_date_again_changes_nothing(hub, tmp_path):
    code, out, _ = hub("recurring", "end", "1", "--on", "2026-06-30")
    assert code == 0 and "ends after 2026-06-30" in out
    before = cli_rows(tmp_path)
    code, out, _ = hub("recurring", "end", "1", "--on", "2026-06-30")
    assert code == 0 and "nothing changed" in out
    assert cli_rows(tmp_path) == before


def _summaries(tmp_path) -> list[str]:
    engine = make_engine(f"sqlite:///{tmp_path / 'data' / 'hub.sqlite'}")
    try:
        with engine.connect() as conn:
            return list(conn.execute(select(AuditEvent.summary).order_by(AuditEvent.id))
                        .scalars())
    finally:
        engine.dispose()


def test_a_real_change_among_stored_values_is_made_and_audits_only_itself(hub, tmp_path):
    events = len(_summaries(tmp_path))
    code, out, _ = hub("org", "edit", "1", "--name", "Acme", "--billing-day", "5")
    assert code == 0 and out.strip() == "Organisation 1 changed."
    code, out, _ = hub("ledger", "edit", "id:1", "--note", "setup", "--memo", "PO 7")
    assert code == 0 and "nothing changed" not in out
    summaries = _summaries(tmp_path)[events:]
    assert summaries[0] == "organisation 1 edited: billing_day 1 → 5"
    assert summaries[1].endswith(": memo changed") and len(summaries) == 2


def test_a_new_filter_on_a_template_line_is_audited_from_and_to(hub, tmp_path):
    """A line's filters decide what it bills, so a change of them is in the trail like a price
    change: from what, to what."""
    events = len(_summaries(tmp_path))
    code, out, err = hub("recurring", "edit-line", "1", "--filters",
                         '{"asset_type": "server"}')
    assert code == 0, err
    summaries = _summaries(tmp_path)[events:]
    assert len(summaries) == 1
    assert "filters" in summaries[0] and "workstation" in summaries[0] \
        and "server" in summaries[0], summaries


def test_a_refused_line_edit_leaves_its_filters_as_they_were(hub, tmp_path):
    before = cli_rows(tmp_path)
    code, _, err = hub("recurring", "edit-line", "1", "--filters", '{"asset_type": "server"}',
                       "--price", "1e15")
    assert code != 0 and "Traceback" not in err
    assert cli_rows(tmp_path) == before


def test_a_customer_billing_config_change_is_audited_and_the_same_values_write_nothing(
        hub, tmp_path):
    events = len(_summaries(tmp_path))
    code, _, err = hub("account", "config", "1", "minimum_balance=-50", "blocking_days=2")
    assert code == 0, err
    summaries = _summaries(tmp_path)[events:]
    assert len(summaries) == 1
    assert "minimum_balance 0.00 → -50.00" in summaries[0] and "blocking_days" in summaries[0]
    before = cli_rows(tmp_path)
    code, out, err = hub("account", "config", "1", "minimum_balance=-50.00", "blocking_days=2")
    assert code == 0, err
    assert out.strip() == "Billing config of organisation 1: nothing changed."
    assert cli_rows(tmp_path) == before


def test_a_customer_billing_config_is_shown_without_settings_and_stores_nothing(hub, tmp_path):
    before = cli_rows(tmp_path)
    code, out, err = hub("account", "config", "1")
    assert code == 0, err
    shown = json.loads(out)
    assert (shown["organisation_id"], shown["blocking_days"], shown["minimum_balance"],
            shown["id"]) == (1, 0, "0", None)  # the defaults: no config stored
    assert cli_rows(tmp_path) == before
    hub("account", "config", "1", "blocking_days=3")
    code, out, err = hub("account", "config", "1")
    assert code == 0 and json.loads(out)["blocking_days"] == 3, err
    code, _, err = hub("account", "config", "99")
    assert code == 2 and "no organisation with id 99" in err


#: Each retire command; run twice, the second finds it retired already.
RETIRE = [
    ["contact", "retire", "1"],
    ["asset", "retire", "1"],
    ["product", "retire", "WS"],
    ["recurring", "remove-line", "2"],
    ["org", "retire", "1"],
]


@pytest.mark.parametrize("args", RETIRE, ids=[" ".join(a[:2]) for a in RETIRE])
def test_retiring_twice_says_it_already_was_and_audits_once(hub, tmp_path, args):
    events = len(_summaries(tmp_path))
    code, out, err = hub(*args)
    assert code == 0 and "retired" in out and "already" not in out, (out, err)
    assert len(_summaries(tmp_path)) == events + 1
    before = cli_rows(tmp_path)
    code, out, err = hub(*args)
    assert code == 0, err
    assert "was already retired: nothing changed" in out, out
    assert cli_rows(tmp_path) == before  # no second audit event, nothing touched
