"""Benchmark: push N invoices into the Xero sandbox under Xero's limits and count API calls.

    .venv/bin/python bench/xero_push.py            # N = 5000, time x2
    .venv/bin/python bench/xero_push.py -n 1000 --scale 120 --orgs 200

The sandbox enforces 60 calls/minute, 5 in flight and 5,000/day per organisation on a clock
sped up ``--scale`` times, and checks every request against xero_accounting.yaml. The hook is
driven like the job queue drives it: host batches of ``--host-batch`` invoices, documents whose
outcome is ``retry`` pushed again after ``retry_after``. Printed: Accounting API calls (429
answers included) per document and the ratio of calls to the minimum ``ceil(N/50)``.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections import Counter

from hub import PushStatus

from hub_accounting_xero import plugin
from hub_accounting_xero.sandbox import XeroSandbox
from hub_accounting_xero.testing import connected, invoice_doc, line


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=5000, help="invoices to push (default 5000)")
    parser.add_argument("--scale", type=float, default=2.0,
                        help="sandbox time speed-up (2: one Xero minute per 30 real seconds, so the minute limit binds)")
    parser.add_argument("--orgs", type=int, default=100, help="distinct organisations")
    parser.add_argument("--host-batch", type=int, default=1000,
                        help="invoices the host hands the hook per call")
    args = parser.parse_args(argv)

    sandbox = XeroSandbox(scale=args.scale, unique_numbers=True)
    docs = [invoice_doc(i, organisation_id=1 + i % args.orgs,
                        lines=(line(quantity=str(1 + i % 7), unit_price="12.3456", tax_rate="20"),
                               line(description="Backup", quantity="1", unit_price="9.99")))
            for i in range(1, args.n + 1)]
    with sandbox.serve() as url:
        conn = connected(sandbox, url)
        identity_calls = sandbox.identity.token_calls
        started = time.monotonic()
        sim_started = sandbox.clock.seconds()
        final: dict[int, PushStatus] = {}
        rounds = 0
        for start in range(0, len(docs), args.host_batch):
            todo = docs[start:start + args.host_batch]
            while todo:
                rounds += 1
                outcomes = plugin.hub_push_invoices(connection=conn, invoices=todo)
                final.update({o.document_id: o.status for o in outcomes})
                waits = [o.retry_after or 0 for o in outcomes if o.status is PushStatus.retry]
                todo = [d for d in todo if final[d.id] is PushStatus.retry]
                if todo:
                    time.sleep(max(waits))
        elapsed = time.monotonic() - started
        sim_minutes = (sandbox.clock.seconds() - sim_started) / 60

    calls = sandbox.api_calls()
    minimum = math.ceil(args.n / 50)
    by_path = Counter(f"{c.method} {c.path}" for c in calls)
    statuses = Counter(c.status for c in calls)
    stored = Counter(i["InvoiceNumber"] for i in sandbox.books().invoices.values())
    outcome_counts = Counter(final.values())
    print(f"invoices pushed       : {args.n} ({outcome_counts[PushStatus.synced]} synced, "
          f"{len(stored)} stored at Xero, duplicates: {sum(v - 1 for v in stored.values())})")
    print(f"accounting API calls  : {len(calls)}  {dict(by_path)}")
    print(f"answers               : {dict(sorted(statuses.items()))}")
    print(f"identity calls        : {sandbox.identity.token_calls} to the token endpoint "
          f"({identity_calls} for the consent, the rest refreshes), /connections once")
    print(f"schema violations     : {len(sandbox.schema_violations)}")
    print(f"hook calls (rounds)   : {rounds}")
    print(f"time                  : {elapsed:.1f} s real, {sim_minutes:.1f} Xero minutes "
          f"(scale x{args.scale:g})")
    print(f"API calls per document: {len(calls) / args.n:.4f}")
    print(f"ratio to ceil(N/50)={minimum}: {len(calls) / minimum:.3f}  (target <= 1.02)")
    ok = (outcome_counts[PushStatus.synced] == args.n and len(stored) == args.n
          and not sandbox.schema_violations)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
