"""A deleted invoice's or future item's id is never handed out again, so the audit trail (which
names rows by id) never attributes a deleted row's events to a new one.

SQLite reuses the id of the newest row once it is deleted unless the table has AUTOINCREMENT:
new databases get it from the models, existing ones from migration 0009_ids_not_reused, which
rebuilds the tables keeping every row, index, constraint and foreign key (checked here on a
database filled at 0008 by the CLI). PostgreSQL's sequences never reuse ids; the upgrade is
checked there too (the migration leaves it alone)."""

from __future__ import annotations

import re
import sqlite3
from contextlib import closing

import pytest
import sqlalchemy as sa

from hub.db.engine import make_engine
from hub.db.migrate import current_revision, upgrade
from hub.db.models import metadata
from hub.testing.cli import real_cli
from hub.testing.snapshots import every_row

BEFORE = "0008_login_failures"
#: The revision under test; later ones add tables a database at BEFORE does not have.
AFTER = "0009_ids_not_reused"
REBUILT = ("invoice", "futureitem")

INVOICE = [["invoice", "create", "1", "--date", "2026-03-01"],
           ["invoice", "add-line", "{id}", "--description", "Switch", "--price", "100"],
           ["invoice", "finalise", "{id}"]]


def _events(url: str, target_type: str) -> dict[str, list[str]]:
    """target id -> the actions the audit trail records for it."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(sa.text(
                "SELECT target_id, action FROM audit_event WHERE target_type = :t ORDER BY id"),
                {"t": target_type}).all()
    finally:
        engine.dispose()
    found: dict[str, list[str]] = {}
    for target, action in rows:
        found.setdefault(target, []).append(action)
    return found


def _ok(run, *args: str) -> str:
    code, out, err = run(*args)
    assert code == 0, (args, out, err)
    return out


def _new_invoice(run) -> int:
    """Create, fill and finalise a one-time invoice for organisation 1; returns its id."""
    invoice_id = int(re.search(r"Draft invoice (\d+) created", _ok(run, *INVOICE[0]))[1])
    for args in INVOICE[1:]:
        _ok(run, *(a.format(id=invoice_id) for a in args))
    return invoice_id


# ----------------------------------------------------------------------- through the CLI
@pytest.fixture
def hub(tmp_path, monkeypatch, capsys):
    with real_cli(tmp_path, monkeypatch, capsys,
                  setup=[["org", "create", "Acme", "--email", "billing@acme.test"]]) as run:
        yield run


def test_an_invoice_deleted_completely_keeps_its_id_and_its_audit_events(hub, tmp_path):
    url = f"sqlite:///{tmp_path / 'data' / 'hub.sqlite'}"
    deleted = _new_invoice(hub)
    _ok(hub, "ledger", "edit", f"id:{deleted}", "--note", "wrong customer")
    _ok(hub, "ledger", "delete", f"id:{deleted}", "--completely")

    created = _new_invoice(hub)
    _ok(hub, "ledger", "edit", f"id:{created}", "--note", "right customer")

    assert created > deleted
    events = _events(url, "invoice")
    assert events[str(deleted)] == ["invoice.edited", "invoice.deleted_completely"]
    assert events[str(created)] == ["invoice.edited"]  # its own history only


def test_a_removed_future_item_keeps_its_id_and_its_audit_events(hub, tmp_path):
    url = f"sqlite:///{tmp_path / 'data' / 'hub.sqlite'}"
    out = _ok(hub, "org", "future-item", "1", "Setup", "50")
    removed = int(re.search(r"Future item (\d+) added", out)[1])
    _ok(hub, "org", "future-item-edit", str(removed), "--amount", "60")
    _ok(hub, "org", "future-item-remove", str(removed))

    out = _ok(hub, "org", "future-item", "1", "Cabling", "20")
    added = int(re.search(r"Future item (\d+) added", out)[1])

    _ok(hub, "org", "future-item-edit", str(added), "--amount", "25")

    assert added > removed
    events = _events(url, "future_item")
    assert events[str(removed)] == ["future_item.edited", "future_item.removed"]
    assert events[str(added)] == ["future_item.edited"]  # its own history only


# ------------------------------------------------------------------ upgrading from 0008
def _cli_at(tmp_path, monkeypatch, capsys, url: str):
    """The real CLI on ``url``, migrated only to 0008: the database a hub made before this
    change."""
    return real_cli(tmp_path, monkeypatch, capsys, settings=f'database_url = "{url}"\n',
                    revision=BEFORE)


#: What a hub at 0008 holds: a confirmed recurring invoice that took a future item, a one-time
#: invoice paid in part, a proforma converted into an invoice, a credit note, a waiting future
#: item; and its newest invoice and newest future item already deleted (their ids named only by
#: the audit trail).
FILL = [
    ["org", "create", "Acme", "--email", "billing@acme.test"],
    ["org", "add-product", "WS", "Managed workstation", "30"],
    ["org", "add-asset", "1", "PC-01"],
    ["org", "future-item", "1", "Setup", "50"],
    ["recurring", "create", "1", "--start", "2026-01-01"],
    ["recurring", "add-line", "1", "--type", "asset_counter", "--product", "WS"],
    ["bill", "preview", "--date", "2026-01-01"],
    ["bill", "confirm", "1"],
    ["invoice", "create", "1", "--date", "2026-01-02"],
    ["invoice", "add-line", "2", "--description", "Switch", "--price", "100", "--tax", "10"],
    ["invoice", "finalise", "2"],
    ["invoice", "create", "1", "--date", "2026-01-03", "--proforma"],
    ["invoice", "add-line", "3", "--description", "Router", "--price", "200"],
    ["invoice", "convert-proforma", "3"],
    ["payment", "add", "1", "50", "--invoice", "id:2"],
    ["credit-note", "create", "--invoice", "id:1", "--percent", "10"],
    ["org", "future-item", "1", "Cabling", "20"],
    ["org", "future-item", "1", "Typo", "1"],
    ["org", "future-item-remove", "3"],
    ["invoice", "create", "1", "--date", "2026-01-05"],
    ["invoice", "add-line", "5", "--description", "Mistake", "--price", "1"],
    ["invoice", "finalise", "5"],
    ["ledger", "delete", "id:5", "--completely"],
]


def _table_shapes(path) -> dict[str, tuple[list[str], list[str]]]:
    """Each table's definition (its column and constraint lines, sorted: Alembic writes
    constraints in no fixed order) and its indexes' SQL, as SQLite stores them."""
    with closing(sqlite3.connect(path)) as conn:
        rows = conn.execute("SELECT type, name, tbl_name, sql FROM sqlite_master "
                            "WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%'").fetchall()
    shapes: dict[str, tuple[list[str], list[str]]] = {}
    for kind, name, table, sql in rows:
        lines, indexes = shapes.setdefault(table, ([], []))
        if kind == "table":
            body = sql[sql.index("(") + 1:sql.rindex(")")]
            lines.extend(sorted(line.strip().rstrip(",").strip()
                                for line in body.splitlines() if line.strip()))
        else:
            indexes.append(sql)
    return {table: (lines, sorted(indexes)) for table, (lines, indexes) in shapes.items()}


def _models_shapes(tmp_path) -> dict[str, tuple[list[str], list[str]]]:
    path = tmp_path / "models.sqlite"
    engine = make_engine(f"sqlite:///{path}")
    metadata.create_all(engine)
    engine.dispose()
    return _table_shapes(path)


def _with_autoincrement(shapes):
    """``shapes`` (of a database at 0008) as 0009 should leave them: the rebuilt tables' key
    declared AUTOINCREMENT, every other line and every index as it was."""
    expected = dict(shapes)
    for table in REBUILT:
        lines, indexes = shapes[table]
        lines = [line for line in lines if line != "PRIMARY KEY (id)"]
        lines = sorted("id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT"
                       if line == "id INTEGER NOT NULL" else line for line in lines)
        expected[table] = (lines, indexes)
    return expected


def _sqlite_checks(path, tmp_path, shapes_before) -> None:
    """Every reference holds; the schema is 0008's with AUTOINCREMENT on the rebuilt tables,
    which is also what a fresh hub at head and the models have; the largest ids named (by the
    rows and the audit trail) are remembered."""
    with closing(sqlite3.connect(path)) as conn:
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert dict(conn.execute("SELECT name, seq FROM sqlite_sequence")) == {
            "invoice": 5, "futureitem": 3}
    upgraded = _table_shapes(path)
    assert upgraded == _with_autoincrement(shapes_before)
    fresh = tmp_path / "fresh.sqlite"
    upgrade(f"sqlite:///{fresh}", AFTER)
    assert upgraded == _table_shapes(fresh)
    models = _models_shapes(tmp_path)
    for table in REBUILT:
        assert upgraded[table] == models[table]


def _check_upgrade(tmp_path, monkeypatch, capsys, url: str) -> None:
    with _cli_at(tmp_path, monkeypatch, capsys, url) as run:
        for args in FILL:
            _ok(run, *args)
        assert current_revision(url) == BEFORE
        before = every_row(url)
        assert all(before[table] for table in (
            "invoice", "invoiceline", "futureitem", "payment", "allocation",
            "ledger_transaction", "creditnote", "billingbatch"))
        path = url.removeprefix("sqlite:///") if url.startswith("sqlite") else None
        shapes = _table_shapes(path) if path else None

        assert f"database at revision {AFTER}" in _ok(run, "db", "upgrade", AFTER)

        assert every_row(url) == before  # every row, with its id, as it was
        if path:
            _sqlite_checks(path, tmp_path, shapes)
        # Invoice 5 and future item 3 were deleted at 0008: their ids stay theirs.
        created = _new_invoice(run)
        assert created == 6
        _ok(run, "ledger", "delete", f"id:{created}", "--completely")
        assert _new_invoice(run) == 7
        out = _ok(run, "org", "future-item", "1", "Cables", "5")
        assert "Future item 4 added" in out
    events = _events(url, "invoice")
    assert events["5"] == ["invoice.deleted_completely"]
    assert events["6"] == ["invoice.deleted_completely"] and "7" not in events


def test_upgrading_a_sqlite_hub_from_0008_keeps_every_row_and_stops_reusing_ids(
        tmp_path, monkeypatch, capsys):
    url = f"sqlite:///{tmp_path / 'data' / 'hub.sqlite'}"
    _check_upgrade(tmp_path, monkeypatch, capsys, url)
    engine = make_engine(url)
    try:
        upgrade(url, engine=engine)  # at head already: nothing to do, and no error
        with engine.connect() as conn:  # the pooled connection enforces foreign keys again
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_upgrading_a_postgresql_hub_from_0008_keeps_every_row(tmp_path, monkeypatch, capsys,
                                                              hub_postgres_url):
    _check_upgrade(tmp_path, monkeypatch, capsys, hub_postgres_url)


def test_the_rebuild_refuses_with_foreign_keys_enforced_and_changes_nothing(tmp_path):
    """Run by Alembic on a connection that enforces foreign keys (not `hub db upgrade`), the
    rebuild would fail half-way on rows that refer to the dropped table: it refuses first."""
    from alembic import command

    from hub.db.migrate import alembic_config

    url = f"sqlite:///{tmp_path / 'hub.sqlite'}"
    upgrade(url, BEFORE)
    engine = make_engine(url)
    config = alembic_config(url)
    try:
        with pytest.raises(RuntimeError, match="hub db upgrade"):
            with engine.begin() as conn:
                config.attributes["connection"] = conn
                command.upgrade(config, "head")
        assert current_revision(url) == BEFORE
        with engine.connect() as conn:
            sql = conn.exec_driver_sql(
                "SELECT sql FROM sqlite_master WHERE name = 'invoice'").scalar()
        assert "AUTOINCREMENT" not in sql
    finally:
        engine.dispose()


def test_an_upgrade_that_would_leave_a_broken_reference_is_rolled_back(tmp_path):
    """With enforcement off during the rebuild, the upgrade checks every foreign key before it
    commits: a row referring to a missing one (here planted behind SQLite's back) stops it, and
    the connection enforces foreign keys again afterwards."""
    from hub.errors import ValidationFailed

    path = tmp_path / "hub.sqlite"
    url = f"sqlite:///{path}"
    upgrade(url, BEFORE)
    with closing(sqlite3.connect(path)) as conn, conn:  # the driver's default: not enforced
        conn.execute("INSERT INTO futureitem (organisation_id, description, amount, currency, "
                     "used, created_on, created_at) VALUES (999, 'orphan', '1.0000', 'USD', 0, "
                     "'2026-01-01', '2026-01-01 00:00:00')")
    engine = make_engine(url)
    try:
        with pytest.raises(ValidationFailed,
                           match="1 reference.*futureitem row 1 -> organisation"):
            upgrade(url, engine=engine)
        with engine.connect() as conn:  # the pooled connection the upgrade used
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    finally:
        engine.dispose()
    assert current_revision(url) == BEFORE
    with closing(sqlite3.connect(path)) as conn:
        (sql,) = conn.execute("SELECT sql FROM sqlite_master WHERE name = 'futureitem'").fetchone()
        assert "AUTOINCREMENT" not in sql
        assert conn.execute("SELECT description FROM futureitem").fetchall() == [("orphan",)]
