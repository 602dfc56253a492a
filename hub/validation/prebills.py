"""The input models of pre-bills (``hub prebill create``, ``POST /prebills``) and their WIP
(``hub prebill wip``, ``POST /wip``), seed 003. Project and stage are names; a WIP description
is held to an invoice line's length (WIP is attached to a pre-bill's invoice and described on
it); a pre-bill's percentage is a share of the stage fee, more than 0 and at most 100. The CLI
and the API refuse the same values, before anything is stored."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Optional

from pydantic import AfterValidator, Field

from hub.validation.fields import NAME_LENGTH, Amount, Day, Id, Name
from hub.validation.records import Strict

__all__ = ["WipInput", "WipDescription", "PreBillInput", "StageShare"]

#: A WIP description: at most an invoice line description's length (:data:`Name`), trimmed as
#: a name is; unlike a line's it may be empty (a stage's WIP often needs none).
WipDescription = Annotated[str, Field(max_length=NAME_LENGTH), AfterValidator(str.strip)]


def _share(value: Decimal) -> Decimal:
    # 0 % is no pre-bill (an invoice of 0.00, "paid" at once) and over 100 % bills more than
    # the stage is worth: say the range, not "between 0 and 100", which 0 seems to be.
    if not Decimal(0) < value <= Decimal(100):
        raise ValueError(f"{value} % is no share of the stage fee: the percentage must be "
                         "more than 0 and at most 100 (e.g. 40 for 40 %)")
    return value


#: A pre-bill's share of its stage fee, in percent: more than 0, at most 100.
StageShare = Annotated[Amount, AfterValidator(_share)]


class PreBillInput(Strict):
    """Pre-bill a stage by ``percent`` of its fee or a ``value`` (one of them: the service
    says so, with the option to use)."""

    organisation_id: Id
    project: Name
    stage: Name
    stage_fee: Amount
    percent: Optional[StageShare] = None
    value: Optional[Amount] = None
    issue_date: Optional[Day] = None


class WipInput(Strict):
    """A WIP transaction on a project stage."""

    organisation_id: Id
    project: Name
    stage: Name
    value: Amount
    date: Optional[Day] = None
    description: WipDescription = ""
