"""Stored payment profiles (seed 000): attach, default, card updates, which card an auto-billed
invoice is charged to, and expiring-card reminders before the expiry month."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

import pytest
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

import hub.db.models as models
from hub.db.engine import make_engine
from hub.db.models import Invoice, Organisation
from hub.db.models.payment_profiles import PaymentProfile
from hub.errors import NotFound, ValidationFailed
from hub.ledger.payment_profiles import (
    CardDetails, attach_profile, default_profile, detach_profile, expiring_profiles,
    is_expired, list_profiles, mark_reminded, profile_to_charge, set_default, update_card,
)

VISA = CardDetails("visa", "4242", 12, 2026)


@pytest.fixture
def session(hub_session):
    """The hub test kit's session on a temporary SQLite database with every table."""
    return hub_session


@pytest.fixture
def org(session):
    o = Organisation(name="Acme")
    session.add(o)
    session.commit()
    return o


def _attach(session, org, pm="pm_1", card=VISA, **kw):
    return attach_profile(session, organisation_id=org.id, connection="stripe",
                          customer_ref="cus_1", payment_method_ref=pm, card=card, **kw)


def test_first_profile_becomes_default_and_attach_is_idempotent(session, org):
    first = _attach(session, org)
    assert first.is_default and first.auto_bill
    again = _attach(session, org, card=CardDetails("visa", "4242", 1, 2029))
    assert again.id == first.id and again.expiry == "01/2029"
    second = _attach(session, org, pm="pm_2", card=CardDetails("mastercard", "4444", 5, 2028))
    assert not second.is_default
    assert [p.payment_method_ref for p in list_profiles(session, org.id)] == ["pm_1", "pm_2"]


def test_set_default_moves_the_default(session, org):
    first = _attach(session, org)
    second = _attach(session, org, pm="pm_2")
    set_default(session, second.id)
    session.commit()
    assert default_profile(session, org.id).id == second.id
    assert not session.get(PaymentProfile, first.id).is_default
    third = _attach(session, org, pm="pm_3", make_default=True)
    assert default_profile(session, org.id).id == third.id


def test_database_holds_one_default_per_organisation(session, org):
    _attach(session, org)
    session.commit()
    session.add(PaymentProfile(organisation_id=org.id, connection="stripe", customer_ref="cus_1",
                               payment_method_ref="pm_x", brand="visa", last4="1111",
                               exp_month=1, exp_year=2030, is_default=True))
    with pytest.raises(IntegrityError):
        session.flush()
    session.rollback()


def test_database_holds_one_profile_per_payment_method(session, org):
    _attach(session, org)
    session.commit()
    session.add(PaymentProfile(organisation_id=org.id, connection="stripe", customer_ref="cus_1",
                               payment_method_ref="pm_1", brand="visa", last4="4242",
                               exp_month=1, exp_year=2030))
    with pytest.raises(IntegrityError):
        session.flush()
    session.rollback()


def test_payment_method_of_another_organisation_is_refused(session, org):
    _attach(session, org)
    other = Organisation(name="Other")
    session.add(other)
    session.flush()
    with pytest.raises(ValidationFailed, match="already belongs"):
        _attach(session, other)


@pytest.mark.parametrize("card", [CardDetails("visa", "42", 1, 2030),
                                  CardDetails("visa", "4242", 13, 2030),
                                  CardDetails("visa", "4242", 1, 30)])
def test_impossible_card_details_are_refused(session, org, card):
    with pytest.raises(ValidationFailed):
        _attach(session, org, card=card)


def test_unknown_organisation_and_profile(session):
    with pytest.raises(NotFound):
        attach_profile(session, organisation_id=999, connection="stripe", customer_ref="c",
                       payment_method_ref="p", card=VISA)
    with pytest.raises(NotFound):
        set_default(session, 999)


def test_detach_keeps_the_row_and_drops_the_default(session, org):
    profile = _attach(session, org)
    detach_profile(session, profile.id)
    assert default_profile(session, org.id) is None
    assert list_profiles(session, org.id) == []
    assert [p.id for p in list_profiles(session, org.id, include_detached=True)] == [profile.id]
    with pytest.raises(ValidationFailed, match="detached"):
        set_default(session, profile.id)
    back = _attach(session, org)  # attaching again brings it back as the default
    assert back.id == profile.id and back.is_default and back.detached_at is None


def test_card_update_from_the_processor(session, org):
    _attach(session, org)
    updated = update_card(session, "stripe", "pm_1", exp_month=3, exp_year=2031, last4="1881")
    assert (updated.expiry, updated.last4) == ("03/2031", "1881")
    assert update_card(session, "stripe", "pm_unknown", exp_month=3, exp_year=2031) is None


def _invoice(session, org, auto_bill=True):
    inv = Invoice(organisation_id=org.id, number=f"INV-{uuid.uuid4().hex[:8]}",
                  issue_date=dt.date(2026, 12, 1),
                  due_date=dt.date(2026, 12, 15), total=Decimal("99.00"), auto_bill=auto_bill)
    session.add(inv)
    session.flush()
    return inv


def test_profile_to_charge_explains_every_refusal(session, org):
    today = dt.date(2026, 12, 1)
    with pytest.raises(ValidationFailed, match="not set to auto-bill"):
        profile_to_charge(session, _invoice(session, org, auto_bill=False).id, today)
    invoice = _invoice(session, org)
    with pytest.raises(ValidationFailed, match="no default payment profile"):
        profile_to_charge(session, invoice.id, today)
    profile = _attach(session, org, auto_bill=False)
    with pytest.raises(ValidationFailed, match="not allowed for auto-billing"):
        profile_to_charge(session, invoice.id, today)
    profile = _attach(session, org)  # same payment method, auto-bill allowed now
    assert profile_to_charge(session, invoice.id, today).id == profile.id
    assert not is_expired(profile, dt.date(2026, 12, 31))  # works to the end of its month
    with pytest.raises(ValidationFailed, match="expired 12/2026"):
        profile_to_charge(session, invoice.id, dt.date(2027, 1, 1))


def test_expiring_card_reminders_go_before_the_expiry_month(session, org):
    dec = _attach(session, org, pm="pm_dec", card=CardDetails("visa", "4242", 12, 2026))
    jan = _attach(session, org, pm="pm_jan", card=CardDetails("visa", "1111", 1, 2027))
    _attach(session, org, pm="pm_old", card=CardDetails("visa", "2222", 10, 2026))
    _attach(session, org, pm="pm_far", card=CardDetails("visa", "3333", 6, 2028))
    gone = _attach(session, org, pm="pm_gone", card=CardDetails("visa", "5555", 12, 2026))
    detach_profile(session, gone.id)

    nov = dt.date(2026, 11, 22)
    assert [p.id for p in expiring_profiles(session, nov)] == [dec.id]  # December: remind now
    assert [p.id for p in expiring_profiles(session, nov, months_ahead=2)] == [dec.id, jan.id]
    assert expiring_profiles(session, dt.date(2026, 12, 1)) == [jan]  # in the month: too late
    mark_reminded(session, dec.id)
    assert expiring_profiles(session, dt.date(2026, 11, 30)) == []  # reminded once
    update_card(session, "stripe", "pm_dec", exp_month=12, exp_year=2029)  # renewed card
    assert expiring_profiles(session, dt.date(2029, 11, 1)) == [session.get(PaymentProfile, dec.id)]
    with pytest.raises(ValidationFailed):
        expiring_profiles(session, nov, months_ahead=0)


@pytest.mark.postgres
def test_one_default_constraint_on_postgresql(hub_postgres_url):
    engine = make_engine(hub_postgres_url)
    try:
        models.metadata.create_all(engine)
        with Session(engine) as session:
            org = Organisation(name="Acme")
            session.add(org)
            session.flush()
            _attach(session, org)
            second = _attach(session, org, pm="pm_2")
            set_default(session, second.id)
            session.commit()
            assert default_profile(session, org.id).id == second.id
            session.add(PaymentProfile(organisation_id=org.id, connection="stripe",
                                       customer_ref="c", payment_method_ref="pm_3", brand="visa",
                                       last4="1234", exp_month=1, exp_year=2030, is_default=True))
            with pytest.raises(IntegrityError):
                session.flush()
            session.rollback()
    finally:
        engine.dispose()


def test_charge_request_for_the_default_card(session, org):
    from hub.core.money import Money
    from hub.ledger.payment_profiles import charge_key, charge_request

    profile = _attach(session, org)
    invoice = _invoice(session, org)
    request = charge_request(session, invoice.id, 2, dt.date(2026, 12, 1))
    assert (request.customer_ref, request.payment_method_ref) == ("cus_1", profile.payment_method_ref)
    assert request.amount == Money("99.00", "USD") and request.attempt == 2
    assert request.idempotency_key == charge_key(invoice.id, 2) == f"hub-invoice-{invoice.id}-attempt-2"
    invoice.amount_paid = Decimal("99.00")
    with pytest.raises(ValidationFailed, match="nothing left"):
        charge_request(session, invoice.id, 3, dt.date(2026, 12, 1))
    with pytest.raises(ValidationFailed):
        charge_key(invoice.id, 0)


def test_card_update_event_keeps_the_profile_current(session, org):
    from hub.contract.records import PaymentEvent, PaymentEventKind
    from hub.ledger.payment_profiles import apply_card_event

    _attach(session, org)
    when = dt.datetime(2026, 11, 22, tzinfo=dt.timezone.utc)
    event = PaymentEvent(event_id="evt_1", kind=PaymentEventKind.payment_method_updated,
                         object_id="pm_1", occurred_at=when, status="03/2031",
                         raw={"data": {"object": {"id": "pm_1", "card": {"last4": "1881",
                                                                          "brand": "visa"}}}})
    profile = apply_card_event(session, "stripe", event)
    assert (profile.expiry, profile.last4) == ("03/2031", "1881")
    expiring = event.model_copy(update={"kind": PaymentEventKind.payment_method_expiring})
    assert apply_card_event(session, "stripe", expiring) is None
    with pytest.raises(ValidationFailed, match="MM/YYYY"):
        apply_card_event(session, "stripe", event.model_copy(update={"status": "soon"}))
