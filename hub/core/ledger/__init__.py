"""The pure ledger domain: allocation, statuses, edit rules, the account calendar, statements
and pre-bills. No I/O, no database, no clock reads: callers pass ``today`` and the facts.

The services in :mod:`hub.ledger` load the facts, call these functions and store the result.
"""
