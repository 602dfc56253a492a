"""``hub demo``: a sample MSP's billing month, end to end, on local vendor sandboxes.

- :mod:`hub.demo.sample` — the deterministic sample MSP (organisations, devices, contacts,
  licences, tickets and time) and the leaks planted in it;
- :mod:`hub.demo.sandboxes` — every vendor sandbox started on 127.0.0.1, seeded with the sample;
- :mod:`hub.demo.month` — the month's steps (configure, pull, set up billing, preview, confirm,
  push, charge, webhooks, reconcile);
- :mod:`hub.demo.summary` — what the run printed at the end.
"""

from hub.demo.month import DemoResult, run_demo

__all__ = ["run_demo", "DemoResult"]
