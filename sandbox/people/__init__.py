"""The Google People API (contacts and contact groups), and Google's OAuth: consent pages, the
token endpoint and OpenID's userinfo.

Bodies and masks are checked against the discovery document that google-api-python-client
ships, and the behaviours that break syncs are reproduced: etags that change on every write,
whole batches failed by one bad contact, per-user write quotas, and lists that show writes
only after a propagation delay while `people.getBatchGet` of a known name is immediate.
"""

from __future__ import annotations

from sandbox.people.records import (
    BATCH_ERROR_DETAILS,
    CONTACTS_READONLY_SCOPE,
    CONTACTS_SCOPE,
    GROUP_FIELDS,
    MAX_CONTACTS,
    READABLE_FIELDS,
    SIGN_IN_SCOPES,
    SINGLE_VALUE_FIELDS,
    STATUS_CODES,
    SYNC_TOKEN_LIFETIME,
    SYSTEM_GROUPS,
    UPDATABLE_FIELDS,
    GoogleError,
    GoogleUser,
    StoredGroup,
    StoredPerson,
)
from sandbox.people.schema import DISCOVERY
from sandbox.people.service import PeopleSandbox

__all__ = [
    "BATCH_ERROR_DETAILS",
    "CONTACTS_READONLY_SCOPE",
    "CONTACTS_SCOPE",
    "DISCOVERY",
    "GROUP_FIELDS",
    "MAX_CONTACTS",
    "READABLE_FIELDS",
    "SIGN_IN_SCOPES",
    "SINGLE_VALUE_FIELDS",
    "STATUS_CODES",
    "SYNC_TOKEN_LIFETIME",
    "SYSTEM_GROUPS",
    "UPDATABLE_FIELDS",
    "GoogleError",
    "GoogleUser",
    "PeopleSandbox",
    "StoredGroup",
    "StoredPerson",
]
