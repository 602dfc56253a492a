"""The CSV usage profile: column mapping per vendor, periods, sums, and bad rows by line."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlmodel import Session, select

import hub_vendor_usage.plugin as vendor_plugin
from hub import PermanentError
from hub.contract.connections import Connection
from hub.db.engine import make_engine
from hub.db.models import OrganisationMapping, UsageSnapshot, metadata
from hub.host.plugins import build_plugin_host
from hub.sources.pulling import pull_connection
from hub_vendor_usage.csv_usage import read_usage_csv
from hub_vendor_usage.settings import CsvUsageSettings

NOV = (dt.date(2026, 11, 1), dt.date(2026, 11, 30))


@pytest.fixture
def engine(tmp_path):
    eng = make_engine("sqlite:///" + str(tmp_path / "csv.sqlite"))
    metadata.create_all(eng)
    yield eng
    eng.dispose()


def _settings(path, **columns):
    mapping = {"tenant": "Customer ID", "sku": "Product Code", "quantity": "Seats",
               "period": "Month", "description": "Product"}
    mapping.update(columns)
    return CsvUsageSettings(vendor="Acronis", path=path, columns=mapping, delimiter=";")


def test_rows_are_read_through_the_vendor_column_mapping(tmp_path, engine):
    path = tmp_path / "acronis.csv"
    path.write_text("Customer ID;Product;Product Code;Seats;Month\n"
                    "T-1;Backup Workstation;ACR-WS;5;2026-11\n"
                    "T-1;Backup Workstation;ACR-WS;2;2026-11\n"
                    "T-2;Backup Server;ACR-SRV;1.5;2026-11\n"
                    "T-2;Backup Server;ACR-SRV;9;2026-10\n", encoding="utf-8")
    host = build_plugin_host([("vendor_usage", vendor_plugin)], load_entry_points=False)
    connection = Connection(name="acronis", plugin="csv_usage", settings=_settings(path))
    report = pull_connection(engine, host.hook, connection, period=NOV)
    assert report.kinds["usage"].created == 2 and report.kinds["usage"].unmapped == 2
    with Session(engine) as session:
        rows = {s.external_id: s for s in session.exec(select(UsageSnapshot)).all()}
        tenants = {m.external_id for m in session.exec(select(OrganisationMapping)).all()}
    assert rows["T-1:ACR-WS"].quantity == Decimal("7")  # two rows of one tenant and SKU add up
    assert rows["T-2:ACR-SRV"].quantity == Decimal("1.5")  # October's row is another period
    assert rows["T-1:ACR-WS"].description == "Backup Workstation"
    assert tenants == {"T-1", "T-2"}  # unmapped tenants are recorded for mapping

    again = pull_connection(engine, host.hook, connection, period=NOV)
    assert (again.created, again.updated, again.deleted) == (0, 0, 0)


def test_bad_rows_refuse_the_file_with_their_line_numbers(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("Customer ID;Product;Product Code;Seats;Month\n"
                    "T-1;Backup;ACR-WS;five;2026-11\n"
                    ";Backup;ACR-WS;1;2026-11\n"
                    "T-3;Backup;ACR-WS;1;November\n"
                    "T-4;Backup;ACR-WS;3;2026-11\n", encoding="utf-8")
    records, problems = read_usage_csv(_settings(path), NOV)
    assert [p.line for p in problems] == [2, 3, 4]
    assert [r.organisation_external_id for r in records] == ["T-4"]
    with pytest.raises(PermanentError, match="line 2: quantity 'five'") as refused:
        vendor_plugin.hub_pull_usage(
            connection=Connection(name="acronis", plugin="csv_usage", settings=_settings(path)),
            period_start=NOV[0], period_end=NOV[1], cursor=None)
    assert "nothing from this file was stored" in refused.value.hint


def test_a_column_mapping_that_does_not_fit_the_header_is_named(tmp_path):
    path = tmp_path / "other.csv"
    path.write_text("Tenant;SKU;Qty\nT-1;X;1\n", encoding="utf-8")
    with pytest.raises(PermanentError, match="Customer ID"):
        read_usage_csv(_settings(path), NOV)


def test_a_negative_usage_quantity_refuses_the_file(tmp_path):
    """A licence count below zero (a typo, or a credit row pasted in) is never billed as one:
    the file is refused with its line, like any other unreadable row."""
    path = tmp_path / "negative.csv"
    path.write_text("Customer ID;Product;Product Code;Seats;Month\n"
                    "T-1;Backup;ACR-WS;-3;2026-11\n"
                    "T-2;Backup;ACR-WS;0;2026-11\n", encoding="utf-8")
    records, problems = read_usage_csv(_settings(path), NOV)
    assert [(p.line, "negative" in p.message) for p in problems] == [(2, True)]
    assert [r.organisation_external_id for r in records] == ["T-2"]
    with pytest.raises(PermanentError, match="line 2: quantity -3 is negative"):
        vendor_plugin.hub_pull_usage(
            connection=Connection(name="acronis", plugin="csv_usage", settings=_settings(path)),
            period_start=NOV[0], period_end=NOV[1], cursor=None)
