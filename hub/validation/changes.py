"""What an edit really changes: the given values that differ from the stored ones.

An edit whose values all equal what is stored (``hub org edit 1 --name`` with its current name,
a ``PATCH`` resending a record) writes nothing: no row and no audit event, so the trail holds
only real changes. The services note on the session whether their last edit changed anything
(SQLAlchemy's ``Session.info``, as :func:`hub.ledger.ledger_session` notes its push targets),
and the CLI reads it to say "nothing changed" instead of "changed"; the API answers 200 with
the record as it is.
"""

from __future__ import annotations

import typing
from typing import Any, Mapping

from sqlalchemy.orm import Session

__all__ = ["differing", "line_changes", "note_edit", "nothing_changed", "cleared_value",
           "clearable"]

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


def _is_list(annotation: Any) -> bool:
    """Whether ``annotation`` (``Optional[Annotated[list[...], ...]]``, ...) is a list."""
    if typing.get_origin(annotation) is list:
        return True
    return any(_is_list(arg) for arg in typing.get_args(annotation))


def clearable(model: Any) -> list[str]:
    """The fields of the :class:`~hub.validation.records.Changes` model ``model`` that can be
    cleared: its ``NULLABLE`` ones and its lists (cleared to an empty list)."""
    return sorted(name for name, field in model.model_fields.items()
                  if name in model.NULLABLE or _is_list(field.annotation))


def cleared_value(model: Any, name: str) -> Any:
    """The value that clears field ``name`` of ``model`` when a user gives it none (``NAME=``
    in the CLI): ``None`` for a ``NULLABLE`` one, ``[]`` for a list. A field that must always
    have a value is refused, saying so (not with the parse error of an empty number); a name
    that is no field is left to the model, which names it."""
    from hub.errors import ValidationFailed

    field = model.model_fields.get(name)
    if field is None:
        return ""
    if name in model.NULLABLE:
        return None
    if _is_list(field.annotation):
        return []
    raise ValidationFailed(f"{name} cannot be empty: it always has a value",
                           hint=f"give {name} a value; these can be cleared with an empty "
                                f"value: {', '.join(clearable(model))}")


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
