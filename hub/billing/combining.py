"""Combined invoices of an invoice group (seed 001, #19): a group that chooses to (``combine``)
gets ONE invoice per period holding every due agreement's lines, instead of one invoice per
agreement on the same day.

Each agreement's draft is built as usual (its own lines, pro-rata segments, changes), then the
drafts of one group and issue date are merged: every line keeps its pro-rata explanation and is
prefixed with its agreement's name, so the customer sees what each agreement bills. The merged
invoice's exactly-once key is ``("group:ID", first period start)``; each agreement still
advances on its own when the invoice is finalised (``extra_fields["combined"]``).

An agreement whose own invoice for the period already exists (held by another preview batch,
or made before the group chose to combine) is left out of the merge: its draft keeps its own
key and is skipped as usual, so nothing is billed twice. A group's agreements are always
drafted in one chunk of a run, whatever their ids (:func:`hub.billing.loading.due_schedules_after`).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Sequence

from sqlalchemy import select, tuple_
from sqlmodel import Session

from hub.billing.drafts import Draft
from hub.billing.loading import group_key
from hub.db.models import Invoice

__all__ = ["combine_group_drafts"]


def _held(session: Session, drafts: Sequence[Draft]) -> set[tuple[str, dt.date]]:
    """Which of these drafts' own keys an invoice (draft or final) already holds."""
    keys = [d.key for d in drafts]
    if not keys:
        return set()
    it = Invoice.__table__
    return {(r.billing_key, r.period_start) for r in session.execute(
        select(it.c.billing_key, it.c.period_start).where(
            tuple_(it.c.billing_key, it.c.period_start).in_(keys)))}


def combine_group_drafts(session: Session, drafts: list[Draft]) -> list[Draft]:
    """``drafts`` with those of each combining group and issue date merged into one."""
    members: dict[tuple[int, dt.date], list[Draft]] = defaultdict(list)
    for draft in drafts:
        group_id = draft.invoice["extra_fields"].get("combine_in_group")
        if group_id is not None:
            members[(group_id, draft.invoice["issue_date"])].append(draft)
    candidates = [d for group in members.values() if len(group) > 1 for d in group]
    held = _held(session, candidates)
    merged: dict[int, Draft] = {}  # id(first member) -> merged draft
    dropped: set[int] = set()
    for (group_id, _), group in members.items():
        group = [d for d in group if d.key not in held]
        if len(group) < 2:
            continue
        merged[id(group[0])] = _merge(group_id, group)
        dropped.update(id(d) for d in group[1:])
    return [merged.get(id(d), d) for d in drafts if id(d) not in dropped]


def _merge(group_id: int, group: list[Draft]) -> Draft:
    first = group[0].invoice
    key = group_key(group_id)
    lines, taken, charges, tasks, combined, ended = [], [], [], [], [], []
    billed_keys = {line["source_line_key"] for d in group for line in d.lines}
    for draft in group:
        extra = draft.invoice["extra_fields"]
        agreement = extra.get("agreement") or f"agreement {extra.get('recurring_id')}"
        for line in draft.lines:
            lines.append({**line, "position": len(lines),
                          "description": f"{agreement}: {line['description']}"})
        taken += draft.taken
        charges += draft.charge_ids
        tasks += [t for t in extra.get("post_tasks", []) if t not in tasks]
        combined.append({"recurring_id": extra.get("recurring_id"), "agreement": agreement,
                         "period_start": str(draft.invoice["period_start"]),
                         "period_end": str(draft.invoice["period_end"]),
                         "next_run_date": extra.get("next_run_date")})
        ended += [note for note, k in zip(extra.get("ended_lines", []),
                                          extra.get("ended_keys", [])) if k not in billed_keys]
    invoice = {
        **first,
        "billing_key": key, "schedule_key": key,
        "period_start": min(d.invoice["period_start"] for d in group),
        "period_end": max(d.invoice["period_end"] for d in group),
        "due_date": min(d.invoice["due_date"] for d in group),
        "auto_bill": any(d.invoice["auto_bill"] for d in group),
        "subtotal": sum(d.invoice["subtotal"] for d in group),
        "tax_total": sum(d.invoice["tax_total"] for d in group),
        "total": sum(d.invoice["total"] for d in group),
        "extra_fields": {"invoice_group_id": group_id, "combined": combined,
                         "post_tasks": tasks, **({"ended_lines": ended} if ended else {})},
    }
    return Draft(invoice, lines, taken, charges)
