"""The push pipeline: outbox rows -> push hook -> external link, lock, broadcast, done.

For one batch of outbox rows (one connection, one document kind):

1. claim the rows still to do; a document that already has an external link for this
   connection is done without calling the plugin (a replayed push changes nothing);
2. build the documents from the database and call the owning plugin's push hook once;
3. per outcome: *synced* -> record the :class:`ExternalLink` (unique per document and
   connection), lock the document, mark the row done — one transaction; *rejected* -> failed
   with the vendor's message; *retry* -> retried with backoff honouring ``retry_after``;
4. broadcast ``hub_lock_synced_documents`` for what was locked.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from typing import TYPE_CHECKING, Sequence

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from hub.db.engine import session_scope
from hub.db.models._base import utcnow
from hub.db.models.sync import ExternalLink, OutboxEntry
from hub.contract.records import DocumentRef, PushStatus
from hub.errors import HubError, PermanentError
from hub.jobs.push_records import PUSH_HOOKS, build_documents, lock_documents
from hub.jobs.outbox import DONE, RowResult, claim_rows, settle_rows
from hub.jobs.retries import classify

if TYPE_CHECKING:
    from hub.jobs.runtime import JobRuntime

__all__ = ["push_outbox_rows"]

log = logging.getLogger("hub.jobs.push")
ACTOR = "push_documents"


def push_outbox_rows(runtime: "JobRuntime", outbox_ids: Sequence[int],
                     message_id: str | None = None) -> float | None:
    """Push the documents of these outbox rows; returns the retry delay in seconds for rows
    that should be tried again (None when all are settled)."""
    rows = claim_rows(runtime.ctx.engine, outbox_ids, runtime.settings)
    groups: dict[tuple[str, str], list[OutboxEntry]] = defaultdict(list)
    for row in rows:
        groups[(row.connection, row.document_kind)].append(row)
    delay: float | None = None
    for (connection, kind), group in groups.items():
        wait = _push_group(runtime, connection, kind, group, message_id)
        if wait is not None:
            delay = wait if delay is None else max(delay, wait)
    return delay


def _push_group(runtime: "JobRuntime", connection_name: str, kind: str,
                rows: list[OutboxEntry], message_id: str | None) -> float | None:
    ctx = runtime.ctx
    results: dict[int, RowResult] = {}
    docs: list[tuple[OutboxEntry, object]] = []
    with session_scope(ctx.engine) as session:
        linked = set(session.execute(select(ExternalLink.document_id).where(
            ExternalLink.connection == connection_name, ExternalLink.document_kind == kind,
            ExternalLink.document_id.in_([r.document_id for r in rows]))).scalars())
        todo = [row for row in rows if row.document_id not in linked]
        built = build_documents(session, kind, [row.document_id for row in todo],
                                connection_name)
    for row in rows:
        if row.document_id in linked:
            results[row.id] = DONE  # pushed before (e.g. by a duplicate message)
        elif isinstance(built[row.document_id], HubError):
            results[row.id] = RowResult("failed", built[row.document_id].user_message())
        else:
            docs.append((row, built[row.document_id]))

    synced: list[tuple[OutboxEntry, str, str | None]] = []
    if docs:
        synced = _call_push_hook(runtime, connection_name, kind, docs, results)

    refs: list[DocumentRef] = []
    now = utcnow()
    with session_scope(ctx.engine) as session:
        refused = _record_links(session, kind, connection_name, synced)
        locked = [row.document_id for row, _, _ in synced if row.document_id not in refused]
        lock_documents(session, kind, locked, connection_name, now)
        for row, external_id, _ in synced:
            if row.document_id in refused:
                results[row.id] = RowResult(
                    "failed", f"external id {external_id} is already linked to another {kind}")
            else:
                results[row.id] = DONE
                refs.append(DocumentRef(kind=kind, id=row.document_id, external_id=external_id))
        delay = settle_rows(session, rows, results, runtime.settings, actor=ACTOR,
                            message_id=message_id, now=now)
    if refs:
        connection = ctx.connection(connection_name)
        ctx.plugins.hook.hub_lock_synced_documents(connection=connection, documents=refs)
        log.info("pushed %d %s(s) to %s", len(refs), kind, connection_name,
                 extra={"job": ACTOR, "connection": connection_name, "document_kind": kind,
                        "document_ids": [r.id for r in refs]})
    return delay


def _call_push_hook(runtime: "JobRuntime", connection_name: str, kind: str,
                    docs: list[tuple[OutboxEntry, object]], results: dict[int, RowResult]
                    ) -> list[tuple[OutboxEntry, str, str | None]]:
    """Call the push hook once for ``docs``; fill ``results`` for everything not synced and
    return the synced rows with their external ids."""
    ctx = runtime.ctx
    hook_name, keyword = PUSH_HOOKS[kind]
    try:
        connection = ctx.connection(connection_name)
        outcomes = getattr(ctx.plugins.hook, hook_name)(
            connection=connection, **{keyword: [doc for _, doc in docs]})
        if outcomes is None:
            raise PermanentError(
                f"no installed plugin pushes {kind}s to connection {connection_name!r} "
                f"(type {connection.plugin!r})", hint="install the plugin that provides it")
    except Exception as exc:  # classified: permanent stops, anything else is retried
        failure = classify(exc)
        if not isinstance(exc, HubError):
            log.exception("push hook raised %s", type(exc).__name__,
                          extra={"connection": connection_name, "document_kind": kind})
        for row, _ in docs:
            results[row.id] = RowResult("failed" if failure.permanent else "retry",
                                        failure.message, failure.retry_after)
        return []
    by_id = {outcome.document_id: outcome for outcome in outcomes}
    synced = []
    for row, doc in docs:
        outcome = by_id.get(doc.id)
        if outcome is None:
            results[row.id] = RowResult("retry", "the plugin returned no outcome for it")
        elif outcome.status == PushStatus.synced and outcome.external_id:
            synced.append((row, outcome.external_id, getattr(doc, "number", None)))
        elif outcome.status == PushStatus.rejected or outcome.status == PushStatus.synced:
            results[row.id] = RowResult("failed", outcome.message or "rejected without a message")
        else:
            results[row.id] = RowResult("retry", outcome.message, outcome.retry_after)
    return synced


def _record_links(session, kind: str, connection: str,
                  synced: list[tuple[OutboxEntry, str, str | None]]) -> set[int]:
    """Insert the external links of ``synced`` documents in one flush; returns the document ids
    whose external id already belongs to another document (refused). A link that a concurrent
    duplicate job inserted first is fine: the document is linked either way."""
    if not synced:
        return set()
    ids = [row.document_id for row, _, _ in synced]
    existing = set(session.execute(select(ExternalLink.document_id).where(
        ExternalLink.document_kind == kind, ExternalLink.connection == connection,
        ExternalLink.document_id.in_(ids))).scalars())
    new = [ExternalLink(document_kind=kind, document_id=row.document_id, connection=connection,
                        external_id=external_id, external_number=number)
           for row, external_id, number in synced if row.document_id not in existing]
    try:
        with session.begin_nested():
            session.add_all(new)
    except IntegrityError:
        return _record_links_one_by_one(session, kind, connection, new)
    return set()


def _record_links_one_by_one(session, kind: str, connection: str,
                             links: list[ExternalLink]) -> set[int]:
    refused = set()
    for link in links:
        fresh = ExternalLink(document_kind=kind, document_id=link.document_id,
                             connection=connection, external_id=link.external_id,
                             external_number=link.external_number)
        try:
            with session.begin_nested():
                session.add(fresh)
        except IntegrityError:
            mine = session.execute(select(ExternalLink.id).where(
                ExternalLink.document_kind == kind, ExternalLink.document_id == link.document_id,
                ExternalLink.connection == connection)).scalar_one_or_none()
            if mine is None:
                refused.add(link.document_id)
    return refused
