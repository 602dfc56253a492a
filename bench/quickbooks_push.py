"""Benchmark: push N invoices into the QuickBooks sandbox under Intuit's throttles and count
API calls.

    .venv/bin/python bench/quickbooks_push.py            # N = 5000, time x20
    .venv/bin/python bench/quickbooks_push.py -n 1000 --scale 60 --orgs 200

The sandbox enforces 500 requests a minute, 10 a second and 40 batch requests a minute per
company on a clock sped up ``--scale`` times, and checks every body against Intuit's XSDs. The
hook is driven like the job queue drives it: host batches of ``--host-batch`` invoices (the
job runtime's ``push_batch_size``),
documents whose outcome is ``retry`` pushed again after ``retry_after``. Printed: Accounting
API calls (429 answers included) per document and the ratio of calls to the minimum the batch
limit allows, ``ceil(N/30)``.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections import Counter

from hub import PushStatus
from hub.jobs.settings import DEFAULT_PUSH_BATCH_SIZE

from hub_accounting_quickbooks import plugin
from hub_accounting_quickbooks.sandbox import QuickBooksSandbox
from hub_accounting_quickbooks.settings import MAX_BATCH
from hub_accounting_quickbooks.testing import connected, invoice_doc, line


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=5000, help="invoices to push (default 5000)")
    parser.add_argument("--scale", type=float, default=20.0,
                        help="sandbox time speed-up (20: a QuickBooks minute per 3 real "
                             "seconds, so the 40 batches a minute bind)")
    parser.add_argument("--orgs", type=int, default=100, help="distinct organisations")
    parser.add_argument("--host-batch", type=int, default=DEFAULT_PUSH_BATCH_SIZE,
                        help="invoices the host hands the hook per call (default: the job "
                             f"runtime's push batch, {DEFAULT_PUSH_BATCH_SIZE})")
    args = parser.parse_args(argv)

    sandbox = QuickBooksSandbox(scale=args.scale)
    docs = [invoice_doc(i, organisation_id=1 + i % args.orgs,
                        lines=(line(quantity=str(1 + i % 7), unit_price="12.3456", tax_rate="20"),
                               line(description="Backup", quantity="1", unit_price="9.99")))
            for i in range(1, args.n + 1)]
    with sandbox.serve() as url:
        conn = connected(sandbox, url)
        token_calls = sandbox.token_calls
        started = time.monotonic()
        sim_started = sandbox.clock.seconds()
        final: dict[int, PushStatus] = {}
        messages: Counter[str] = Counter()
        rounds = 0
        for start in range(0, len(docs), args.host_batch):
            todo = docs[start:start + args.host_batch]
            while todo:
                rounds += 1
                outcomes = plugin.hub_push_invoices(connection=conn, invoices=todo)
                final.update({o.document_id: o.status for o in outcomes})
                messages.update(o.message for o in outcomes if o.status is PushStatus.rejected)
                waits = [o.retry_after or 0 for o in outcomes if o.status is PushStatus.retry]
                todo = [d for d in todo if final[d.id] is PushStatus.retry]
                if todo:
                    time.sleep(sandbox.clock.to_real(max(waits)))
        elapsed = time.monotonic() - started
        sim_minutes = (sandbox.clock.seconds() - sim_started) / 60

    calls = sandbox.api_calls()
    minimum = math.ceil(args.n / MAX_BATCH)
    by_path = Counter(f"{c.method} {c.path}" for c in calls)
    statuses = Counter(c.status for c in calls)
    stored = Counter(i["DocNumber"] for i in sandbox.books().invoices().values())
    outcome_counts = Counter(final.values())
    print(f"invoices pushed       : {args.n} ({outcome_counts[PushStatus.synced]} synced, "
          f"{len(stored)} stored in QuickBooks, duplicates: "
          f"{sum(v - 1 for v in stored.values())})")
    if messages:
        print(f"rejections            : {dict(messages)}")
    print(f"accounting API calls  : {len(calls)}  {dict(by_path)}")
    print(f"answers               : {dict(sorted(statuses.items()))}")
    print(f"token endpoint calls  : {sandbox.token_calls} ({token_calls} for the consent, "
          f"the rest refreshes)")
    print(f"schema violations     : {len(sandbox.schema_violations)}")
    print(f"hook calls (rounds)   : {rounds}")
    print(f"time                  : {elapsed:.1f} s real, {sim_minutes:.1f} QuickBooks minutes "
          f"(scale x{args.scale:g})")
    print(f"API calls per document: {len(calls) / args.n:.4f}")
    print(f"ratio to ceil(N/{MAX_BATCH})={minimum}: {len(calls) / minimum:.3f}  (target <= 1.05)")
    ok = (outcome_counts[PushStatus.synced] == args.n and len(stored) == args.n
          and not sandbox.schema_violations)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
