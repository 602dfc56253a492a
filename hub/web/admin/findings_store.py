"""The reconciliation review queue: store a run's findings, dismiss them, act on their fix.

A finding is identified across runs by its *key* (section, kind, organisation, document,
connection) and its *figures* (what each side said, the money at stake). A dismissal is kept
per key with the figures it saw: the next run's finding with the same key stays dismissed while
its figures are the same, and comes back when they move.
"""

from __future__ import annotations

import hashlib
import re
from decimal import Decimal
from dataclasses import dataclass

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from hub import audit
from hub.db.engine import session_scope
from hub.db.models._base import utcnow
from hub.db.models.catalogue import Organisation
from hub.db.models.findings import Finding, FindingDismissal, ReconcileRun
from hub.errors import EditNotAllowed, NotFound, ValidationFailed

__all__ = ["run_and_store", "stake_rank", "latest_run", "findings_query", "dismiss", "act_on",
           "open_findings_count", "fingerprint", "FIX_ACTIONS"]

_REPUSH = re.compile(r"^hub outbox repush (\w+) (\d+) --connection (\S+)$")
_RETRY = re.compile(r"^hub jobs retry (\d+)$")
#: What the page can do for a finding's fix (anything else is shown as advice).
FIX_ACTIONS = {"repush": _REPUSH, "retry": _RETRY}


def _digest(*parts: object) -> str:
    return hashlib.sha256("\x1f".join("" if p is None else str(p) for p in parts)
                          .encode()).hexdigest()


def fingerprint(difference) -> tuple[str, str]:
    """(key, figures) of a :class:`hub.reconcile.Difference`."""
    key = _digest(difference.section, difference.kind, difference.organisation_id,
                  difference.document, difference.connection)
    figures = _digest(difference.hub_value, difference.other_value,
                      difference.at_stake.amount, difference.at_stake.currency)
    return key, figures


def stake_rank(amount: Decimal) -> int:
    """``amount`` as an integer of ten-thousandths (exact; see ``Finding.stake_rank``)."""
    return int(amount.scaleb(4).to_integral_value())


def run_and_store(ctx, sections: list[str]) -> ReconcileRun:
    """Run reconciliation ``sections`` now and store what they find as the latest run."""
    from hub.reconcile import SECTIONS, Options, reconcile

    unknown = [s for s in sections if s not in SECTIONS]
    if unknown or not sections:
        raise ValidationFailed(f"unknown or no sections: {', '.join(unknown) or '(none)'}",
                               hint=f"choose from: {', '.join(SECTIONS)}")
    with session_scope(ctx.engine) as session:
        run = ReconcileRun(started_by=audit.current_actor().name, sections=list(sections))
        session.add(run)
        session.flush()
        run_id = run.id
    count = 0
    rows: list[Finding] = []
    for difference in reconcile(ctx, sections, Options(today=ctx.today())):
        key, figures = fingerprint(difference)
        rows.append(Finding(
            run_id=run_id, key=key, figures=figures, section=difference.section,
            kind=difference.kind, organisation_id=difference.organisation_id,
            organisation=difference.organisation, document=difference.document,
            systems=difference.systems, connection=difference.connection,
            hub_value=difference.hub_value, other_value=difference.other_value,
            at_stake=difference.at_stake.amount, stake_rank=stake_rank(difference.at_stake.amount),
            currency=difference.at_stake.currency,
            cause=difference.cause, fix=difference.fix))
        count += 1
        if len(rows) >= 500:
            _save(ctx, rows)
            rows = []
    _save(ctx, rows)
    with session_scope(ctx.engine) as session:
        run = session.get(ReconcileRun, run_id)
        run.finished_at, run.finding_count = utcnow(), count
        audit.record(session, "reconcile.run", "reconcile_run", run_id,
                     summary=f"{count} findings in {', '.join(sections)}")
    return run


def _save(ctx, rows: list[Finding]) -> None:
    if rows:
        with session_scope(ctx.engine) as session:
            session.add_all(rows)


def latest_run(session: Session) -> ReconcileRun | None:
    """The newest finished run."""
    return session.execute(select(ReconcileRun).where(ReconcileRun.finished_at.is_not(None))
                           .order_by(ReconcileRun.id.desc()).limit(1)).scalar_one_or_none()


def findings_query(run_id: int, *, show: str = "open", section: str | None = None):
    """Rows (finding, its dismissal or None, organisation name) of a run; ``show`` is
    ``open``, ``dismissed`` or ``all``. Money at stake first."""
    f, d, o = Finding.__table__, FindingDismissal.__table__, Organisation.__table__
    query = (select(Finding, FindingDismissal, o.c.name)
             .outerjoin(FindingDismissal, and_(d.c.key == f.c.key, d.c.figures == f.c.figures))
             .outerjoin(o, o.c.id == f.c.organisation_id)
             .where(f.c.run_id == run_id))
    if show == "open":
        query = query.where(d.c.id.is_(None), f.c.resolved_at.is_(None))
    elif show == "dismissed":
        query = query.where(or_(d.c.id.is_not(None), f.c.resolved_at.is_not(None)))
    if section:
        query = query.where(f.c.section == section)
    return query.order_by(f.c.stake_rank.desc(), f.c.id)


def open_findings_count(session: Session) -> int:
    """How many findings of the latest run wait for review."""
    run = latest_run(session)
    if run is None:
        return 0
    return session.execute(select(func.count()).select_from(
        findings_query(run.id).subquery())).scalar_one()


def _finding(session: Session, finding_id: int) -> Finding:
    finding = session.get(Finding, finding_id)
    if finding is None:
        raise NotFound(f"no finding {finding_id}", hint="run reconciliation again")
    return finding


def dismiss(session: Session, finding_id: int, reason: str) -> Finding:
    """Dismiss a finding with a reason: it stays dismissed while its figures stay the same."""
    from hub.validation.fields import REASON_LENGTH, check_length

    reason = reason.strip()
    if not reason:
        raise ValidationFailed("say why the finding is dismissed",
                               hint="the reason is kept in the audit trail")
    # the same bound as a credit note's or refund's reason (the page lists every reason)
    check_length(reason, "dismissal reason", REASON_LENGTH)
    finding = _finding(session, finding_id)
    who = audit.current_actor().name
    row = session.execute(select(FindingDismissal).where(
        FindingDismissal.key == finding.key)).scalar_one_or_none()
    if row is not None and row.figures == finding.figures:
        # The form sent again (Back, reload, a second click): replacing the reason would
        # rewrite who dismissed it and why, and audit a second dismissal.
        raise EditNotAllowed(f"finding {finding.id} is already dismissed by {row.dismissed_by}: "
                             f"{row.reason}", hint="nothing was changed; it stays dismissed "
                                                   "while its figures stay the same")
    if row is None:
        row = FindingDismissal(key=finding.key, figures=finding.figures, reason=reason,
                               dismissed_by=who)
    else:  # the figures moved since the last dismissal: this one replaces it
        row.figures, row.reason, row.dismissed_by, row.dismissed_at = (
            finding.figures, reason, who, utcnow())
    session.add(row)
    audit.record(session, "finding.dismissed", "finding", finding.id,
                 summary=f"{finding.kind} {finding.document}: {reason}",
                 detail={"at_stake": finding.at_stake, "currency": finding.currency})
    return finding


@dataclass
class FixDone:
    """What acting on a finding did."""

    finding_id: int
    message: str


def act_on(ctx, runtime, finding_id: int) -> FixDone:
    """Do what a finding's fix says, when it is something the hub can do (repush, retry)."""
    from hub.jobs.records import retry_job
    from hub.jobs.repush import repush

    with session_scope(ctx.engine) as session:
        finding = _finding(session, finding_id)
        if finding.resolved_at is not None:
            # The form sent again: doing the fix twice would push the document twice.
            raise EditNotAllowed(f"finding {finding.id} was already fixed by "
                                 f"{finding.resolved_by}", hint="nothing was done again")
        fix = (finding.fix or "").strip()
    if (match := _REPUSH.match(fix)) is not None:
        kind, document_id, connection = match.group(1), int(match.group(2)), match.group(3)
        ctx.settings.connection(connection)
        row = repush(ctx.engine, kind, document_id, connection)
        message = f"queued the push of {kind} {document_id} to {connection} (outbox row {row.id})"
    elif (match := _RETRY.match(fix)) is not None:
        if runtime is None:
            raise ValidationFailed("no job runtime in this web process",
                                   hint="run `hub jobs retry` from the command line")
        retry_job(runtime, int(match.group(1)))
        message = f"replayed job {match.group(1)}"
    else:
        raise ValidationFailed("the hub cannot do this fix by itself: " + (fix or "none offered"),
                               hint="do it by hand, then dismiss the finding with a reason")
    with session_scope(ctx.engine) as session:
        finding = _finding(session, finding_id)
        finding.resolved_at, finding.resolved_by = utcnow(), audit.current_actor().name
        audit.record(session, "finding.fixed", "finding", finding_id, summary=message)
    return FixDone(finding_id, message)
