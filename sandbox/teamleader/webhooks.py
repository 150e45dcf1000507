"""Webhooks registered, listed and unregistered through the API; `WebhookSender` delivers them."""

from __future__ import annotations

from typing import Any

from sandbox.teamleader.base import TeamleaderBase
from sandbox.teamleader.model import ApiError, TeamleaderAccount


class Webhooks(TeamleaderBase):
    """The webhooks endpoints."""

    def _webhooks_register(self, account: TeamleaderAccount, body: dict[str, Any]) -> None:
        url = str(body["url"])
        # Teamleader takes HTTPS addresses only; the sandbox also takes this machine's own.
        if not (url.startswith("https://") or url.startswith(("http://127.0.0.1", "http://localhost"))):
            raise ApiError(400, "The url must be a valid HTTPS url")
        self.webhooks.register(account.id, url, body["types"])

    def _webhooks_list(self, account: TeamleaderAccount, body: dict[str, Any]) -> list[Any]:
        return self.webhooks.listed(account.id)

    def _webhooks_unregister(self, account: TeamleaderAccount, body: dict[str, Any]) -> None:
        self.webhooks.unregister(account.id, str(body["url"]), body["types"])
