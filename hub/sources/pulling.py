"""Pull one connection: ask its plugin for pages of facts and store them, idempotently.

The runner is this module; storing the facts is :mod:`hub.sources.storing`, organisation
mappings and held records are :mod:`hub.sources.held_records`, and what a pull reports is
:mod:`hub.sources.reports`.

For each kind (organisations, contacts, assets, tickets, usage) the service calls the
``hub_pull_*`` hook page by page and upserts what comes back into the catalogue tables, keyed by
``(source = connection name, external_id)``. The rules:

- **Organisations are resolved only through** :class:`OrganisationMapping`. A company seen at the
  source gets a mapping row; until someone sets its ``organisation_id`` it is *unmapped*: reported,
  and the contacts/assets/tickets under it are held (:class:`HeldRecord`) until the next pull after
  the mapping exists. Nothing is guessed from a name and nothing is dropped.
  ``create_organisations=True`` is the explicit opt-in that imports every unmapped company as a
  new hub organisation (first set-up, demo, benchmark).
- **Deleted at source**: a record flagged ``deleted``, or a row missing from a *full* pull (every
  page ``full`` and the pull run from its first page), gets ``deleted_at_source`` set, so the
  stored counters stop counting it. A pending (not yet charged) ticket charge whose time entry or
  ticket disappeared is removed, so it cannot be billed; charged or invoiced ones are kept.
- **Idempotent**: a row is written only when a field differs, so pulling twice reports only
  ``unchanged`` the second time.
- **Incremental**: the time each kind's last completed pull *started* is kept in the connection's
  state and passed as ``since`` (less :data:`SINCE_OVERLAP`, for clock skew); ``full=True`` asks
  for everything (and lets deletions show up).
- **Resumable**: the next page's cursor is saved after each stored page; a pull that failed (the
  job is retried) resumes from it. A resumed pull does not mark deletions, because it did not see
  the first pages; the next full pull does.
- **Transient failures** (429/5xx/timeouts as :class:`TransientError`) of one page are retried
  here a few times, honouring ``retry_after``; after that the error goes to the job runner.
- **One at a time**: a pull holds a lease on its connection (durable state, compare-and-set), so
  a second pull of the same connection meanwhile is refused as transient and retried later.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
import uuid
from typing import Any, Callable, Iterable, Mapping

from sqlalchemy.engine import Engine
from sqlmodel import Session, select
from tenacity import retry, retry_if_exception_type, stop_after_attempt

from hub.contract.connections import Connection
from hub.contract.records import PullPage, Record, TicketRecord
from hub.db.engine import session_scope
from hub.db.models import OrganisationMapping, TicketCharge
from hub.errors import PluginError, TransientError
from hub.host.connection_state import LAST_PULL_KEY
from hub.observe.counters import count_pull
from hub.sources.statistics import refresh_statistics
from hub.sources.held_records import HeldRecords
from hub.sources.reports import KindReport, PullReport, month_of
from hub.sources.storing import FACT_MODELS, RECORD_TYPES, FactStoring

__all__ = ["KINDS", "KindReport", "PullReport", "pull_connection", "pull_by_name", "month_of"]

log = logging.getLogger("hub.sources.pulling")

KINDS: tuple[str, ...] = ("organisations", "contacts", "assets", "tickets", "usage")
# Reports also carry "time_entries": the ticket charges made from the tickets' time entries.
#: Attempts per page before a TransientError is left to the job runner.
DEFAULT_PAGE_ATTEMPTS = 4
#: Longest Retry-After the pull waits for in-process; longer waits go back to the job runner.
DEFAULT_MAX_WAIT_SECONDS = 30.0
#: How long a pull holds its connection's lease; a worker that died mid-pull blocks the next
#: pull of that connection at most this long.
PULL_LEASE = dt.timedelta(minutes=30)
#: ``since`` reaches back this much before the last pull's start: the vendor's clock may run
#: behind ours, and seeing a change twice costs nothing (pulls are idempotent).
SINCE_OVERLAP = dt.timedelta(minutes=5)



# ----------------------------------------------------------------------------- the service
class _Puller(HeldRecords, FactStoring):
    """State of one pull of one connection (one instance per call of pull_connection)."""

    def __init__(self, engine: Engine, hook: Any, connection: Connection, *,
                 create_organisations: bool, sleep: Callable[[float], None],
                 page_attempts: int, max_wait: float, currency: str = "USD",
                 connection_plugins: Mapping[str, str] | None = None) -> None:
        self.engine = engine
        self.currency = currency
        #: every configured connection -> its plugin (cross-references are looked up there)
        self.connection_plugins = dict(connection_plugins or {})
        self.hook = hook
        self.connection = connection
        self.create_organisations = create_organisations
        self.sleep = sleep
        self.page_attempts = page_attempts
        self.max_wait = max_wait
        self.report = PullReport(connection=connection.name)
        self.now = connection.now()
        self.mapping: dict[str, int | None] = {}
        #: kind -> external ids held in HeldRecord; empty until load_held (then exact)
        self.held: dict[str, set[str]] = {}
        self.currencies: dict[int, str] = {}
        self.unmapped_seen: set[str] = set()




    # -- paging -------------------------------------------------------------------------------
    def fetch(self, kind: str, since: dt.datetime | None, cursor: str | None,
              period: tuple[dt.date, dt.date]) -> PullPage | None:
        call = getattr(self.hook, f"hub_pull_{kind}")
        kwargs: dict[str, Any] = {"connection": self.connection, "cursor": cursor}
        if kind == "usage":
            kwargs.update(period_start=period[0], period_end=period[1])
        else:
            kwargs["since"] = since

        def wait(retry_state: Any) -> float:
            error = retry_state.outcome.exception()
            delay = error.retry_after if error.retry_after is not None else \
                min(2 ** retry_state.attempt_number, self.max_wait)
            if delay > self.max_wait:
                raise error  # a long pause is the job runner's business, not a sleeping worker's
            return delay

        @retry(retry=retry_if_exception_type(TransientError), wait=wait,
               stop=stop_after_attempt(self.page_attempts), reraise=True, sleep=self.sleep)
        def attempt() -> PullPage | None:
            return call(**kwargs)

        page = attempt()
        if page is not None and not isinstance(page, PullPage):
            raise PluginError(f"hub_pull_{kind} for {self.connection.name!r} returned "
                              f"{type(page).__name__}, not a PullPage",
                              hint="return hub.PullPage(records=..., cursor=..., complete=...)")
        return page

    def pull_kind(self, kind: str, *, full: bool, period: tuple[dt.date, dt.date]) -> None:
        state = self.connection.state
        since_key, resume_key = f"hub.pull.{kind}.since", f"hub.pull.{kind}.resume"
        resume = state.get(resume_key)
        if resume:
            cursor, since_text = resume.get("cursor"), resume.get("since")
            started_text = resume.get("started")
        else:
            cursor = None
            since_text = None if full else state.get(since_key)
            started_text = self.now.isoformat()
        since = dt.datetime.fromisoformat(since_text) - SINCE_OVERLAP if since_text else None
        # Records released from hold at the start of this pull are already counted here.
        report = self.report.kinds.get(kind, KindReport())
        seen: set[str] = set()
        all_full = not resume
        first = True
        while True:
            page = self.fetch(kind, since, cursor, period)
            if page is None:
                if first:
                    return  # this connection's plugin does not offer this kind
                raise PluginError(f"hub_pull_{kind} for {self.connection.name!r} stopped "
                                  f"answering at cursor {cursor!r}",
                                  hint="a pull hook must answer every page of its own pull")
            first = False
            report.pages += 1
            all_full = all_full and page.full
            for record in page.records:
                if not isinstance(record, RECORD_TYPES[kind]):
                    raise PluginError(f"hub_pull_{kind} for {self.connection.name!r} returned a "
                                      f"{type(record).__name__}",
                                      hint=f"return {RECORD_TYPES[kind].__name__} records")
            with session_scope(self.engine) as session:
                self.store(session, kind, page.records, report, seen, period)
            done = page.complete or page.cursor is None
            if not done:
                cursor = page.cursor
                state.set(resume_key, {"cursor": cursor, "since": since_text,
                                       "started": started_text})
            else:
                break
        report.full = all_full
        if all_full and kind != "organisations":
            with session_scope(self.engine) as session:
                self.mark_missing(session, kind, seen, report, period)
        state.set(since_key, started_text)
        state.set(resume_key, None)
        self.report.kinds[kind] = report

    # -- storing ------------------------------------------------------------------------------
    def store(self, session: Session, kind: str, records: Iterable[Record], report: KindReport,
              seen: set[str], period: tuple[dt.date, dt.date]) -> None:
        records = list(records)
        if kind == "organisations":
            rows = {row.external_id: row for row in session.exec(select(OrganisationMapping).where(
                OrganisationMapping.connection == self.connection.name,
                OrganisationMapping.external_id.in_([r.external_id for r in records]))).all()}
            for record in records:
                seen.add(record.external_id)
                self.store_organisation(session, record, rows.get(record.external_id),
                                        report)  # type: ignore[arg-type]
            return
        if kind == "usage":
            self.store_usage(session, records, report, seen, period)  # type: ignore[arg-type]
            return
        model = FACT_MODELS[kind]
        ids = [r.external_id for r in records]
        existing = {row.external_id: row for row in session.exec(select(model).where(
            model.source == self.connection.name, model.external_id.in_(ids))).all()}
        tickets: list[tuple[Any, TicketRecord, str]] = []
        for record in records:
            seen.add(record.external_id)
            stored = self.store_fact(session, kind, record, existing.get(record.external_id),
                                     report)
            if stored is not None:
                tickets.append(stored)
        if tickets:
            self.store_tickets_time(session, tickets, report)

    def store_tickets_time(self, session: Session, tickets: list[tuple[Any, TicketRecord, str]],
                           report: KindReport) -> None:
        """Time entries of a page of tickets, with one query for all their charges."""
        session.flush()  # new tickets get their ids
        charges: dict[int, list[TicketCharge]] = {}
        for charge in session.exec(select(TicketCharge).where(
                TicketCharge.source == self.connection.name,
                TicketCharge.ticket_id.in_([row.id for row, _, _ in tickets]))).all():
            charges.setdefault(charge.ticket_id, []).append(charge)
        entries_report = self.report.kinds.setdefault("time_entries", KindReport(full=True))
        for row, record, outcome in tickets:
            if self.store_time_entries(session, row, record, entries_report,
                                       charges.get(row.id, [])):
                outcome = "updated" if outcome == "unchanged" else outcome
            report.add(outcome)















def pull_connection(engine: Engine, hook: Any, connection: Connection, *,
                    kinds: Iterable[str] = KINDS, full: bool = False,
                    period: tuple[dt.date, dt.date] | None = None,
                    create_organisations: bool = False,
                    connection_plugins: Mapping[str, str] | None = None,
                    sleep: Callable[[float], None] = time.sleep,
                    page_attempts: int = DEFAULT_PAGE_ATTEMPTS,
                    max_wait: float = DEFAULT_MAX_WAIT_SECONDS,
                    currency: str = "USD") -> PullReport:
    """Pull ``connection`` through the plugin hooks and store what it finds.

    Organisations it creates (``create_organisations``) bill in ``currency`` (the company's).

    ``hook`` is the plugin host's ``hook`` relay (``PluginHost.hook``). ``kinds`` limits what is
    pulled; kinds the connection's plugin does not offer are skipped. With
    ``create_organisations`` a company is first matched to an existing organisation by a
    cross-reference (:mod:`hub.sources.matching`; ``connection_plugins`` names every connection's
    plugin) and only created when nothing matches. ``period`` is the usage
    period (default: the month of the connection's clock). See the module docstring for the
    rules; the returned :class:`PullReport` counts what changed.
    """
    unknown = set(kinds) - set(KINDS)
    if unknown:
        raise ValueError(f"unknown kinds {sorted(unknown)}; use {list(KINDS)}")
    if connection_plugins is None:  # not told: the connections the mapping table knows
        with session_scope(engine) as session:
            connection_plugins = {name: "" for name in session.exec(
                select(OrganisationMapping.connection).distinct()).all()}
    puller = _Puller(engine, hook, connection, create_organisations=create_organisations,
                     sleep=sleep, page_attempts=page_attempts, max_wait=max_wait,
                     currency=currency, connection_plugins=connection_plugins)
    period = period or month_of(puller.now.date())
    lease = _take_lease(connection, puller.now)
    try:
        puller.release_mapped()
        for kind in KINDS:  # fixed order: organisations first, so mappings exist for the rest
            if kind in kinds:
                with session_scope(engine) as session:
                    puller.load_mapping(session)
                    puller.load_held(session)
                puller.pull_kind(kind, full=full, period=period)
    except BaseException as exc:
        count_pull(connection.name, "retry" if isinstance(exc, TransientError) else "failed")
        raise
    finally:
        connection.state.compare_and_set(_LEASE_KEY, lease, None)
    count_pull(connection.name, "done")
    # Here, not in the job runner: `hub pull` and the demo pull without a job (#19); hub status
    # and /metrics read it.
    connection.state.set(LAST_PULL_KEY, puller.now.isoformat())
    refresh_statistics(engine, puller.report.kinds)
    log.info("pull %s", puller.report.summary())
    return puller.report


_LEASE_KEY = "hub.pull.lease"


def _take_lease(connection: Connection, now: dt.datetime) -> dict[str, str]:
    """One pull per connection at a time (two would race on the same rows and cursors).

    The lease lives in the connection's durable state and is taken with compare-and-set, so two
    workers cannot both win; a busy connection is a TransientError, so the job retries later.
    """
    current = connection.state.get(_LEASE_KEY)
    if current and dt.datetime.fromisoformat(current["expires"]) > now:
        raise TransientError(f"a pull of {connection.name!r} is already running "
                             f"(since {current['taken']})", retry_after=60.0,
                             hint="wait for it to finish; a dead worker's lease expires "
                                  f"{current['expires']}")
    lease = {"taken": now.isoformat(), "expires": (now + PULL_LEASE).isoformat(),
             "token": uuid.uuid4().hex}
    if not connection.state.compare_and_set(_LEASE_KEY, current, lease):
        raise TransientError(f"a pull of {connection.name!r} has just started elsewhere",
                             retry_after=60.0, hint="the job retries it later")
    return lease


def pull_by_name(context: Any, name: str, **options: Any) -> PullReport:
    """Pull the configured connection ``name`` of a :class:`hub.host.context.HubContext`.

    What a scheduled pull job calls with the connection's name (jobs carry names, not objects).
    A :class:`TransientError` it raises is the job runner's cue to retry later; the retried pull
    resumes at the saved cursor.
    """
    options.setdefault("currency", context.settings.company.currency)
    options.setdefault("connection_plugins", {c.name: c.plugin
                                              for c in context.settings.connections})
    return pull_connection(context.engine, context.plugins.hook, context.connection(name),
                           **options)
