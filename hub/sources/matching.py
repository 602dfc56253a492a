"""Matching a company seen at a second source to an organisation the hub already has, before
``--import-organisations`` creates one (#19: importing from a second source duplicated every
customer of the first: 103 organisations for 50 customers).

Matching is by **reference**, never by name alone:

- a *cross-reference* the source itself keeps — Datto RMM's site ``autotask_company_id``, Pax8's
  company ``external_id`` (the partner's PSA id for the company) — that equals the external id of
  a company already mapped from another connection maps the company to that organisation;
- a company whose name only *looks like* an existing organisation's is not imported and not
  mapped: it is reported as a possible match, with the ``hub mapping set`` command that confirms
  it. A person decides; two different customers called "Acme" stay two customers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Mapping

from sqlalchemy import func
from sqlmodel import Session, select

from hub.contract.records import OrganisationRecord
from hub.db.models import Organisation, OrganisationMapping

__all__ = ["CROSS_REFERENCES", "Match", "match_organisation", "name_key"]

#: Attributes that hold the company's id at another system: attribute -> the plugin of the
#: connections whose external ids it refers to (``None``: any other connection).
CROSS_REFERENCES: dict[str, str | None] = {
    "autotask_company_id": "autotask",   # Datto RMM sites linked to Autotask companies
    "psa_company_id": None,
    "external_id": None,                 # Pax8 companies: the partner's own (PSA) id
}


@dataclass(frozen=True)
class Match:
    """How a company was matched: ``organisation_id`` when mapped by reference; else
    ``suggested_id`` when only the name agrees (not mapped: a person confirms it)."""

    organisation_id: int | None = None
    suggested_id: int | None = None
    reason: str = ""


def name_key(name: str) -> str:
    """A name compared loosely: case, spacing and punctuation ignored."""
    return re.sub(r"[\W_]+", " ", name).strip().casefold()


def _plugins_of(connections: Mapping[str, str], plugin: str | None, own: str) -> list[str]:
    return [name for name, kind in connections.items()
            if name != own and (plugin is None or kind == plugin)]


def match_organisation(session: Session, record: OrganisationRecord, connection: str,
                       connections: Mapping[str, str]) -> Match:
    """The existing organisation ``record`` (seen at ``connection``) is, if any.

    ``connections`` maps every configured connection name to its plugin (only those are
    searched for cross-references).
    """
    attributes: Mapping[str, Any] = record.attributes or {}
    for key, plugin in CROSS_REFERENCES.items():
        value = attributes.get(key)
        if value in (None, "", 0):
            continue
        others = _plugins_of(connections, plugin, connection)
        if not others:
            continue
        found = set(session.exec(select(OrganisationMapping.organisation_id).where(
            OrganisationMapping.connection.in_(others),
            OrganisationMapping.external_id == str(value),
            OrganisationMapping.organisation_id.is_not(None))).all())
        if len(found) == 1:
            return Match(organisation_id=found.pop(),
                         reason=f"{key} {value} is mapped at {', '.join(others)}")
    wanted = name_key(record.name)
    if not wanted:
        return Match()
    # Names are compared in Python after a cheap SQL narrowing on the lower-cased first word.
    first = wanted.split(" ", 1)[0]
    candidates = session.exec(select(Organisation.id, Organisation.name).where(
        func.lower(Organisation.name).contains(first))).all()
    # An organisation this same source already maps is another company of that name there.
    same = [org_id for org_id, name in candidates if name_key(name) == wanted]
    if same:
        own = set(session.exec(select(OrganisationMapping.organisation_id).where(
            OrganisationMapping.connection == connection,
            OrganisationMapping.organisation_id.in_(same))).all())
        same = sorted(org_id for org_id in same if org_id not in own)
    if same:
        return Match(suggested_id=same[0],
                     reason=f"same name as organisation {same[0]}"
                            + (f" (and {len(same) - 1} more)" if len(same) > 1 else ""))
    return Match()
