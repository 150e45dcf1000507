"""Seeded, reproducible Teamleader data: Belgian, Dutch and French people and companies, with
the awkward cases a sync meets in real CRMs."""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from typing import Any

from sandbox.teamleader import TeamleaderSandbox, iso

FIRST = {
    "BE": ["Lotte", "Wout", "Elise", "Jens", "Amélie", "Séverine", "Maarten", "Noémie", "Pieter-Jan", "Zoë"],
    "NL": ["Daan", "Sanne", "Bram", "Fleur", "Joris", "Maaike", "Sjoerd", "IJsbrand", "Femke", "Ruud"],
    "FR": ["Hélène", "François", "Chloé", "Jérôme", "Anaïs", "Benoît", "Maëlle", "Gaëtan", "Cécile", "Loïc"],
}
LAST = {
    "BE": ["Peeters", "Janssens", "Maes", "Van den Broeck", "Dubois", "Lambert", "De Smet", "Wouters"],
    "NL": ["de Vries", "van Dijk", "Bakker", "Visser", "van 't Hek", "Smit", "Mulder", "de Boer"],
    "FR": ["Lefèvre", "Moreau", "Girard", "Rousseau", "Fontaine", "Chevalier", "Mercier", "Faure"],
}
CITIES = {
    "BE": [("Gent", "9000"), ("Antwerpen", "2000"), ("Liège", "4000"), ("Brussel", "1000")],
    "NL": [("Utrecht", "3511 AB"), ("Amsterdam", "1012 JS"), ("Den Haag", "2511 CV"), ("Groningen", "9711 LM")],
    "FR": [("Lille", "59000"), ("Paris", "75011"), ("Lyon", "69002"), ("Besançon", "25000")],
}
STREETS = {
    "BE": ["Veldstraat", "Meir", "Rue de la Régence", "Kouter"],
    "NL": ["Oudegracht", "Prinsengracht", "Lange Voorhout", "Herestraat"],
    "FR": ["Rue de la Paix", "Boulevard Voltaire", "Quai Saint-Antoine", "Rue Faidherbe"],
}
DIAL = {"BE": "32", "NL": "31", "FR": "33"}
UNUSUAL_NAMES = [
    ("Zoë 🌷", "Ångström"),
    ("مريم", "الحسيني"),
    ("יעל", "כהן"),
    ("Ŝtefan", "Łukasiewicz"),
    ("Nguyễn", "Thị Ánh"),
]
COMPANY_WORDS = ["Bakkerij", "Brouwerij", "Atelier", "Studio", "Ingenieurs", "Conseil", "Logistique", "Tech"]


@dataclass
class Dataset:
    """Contacts (shaped as contacts.info answers) and companies, ready to load."""

    contacts: list[dict[str, Any]] = field(default_factory=list)
    companies: list[dict[str, Any]] = field(default_factory=list)

    def eligible_ids(self) -> set[str]:
        """The contacts Teamleader's own rule would sync: first and last name, and a phone,
        mobile or e-mail. Written out here independently of the product's mapping."""
        return {
            c["id"]
            for c in self.contacts
            if c["status"] == "active"
            and (c.get("first_name") or "").strip()
            and (c.get("last_name") or "").strip()
            and (c.get("emails") or any(t["type"] in ("phone", "mobile") for t in c.get("telephones", [])))
        }


def _phone(rng: random.Random, country: str, mobile: bool) -> str:
    digits = "".join(str(rng.randrange(10)) for _ in range(8))
    lead = {"BE": "47" if mobile else "9", "NL": "6" if mobile else "30", "FR": "6" if mobile else "1"}[country]
    national = lead + digits[: 9 - len(lead)]
    style = rng.randrange(3)
    if style == 0:
        return "0" + national  # local format
    if style == 1:
        return f"+{DIAL[country]} {national[:3]} {national[3:6]} {national[6:]}"
    return f"00{DIAL[country]}{national}"


def generate(
    contacts: int,
    companies: int | None = None,
    *,
    seed: int = 7,
    bulk_import: int = 0,
    start: float = 1_700_000_000.0,
) -> Dataset:
    """Make `contacts` people and `companies` companies (default: one per ten people).

    `bulk_import` contacts share one updated_at, as after an import; the others are spread over
    time after `start`. The same arguments always give the same data.
    """
    rng = random.Random(seed)
    ids = random.Random(seed + 1)
    data = Dataset()
    n_companies = contacts // 10 if companies is None else companies
    for i in range(n_companies):
        country = rng.choice(list(DIAL))
        city, postal = rng.choice(CITIES[country])
        stamp = iso(start + i)
        data.companies.append(
            {
                "id": str(uuid.UUID(int=ids.getrandbits(128), version=4)),
                "name": f"{rng.choice(COMPANY_WORDS)} {rng.choice(LAST[country])} {i}",
                "status": "active",
                "emails": [{"type": "primary", "email": f"info@company{i}.example"}],
                "telephones": [{"type": "phone", "number": _phone(rng, country, False)}],
                "website": f"https://company{i}.example",
                "addresses": [
                    {
                        "type": "primary",
                        "address": {
                            "line_1": f"{rng.choice(STREETS[country])} {rng.randrange(1, 200)}",
                            "postal_code": postal,
                            "city": city,
                            "country": country,
                        },
                    }
                ],
                "tags": [],
                "added_at": stamp,
                "updated_at": stamp,
            }
        )
    bulk_stamp = iso(start + 10 * contacts)
    for i in range(contacts):
        data.contacts.append(
            _contact(rng, ids, i, data.companies, bulk_stamp if i < bulk_import else iso(start + n_companies + i * 7))
        )
    return data


def _contact(
    rng: random.Random, ids: random.Random, i: int, companies: list[dict[str, Any]], stamp: str
) -> dict[str, Any]:
    country = rng.choice(list(DIAL))
    first, last = rng.choice(FIRST[country]), rng.choice(LAST[country])
    roll = rng.random()
    if roll < 0.03:
        first, last = rng.choice(UNUSUAL_NAMES)
    elif roll < 0.06:
        first = ""  # ineligible: no first name
    elif roll < 0.08:
        last = "  "  # ineligible: a last name of spaces
    telephones = []
    if rng.random() < 0.8:
        telephones.append({"type": "mobile", "number": _phone(rng, country, True)})
    if rng.random() < 0.5:
        telephones.append({"type": "phone", "number": _phone(rng, country, False)})
    if rng.random() < 0.1:
        telephones.append({"type": "fax", "number": _phone(rng, country, False)})
    emails = []
    if rng.random() < 0.85:
        local = f"{first or 'x'}.{last or 'y'}".lower().replace(" ", "")
        emails.append({"type": "primary", "email": f"{local}{i}@example.{country.lower()}"})
    if rng.random() < 0.04:  # ineligible: nothing to reach them by (a fax does not count)
        telephones = [t for t in telephones if t["type"] == "fax"]
        emails = []
    city, postal = rng.choice(CITIES[country])
    links = []
    if companies and rng.random() < 0.6:
        for company in rng.sample(companies, min(len(companies), rng.choice([1, 1, 1, 2, 3]))):
            links.append(
                {
                    "position": rng.choice(["CEO", "Zaakvoerder", "Directrice commerciale", "Developer", None]),
                    "secondary_position": None,
                    "division": None,
                    "decision_maker": rng.random() < 0.3,
                    "company": {"type": "company", "id": company["id"]},
                }
            )
    birthdate = None
    if rng.random() < 0.4:
        birthdate = f"{rng.randrange(1950, 2004)}-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}"
    remarks = "Ontmoet op de beurs." if rng.random() < 0.3 else None
    if rng.random() < 0.01:
        remarks = ("Lange notitie — " * 700)[:10_000]
    return {
        "id": str(uuid.UUID(int=ids.getrandbits(128), version=4)),
        "first_name": first,
        "last_name": last,
        "status": "deactivated" if rng.random() < 0.05 else "active",
        "salutation": None,
        "emails": emails,
        "telephones": telephones,
        "website": f"https://{(last or 'site').lower().replace(' ', '')}{i}.example" if rng.random() < 0.2 else None,
        "addresses": [
            {
                "type": "primary",
                "address": {
                    "line_1": f"{rng.choice(STREETS[country])} {rng.randrange(1, 300)}",
                    "postal_code": postal,
                    "city": city,
                    "country": country,
                },
            }
        ]
        if rng.random() < 0.7
        else [],
        "gender": rng.choice(["female", "male", "unknown"]),
        "birthdate": birthdate,
        "language": {"BE": "nl", "NL": "nl", "FR": "fr"}[country],
        "tags": rng.sample(["klant", "prospect", "expo", "vip"], rng.randrange(0, 3)),
        "remarks": remarks,
        "companies": links,
        "marketing_mails_consent": rng.random() < 0.5,
        "added_at": stamp,
        "updated_at": stamp,
    }


def load(sandbox: TeamleaderSandbox, account_id: str, data: Dataset) -> None:
    """Put a dataset into a sandbox account, keeping its timestamps."""
    for company in data.companies:
        sandbox.put_company(account_id, company, touch=False)
    for contact in data.contacts:
        sandbox.put_contact(account_id, contact, touch=False)
