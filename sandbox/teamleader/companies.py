"""Companies: stored and deleted by hand, listed and read through the API."""

from __future__ import annotations

from typing import Any

from sandbox.teamleader.base import TeamleaderBase, _primary_address
from sandbox.teamleader.model import ApiError, TeamleaderAccount, iso, parse_iso

# The fields each endpoint shows; anything else in a stored record is internal or info-only.
COMPANY_LIST_FIELDS = [
    "id",
    "name",
    "status",
    "business_type",
    "vat_number",
    "national_identification_number",
    "emails",
    "telephones",
    "website",
    "primary_address",
    "language",
    "tags",
    "added_at",
    "updated_at",
    "web_url",
    "marketing_mails_consent",
]
COMPANY_INFO_EXTRA = ["addresses", "remarks", "custom_fields"]


class Companies(TeamleaderBase):
    """The companies endpoints, and companies stored or deleted for tests, the generator and
    the demo."""

    # ---- set-up and inspection ----

    def delete_company(self, account_id: str, company_id: str) -> None:
        """Delete a company as Teamleader does: its people stay, their links to it go."""
        with self._lock:
            account = self.accounts[account_id]
            del account.companies[company_id]
            for contact in account.contacts.values():
                contact["companies"] = [c for c in contact.get("companies", []) if c["company"]["id"] != company_id]
            account.contacts_changed()
            self.webhooks.emit(account_id, "company.deleted", company_id)

    def put_company(self, account_id: str, company: dict[str, Any], *, touch: bool = True) -> None:
        with self._lock:
            record = dict(company)
            if touch or "updated_at" not in record:
                record["updated_at"] = iso(self.clock.now())
            record.setdefault("added_at", record["updated_at"])
            record["_updated"] = parse_iso(record["updated_at"])
            account = self.accounts[account_id]
            known = account.companies.pop(record["id"], None)
            account.companies[record["id"]] = record
            self.webhooks.emit(account_id, "company.updated" if known else "company.added", record["id"])

    # ---- endpoints ----

    def _companies_list(self, account: TeamleaderAccount, body: dict[str, Any]) -> list[Any]:
        flt = body.get("filter", {})
        records = list(account.companies.values())
        if "status" not in flt and not self.list_includes_deactivated:
            records = [r for r in records if r.get("status") == "active"]
        if "term" in flt:
            term = flt["term"].lower()
            records = [r for r in records if term in r.get("name", "").lower()]
        if "vat_number" in flt:
            records = [r for r in records if r.get("vat_number") == flt["vat_number"]]
        records = self._common_filters(records, flt, account.companies)
        return [_company_view(r, info=False) for r in self._sort_and_page(records, body)]

    def _companies_info(self, account: TeamleaderAccount, body: dict[str, Any]) -> dict[str, Any]:
        record = account.companies.get(body["id"])
        if record is None:
            raise ApiError(self.missing_status, f"Company {body['id']} not found")
        if (status := self.unreadable_companies.get(body["id"])) is not None:
            raise ApiError(status, f"Company {body['id']} could not be read")
        view = _company_view(record, info=True)
        includes = (body.get("includes") or "").split(",")
        if "related_contacts" in includes:
            view["related_contacts"] = [
                {
                    "type": "contact",
                    "id": contact_id,
                    "position": link.get("position"),
                    "secondary_position": link.get("secondary_position"),
                    "division": link.get("division"),
                    "is_decision_maker": link.get("decision_maker", False),
                }
                for contact_id, link in account.employees(record["id"])
            ]
        if "related_companies" in includes:
            view["related_companies"] = []
        return view


def _company_view(record: dict[str, Any], *, info: bool) -> dict[str, Any]:
    view = {k: record.get(k) for k in COMPANY_LIST_FIELDS}
    view["emails"] = record.get("emails", [])
    view["telephones"] = record.get("telephones", [])
    view["tags"] = record.get("tags", [])
    view["web_url"] = f"https://focus.teamleader.eu/company_detail.php?id={record['id']}"
    if info:
        for key in COMPANY_INFO_EXTRA:
            view[key] = record.get(key)
        view["addresses"] = record.get("addresses", [])
        del view["primary_address"]
    else:
        view["primary_address"] = _primary_address(record)
    return view
