"""Teamleader contact → Google person: eligibility, the mapped fields, and a content hash.

Pure functions only: everything here is decided from the contact's own data.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from functools import lru_cache
from typing import Any

import orjson
import phonenumbers

# The key under which every person the sync creates carries its Teamleader id.
CLIENT_DATA_KEY = "teamleader_id"
# The person fields the sync owns; an update mask never names anything else, so what a person
# keeps in other fields (photos, notes, other groups) is never touched.
MANAGED_FIELDS = (
    "names",
    "emailAddresses",
    "phoneNumbers",
    "addresses",
    "urls",
    "birthdays",
    "organizations",
    "clientData",
)
PHONE_TYPES = {"phone": "work", "mobile": "mobile", "fax": "workFax"}


@dataclass(frozen=True)
class Company:
    """What a Google contact shows of the company its person works for."""

    name: str
    phone: str | None = None
    title: str | None = None  # the person's position there
    region: str | None = None  # the company's country, for its people's numbers without one


@dataclass(frozen=True)
class Mapped:
    """A contact ready for Google: the person body and the hash that detects changes."""

    teamleader_id: str
    person: dict[str, Any]
    content_hash: str


class SkipReason(StrEnum):
    """Why a contact is not copied, as people are shown it."""

    DEACTIVATED = "deactivated in Teamleader"
    OUTSIDE_TAGS = "outside the synced tags"
    NO_FIRST_NAME = "no first name"
    NO_LAST_NAME = "no last name"
    UNREACHABLE = "no phone, mobile or e-mail"
    MALFORMED = "malformed contact data"


@dataclass(frozen=True)
class Ineligible:
    """A contact the sync does not copy, why, and what in particular (the tags, the fault)."""

    teamleader_id: str
    cause: SkipReason
    detail: str = ""

    @property
    def reason(self) -> str:
        """The reason as recorded and shown."""
        return f"{self.cause} ({self.detail})" if self.detail else str(self.cause)


def clean_text(value: Any) -> str:
    """A text field as shown: trimmed, and "" for a missing or non-text value."""
    return value.strip() if isinstance(value, str) else ""


def ineligibility(contact: dict[str, Any], required_tags: frozenset[str] = frozenset()) -> Ineligible | None:
    """Why Teamleader's own integration would skip this contact, or None if it is eligible.

    The rule is Teamleader's: a first name, a last name, and a phone, mobile or e-mail.
    """
    teamleader_id = str(contact["id"])
    if contact.get("status") == "deactivated":
        return Ineligible(teamleader_id, SkipReason.DEACTIVATED)
    # Tags compare without case: older API versions answer them lowercased.
    if required_tags and not {t.casefold() for t in required_tags} <= {
        str(t).casefold() for t in contact.get("tags") or []
    }:
        return Ineligible(teamleader_id, SkipReason.OUTSIDE_TAGS, ", ".join(sorted(required_tags)))
    if not clean_text(contact.get("first_name")):
        return Ineligible(teamleader_id, SkipReason.NO_FIRST_NAME)
    if not clean_text(contact.get("last_name")):
        return Ineligible(teamleader_id, SkipReason.NO_LAST_NAME)
    has_email = any(clean_text(e.get("email")) for e in contact.get("emails") or [])
    has_phone = any(
        t.get("type") in ("phone", "mobile") and clean_text(t.get("number")) for t in contact.get("telephones") or []
    )
    if not (has_email or has_phone):
        return Ineligible(teamleader_id, SkipReason.UNREACHABLE)
    return None


# A company's number is formatted for each of its people, in every run and scope: remembered.
@lru_cache(maxsize=4096)
def format_phone(number: str, region: str | None) -> str:
    """The number in international format when it is a valid number of `region` (or carries
    its own country code), else exactly as typed: a number is never given a country it may
    not have (Google computes its own canonical form of what it is sent)."""
    try:
        parsed = phonenumbers.parse(number, region)
    except phonenumbers.NumberParseException:
        return number.strip()
    if not phonenumbers.is_valid_number(parsed):
        return number.strip()
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def _birthday(value: Any) -> dict[str, Any] | None:
    try:
        parsed = date.fromisoformat(str(value))
    except ValueError:
        return None
    return {"date": {"year": parsed.year, "month": parsed.month, "day": parsed.day}}


def _address(contact: dict[str, Any]) -> dict[str, Any] | None:
    address = contact.get("primary_address")
    if address is None:
        address = next((a.get("address") for a in contact.get("addresses") or [] if a.get("type") == "primary"), None)
    if not address:
        return None
    out = {
        "streetAddress": clean_text(address.get("line_1")),
        "postalCode": clean_text(address.get("postal_code")),
        "city": clean_text(address.get("city")),
        "countryCode": clean_text(address.get("country")).upper(),
        "type": "work",
    }
    out = {k: v for k, v in out.items() if v}
    return out if set(out) - {"type"} else None


def region_of(record: dict[str, Any]) -> str | None:
    """The country of a contact or company, as an ISO code, from its primary address."""
    return _region(_address(record))


def _region(address: dict[str, Any] | None) -> str | None:
    code = (address or {}).get("countryCode")
    return code if isinstance(code, str) and len(code) == 2 else None


def to_person(
    contact: dict[str, Any], companies: tuple[Company, ...] = (), default_region: str | None = None
) -> dict[str, Any]:
    """The Google person for an eligible contact (only the managed fields). Its numbers are
    read in the country of its address, else of its company, else the account's default."""
    address = _address(contact)
    region = _region(address) or next((c.region for c in companies if c.region), None) or default_region
    person: dict[str, Any] = {
        "names": [{"givenName": clean_text(contact["first_name"]), "familyName": clean_text(contact["last_name"])}],
        "clientData": [{"key": CLIENT_DATA_KEY, "value": contact["id"]}],
    }
    emails = [clean_text(e.get("email")) for e in contact.get("emails") or []]
    if emails := [e for e in emails if e]:
        person["emailAddresses"] = [{"value": e, "type": "work"} for e in emails]
    phones = [
        {"value": format_phone(clean_text(t["number"]), region), "type": PHONE_TYPES[t["type"]]}
        for t in contact.get("telephones") or []
        if t.get("type") in PHONE_TYPES and clean_text(t.get("number"))
    ]
    # Labelled with the company's name: with two employers, "main" would not say whose it is.
    phones += [{"value": c.phone, "type": c.name} for c in companies if c.phone]
    if phones:
        person["phoneNumbers"] = phones
    if address:
        person["addresses"] = [address]
    urls = []
    if website := clean_text(contact.get("website")):
        urls.append({"value": website, "type": "homePage"})
    if web_url := clean_text(contact.get("web_url")):
        urls.append({"value": web_url, "type": "Teamleader"})
    if urls:
        person["urls"] = urls
    if birthday := _birthday(contact.get("birthdate")):
        person["birthdays"] = [birthday]
    if companies:
        person["organizations"] = [
            {"name": c.name, "type": "work", **({"title": c.title} if c.title else {})} for c in companies
        ]
    return person


def content_hash(person: dict[str, Any]) -> str:
    """A stable digest of the managed fields: equal persons, equal hashes, whatever key order.
    Digested: the canonical JSON (keys sorted, no spaces, UTF-8), byte for byte what
    `json.dumps(sort_keys=True, ensure_ascii=False, separators=(",", ":"))` writes, so that
    the hashes stored before orjson (six times faster here) still match. Text that is not
    Unicode (a lone surrogate) raises TypeError."""
    return hashlib.sha256(orjson.dumps(person, option=orjson.OPT_SORT_KEYS)).hexdigest()[:32]


def map_contact(
    contact: dict[str, Any],
    companies: tuple[Company, ...] = (),
    required_tags: frozenset[str] = frozenset(),
    default_region: str | None = None,
) -> Mapped | Ineligible:
    """Decide and map one contact: a `Mapped` person, or the reason it is not synced.

    A contact whose fields are not of the documented shapes is skipped with that reason
    rather than stopping the run."""
    try:
        skipped = ineligibility(contact, required_tags)
        if skipped is not None:
            return skipped
        person = to_person(contact, companies, default_region)
        digest = content_hash(person)  # raises on text that is not Unicode, as Google would refuse it
    except (AttributeError, KeyError, TypeError, ValueError) as exc:
        return Ineligible(str(contact.get("id")), SkipReason.MALFORMED, type(exc).__name__)
    return Mapped(contact["id"], person, digest)
