"""What an edit really changes: the given values that differ from the stored ones.

An edit whose values all equal what is stored (``hub org edit 1 --name`` with its current name,
a ``PATCH`` resending a record) writes nothing: no row and no audit event, so the trail holds
only real changes. The services note on the session whether their last edit changed anything
(SQLAlchemy's ``Session.info``, as :func:`hub.ledger.ledger_session` notes its push targets),
and the CLI reads it to say "nothing changed" instead of "changed"; the API answers 200 with
the record as it is.
"""

from __future__ import annotations

from typing import Any, Mapping

from sqlalchemy.orm import Session

__all__ = ["differing", "line_changes", "note_edit", "nothing_changed"]

#: ``Session.info`` key: whether the last edit made in the session changed a stored value.
_EDIT_CHANGED = "hub.edit_changed"


def differing(row: Any, changes: Mapping[str, Any]) -> dict[str, Any]:
    """The entries of ``changes`` whose value differs from ``row``'s attribute of that name.
    Values compare as Python does: the stored ``Decimal("30.0000")`` equals a typed ``30``."""
    return {key: value for key, value in changes.items() if getattr(row, key) != value}


def note_edit(session: Session, changed: bool) -> None:
    """Note whether the edit just made in ``session`` changed a stored value."""
    session.info[_EDIT_CHANGED] = bool(changed)


def nothing_changed(session: Session) -> bool:
    """Whether the last edit made in ``session`` found every value already stored (and so
    wrote nothing); ``False`` when no edit noted its outcome."""
    return session.info.get(_EDIT_CHANGED) is False


def line_changes(session: Session, line_id: int, values: Mapping[str, Any]) -> dict[str, Any]:
    """The ``values`` of a template line edit that differ from the stored line (its
    ``filters`` are the line's ``counter_filters``), noting on the session whether there are
    any; every value when there is no such line (the edit then refuses it). The callers give
    only these to :func:`hub.billing.schedule_edits.edit_line`, which audits every call."""
    from hub.db.models import RecurringLine
    from hub.validation import parse
    from hub.validation.fields import MAX_ID
    from hub.validation.records import LineChanges

    changes = parse(LineChanges, dict(values), what=f"line {line_id}").given()
    line = session.get(RecurringLine, line_id) if 0 < line_id <= MAX_ID else None
    if line is None:
        return dict(values)
    stored = {key: (line.counter_filters or {}) if key == "filters" else getattr(line, key)
              for key in changes}
    wanted = {key: (value or {}) if key == "filters" else value
              for key, value in changes.items()}
    changed = {key: values[key] for key in changes if stored[key] != wanted[key]}
    note_edit(session, bool(changed))
    return changed
