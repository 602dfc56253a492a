"""Pushing numbered documents (invoices, credit memos) through the batch endpoint, exactly once.

For each call of a push hook:

1. documents already known in QuickBooks are answered from the plugin's record, no call;
2. each remaining document's tax is checked against the company's tax codes (:mod:`.tax`):
   one that cannot be pushed as the hub has it is rejected before anything is sent;
3. customers are resolved (looked up, created when missing);
4. documents whose earlier outcome is unknown (a ``pending`` marker is set) are looked up by
   ``DocNumber``; found ones are synced, the rest are sent again;
5. the rest go in batches of ``batch_size`` with a ``requestid`` derived from the batch and the
   attempt, each marked ``pending`` first (write-ahead) and settled from its own
   ``BatchItemResponse``. A ``6140`` (duplicate DocNumber) answer is looked up too: it is our
   own document when its customer is ours.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Sequence

from hub import PermanentError, PushOutcome, PushStatus, TransientError

from hub_accounting_quickbooks.auth import ConnectionRevoked
from hub_accounting_quickbooks.client import OutcomeUnknown, QuickBooksClient, fault_codes, \
    fault_message
from hub_accounting_quickbooks.customers import ensure_customers
from hub_accounting_quickbooks.mapping import credit_memo_element, invoice_element, quote, \
    request_id
from hub_accounting_quickbooks.store import Ledger
from hub_accounting_quickbooks.tax import load_tax_plan

__all__ = ["DocKind", "INVOICES", "CREDIT_MEMOS", "push_documents", "retry_all", "refusal_text",
           "DUPLICATE_NUMBER"]

#: DocNumbers per look-up query item
NUMBERS_PER_QUERY = 100
DUPLICATE_NUMBER = "6140"


@dataclass(frozen=True)
class DocKind:
    """How one kind of numbered document travels to QuickBooks."""

    kind: str
    entity: str
    build: Callable[..., dict[str, Any]]

    def lookup(self, client: QuickBooksClient, numbers: Sequence[str]) -> dict[str, dict]:
        """Documents in QuickBooks with these DocNumbers (number -> document)."""
        items = [{"bId": f"n{n}", "Query": f"select * from {self.entity} where DocNumber in ("
                  + ", ".join(quote(x) for x in numbers[start:start + NUMBERS_PER_QUERY])
                  + f") maxresults {NUMBERS_PER_QUERY}"}
                 for n, start in enumerate(range(0, len(numbers), NUMBERS_PER_QUERY))]
        found: dict[str, dict] = {}
        size = client.settings.batch_size
        for start in range(0, len(items), size):
            chunk = items[start:start + size]
            answers = client.batch(chunk, request_id(f"{self.kind}-lookup",
                                                     [i["Query"] for i in chunk], 1))
            for item in chunk:
                for doc in answers.get(item["bId"], {}).get("QueryResponse", {}).get(
                        self.entity, []):
                    found[doc.get("DocNumber", "")] = doc
        return found


INVOICES = DocKind("invoice", "Invoice", invoice_element)
CREDIT_MEMOS = DocKind("credit_note", "CreditMemo", credit_memo_element)


def refusal_text(exc: PermanentError) -> str:
    """QuickBooks' own message, plus what to do when the hub knows (e.g. reconnect)."""
    return f"{exc.vendor_message} — {exc.hint}" if exc.hint else exc.vendor_message


def retry_all(docs: Sequence[Any], error: TransientError) -> list[PushOutcome]:
    """``retry`` outcomes for ``docs`` carrying the error's message and wait."""
    return [PushOutcome(document_id=d.id, status=PushStatus.retry, message=str(error),
                        retry_after=error.retry_after) for d in docs]


def _ours(found: dict, customer_id: str | None) -> bool:
    return customer_id is not None and (found.get("CustomerRef") or {}).get("value") == customer_id


def push_documents(client: QuickBooksClient, kind: DocKind,
                   docs: Sequence[Any]) -> list[PushOutcome]:
    """Push ``docs`` of ``kind``; one outcome per document (see the module docstring)."""
    ledger = Ledger(client.connection)
    settings = client.settings
    outcomes: dict[int, PushOutcome] = {}

    def synced(doc: Any, external_id: str) -> None:
        # the pending marker is left as it is: it is only read for documents not known to
        # exist, so clearing it would be one more state write per document for nothing
        ledger.synced(kind.kind, doc.id, external_id)
        outcomes[doc.id] = PushOutcome(document_id=doc.id, status=PushStatus.synced,
                                       external_id=external_id)

    def rejected(doc: Any, message: str) -> None:
        outcomes[doc.id] = PushOutcome(document_id=doc.id, status=PushStatus.rejected,
                                       message=message)

    todo = []
    for doc in docs:
        known = ledger.external_id(kind.kind, doc.id)
        if known:
            outcomes[doc.id] = PushOutcome(document_id=doc.id, status=PushStatus.synced,
                                           external_id=known)
        else:
            todo.append(doc)
    if not todo:
        return [outcomes[d.id] for d in docs]
    try:
        plan = load_tax_plan(client)
        for doc in todo:
            problems = plan.problems(doc)
            if problems:
                rejected(doc, "; ".join(problems))
        todo = [d for d in todo if d.id not in outcomes]
        organisations = {d.organisation_id: (d.organisation_name, d.organisation_ref) for d in todo}
        customers, refused = ensure_customers(client, organisations)
        uncertain = [d for d in todo if ledger.pending(kind.kind, d.id) is not None]
        if uncertain:
            found = kind.lookup(client, [d.number for d in uncertain])
            for doc in uncertain:
                if doc.number in found and _ours(found[doc.number],
                                                 customers.get(doc.organisation_id)):
                    synced(doc, found[doc.number]["Id"])
    except TransientError as exc:
        return [outcomes.get(d.id) or o for d, o in zip(docs, retry_all(docs, exc))]
    except ConnectionRevoked:
        raise
    except PermanentError as exc:
        return [outcomes.get(d.id) or PushOutcome(document_id=d.id, status=PushStatus.rejected,
                                                  message=refusal_text(exc)) for d in docs]
    sendable = []
    for doc in todo:
        if doc.id in outcomes:
            continue
        if doc.organisation_id in refused:
            rejected(doc, refused[doc.organisation_id])
        else:
            sendable.append(doc)
    stop: TransientError | None = None
    duplicates: list[Any] = []
    for start in range(0, len(sendable), settings.batch_size):
        batch = sendable[start:start + settings.batch_size]
        if stop is not None:
            outcomes.update({o.document_id: o for o in retry_all(batch, stop)})
            continue
        attempt = 1 + max((ledger.pending(kind.kind, d.id) or 0) for d in batch)
        for doc in batch:
            ledger.mark_sending(kind.kind, doc.id, attempt)
        items = [{"bId": str(d.id), "operation": "create",
                  kind.entity: kind.build(settings, d, customers[d.organisation_id], plan)}
                 for d in batch]
        rid = request_id(kind.kind, [f"{d.id}:{d.number}" for d in batch], attempt)
        try:
            answers = client.batch(items, rid)
        except OutcomeUnknown as exc:
            # QuickBooks may have stored them: markers stay, the next call looks them up first
            outcomes.update({o.document_id: o for o in retry_all(batch, exc)})
            continue
        except TransientError as exc:
            for doc in batch:  # throttled before processing: nothing was stored
                ledger.settled(kind.kind, doc.id)
            outcomes.update({o.document_id: o for o in retry_all(batch, exc)})
            stop = exc
            continue
        except ConnectionRevoked:
            raise
        except PermanentError as exc:
            for doc in batch:
                ledger.settled(kind.kind, doc.id)
                rejected(doc, refusal_text(exc))
            continue
        for doc in batch:
            answer = answers.get(str(doc.id))
            if answer is None:
                outcomes[doc.id] = PushOutcome(
                    document_id=doc.id, status=PushStatus.retry, retry_after=30,
                    message="QuickBooks' batch answer did not mention this document")
            elif kind.entity in answer:
                synced(doc, answer[kind.entity]["Id"])
            elif DUPLICATE_NUMBER in fault_codes(answer):
                duplicates.append((doc, fault_message(answer)))
            else:
                ledger.settled(kind.kind, doc.id)
                rejected(doc, fault_message(answer))
    if duplicates:
        _resolve_duplicates(client, kind, ledger, duplicates, customers, synced, rejected,
                            outcomes)
    return [outcomes[d.id] for d in docs]


def _resolve_duplicates(client: QuickBooksClient, kind: DocKind, ledger: Ledger,
                        duplicates: list, customers: dict[int, str], synced, rejected,
                        outcomes: dict[int, PushOutcome]) -> None:
    """A 6140 is our own earlier create when the document with that number is our customer's;
    otherwise the number is taken in QuickBooks and the document is rejected."""
    try:
        found = kind.lookup(client, [doc.number for doc, _ in duplicates])
    except TransientError as exc:
        for doc, _ in duplicates:
            outcomes[doc.id] = PushOutcome(document_id=doc.id, status=PushStatus.retry,
                                           message=str(exc), retry_after=exc.retry_after)
        return
    for doc, message in duplicates:
        if doc.number in found and _ours(found[doc.number], customers.get(doc.organisation_id)):
            synced(doc, found[doc.number]["Id"])
        else:
            ledger.settled(kind.kind, doc.id)
            rejected(doc, message)
