"""The Teamleader Focus API, as much of it as the sync relies on.

Faithful where the real API is unkind: no total counts, page sizes silently capped at 100,
single-use rotating refresh tokens, a sliding-minute rate limit per account, and
`contacts.list` that never says which company a contact works for.
"""

from __future__ import annotations

from sandbox.teamleader.companies import COMPANY_INFO_EXTRA, COMPANY_LIST_FIELDS
from sandbox.teamleader.contacts import CONTACT_INFO_EXTRA, CONTACT_LIST_FIELDS
from sandbox.teamleader.model import (
    API_VERSION,
    ENDPOINT_SCOPE,
    LINK_TOUCHES,
    MAX_IDS,
    PAGE_CAP,
    SPEC_PATH,
    ApiError,
    TeamleaderAccount,
    TeamleaderTeam,
    TeamleaderUser,
    iso,
    parse_iso,
)
from sandbox.teamleader.service import TeamleaderSandbox

__all__ = [
    "API_VERSION",
    "COMPANY_INFO_EXTRA",
    "COMPANY_LIST_FIELDS",
    "CONTACT_INFO_EXTRA",
    "CONTACT_LIST_FIELDS",
    "ENDPOINT_SCOPE",
    "LINK_TOUCHES",
    "MAX_IDS",
    "PAGE_CAP",
    "SPEC_PATH",
    "ApiError",
    "TeamleaderAccount",
    "TeamleaderSandbox",
    "TeamleaderTeam",
    "TeamleaderUser",
    "iso",
    "parse_iso",
]
