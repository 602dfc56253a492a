"""One set of rules for input, at the door, for the CLI and the REST API alike.

:mod:`hub.validation.fields` has the value types (currency codes Babel knows, exact amounts,
tax rates 0–100, ids in range, counter filters the counter understands) and
:mod:`hub.validation.records` the input models built from them. :func:`parse` turns a pydantic
refusal into a :class:`~hub.errors.ValidationFailed` of one line that names the field and says
what to write instead: exit code 2 in the CLI, 422 in the API, nothing stored.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from hub.errors import ValidationFailed

__all__ = ["parse", "refusal", "check", "describe_errors"]

M = TypeVar("M", bound=BaseModel)


def refusal(exc: ValidationError, *, what: str = "") -> ValidationFailed:
    """One :class:`ValidationFailed` line for every problem pydantic found."""
    prefix = f"{what}: " if what else ""
    return ValidationFailed(prefix + describe_errors(exc.errors()))


def describe_errors(errors: list) -> str:
    """pydantic's (or FastAPI's) error list as one line: ``field: what to do; ...``."""
    parts = []
    for error in errors:
        field = ".".join(str(p) for p in error.get("loc", ()) if p != "body")
        message = error.get("msg", "is not valid").removeprefix("Value error, ")
        if error.get("type") == "extra_forbidden":
            message = "is not a field this takes; check its spelling"
        parts.append(f"{field}: {message}" if field else message)
    return "; ".join(parts)


def parse(model: type[M], values: dict[str, Any] | None = None, *, what: str = "",
          **more: Any) -> M:
    """``model`` built from ``values`` (and keyword ``more``), or :class:`ValidationFailed`."""
    data = dict(values or {}, **more)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise refusal(exc, what=what) from None


def check(condition: bool, message: str, hint: str | None = None) -> None:
    """Refuse with ``message`` (and ``hint``) unless ``condition`` holds."""
    if not condition:
        raise ValidationFailed(message, hint=hint)
