"""All tables. Importing this module registers every table on ``SQLModel.metadata``.

One module per area; each area's service layer owns its module.
"""

from hub.db.models.catalogue import (  # noqa: F401
    Asset, Contact, LaborStatus, Organisation, OrganisationMapping, Product, Ticket, TicketCharge,
    UsageSnapshot,
)
from hub.db.models.invoices import Invoice, InvoiceKind, InvoiceLine, InvoiceStatus, LineType  # noqa: F401
from hub.db.models.pulls import HeldRecord  # noqa: F401
from hub.db.models.sync import Effect, ExternalLink, OutboxEntry, OutboxStatus  # noqa: F401
from hub.db.models.groups import InvoiceGroup  # noqa: F401
from hub.db.models.recurring import RecurringInvoice, RecurringLine  # noqa: F401
from hub.db.models.contracts import BillingContract, BillingCycle  # noqa: F401
from hub.db.models.batches import BatchStatus, BillingBatch  # noqa: F401
from hub.db.models.future_items import FutureItem  # noqa: F401
from hub.db.models.number_sequences import NumberSequence  # noqa: F401
from hub.db.models.api_tokens import ApiToken  # noqa: F401
from hub.db.models.inbox import InboxEvent, InboxStatus  # noqa: F401
from hub.db.models.jobs import ConnectionStateEntry, JobRecord, JobStatus, ScheduleClaim  # noqa: F401
from hub.db.models.ledger import (  # noqa: F401
    AccountConfig, AccountState, AccountStateChange, Allocation, AllocationKind, CreditNote, CreditNoteLine, Payment, PaymentMethod,
    PaymentStatus, PreBill, Side, Transaction, TransactionCategory, WipEntry,
)
from hub.db.models.sends import DocumentSend, SendStatus  # noqa: F401
from hub.db.models.payment_profiles import PaymentProfile  # noqa: F401
from hub.db.models.observe import HubCounter, ProcessHeartbeat  # noqa: F401
from sqlmodel import SQLModel

metadata = SQLModel.metadata
from hub.db.models.access import LoginFailure, Role, User  # noqa: F401
from hub.db.models.audit import AuditEvent  # noqa: F401
from hub.db.models.findings import Finding, FindingDismissal, ReconcileRun  # noqa: F401
from hub.db.models.idempotency import IdempotencyKey  # noqa: F401

from hub.db.minor_units import install as _install_minor_unit_check  # noqa: E402

_install_minor_unit_check()
