"""Pushing numbered documents (invoices, credit notes) in batches, exactly once.

For each call of a push hook:

1. documents already known at Xero are answered from the plugin's record, without a call;
2. each document's tax types are checked against the organisation's tax rates
   (:mod:`.taxes`): one that cannot be pushed is rejected before anything is sent;
3. contacts are resolved (looked up by ContactNumber, created when missing);
4. documents whose earlier outcome is unknown (a ``pending`` marker is set) are looked up by
   number; found ones are synced, the rest are sent again;
5. the rest go in batches of up to 50 with ``summarizeErrors=false`` and an Idempotency-Key
   derived from the batch and the attempt; each marked ``pending`` first (write-ahead) and
   settled from its own element of Xero's answer.

A timeout or a dropped connection leaves the batch ``retry`` with its markers set, so the next
call looks the documents up before anything is sent again, even after Xero forgot the key.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Sequence

from hub import PermanentError, PushOutcome, PushStatus, TransientError

from hub_accounting_xero.auth import ConnectionRevoked
from hub_accounting_xero.client import OutcomeUnknown, XeroClient, xero_message
from hub_accounting_xero.contacts import ensure_contacts
from hub_accounting_xero.mapping import credit_note_element, idempotency_key, invoice_element
from hub_accounting_xero.store import Ledger
from hub_accounting_xero.taxes import load_tax_check

__all__ = ["DocKind", "INVOICES", "CREDIT_NOTES", "push_documents", "retry_all", "refusal_text"]

#: numbers per look-up request
LOOKUP_CHUNK = 40


@dataclass(frozen=True)
class DocKind:
    """How one kind of numbered document travels to Xero."""

    kind: str
    endpoint: str
    collection: str
    id_field: str
    number_field: str
    build: Callable[..., dict[str, Any]]
    lookup_by_where: bool

    def lookup(self, client: XeroClient, numbers: Sequence[str]) -> dict[str, dict[str, Any]]:
        """Documents at Xero with these numbers (number -> document)."""
        found: dict[str, dict[str, Any]] = {}
        for start in range(0, len(numbers), LOOKUP_CHUNK):
            chunk = list(numbers[start:start + LOOKUP_CHUNK])
            if self.lookup_by_where:
                params = {"where": " OR ".join(f'{self.number_field}=="{n}"' for n in chunk)}
            else:
                params = {"InvoiceNumbers": ",".join(chunk)}
            for doc in client.get(self.endpoint, params=params).get(self.collection, []):
                if doc.get("Status") != "DELETED":
                    found[doc[self.number_field]] = doc
        return found


INVOICES = DocKind("invoice", "/Invoices", "Invoices", "InvoiceID", "InvoiceNumber",
                   invoice_element, lookup_by_where=False)
CREDIT_NOTES = DocKind("credit_note", "/CreditNotes", "CreditNotes", "CreditNoteID",
                       "CreditNoteNumber", credit_note_element, lookup_by_where=True)


def refusal_text(exc: PermanentError) -> str:
    """Xero's own message, plus what to do when the hub knows (e.g. reconnect)."""
    return f"{exc.vendor_message} — {exc.hint}" if exc.hint else exc.vendor_message


def retry_all(docs: Sequence[Any], error: TransientError) -> list[PushOutcome]:
    """``retry`` outcomes for ``docs`` carrying the error's message and wait."""
    return [PushOutcome(document_id=d.id, status=PushStatus.retry, message=str(error),
                        retry_after=error.retry_after) for d in docs]


def push_documents(client: XeroClient, kind: DocKind, docs: Sequence[Any]) -> list[PushOutcome]:
    """Push ``docs`` of ``kind``; one outcome per document (see the module docstring)."""
    ledger = Ledger(client.connection)
    settings = client.settings
    outcomes: dict[int, PushOutcome] = {}

    def synced(doc: Any, external_id: str) -> None:
        ledger.synced(kind.kind, doc.id, external_id)
        outcomes[doc.id] = PushOutcome(document_id=doc.id, status=PushStatus.synced,
                                       external_id=external_id)

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
        check = load_tax_check(client)
        for doc in todo:
            problems = check.problems(doc)
            if problems:  # refused before anything, contacts included, is sent
                outcomes[doc.id] = PushOutcome(document_id=doc.id, status=PushStatus.rejected,
                                               message="; ".join(problems))
        todo = [d for d in todo if d.id not in outcomes]
        organisations = {d.organisation_id: (d.organisation_name, d.organisation_ref) for d in todo}
        contacts, refused = ensure_contacts(client, organisations)
        uncertain = [d for d in todo if ledger.pending(kind.kind, d.id) is not None]
        if uncertain:
            found = kind.lookup(client, [d.number for d in uncertain])
            for doc in uncertain:
                if doc.number in found:
                    synced(doc, found[doc.number][kind.id_field])
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
            outcomes[doc.id] = PushOutcome(document_id=doc.id, status=PushStatus.rejected,
                                           message=refused[doc.organisation_id])
        else:
            sendable.append(doc)
    stop: TransientError | None = None
    for start in range(0, len(sendable), settings.batch_size):
        batch = sendable[start:start + settings.batch_size]
        if stop is not None:
            outcomes.update({o.document_id: o for o in retry_all(batch, stop)})
            continue
        attempt = 1 + max((ledger.pending(kind.kind, d.id) or 0) for d in batch)
        for doc in batch:
            ledger.mark_sending(kind.kind, doc.id, attempt)
        body = {kind.collection: [kind.build(settings, d, contacts[d.organisation_id])
                                  for d in batch]}
        key = idempotency_key(kind.kind, [f"{d.id}:{d.number}" for d in batch], attempt)
        try:
            answer = client.write("PUT", kind.endpoint, body, key,
                                  params={"summarizeErrors": "false", "unitdp": "4"})
        except OutcomeUnknown as exc:
            # Xero may have stored them: markers stay, the next call looks them up first
            outcomes.update({o.document_id: o for o in retry_all(batch, exc)})
            continue
        except TransientError as exc:
            for doc in batch:  # refused before processing (rate limit): nothing was stored
                ledger.settled(kind.kind, doc.id)
            outcomes.update({o.document_id: o for o in retry_all(batch, exc)})
            stop = exc
            continue
        except ConnectionRevoked:
            raise
        except PermanentError as exc:
            for doc in batch:
                ledger.settled(kind.kind, doc.id)
                outcomes[doc.id] = PushOutcome(document_id=doc.id, status=PushStatus.rejected,
                                               message=refusal_text(exc))
            continue
        elements = answer.get(kind.collection, [])
        for doc, element in zip(batch, elements):
            if element.get(kind.number_field) not in (None, doc.number):
                raise PermanentError(f"Xero answered {element.get(kind.number_field)} for "
                                     f"{doc.number}: the answer is out of order")
            if element.get("ValidationErrors") or element.get("HasErrors"):
                ledger.settled(kind.kind, doc.id)
                outcomes[doc.id] = PushOutcome(document_id=doc.id, status=PushStatus.rejected,
                                               message=xero_message(element))
            else:
                synced(doc, element[kind.id_field])
        for doc in batch[len(elements):]:
            outcomes[doc.id] = PushOutcome(document_id=doc.id, status=PushStatus.retry,
                                           message="Xero's answer did not mention this document",
                                           retry_after=30)
    return [outcomes[d.id] for d in docs]
