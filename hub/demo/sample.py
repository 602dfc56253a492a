"""The sample MSP: deterministic organisations, devices, contacts, licences, tickets and time.

Everything comes from one seeded :class:`random.Random`, so the same ``(organisations, seed)``
gives the same customers every run. The sample covers two months: the *opening* month (the
first invoices, so the next month's preview has something to compare with) and the *billing*
month the demo is about. Between the two some devices are added or retired, some people gain or
lose remote access and some licence counts move, so the billing month's preview shows per-line
changes.

Roles (organisation numbers are 1-based positions in :attr:`Sample.organisations`):

==  =====================================================================================
1   two recurring invoices in one **invoice group** (managed services + backup)
2   a **billing contract** (flat fee + devices) instead of a recurring invoice
3   a **pre-bill** for a project stage, with WIP attached
4   leak: its device line counts workstations only, and it has a server
5   leak: its recurring invoice does not add pending ticket charges; old time waits unbilled
6   leak: Pax8 raises its Microsoft 365 count after the month was billed (a true-up)
7   leak: a Defender licence at Pax8 that no line bills
8   its stored card declines
==  =====================================================================================

Every recurring invoice bills devices ($45), every person ($12), people with remote access
($7, as in seed 000), Microsoft 365 licences from Pax8 ($22), a flat helpdesk fee and, with
add-pending-ticket-charges, the time technicians charged. Every fifth organisation pays by bank
transfer (no stored card); the others are auto-billed.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from decimal import Decimal

__all__ = ["Sample", "SampleOrganisation", "Device", "Person", "Licence", "TimeEntry",
           "generate", "months_for", "PRICES", "GROUP_ORG", "CONTRACT_ORG", "PREBILL_ORG",
           "WORKSTATIONS_ONLY_ORG", "NO_TICKET_CHARGES_ORG", "TRUE_UP_ORG", "UNBILLED_SKU_ORG",
           "DECLINING_ORG", "MIN_ORGANISATIONS", "MAX_ORGANISATIONS"]

#: What the MSP charges (the catalogue); time is billed at the PSA's hourly rate.
PRICES = {"device": Decimal("45.00"), "user": Decimal("12.00"),
          "remote_user": Decimal("7.00"), "m365": Decimal("22.00"), "helpdesk": Decimal("150.00"), "backup": Decimal("60.00"),
          "contract_fee": Decimal("500.00"), "hourly": Decimal("95.00"),
          "defender": Decimal("5.00")}
GROUP_ORG, CONTRACT_ORG, PREBILL_ORG = 1, 2, 3
WORKSTATIONS_ONLY_ORG, NO_TICKET_CHARGES_ORG, TRUE_UP_ORG, UNBILLED_SKU_ORG = 4, 5, 6, 7
DECLINING_ORG = 8
MIN_ORGANISATIONS = 8
#: The most organisations a demo makes (a sample month, not a load test).
MAX_ORGANISATIONS = 10_000
#: How much Pax8's count rises for the true-up organisation after billing.
TRUE_UP = 2
#: The pre-bill: 50 % of a stage fee, and the WIP recorded against it.
PREBILL = {"project": "Office move", "stage": "Cabling", "stage_fee": Decimal("4000.00"),
           "percent": Decimal("50"), "wip": (Decimal("1200.00"), Decimal("350.00"))}

_FIRST = ["Acme", "Blue", "Cedar", "Delta", "Evergreen", "Falcon", "Granite", "Harbor", "Iris",
          "Juniper", "Keystone", "Lakeside", "Maple", "Northwind", "Oak", "Pioneer", "Quarry",
          "Riverside", "Summit", "Tidewater", "Union", "Valley", "Willow", "Zenith"]
_SECOND = ["Dental", "Legal", "Logistics", "Accounting", "Clinic", "Builders", "Realty",
           "Architects", "Foods", "Motors", "Insurance", "Printing", "Vets", "Studio"]
_PEOPLE = ["Ana", "Ben", "Chloe", "Dev", "Emma", "Farid", "Grace", "Hugo", "Ines", "Jack",
           "Kira", "Liam", "Maya", "Noah", "Olga", "Pete", "Rosa", "Sam", "Tara", "Ugo"]
_SURNAMES = ["Adams", "Brown", "Chen", "Diaz", "Evans", "Fox", "Garcia", "Hill", "Ito", "Jones",
             "Khan", "Lopez", "Moore", "Novak", "Olsen", "Patel"]
#: NinjaOne node classes the sample uses (servers and network gear are counted by the device
#: line too, except at the workstations-only organisation).
_CLASSES = ["WINDOWS_WORKSTATION"] * 6 + ["MAC"] * 2 + ["WINDOWS_SERVER", "NMS_SWITCH"]


@dataclass
class Device:
    """A managed device; ``months`` are the sample months (0 opening, 1 billing) it exists in."""

    ninja_id: int
    name: str
    node_class: str
    months: tuple[int, ...] = (0, 1)


@dataclass
class Person:
    """A contact at the PSA; ``remote_access[m]`` for month m."""

    autotask_id: int
    first_name: str
    last_name: str
    email: str
    remote_access: tuple[bool, bool]


@dataclass
class Licence:
    """A Pax8 subscription: quantity in each month; ``after`` is the count after billing."""

    number: int
    sku: str
    quantity: tuple[int, int]
    after: int


@dataclass
class TimeEntry:
    """Billable or non-billable time on a ticket, worked on ``day``."""

    autotask_id: int
    ticket_id: int
    day: dt.date
    hours: Decimal
    billable: bool


@dataclass
class SampleOrganisation:
    """One customer of the sample MSP and everything the vendors know about it."""

    number: int
    name: str
    devices: list[Device] = field(default_factory=list)
    people: list[Person] = field(default_factory=list)
    licences: list[Licence] = field(default_factory=list)
    tickets: list[tuple[int, str]] = field(default_factory=list)  # (autotask id, title)
    time: list[TimeEntry] = field(default_factory=list)
    card: str | None = "pm_card_visa"

    @property
    def ninja_id(self) -> int:
        return self.number

    @property
    def autotask_id(self) -> int:
        return 100 + self.number

    def devices_in(self, month: int) -> list[Device]:
        return [d for d in self.devices if month in d.months]

    def remote_users_in(self, month: int) -> list[Person]:
        return [p for p in self.people if p.remote_access[month]]

    def licence(self, sku: str) -> Licence | None:
        return next((lic for lic in self.licences if lic.sku == sku), None)


@dataclass
class Sample:
    """The whole sample MSP."""

    organisations: list[SampleOrganisation]
    seed: int

    def organisation(self, number: int) -> SampleOrganisation:
        return self.organisations[number - 1]


def months_for(today: dt.date) -> tuple[dt.date, dt.date]:
    """(opening month, billing month) first days: the billing month is the current month."""
    billing = today.replace(day=1)
    opening = (billing - dt.timedelta(days=1)).replace(day=1)
    return opening, billing


def generate(organisations: int = 50, *, seed: int = 2026,
             today: dt.date | None = None) -> Sample:
    """The sample MSP with ``organisations`` customers (at least :data:`MIN_ORGANISATIONS`)."""
    if organisations < MIN_ORGANISATIONS:
        raise ValueError(f"the demo needs at least {MIN_ORGANISATIONS} organisations "
                         "(each plays a part)")
    rng = random.Random(seed)
    opening, _billing = months_for(today or dt.date.today())
    two_back = (opening - dt.timedelta(days=1)).replace(day=1)
    device_id, person_id, ticket_id, entry_id, licence_no = 1000, 30000, 70000, 90000, 0
    names: set[str] = set()
    result: list[SampleOrganisation] = []
    for number in range(1, organisations + 1):
        name = f"{rng.choice(_FIRST)} {rng.choice(_SECOND)}"
        while name in names:
            name = f"{rng.choice(_FIRST)} {rng.choice(_SECOND)} {len(names)}"
        names.add(name)
        org = SampleOrganisation(number=number, name=name)
        short = "".join(w[0] for w in name.split()[:2]).upper() + f"{number:02d}"

        count = rng.randint(3, 12)
        for index in range(count):
            device_id += 1
            node_class = rng.choice(_CLASSES)
            if number == WORKSTATIONS_ONLY_ORG:
                node_class = "WINDOWS_SERVER" if index == 0 else "WINDOWS_WORKSTATION"
            months: tuple[int, ...] = (0, 1)
            if index == count - 1 and number % 3 == 0:
                months = (1,)          # a new device this month
            elif index == 1 and number % 4 == 0:
                months = (0,)          # a device retired this month
            kind = "SRV" if "SERVER" in node_class else "PC"
            org.devices.append(Device(device_id, f"{short}-{kind}{index + 1:02d}", node_class,
                                      months))

        for index in range(rng.randint(2, 8)):
            person_id += 1
            first, last = rng.choice(_PEOPLE), rng.choice(_SURNAMES)
            remote = rng.random() < 0.5
            later = (not remote) if (index == 0 and number % 5 == 0) else remote
            email = f"{first.lower()}.{last.lower()}{index}@{short.lower()}.example"
            org.people.append(Person(person_id, first, last, email, (remote, later)))

        licence_no += 1
        seats = len(org.people) + rng.randint(0, 3)
        moved = seats + (1 if number % 2 == 0 else 0)
        org.licences.append(Licence(licence_no, "M365-BP", (seats, moved),
                                    moved + (TRUE_UP if number == TRUE_UP_ORG else 0)))
        if number == UNBILLED_SKU_ORG:
            licence_no += 1
            org.licences.append(Licence(licence_no, "DEF-EP", (seats, seats), seats))

        # The contract bills no time; the organisation whose time is never billed has some.
        tickets = {CONTRACT_ORG: 0, NO_TICKET_CHARGES_ORG: 2}.get(number, rng.randint(0, 3))
        for t in range(tickets):
            ticket_id += 1
            topic = rng.choice(["Printer", "VPN", "Email", "Laptop", "Wi-Fi"])
            org.tickets.append((ticket_id, f"{topic} issue #{t + 1}"))
            month = two_back if number == NO_TICKET_CHARGES_ORG else opening
            for e in range(rng.randint(1, 3)):
                entry_id += 1
                org.time.append(TimeEntry(entry_id, ticket_id,
                                          month + dt.timedelta(days=rng.randint(1, 20)),
                                          Decimal(rng.randint(1, 8)) / 4,
                                          billable=rng.random() >= 0.2))
        if number % 5 == 0:
            org.card = None
        elif number == DECLINING_ORG:
            org.card = "pm_card_chargeDeclined"
        result.append(org)
    return Sample(result, seed)
