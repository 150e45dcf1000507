"""The Admin SDK Directory's `members.list` (google-api-python-client, static discovery): a
group's members a page at a time, read as the Workspace admin the delegation impersonates."""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx
from google.auth.credentials import Credentials

from sync.google.calls import Sender
from sync.google.transport import HttpxHttp, shared_service
from sync.recipients import Member

# The most members one page holds.
MEMBERS_PAGE = 200


class DirectoryClient:
    """A Workspace's groups, as one of its admins sees them."""

    def __init__(
        self,
        http: httpx.Client,
        credentials: Credentials,
        *,
        api_url: str | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._members = shared_service("admin", "directory_v1", api_url).members()
        self._execute = Sender(sleep, http=HttpxHttp(http, credentials))

    def members(self, group: str) -> list[Member]:
        """Every direct member of `group` (nested groups are members of type GROUP)."""
        found: list[Member] = []
        token = None
        while True:
            page = self._execute(self._members.list(groupKey=group, maxResults=MEMBERS_PAGE, pageToken=token))
            found += [
                Member(str(m.get("email", "")), str(m.get("type", "")), str(m.get("status", "ACTIVE")))
                for m in page.get("members", [])
            ]
            token = page.get("nextPageToken")
            if not token:
                return found
