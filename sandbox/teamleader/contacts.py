"""Contacts, their tags and their links to companies: stored, edited and deleted by hand,
listed, read and linked through the API."""

from __future__ import annotations

from typing import Any

from sandbox.teamleader.base import _primary_address, _slice
from sandbox.teamleader.companies import Companies
from sandbox.teamleader.model import LINK_TOUCHES, ApiError, TeamleaderAccount, iso, parse_iso

# The fields each endpoint shows; anything else in a stored record is internal or info-only.
CONTACT_LIST_FIELDS = [
    "id",
    "first_name",
    "last_name",
    "status",
    "salutation",
    "emails",
    "telephones",
    "website",
    "primary_address",
    "gender",
    "birthdate",
    "iban",
    "bic",
    "national_identification_number",
    "language",
    "payment_term",
    "invoicing_preferences",
    "tags",
    "added_at",
    "updated_at",
    "web_url",
    "marketing_mails_consent",
]
CONTACT_INFO_EXTRA = ["vat_number", "remarks", "custom_fields", "addresses", "companies"]


class Contacts(Companies):
    """The contacts and tags endpoints, and contacts stored, edited, linked or deleted for
    tests, the generator and the demo. A link can move a company's updated_at, so this room
    builds on the companies one."""

    # ---- set-up and inspection ----

    def put_contact(self, account_id: str, contact: dict[str, Any], *, touch: bool = True) -> None:
        """Store a contact (info-shaped); `touch` stamps updated_at with the sandbox's now."""
        with self._lock:
            record = dict(contact)
            if touch or "updated_at" not in record:
                record["updated_at"] = iso(self.clock.now())
            record.setdefault("added_at", record["updated_at"])
            record["_updated"] = parse_iso(record["updated_at"])
            account = self.accounts[account_id]
            known = account.contacts.pop(record["id"], None)  # an edit moves it to the end of ties
            account.contacts[record["id"]] = record
            account.contacts_changed()
            account.tags.update(record.get("tags", []))
            self.webhooks.emit(account_id, "contact.updated" if known else "contact.added", record["id"])

    def edit_contact(self, account_id: str, contact_id: str, **changes: Any) -> dict[str, Any]:
        """Change fields of a contact as a Teamleader user would; updated_at moves to now."""
        with self._lock:
            record = {k: v for k, v in self.accounts[account_id].contacts[contact_id].items()}
            record.update(changes)
            self.put_contact(account_id, record)
            return record

    def link(
        self,
        account_id: str,
        contact_id: str,
        company_id: str,
        *,
        position: str | None = None,
        decision_maker: bool = False,
        linked: bool = True,
    ) -> None:
        """Link a contact to a company, change its link (position), or unlink it (`linked`
        False), as contacts.linkToCompany, updateCompanyLink and unlinkFromCompany do; which
        updated_at moves is the `link_touches` switch's."""
        if self.link_touches not in LINK_TOUCHES:
            raise ValueError(f"unknown link_touches {self.link_touches!r}")
        with self._lock:
            account = self.accounts[account_id]
            contact, company = account.contacts.get(contact_id), account.companies.get(company_id)
            if contact is None or company is None:
                raise ApiError(self.missing_status, "The request references non-existing resources")
            links = [link for link in contact.get("companies", []) if link["company"]["id"] != company_id]
            if linked:
                link = {"company": {"type": "company", "id": company_id}, "position": position}
                links.append({**link, "decision_maker": decision_maker})
            record = {**contact, "companies": links}
            self.put_contact(account_id, record, touch=self.link_touches == "contact")
            event = "contact.linkedToCompany" if linked else "contact.unlinkedFromCompany"
            self.webhooks.emit(account_id, event, contact_id)
            if self.link_touches == "company":
                self.put_company(account_id, company)

    def bulk_import(self, account_id: str, contacts: list[dict[str, Any]]) -> None:
        """Import contacts as Teamleader's import does: all in the same second, each one a
        `contact.added` event."""
        with self._lock:
            stamp = iso(self.clock.now())
            for contact in contacts:
                self.put_contact(account_id, {**contact, "updated_at": stamp, "added_at": stamp}, touch=False)

    def delete_contact(self, account_id: str, contact_id: str) -> None:
        with self._lock:
            del self.accounts[account_id].contacts[contact_id]
            self.accounts[account_id].contacts_changed()
            self.webhooks.emit(account_id, "contact.deleted", contact_id)

    # ---- endpoints ----

    def _contacts_list(self, account: TeamleaderAccount, body: dict[str, Any]) -> list[Any]:
        flt = body.get("filter", {})
        records = list(account.contacts.values())
        if "status" not in flt and not self.list_includes_deactivated:
            records = [r for r in records if r.get("status") == "active"]
        if "company_id" in flt:
            records = [
                r for r in records if any(link["company"]["id"] == flt["company_id"] for link in r.get("companies", []))
            ]
        if "email" in flt:
            wanted = flt["email"]["email"].lower()
            records = [r for r in records if any(e["email"].lower() == wanted for e in r.get("emails", []))]
        if "term" in flt:
            term = flt["term"].lower()
            records = [r for r in records if term in _contact_haystack(r)]
        records = self._common_filters(records, flt, account.contacts)
        page = self._sort_and_page(records, body)
        with_custom = "custom_fields" in (body.get("includes") or "").split(",")
        return [_contact_view(r, info=False, custom_fields=with_custom) for r in page]

    def _contacts_info(self, account: TeamleaderAccount, body: dict[str, Any]) -> dict[str, Any]:
        record = account.contacts.get(body["id"])
        if record is None:
            raise ApiError(404, f"Contact {body['id']} not found")
        return _contact_view(record, info=True, custom_fields=True)

    def _contacts_linkToCompany(self, account: TeamleaderAccount, body: dict[str, Any]) -> None:  # noqa: N802
        self._link_from_api(account, body, linked=True)

    def _contacts_updateCompanyLink(self, account: TeamleaderAccount, body: dict[str, Any]) -> None:  # noqa: N802
        self._link_from_api(account, body, linked=True)

    def _contacts_unlinkFromCompany(self, account: TeamleaderAccount, body: dict[str, Any]) -> None:  # noqa: N802
        self._link_from_api(account, body, linked=False)

    def _link_from_api(self, account: TeamleaderAccount, body: dict[str, Any], *, linked: bool) -> None:
        position, decision_maker = body.get("position"), bool(body.get("decision_maker"))
        self.link(
            account.id, body["id"], body["company_id"], position=position, decision_maker=decision_maker, linked=linked
        )

    def _tags_list(self, account: TeamleaderAccount, body: dict[str, Any]) -> list[Any]:
        tags = sorted(account.tags)
        return [{"tag": t} for t in _slice(tags, body.get("page", {}), self.page_cap)]


def _contact_haystack(record: dict[str, Any]) -> str:
    parts = [record.get("first_name") or "", record.get("last_name") or ""]
    parts += [e["email"] for e in record.get("emails", [])]
    parts += [t["number"] for t in record.get("telephones", [])]
    return " ".join(parts).lower()


def _contact_view(record: dict[str, Any], *, info: bool, custom_fields: bool) -> dict[str, Any]:
    view = {k: record.get(k) for k in CONTACT_LIST_FIELDS}
    view["emails"] = record.get("emails", [])
    view["telephones"] = record.get("telephones", [])
    view["tags"] = record.get("tags", [])
    view["web_url"] = f"https://focus.teamleader.eu/contact_detail.php?id={record['id']}"
    if info:
        for key in CONTACT_INFO_EXTRA:
            view[key] = record.get(key)
        view["addresses"] = record.get("addresses", [])
        view["companies"] = record.get("companies", [])
        view["custom_fields"] = record.get("custom_fields", [])
        del view["primary_address"]
    else:
        view["primary_address"] = _primary_address(record)
        if custom_fields:
            view["custom_fields"] = record.get("custom_fields", [])
    return view
