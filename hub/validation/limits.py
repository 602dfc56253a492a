"""Bounds of input values that the CLI checks while it parses its arguments, kept apart from
:mod:`hub.validation.fields` (which imports the money and column types, and so SQLAlchemy) so
that ``hub --help`` and argument parsing stay light; the fields re-export them.
"""

from __future__ import annotations

__all__ = ["MAX_ID"]

#: Largest id a row can have (PostgreSQL ``integer``); larger ids cannot exist.
MAX_ID = 2**31 - 1
