"""Expiring-card reminders by email: the daily ``card_reminders`` job.

Cards due a reminder are those :func:`hub.ledger.payment_profiles.expiring_profiles` picks (the
card expires next month, not yet reminded for this expiry). Each reminder goes to the
organisation's email with ``mail/card_expiring.subject.txt`` / ``.body.txt`` and is recorded
like every customer email (a :class:`~hub.db.models.sends.DocumentSend` of kind
``card_reminder`` whose request key names the expiry), so a job run twice mails once; the
profile is then marked reminded. A customer without an email is skipped, named in the result,
and does not stop the others.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from hub.customer_docs.context import company_view, customer_view
from hub.customer_docs.mailer import parse_recipients
from hub.customer_docs.render import DocumentRenderer
from hub.customer_docs.sending import _claim, _mailer, _sent_already, _settle
from hub.customer_docs.templating import render_template
from hub.db.engine import session_scope
from hub.db.models.catalogue import Organisation
from hub.db.models.sends import SendStatus
from hub.errors import TransientError
from hub.ledger.payment_profiles import expiring_profiles, mark_reminded

if TYPE_CHECKING:
    from hub.host.context import HubContext

__all__ = ["CardReminders", "send_card_reminders"]

KIND = "card_reminder"


@dataclass
class CardReminders:
    """What one run did: profile ids reminded now, and those skipped with the reason."""

    sent: list[int] = field(default_factory=list)
    skipped: dict[int, str] = field(default_factory=dict)


def send_card_reminders(ctx: "HubContext", day: dt.date | None = None) -> CardReminders:
    """Email every card reminder due on ``day`` (default today) and mark the cards reminded."""
    day = day or ctx.today()
    result = CardReminders()
    renderer = DocumentRenderer(ctx.settings, today=ctx.today)
    with session_scope(ctx.engine) as session:
        due = []
        for profile in expiring_profiles(session, day):
            organisation = session.get(Organisation, profile.organisation_id)
            context = {"company": company_view(ctx.settings),
                       "customer": customer_view(organisation),
                       "card": {"brand": profile.brand, "last4": profile.last4,
                                "expiry": profile.expiry}}
            due.append((profile.id, profile.expiry, parse_recipients(organisation.email),
                        context))
    for profile_id, expiry, recipients, context in due:
        key = f"card-expiry-{expiry}"
        if not recipients:
            result.skipped[profile_id] = "the organisation has no email"
            continue
        if _sent_already(ctx.engine, KIND, profile_id, key) is None:
            subject = " ".join(render_template(renderer.env, "mail/card_expiring.subject.txt",
                                               context).split())
            body = render_template(renderer.env, "mail/card_expiring.body.txt",
                                   context).strip() + "\n"
            mailer = _mailer(ctx)
            message = mailer.build_message(recipients, subject, body, [])
            row = _claim(ctx.engine, KIND, profile_id, key, reference=f"card {expiry}",
                         to=", ".join(recipients), subject=subject, now=ctx.clock())
            if row is not None:
                try:
                    sent = mailer.send(message)
                except TransientError as exc:
                    _settle(ctx.engine, row.id, status=SendStatus.failed, now=ctx.clock(),
                            error=str(exc))
                    raise
                _settle(ctx.engine, row.id, status=SendStatus.sent, now=ctx.clock(),
                        message_id=sent.message_id)
        with session_scope(ctx.engine) as session:
            mark_reminded(session, profile_id)
        result.sent.append(profile_id)
    return result
