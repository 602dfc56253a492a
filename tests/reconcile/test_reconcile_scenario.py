"""The seeded scenario: the report lists exactly the planted differences, with the money at
stake summed correctly, in table, CSV and JSON, and exits 1 (0 once everything agrees)."""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from decimal import Decimal

from hub.reconcile import SECTIONS, NullProgress, Options, Totals, reconcile


def _run(scenario, *sections, **options):
    opts = Options(today=scenario.ctx.today(), **options)
    return list(reconcile(scenario.ctx, sections or list(SECTIONS), opts, NullProgress()))


def _planted(differences):
    return Counter((d.section, d.kind) for d in differences)


def test_reconcile_finds_exactly_the_planted_differences(scenario):
    differences = _run(scenario)
    found = _planted(differences)
    assert found == Counter(scenario.expected.keys()), found  # none missed, none extra
    for d in differences:
        assert d.at_stake.amount == scenario.expected[(d.section, d.kind)], d
        assert d.at_stake.currency == "USD"
    totals = Totals.of(differences)
    assert totals.count == 16
    assert totals.by_currency["USD"].amount == sum(scenario.expected.values()) == Decimal("759.00")


def test_reconcile_differences_say_what_and_how_to_fix(scenario):
    by_kind = {d.kind: d for d in _run(scenario)}
    missing = by_kind["missing_in_accounting"]
    assert missing.document == "invoice INV-5"
    assert missing.organisation_id == scenario.ids["globex"]
    assert "contact has no email" in missing.cause
    assert missing.fix == f"hub jobs retry {scenario.ids['job5']}"
    usage = by_kind["usage_differs"]
    assert (usage.hub_value, usage.other_value) == ("billed 43", "vendor says 45")
    assert usage.fix == "add to next invoice"
    assert by_kind["time_not_invoiced"].fix == "add to next invoice"
    total = by_kind["total_differs"]
    assert (total.hub_value, total.other_value) == ("250.00 USD", "240.00 USD")
    assert total.systems == "hub ↔ books"
    assert by_kind["device_not_counted"].document.startswith("device SRV-1")
    assert by_kind["user_not_counted"].document.startswith("user Bob")
    assert by_kind["charge_missing_in_ledger"].organisation_id == scenario.ids["globex"]


def test_reconcile_each_section_runs_alone(scenario):
    for name in SECTIONS:
        found = _planted(_run(scenario, name))
        assert found == Counter(k for k in scenario.expected if k[0] == name), name
    # the payments section asked only the processor, the accounting one only the books
    assert {c for c, _ in scenario.systems.calls} == {"books", "cards"}


def test_reconcile_filters_by_organisation_and_connection(scenario):
    globex = scenario.ids["globex"]
    differences = _run(scenario, organisation_id=globex)
    assert {d.organisation_id for d in differences} == {globex}
    assert _planted(differences) == Counter([
        ("accounting", "lines_differ"), ("accounting", "missing_in_accounting"),
        ("accounting", "extra_in_accounting"), ("payments", "charge_missing_in_ledger"),
        ("payments", "no_processor_record"), ("usage", "usage_not_billed"),
        ("assets", "user_not_counted")])
    only_cards = _run(scenario, "accounting", "payments", connection="cards")
    assert {d.section for d in only_cards} == {"payments"}


def test_reconcile_stale_days_and_window(scenario):
    import datetime as dt

    assert _run(scenario, "time", stale_days=90) == []
    assert len(_run(scenario, "time", stale_days=3)) == 2  # the recent charge is now stale too
    # a window that ends before February sees no February documents on either side
    assert _run(scenario, "accounting", "payments", until=dt.date(2026, 1, 31)) == []


def test_reconcile_is_clean_when_systems_agree(scenario, cli):
    """Fix every planted difference on the other side's data: no false positive remains."""
    from hub.core.money import Money
    from hub.contract.records import ExternalDocument

    docs = scenario.systems.documents
    fixed = []
    for d in docs["books"]:
        if d.external_id in ("X-99", "XP-2"):
            continue
        update = {}
        if d.external_id == "X-2":
            update["total"] = Money("250.00", "USD")
        if d.external_id == "X-3":
            update["attributes"] = {"lines": [{"quantity": "1", "amount": "200"},
                                              {"quantity": "2", "amount": "100"}]}
        if d.external_id == "X-4":
            update["status"] = "AUTHORISED"
        fixed.append(d.model_copy(update=update))
    docs["books"] = fixed
    docs["cards"] = [d for d in docs["cards"] if d.external_id in ("ch_1", "ch_4", "dp_2")] + [
        ExternalDocument(kind="charge", external_id="ch_2", total=Money("60.00", "USD"),
                         status="succeeded", attributes={"payment_intent": "pi_2"}),
        ExternalDocument(kind="charge", external_id="ch_ghost", total=Money("25.00", "USD"),
                         status="succeeded", attributes={"payment_intent": "pi_ghost"})]
    scenario.systems.usage[(scenario.ids["acme"], "M365-BP")] = "43"
    result = cli("reconcile", "accounting", "payments", "usage", "--format", "json")
    # left: the hub's own leaks, which no other system can fix (INV-5 never pushed, AV-PRO
    # licences nobody bills)
    assert result.exit_code == 1
    payload = json.loads(result.stdout)
    assert [d["kind"] for d in payload["differences"]] == ["missing_in_accounting",
                                                           "usage_not_billed"]
    clean = cli("reconcile", "payments", "--format", "json")
    assert clean.exit_code == 0, clean.output
    assert json.loads(clean.stdout)["totals"] == {
        "count": 0, "at_stake": {}, "sections": {"payments": {"count": 0, "at_stake": {}}}}


def test_reconcile_cli_json(scenario, cli):
    result = cli("reconcile", "--format", "json")
    assert result.exit_code == 1, result.output
    payload = json.loads(result.stdout)
    found = Counter((d["section"], d["kind"]) for d in payload["differences"])
    assert found == Counter(scenario.expected.keys())
    assert payload["totals"]["count"] == 16
    assert payload["totals"]["at_stake"] == {"USD": "759.00"}
    assert sum(Decimal(d["at_stake"]) for d in payload["differences"]) == Decimal("759.00")
    assert payload["totals"]["sections"]["time"] == {"count": 1, "at_stake": {"USD": "200.00"}}
    names = {d["organisation"] for d in payload["differences"]}
    assert names == {"Acme", "Globex"}


def test_reconcile_cli_csv(scenario, cli):
    result = cli("reconcile", "all", "--format", "csv")
    assert result.exit_code == 1, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert Counter((r["section"], r["kind"]) for r in rows) == Counter(scenario.expected.keys())
    assert sum(Decimal(r["at_stake"]) for r in rows) == Decimal("759.00")
    for row in rows:
        assert Decimal(row["at_stake"]) == scenario.expected[(row["section"], row["kind"])]


def test_reconcile_cli_table(scenario, cli):
    result = cli("reconcile")
    assert result.exit_code == 1, result.output
    out = result.stdout
    assert "16 differences" in out
    assert "759.00 USD" in out  # the footer's total
    for text in ("INV-2", "INV-5", "MANUAL-7", "ch_3 (pi_3)", "re_1", "dp_1", "pi_ghost",
                 "billed 43", "vendor says 45", "SRV-1", "Bob", "T-100",
                 "hub jobs retry", "add to next invoice"):
        assert text in out, text
    for silent in ("INV-1 ", "INV-DEL", "ch_4", "ch_1", "dp_2", "WS-OLD", "Carol", "Recent",
                   "Goodwill"):
        assert silent not in out, silent
    summary = out[out.index("summary"):]
    assert "usage" in summary and "54.00 USD" in summary


def test_reconcile_cli_refuses_unknown_names(scenario, cli):
    from hub.errors import ConfigError, NotFound

    # (`hub` itself turns these into a one-line message and exit status 2, at its boundary)
    bad = cli("reconcile", "--connection", "nope")
    assert isinstance(bad.exception, ConfigError) and "books, cards, vendor" in str(bad.exception)
    missing = cli("reconcile", "--organisation", "Initech")
    assert isinstance(missing.exception, NotFound)
    for value in ("99999999999999999999", "²"):  # past any id; a digit int() refuses
        beyond = cli("reconcile", "--organisation", value)
        assert isinstance(beyond.exception, NotFound), value
    ok = cli("reconcile", "time", "--organisation", "acme", "--format", "json")
    assert ok.exit_code == 1
    assert len(json.loads(ok.stdout)["differences"]) == 1


def test_reconcile_never_writes(scenario):
    from sqlalchemy import text

    from hub.reconcile.reading import read_only

    before = _snapshot(scenario.ctx.engine)
    _run(scenario)
    assert _snapshot(scenario.ctx.engine) == before
    with read_only(scenario.ctx.engine) as reader, reader.connect() as conn:
        try:
            conn.execute(text("DELETE FROM invoice"))
        except Exception as exc:  # sqlite3.OperationalError: attempt to write a readonly database
            assert "readonly" in str(exc).lower()
        else:
            raise AssertionError("the read-only connection accepted a write")


def _snapshot(engine):
    from sqlalchemy import MetaData, select

    meta = MetaData()
    meta.reflect(engine)
    with engine.connect() as conn:
        return {name: sorted(map(repr, conn.execute(select(table)).all()))
                for name, table in meta.tables.items()}
