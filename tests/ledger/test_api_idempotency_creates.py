"""The ``Idempotency-Key`` on the routes that create records rather than move money between
them: pre-bills, WIP and attaching WIP (``/prebills``, ``/wip``, ``/prebills/{id}/attach``),
draft invoices and their lines (``/invoices``, ``/invoices/{id}/lines``), a proforma's
conversion (``/invoices/{id}/convert``), a ticket's invoice (``/tickets/{id}/invoice``) and
organisations, and a contract cycle's invoice (``/contracts/{id}/invoice``). A
client that lost the answer repeats the request with the key and gets the first answer back
instead of a second pre-bill, invoice or line; the key's other rules (another request refused,
a refused request stores nothing) hold here as on the payment routes
(tests/ledger/test_api_idempotency.py). Two such requests at once on PostgreSQL:
tests/billing/test_postgres_idempotency.py."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import pytest
from sqlmodel import Session, func, select

from hub.db.models import Invoice, InvoiceLine, Organisation
from hub.db.models.idempotency import IdempotencyKey
from hub.db.models.ledger import PreBill, WipEntry
from hub.testing.snapshots import every_row

KEY = "Idempotency-Key"


@dataclass(frozen=True)
class Case:
    """One keyed route: the request, another body for it, the table it adds to (None: it
    changes rows rather than adding one) and what a repeat *without* a key answers."""

    path: str
    body: dict
    other_body: dict
    model: type | None
    repeat_without_key: int


def _org(api, name: str = "Acme") -> int:
    made = api.post("/organisations", json={"name": name})
    assert made.status_code == 201, made.text
    return made.json()["id"]


def _prebill_body(org: int, percent: str = "50") -> dict:
    return {"organisation_id": org, "project": "Web", "stage": "Build", "stage_fee": "1000",
            "percent": percent}


def _wip_body(org: int, value: str = "800") -> dict:
    return {"organisation_id": org, "project": "Web", "stage": "Build", "value": value}


def _prebills(api) -> Case:
    org = _org(api)
    return Case("/prebills", _prebill_body(org), _prebill_body(org, "40"), PreBill, 201)


def _wip(api) -> Case:
    org = _org(api)
    return Case("/wip", _wip_body(org), _wip_body(org, "700"), WipEntry, 201)


def _attach(api) -> Case:
    org = _org(api)
    prebill = api.post("/prebills", json=_prebill_body(org)).json()["id"]
    # Less WIP than the pre-bill's 500.00: "exact" leaves a balance, "markup" closes it.
    assert api.post("/wip", json=_wip_body(org, "400")).status_code == 201
    # Attached once, the WIP is gone: a repeat without a key finds nothing left to attach.
    return Case(f"/prebills/{prebill}/attach", {"use": "exact"}, {"use": "markup"}, None, 422)


def _invoices(api) -> Case:
    org = _org(api)
    return Case("/invoices", {"organisation_id": org},
                {"organisation_id": org, "note": "another"}, Invoice, 201)


def _lines(api) -> Case:
    invoice = api.post("/invoices", json={"organisation_id": _org(api)}).json()["id"]
    return Case(f"/invoices/{invoice}/lines", {"description": "Switch", "unit_price": "100"},
                {"description": "Switch", "unit_price": "90"}, InvoiceLine, 201)


def _organisations(api) -> Case:
    # A repeat without a key is refused: the name is taken (by the first request).
    return Case("/organisations", {"name": "Globex", "currency": "EUR"},
                {"name": "Initech"}, Organisation, 422)


def _convert(api) -> Case:
    proforma = api.post("/invoices", json={"organisation_id": _org(api), "proforma": True})
    invoice = proforma.json()["id"]
    api.post(f"/invoices/{invoice}/lines", json={"description": "Switch", "unit_price": "100"})
    # Converted once, it is no proforma any more: a repeat without a key is refused.
    return Case(f"/invoices/{invoice}/convert", {}, {"note": "again"}, Invoice, 422)


def _ticket_invoice(api, ctx) -> Case:
    from hub.billing.catalogue import add_ticket_charge, open_ticket
    from hub.db.engine import session_scope

    org = _org(api)
    with session_scope(ctx.engine) as session:
        ticket = open_ticket(session, org, "T-1", "Printer").id
        add_ticket_charge(session, ticket, "Toner", unit_price="40", is_labor=False)
    # Invoiced once, nothing on the ticket is pending: a repeat without a key is refused.
    return Case(f"/tickets/{ticket}/invoice", {}, {"note": "again"}, Invoice, 422)


def _contract(api, ctx, cycles: int = 3, organisation: str = "Acme") -> int:
    """A monthly billing contract of ``cycles`` cycles billing 100.00 each, for a new
    organisation."""
    import datetime as dt

    from hub.billing.contracts import create_contract
    from hub.billing.recurring import add_recurring_line
    from hub.db.engine import session_scope

    org = _org(api, organisation)
    with session_scope(ctx.engine) as session:
        contract = create_contract(session, org, "Support", dt.date(2026, 1, 1), cycles=cycles,
                                   today=dt.date(2026, 1, 1))
        add_recurring_line(session, contract_id=contract.id, description="Support plan",
                           unit_price="100")
        return contract.id


def _contract_invoice(api, ctx) -> Case:
    contract = _contract(api, ctx)
    # Naming the cycle: invoiced once, a repeat without a key is refused (it is invoiced).
    return Case(f"/contracts/{contract}/invoice", {"cycle": 1}, {"cycle": 2}, Invoice, 422)


CASES: dict[str, Callable] = {"prebills": _prebills, "wip": _wip, "attach": _attach,
                              "invoices": _invoices, "lines": _lines,
                              "organisations": _organisations, "convert": _convert,
                              "ticket-invoice": _ticket_invoice,
                              "contract-invoice": _contract_invoice}
_NEED_CONTEXT = (_ticket_invoice, _contract_invoice)


@pytest.fixture(params=sorted(CASES))
def case(request, api, api_ctx) -> Case:
    """Each keyed creating route, with what it needs already made."""
    make = CASES[request.param]
    return make(api, api_ctx) if make in _NEED_CONTEXT else make(api)


def _rows(api_ctx) -> dict:
    return every_row(api_ctx.engine)


def _count(api_ctx, model: type) -> int:
    with Session(api_ctx.engine) as session:
        return session.exec(select(func.count()).select_from(model)).one()


def _keys(api_ctx) -> list:
    with Session(api_ctx.engine) as session:
        return session.exec(select(IdempotencyKey).order_by(IdempotencyKey.id)).all()


def test_a_repeat_with_one_key_creates_nothing_new_and_replays_the_first_answer(api_ctx, api,
                                                                                case):
    before = _rows(api_ctx)
    first = api.post(case.path, json=case.body, headers={KEY: "create-1"})
    after_first = _rows(api_ctx)
    again = api.post(case.path, json=case.body, headers={KEY: "create-1"})
    assert first.status_code < 300, first.text
    assert again.status_code == first.status_code, again.text
    assert again.json() == first.json()
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert after_first != before  # the first one did its work ...
    assert _rows(api_ctx) == after_first  # ... and the repeat changed nothing at all
    [stored] = _keys(api_ctx)
    assert (stored.key, stored.status_code, stored.response) == \
        ("create-1", first.status_code, first.json())


def test_the_key_with_another_body_is_refused_and_stores_nothing(api_ctx, api, case):
    first = api.post(case.path, json=case.body, headers={KEY: "create-1"})
    assert first.status_code < 300, first.text
    before = _rows(api_ctx)
    other = api.post(case.path, json=case.other_body, headers={KEY: "create-1"})
    assert other.status_code == 422, other.text
    detail = other.json()["detail"]
    assert "'create-1' was already used for another request" in detail, detail
    assert "send a new Idempotency-Key" in detail
    assert _rows(api_ctx) == before


def test_without_a_key_a_repeat_is_answered_as_before_and_no_key_is_stored(api_ctx, api, case):
    first = api.post(case.path, json=case.body)
    counted = _count(api_ctx, case.model) if case.model else None
    again = api.post(case.path, json=case.body)
    assert first.status_code < 300, first.text
    assert again.status_code == case.repeat_without_key, again.text
    assert "Idempotent-Replayed" not in again.headers
    if case.model is not None:
        assert _count(api_ctx, case.model) == counted + (again.status_code == 201)
    assert _keys(api_ctx) == []


def test_a_refused_creation_stores_no_key_which_then_serves_the_fixed_request(api_ctx, api):
    _org(api, "Acme")
    before = _rows(api_ctx)
    taken = api.post("/organisations", json={"name": "ACME "}, headers={KEY: "org-1"})
    assert taken.status_code == 422 and "already named 'Acme'" in taken.text, taken.text
    assert _rows(api_ctx) == before
    fixed = api.post("/organisations", json={"name": "Acme Leeds"}, headers={KEY: "org-1"})
    again = api.post("/organisations", json={"name": "Acme Leeds"}, headers={KEY: "org-1"})
    assert fixed.status_code == again.status_code == 201, (fixed.text, again.text)
    assert again.json() == fixed.json() and again.headers["Idempotent-Replayed"] == "true"
    assert _count(api_ctx, Organisation) == 2


def test_a_line_refused_on_a_final_invoice_stores_no_key_which_then_serves_a_draft(api_ctx,
                                                                                     api):
    org = _org(api)
    final = api.post("/invoices", json={"organisation_id": org}).json()["id"]
    api.post(f"/invoices/{final}/lines", json={"description": "Switch", "unit_price": "100"})
    assert api.post(f"/invoices/{final}/finalise").status_code == 200
    before = _rows(api_ctx)
    refused = api.post(f"/invoices/{final}/lines", headers={KEY: "line-1"},
                       json={"description": "Cable", "unit_price": "5"})
    assert refused.status_code == 409, refused.text
    assert _rows(api_ctx) == before
    # Nothing was done, so the key is still free: the client sends the line to a draft.
    draft = api.post("/invoices", json={"organisation_id": org}).json()["id"]
    line = {"description": "Cable", "unit_price": "5"}
    added, again = [api.post(f"/invoices/{draft}/lines", json=line, headers={KEY: "line-1"})
                    for _ in range(2)]
    assert added.status_code == again.status_code == 201, (added.text, again.text)
    assert again.json() == added.json() and again.headers["Idempotent-Replayed"] == "true"
    assert [l["description"] for l in again.json()["lines"]] == ["Cable"]


def test_a_key_used_to_create_an_invoice_cannot_add_a_line(api_ctx, api):
    """One key, one request: the same key on another keyed route is refused, naming the route
    it was used for."""
    org = _org(api)
    made = api.post("/invoices", json={"organisation_id": org}, headers={KEY: "inv-1"})
    assert made.status_code == 201, made.text
    before = _rows(api_ctx)
    line = api.post(f"/invoices/{made.json()['id']}/lines", headers={KEY: "inv-1"},
                    json={"description": "Switch", "unit_price": "100"})
    assert line.status_code == 422, line.text
    assert "already used for another request (POST /invoices)" in line.json()["detail"]
    assert _rows(api_ctx) == before


def test_a_contract_invoiced_again_with_its_key_bills_no_further_cycle(api_ctx, api):
    """Without a cycle named, each request invoices the next cycle: a lost answer sent again
    without a key bills the customer for a second month. With the key it is answered with the
    first invoice, also once every cycle is invoiced (the repeat is answered before the cycle
    is chosen, which would refuse it then)."""
    contract = _contract(api, api_ctx, cycles=1)
    first = api.post(f"/contracts/{contract}/invoice", json={}, headers={KEY: "cycle-1"})
    assert first.status_code == 200, first.text
    assert first.json()["cycle"] == 1 and first.json()["invoice"]["status"] == "unpaid"
    after_first = _rows(api_ctx)
    again = api.post(f"/contracts/{contract}/invoice", json={}, headers={KEY: "cycle-1"})
    assert again.status_code == 200, again.text
    assert again.json() == first.json() and again.headers["Idempotent-Replayed"] == "true"
    assert _rows(api_ctx) == after_first
    # without the key the repeat is a new request: here every cycle is invoiced
    unkeyed = api.post(f"/contracts/{contract}/invoice", json={})
    assert unkeyed.status_code == 422 and "invoiced" in unkeyed.json()["detail"], unkeyed.text


def test_a_contract_repeat_without_a_key_invoices_the_next_cycle(api_ctx, api):
    contract = _contract(api, api_ctx, cycles=2)
    first, second = [api.post(f"/contracts/{contract}/invoice", json={}) for _ in range(2)]
    assert (first.json()["cycle"], second.json()["cycle"]) == (1, 2), (first.text, second.text)
    keyed = [api.post(f"/contracts/{contract}/invoice", json={"cycle": 1, "replace": True},
                      headers={KEY: "replace-1"}) for _ in range(2)]
    assert [k.status_code for k in keyed] == [200, 200], [k.text for k in keyed]
    assert keyed[0].json()["replaces_invoice_id"] == first.json()["invoice"]["id"]
    assert keyed[1].json() == keyed[0].json()
    assert _count(api_ctx, Invoice) == 3  # two cycles and one replacement, not two


def test_a_contract_preview_with_a_key_stores_nothing(api_ctx, api):
    contract = _contract(api, api_ctx)
    before = _rows(api_ctx)
    shown = [api.post(f"/contracts/{contract}/invoice", json={"preview": True},
                      headers={KEY: "look-1"}) for _ in range(2)]
    assert [s.status_code for s in shown] == [200, 200], [s.text for s in shown]
    assert shown[0].json()["invoice"]["total"] == shown[1].json()["invoice"]["total"]
    assert _rows(api_ctx) == before and _keys(api_ctx) == []


def test_many_contracts_sent_again_with_the_key_are_not_invoiced_again(api_ctx, api):
    """``/contracts/invoice-many`` stores each contract's outcome with its invoice: the
    request sent again answers with the same outcomes and invoices no further cycle."""
    one, two = _contract(api, api_ctx, organisation="Acme"), _contract(api, api_ctx,
                                                                        organisation="Globex")
    body = {"contracts": [one, two]}
    first = api.post("/contracts/invoice-many", json=body, headers={KEY: "many-1"})
    assert first.status_code == 200, first.text
    assert [o["cycle"] for o in first.json()["outcomes"]] == [1, 1]
    after_first = _rows(api_ctx)
    again = api.post("/contracts/invoice-many", json=body, headers={KEY: "many-1"})
    assert again.status_code == 200, again.text
    assert again.json() == first.json() and again.headers["Idempotent-Replayed"] == "true"
    assert _rows(api_ctx) == after_first
    # the key with other contracts is another request: refused, nothing invoiced
    other = api.post("/contracts/invoice-many", json={"contracts": [two]},
                     headers={KEY: "many-1"})
    assert other.status_code == 422, other.text
    assert "'many-1' was already used for another request" in other.json()["detail"]
    assert _rows(api_ctx) == after_first
    # ... and a key used for another route too, in either order
    used = api.post("/invoices", json={"organisation_id": _org(api, "Initech")},
                    headers={KEY: "used-1"})
    assert used.status_code == 201, used.text
    elsewhere = api.post("/contracts/invoice-many", json=body, headers={KEY: "used-1"})
    assert elsewhere.status_code == 422 and "(POST /invoices)" in elsewhere.json()["detail"]
    reused = api.post("/invoices", json={"organisation_id": 1}, headers={KEY: "many-1"})
    assert reused.status_code == 422, reused.text
    assert "(POST /contracts/invoice-many)" in reused.json()["detail"]
    assert _count(api_ctx, Invoice) == 3  # two contracts' and the draft made with used-1
    # without a key each contract is invoiced for its next cycle
    unkeyed = api.post("/contracts/invoice-many", json=body)
    assert [o["cycle"] for o in unkeyed.json()["outcomes"]] == [2, 2], unkeyed.text
    assert "Idempotent-Replayed" not in unkeyed.headers


def test_many_contracts_sent_again_retry_the_one_that_failed(api_ctx, api):
    """A contract that could not be invoiced stores nothing: sent again with the key, the
    others are answered from the store and that one is tried again."""
    one, two = _contract(api, api_ctx, organisation="Acme"), _contract(api, api_ctx,
                                                                        organisation="Globex")
    globex = api.get("/organisations").json()[1]["id"]
    assert api.post(f"/organisations/{globex}/retire").status_code == 200
    body = {"contracts": [one, two]}
    first = api.post("/contracts/invoice-many", json=body, headers={KEY: "many-2"})
    done, refused = first.json()["outcomes"]
    assert done["invoiced"] and not refused["invoiced"] and first.json()["failed"] == 1
    assert "retired" in refused["error"], refused
    assert api.post(f"/organisations/{globex}/reactivate").status_code == 200
    again = api.post("/contracts/invoice-many", json=body, headers={KEY: "many-2"})
    assert again.status_code == 200, again.text
    redone, now_done = again.json()["outcomes"]
    assert redone == done  # the first answer, not cycle 2
    assert now_done["invoiced"] and now_done["cycle"] == 1 and again.json()["failed"] == 0
    assert "Idempotent-Replayed" not in again.headers  # something was invoiced anew
    assert _count(api_ctx, Invoice) == 2


def test_a_contract_invoice_that_fails_after_taking_its_key_stores_no_key(api_ctx, api,
                                                                           monkeypatch):
    """The key is taken first in the storing transaction; a failure after that rolls the key
    back with the invoice, and the request sent again with the key is done then."""
    import hub.billing.contracts as contracts
    from hub.errors import ValidationFailed

    contract = _contract(api, api_ctx)
    real = contracts.store_contract_invoice

    def failing(*args, **kwargs):
        real(*args, **kwargs)  # the invoice stored and finalised, the key taken ...
        raise ValidationFailed("the ledger refused it")  # ... and then a refusal

    monkeypatch.setattr(contracts, "store_contract_invoice", failing)
    one = f"/contracts/{contract}/invoice"
    refused = api.post(one, json={}, headers={KEY: "fail-1"})
    assert refused.status_code == 422 and "the ledger refused it" in refused.text
    many = api.post("/contracts/invoice-many", json={"contracts": [contract]},
                    headers={KEY: "fail-2"})
    assert many.json()["failed"] == 1 and "the ledger refused it" in many.text, many.text
    assert _count(api_ctx, Invoice) == 0
    # no key of the contract's: only invoice-many's own, which marks the request as its
    assert [k.route for k in _keys(api_ctx)] == ["POST /contracts/invoice-many"]
    monkeypatch.setattr(contracts, "store_contract_invoice", real)
    again = api.post("/contracts/invoice-many", json={"contracts": [contract]},
                     headers={KEY: "fail-2"})
    assert again.json()["failed"] == 0 and again.json()["outcomes"][0]["cycle"] == 1
    assert "Idempotent-Replayed" not in again.headers
    done = api.post(one, json={}, headers={KEY: "fail-1"})
    assert done.status_code == 200 and done.json()["cycle"] == 2, done.text
    assert _count(api_ctx, Invoice) == 2


def test_a_keyed_preview_of_many_contracts_refuses_a_key_used_elsewhere(api_ctx, api):
    contract = _contract(api, api_ctx)
    assert api.post("/invoices", json={"organisation_id": 1},
                    headers={KEY: "used-2"}).status_code == 201
    for path, body in ((f"/contracts/{contract}/invoice", {"preview": True}),
                       ("/contracts/invoice-many", {"contracts": [contract], "preview": True})):
        shown = api.post(path, json=body, headers={KEY: "used-2"})
        assert shown.status_code == 422 and "(POST /invoices)" in shown.text, shown.text


def test_a_repeat_that_looked_before_the_first_committed_still_gets_its_answer(api_ctx, api,
                                                                               monkeypatch):
    """A repeat looks for the key's answer, finds none (the first request has not committed
    yet), and then finds the cycle invoiced (the first has committed meanwhile): it is
    answered with the first answer, not refused."""
    from hub.web.idempotency import Once

    contract = _contract(api, api_ctx)
    first = api.post(f"/contracts/{contract}/invoice", json={"cycle": 1},
                     headers={KEY: "race-1"})
    assert first.status_code == 200, first.text
    real, looks = Once.answered, []

    def too_early(self, session):
        looks.append(self.key)
        return None if len(looks) == 1 else real(self, session)

    monkeypatch.setattr(Once, "answered", too_early)
    again = api.post(f"/contracts/{contract}/invoice", json={"cycle": 1},
                     headers={KEY: "race-1"})
    assert looks == ["race-1", "race-1"]
    assert again.status_code == 200 and again.json() == first.json(), again.text
    assert again.headers["Idempotent-Replayed"] == "true"
