"""Stored payment profiles (seed 000, "Auto Charge for Recurring Invoices"): attach a processor
payment method to an organisation, choose its default, keep card details current, say which
card an auto-billed invoice is charged to, and pick the cards whose expiry reminder is due.

Every function takes an open session and changes nothing outside it; callers commit. The
processor side (creating the customer, the Setup Intent or hosted page that collects the card)
is the payments plugin's; what it learns comes here as :class:`CardDetails`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Sequence

from sqlmodel import Session, select

from hub.core.money import Money
from hub.db.models._base import utcnow
from hub.db.models.catalogue import Organisation
from hub.db.models.invoices import Invoice
from hub.db.models.payment_profiles import PaymentProfile
from hub.contract.records import ChargeRequest, PaymentEvent, PaymentEventKind
from hub.errors import NotFound, ValidationFailed

__all__ = [
    "CardDetails", "attach_profile", "set_default", "detach_profile", "list_profiles",
    "default_profile", "update_card", "apply_card_event", "profile_to_charge", "charge_request",
    "charge_key",
    "is_expired", "months_until_expiry", "expiring_profiles", "mark_reminded",
]


@dataclass(frozen=True)
class CardDetails:
    """What people see of a stored payment method."""

    brand: str
    last4: str
    exp_month: int
    exp_year: int

    def check(self) -> "CardDetails":
        """Refuse details no card has, before anything is stored."""
        if not (len(self.last4) == 4 and self.last4.isdigit()):
            raise ValidationFailed(f"last4 {self.last4!r} is not four digits",
                                   hint="pass the last four digits the processor reports")
        if not 1 <= self.exp_month <= 12:
            raise ValidationFailed(f"expiry month {self.exp_month} is not 1-12")
        if not 2000 <= self.exp_year <= 2200:
            raise ValidationFailed(f"expiry year {self.exp_year} is not a four-digit year")
        return self


def _profile(session: Session, profile_id: int) -> PaymentProfile:
    profile = session.get(PaymentProfile, profile_id)
    if profile is None:
        raise NotFound(f"payment profile {profile_id} does not exist",
                       hint="list an organisation's profiles with list_profiles()")
    return profile


def _live(session: Session, organisation_id: int) -> list[PaymentProfile]:
    return list(session.exec(select(PaymentProfile).where(
        PaymentProfile.organisation_id == organisation_id,
        PaymentProfile.detached_at.is_(None))))  # type: ignore[union-attr]


def attach_profile(session: Session, *, organisation_id: int, connection: str,
                   customer_ref: str, payment_method_ref: str, card: CardDetails,
                   make_default: bool | None = None, auto_bill: bool = True) -> PaymentProfile:
    """Link ``payment_method_ref`` (of ``customer_ref`` at ``connection``) to an organisation.

    Attaching the same payment method again updates it (and brings back a detached one), so a
    retried request or a replayed ``setup_intent.succeeded`` changes nothing twice. The first
    profile of an organisation becomes its default unless ``make_default=False``.
    """
    card.check()
    if session.get(Organisation, organisation_id) is None:
        raise NotFound(f"organisation {organisation_id} does not exist")
    profile = session.exec(select(PaymentProfile).where(
        PaymentProfile.connection == connection,
        PaymentProfile.payment_method_ref == payment_method_ref)).first()
    if profile is not None and profile.organisation_id != organisation_id:
        raise ValidationFailed(
            f"payment method {payment_method_ref} already belongs to organisation "
            f"{profile.organisation_id}", hint="detach it there first, or collect a new card")
    if profile is None:
        profile = PaymentProfile(organisation_id=organisation_id, connection=connection,
                                 customer_ref=customer_ref, payment_method_ref=payment_method_ref,
                                 brand=card.brand, last4=card.last4, exp_month=card.exp_month,
                                 exp_year=card.exp_year, auto_bill=auto_bill)
    else:
        profile.customer_ref = customer_ref
        profile.brand, profile.last4 = card.brand, card.last4
        profile.exp_month, profile.exp_year = card.exp_month, card.exp_year
        profile.auto_bill, profile.detached_at = auto_bill, None
        profile.updated_at = utcnow()
    session.add(profile)
    session.flush()
    others = [p for p in _live(session, organisation_id) if p.id != profile.id]
    if make_default or (make_default is None and not any(p.is_default for p in others)):
        set_default(session, profile.id)
    return profile


def set_default(session: Session, profile_id: int) -> PaymentProfile:
    """Make ``profile_id`` its organisation's default (the others stop being default)."""
    profile = _profile(session, profile_id)
    if profile.detached_at is not None:
        raise ValidationFailed(f"payment profile {profile_id} is detached",
                               hint="attach the payment method again before making it default")
    for other in _live(session, profile.organisation_id):
        if other.is_default and other.id != profile.id:
            other.is_default = False
            other.updated_at = utcnow()
            session.add(other)
    session.flush()  # the one-default index must never see two at once
    profile.is_default = True
    profile.updated_at = utcnow()
    session.add(profile)
    session.flush()
    return profile


def detach_profile(session: Session, profile_id: int) -> PaymentProfile:
    """Stop using a profile (kept for history). A detached default leaves the organisation
    without one: auto-charges then stop with a clear reason until a default is chosen."""
    profile = _profile(session, profile_id)
    profile.detached_at = profile.detached_at or utcnow()
    profile.is_default = False
    profile.updated_at = utcnow()
    session.add(profile)
    session.flush()
    return profile


def list_profiles(session: Session, organisation_id: int, *,
                  include_detached: bool = False) -> list[PaymentProfile]:
    """An organisation's profiles: the default first, then the newest."""
    query = select(PaymentProfile).where(PaymentProfile.organisation_id == organisation_id)
    if not include_detached:
        query = query.where(PaymentProfile.detached_at.is_(None))  # type: ignore[union-attr]
    rows = list(session.exec(query))
    return sorted(rows, key=lambda p: (not p.is_default, -(p.id or 0)))


def default_profile(session: Session, organisation_id: int) -> PaymentProfile | None:
    """The organisation's default profile, if it has one."""
    return next((p for p in _live(session, organisation_id) if p.is_default), None)


def update_card(session: Session, connection: str, payment_method_ref: str, *,
                exp_month: int, exp_year: int, last4: str | None = None,
                brand: str | None = None) -> PaymentProfile | None:
    """New card details from the processor (``payment_method_updated`` events: the network
    renewed the card). None when no profile uses that payment method."""
    profile = session.exec(select(PaymentProfile).where(
        PaymentProfile.connection == connection,
        PaymentProfile.payment_method_ref == payment_method_ref)).first()
    if profile is None:
        return None
    CardDetails(brand or profile.brand, last4 or profile.last4, exp_month, exp_year).check()
    profile.exp_month, profile.exp_year = exp_month, exp_year
    profile.last4, profile.brand = last4 or profile.last4, brand or profile.brand
    profile.updated_at = utcnow()
    session.add(profile)
    session.flush()
    return profile


def apply_card_event(session: Session, connection: str,
                     event: PaymentEvent) -> PaymentProfile | None:
    """Keep a profile's card current from a ``payment_method_updated`` event (the plugin puts
    the new expiry ``"MM/YYYY"`` in ``status``; brand and last four come from the processor's
    card in ``raw`` when it has them). Other kinds, unknown payment methods: None."""
    if event.kind != PaymentEventKind.payment_method_updated or not event.status:
        return None
    try:
        month, year = (int(part) for part in event.status.split("/"))
    except ValueError:
        raise ValidationFailed(f"event {event.event_id}: expiry {event.status!r} is not MM/YYYY",
                               hint="the payments plugin must send the new expiry as MM/YYYY") from None
    obj = (event.raw.get("data") or {}).get("object") or {}
    card = obj.get("card") if isinstance(obj.get("card"), dict) else {}
    return update_card(session, connection, event.object_id, exp_month=month, exp_year=year,
                       last4=card.get("last4"), brand=card.get("brand"))


def months_until_expiry(profile: PaymentProfile, today: dt.date) -> int:
    """0 in the card's expiry month, 1 the month before, negative once it has expired."""
    return (profile.exp_year * 12 + profile.exp_month) - (today.year * 12 + today.month)


def is_expired(profile: PaymentProfile, today: dt.date) -> bool:
    """Cards work to the end of their expiry month."""
    return months_until_expiry(profile, today) < 0


def profile_to_charge(session: Session, invoice_id: int, today: dt.date) -> PaymentProfile:
    """The profile an auto-charge of ``invoice_id`` uses, or :class:`ValidationFailed` saying
    why there is none (auto-bill off on the invoice, no default card, card not allowed for
    auto-billing, card expired)."""
    invoice = session.get(Invoice, invoice_id)
    if invoice is None:
        raise NotFound(f"invoice {invoice_id} does not exist")
    # The invoice's flag decides: it comes from its recurring invoice (or billing contract),
    # whose own default is the organisation's auto-bill setting.
    if not invoice.auto_bill:
        raise ValidationFailed(f"invoice {invoice.number or invoice_id} is not set to auto-bill",
                               hint="turn auto-bill on for its recurring invoice, or take a payment")
    profile = default_profile(session, invoice.organisation_id)
    if profile is None:
        raise ValidationFailed(f"organisation {invoice.organisation_id} has no default payment "
                               "profile", hint="attach a card (Setup Intent) and make it default")
    if not profile.auto_bill:
        raise ValidationFailed(f"the default card ({profile.brand} {profile.last4}) is not "
                               "allowed for auto-billing",
                               hint="allow auto-bill on the profile or choose another default")
    if is_expired(profile, today):
        raise ValidationFailed(f"the default card ({profile.brand} {profile.last4}) expired "
                               f"{profile.expiry}", hint="ask the organisation for a new card")
    return profile


def charge_key(invoice_id: int, attempt: int) -> str:
    """The idempotency key of auto-charge attempt ``attempt`` of an invoice: a job that runs
    the same attempt again can never charge twice; the next dunning attempt is a new key."""
    if attempt < 1:
        raise ValidationFailed(f"charge attempts count from 1, got {attempt}")
    return f"hub-invoice-{invoice_id}-attempt-{attempt}"


def charge_request(session: Session, invoice_id: int, attempt: int,
                   today: dt.date) -> ChargeRequest:
    """What the payments plugin's ``hub_charge_payment_method`` needs to charge the invoice's
    amount due to its organisation's default card (refusals as :func:`profile_to_charge`)."""
    profile = profile_to_charge(session, invoice_id, today)
    invoice = session.get(Invoice, invoice_id)
    due = Money(invoice.amount_due, invoice.currency).rounded()
    if not due:
        raise ValidationFailed(f"invoice {invoice.number or invoice_id} has nothing left to pay")
    return ChargeRequest(invoice_id=invoice.id, invoice_number=invoice.number or str(invoice.id),
                         organisation_id=invoice.organisation_id, amount=due,
                         customer_ref=profile.customer_ref,
                         payment_method_ref=profile.payment_method_ref, attempt=attempt,
                         idempotency_key=charge_key(invoice.id, attempt))


def expiring_profiles(session: Session, today: dt.date, months_ahead: int = 1,
                      *, connections: Sequence[str] | None = None) -> list[PaymentProfile]:
    """Profiles due an expiring-card reminder: their card expires within ``months_ahead`` months
    after this one, so the reminder goes out *before* the expiry month. A profile already
    reminded for its current expiry is left out, so a daily job reminds once; a renewed card
    (new expiry) is reminded again when its time comes."""
    if months_ahead < 1:
        raise ValidationFailed("months_ahead must be at least 1: reminders go before the "
                               "expiry month")
    first = today.year * 12 + today.month + 1
    last = today.year * 12 + today.month + months_ahead
    query = select(PaymentProfile).where(
        PaymentProfile.detached_at.is_(None),  # type: ignore[union-attr]
        PaymentProfile.exp_year * 12 + PaymentProfile.exp_month >= first,
        PaymentProfile.exp_year * 12 + PaymentProfile.exp_month <= last)
    if connections is not None:
        query = query.where(
            PaymentProfile.connection.in_(list(connections)))  # type: ignore[attr-defined]
    rows = [p for p in session.exec(query) if p.reminded_for != _expiry_key(p)]
    return sorted(rows, key=lambda p: (p.exp_year, p.exp_month, p.organisation_id, p.id or 0))


def _expiry_key(profile: PaymentProfile) -> str:
    return f"{profile.exp_year:04d}-{profile.exp_month:02d}"


def mark_reminded(session: Session, profile_id: int) -> PaymentProfile:
    """Record that the reminder for the profile's current expiry went out."""
    profile = _profile(session, profile_id)
    profile.reminded_for = _expiry_key(profile)
    session.add(profile)
    session.flush()
    return profile
