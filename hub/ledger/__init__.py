"""Ledger services: payments, allocations, credit notes, refunds, deletion, edits, statements,
the account calendar, pre-bills and processor events.

Every service takes an open :class:`sqlmodel.Session` and works inside the caller's
transaction (use :func:`ledger_session` or :func:`hub.db.engine.session_scope`): it validates
first and writes after, so a refused request leaves nothing half-written. Payments and credit
notes that are finalised get "push" outbox rows for the accounting connections named by
``push_to`` (default: those :func:`ledger_session` put on the session).
"""

from hub.ledger._base import (
    accounting_connections, balance, find_invoice, ledger_session, refresh_invoice,
)
from hub.ledger.account_states import (
    apply_account_calendar, notify_state_changes, run_account_calendar, set_next_block_date,
)
from hub.ledger.accounts import (
    account_calendar, account_state_view, account_summary, calendar_view, find_overdue, links_of_credit_note,
    links_of_invoice, links_of_payment, reminders, run_overdue_check, set_account_config,
    account_config,
)
from hub.ledger.charging import charge_invoice, refund_payment
from hub.ledger.credit_notes import (
    CreditLine, apply_credit_note, create_credit_note, credit_note_view, find_credit_note,
)
from hub.ledger.deletion import cancel_last_recurring_invoice, delete_completely, mark_deleted
from hub.ledger.editing import edit_invoice
from hub.ledger.events import apply_payment_event
from hub.ledger.payments import (
    allocate_payment, apply_account_credit, mark_paid, record_payment, refund,
    refund_from_balance,
)
from hub.ledger.posting import (
    add_future_item, add_transaction, post_invoice, post_invoices, remove_transaction,
)
from hub.ledger.prebills import (
    add_wip, attach_options, attach_wip, close_prebill, create_prebill, prebill_balance,
)
from hub.ledger.refund_requests import refund_where_taken, request_refund
from hub.ledger.reminding import queue_reminders, send_reminders
from hub.ledger.statements import statement

__all__ = [
    "apply_account_calendar", "notify_state_changes", "run_account_calendar",
    "set_next_block_date",
    "accounting_connections", "balance", "find_invoice", "ledger_session", "refresh_invoice",
    "account_calendar", "account_state_view", "account_summary", "calendar_view", "find_overdue",
    "links_of_credit_note", "links_of_invoice", "links_of_payment", "reminders",
    "run_overdue_check", "set_account_config", "account_config", "CreditLine", "apply_credit_note",
    "create_credit_note", "credit_note_view", "find_credit_note", "cancel_last_recurring_invoice", "delete_completely", "mark_deleted",
    "edit_invoice", "apply_payment_event", "allocate_payment", "apply_account_credit",
    "mark_paid", "record_payment", "refund", "refund_from_balance", "request_refund", "refund_where_taken", "add_future_item", "add_transaction",
    "post_invoice", "post_invoices", "remove_transaction", "add_wip", "attach_options", "attach_wip",
    "close_prebill", "create_prebill", "prebill_balance", "statement", "queue_reminders",
    "send_reminders", "charge_invoice", "refund_payment",
]
