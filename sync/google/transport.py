"""An httplib2 look-alike over httpx for google-api-python-client, and a google-auth transport.

httplib2 re-sends a request whose connection dropped, POSTs included: for a batch create that
Google already applied, that is a duplicate of every contact in the batch. Through this adapter
a request is sent exactly once; retrying is the caller's decision, made per method.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

import httplib2
import httpx
from google.auth import exceptions as auth_exceptions
from google.auth import transport
from google.auth.credentials import Credentials
from googleapiclient.discovery import build
from googleapiclient.model import JsonModel


class SerializedJsonModel(JsonModel):  # type: ignore[misc]  # googleapiclient has no type hints
    """googleapiclient's JSON model, also taking a body that is JSON already. googleapiclient
    turns every argument of a method into a string, the body too: for a batch of 200 persons, a
    repr of 3 ms thrown away. A body passed as its JSON text goes through untouched."""

    def serialize(self, body_value: Any) -> Any:
        return body_value if isinstance(body_value, str) else super().serialize(body_value)


class _AuthResponse(transport.Response):
    def __init__(self, answer: httpx.Response) -> None:
        self._answer = answer

    @property
    def status(self) -> int:
        return self._answer.status_code

    @property
    def headers(self) -> Mapping[str, str]:
        return self._answer.headers

    @property
    def data(self) -> bytes:
        return self._answer.content


class HttpxAuthRequest(transport.Request):
    """google-auth's transport interface (used to refresh tokens) over an httpx client.
    `hosts` sends what google-auth addresses to a fixed host (a key) to another (its value):
    the sandbox's stand-ins for services whose address google-auth does not let one set."""

    def __init__(self, client: httpx.Client, hosts: Mapping[str, str] | None = None) -> None:
        self._client = client
        self._hosts = dict(hosts or {})

    def __call__(
        self,
        url: str,
        method: str = "GET",
        body: Any = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
        **kwargs: Any,
    ) -> transport.Response:
        for host, instead in self._hosts.items():
            if url.startswith(host + "/"):
                url = instead + url.removeprefix(host)
        try:
            answer = self._client.request(method, url, content=body, headers=dict(headers or {}))
        except httpx.HTTPError as exc:
            raise auth_exceptions.TransportError(str(exc)) from exc
        return _AuthResponse(answer)


class HttpxHttp:
    """What googleapiclient needs of an `httplib2.Http`: `request()` answering
    `(httplib2.Response, bytes)`; authorised with a user's credentials (consented or delegated)."""

    def __init__(self, client: httpx.Client, credentials: Credentials) -> None:
        self._client = client
        self.credentials = credentials
        self._auth_request = HttpxAuthRequest(client)

    def request(
        self,
        uri: str,
        method: str = "GET",
        body: Any = None,
        headers: Mapping[str, str] | None = None,
        redirections: int = 5,
        connection_type: Any = None,
    ) -> tuple[httplib2.Response, bytes]:
        if not self.credentials.valid:
            self.credentials.refresh(self._auth_request)
        answer = self._send(uri, method, body, headers)
        if answer.status_code == 401:
            # A 401 was refused before anything happened, so sending again is safe.
            self.credentials.refresh(self._auth_request)
            answer = self._send(uri, method, body, headers)
        info = {"status": str(answer.status_code), **{k.lower(): v for k, v in answer.headers.items()}}
        response = httplib2.Response(info)
        response.reason = answer.reason_phrase
        return response, answer.content

    def _send(self, uri: str, method: str, body: Any, headers: Mapping[str, str] | None) -> httpx.Response:
        # googleapiclient counts a text body's characters; httpx sets the length of the bytes it
        # sends (a name with an accent is two bytes in UTF-8).
        sent = {name: value for name, value in (headers or {}).items() if name.lower() != "content-length"}
        self.credentials.apply(sent)
        return self._client.request(method, uri, content=body, headers=sent)

    def close(self) -> None:
        self._client.close()


class _Unbound:
    """The http of a service many users share: each request goes out with its user's own
    (`Sender`), never through this one."""

    def request(self, *args: Any, **kwargs: Any) -> tuple[httplib2.Response, bytes]:
        raise RuntimeError("a shared service's request was sent without its user's http")


@functools.cache
def shared_service(name: str, version: str, api_url: str | None) -> Any:
    """One googleapiclient service per API and address for the whole process, from its bundled
    discovery document: building one holds about 3 MiB, so a run's users share it and each
    request is sent with the user's own `HttpxHttp` (`api_url`: the sandbox's address)."""
    return build(
        name,
        version,
        http=_Unbound(),
        model=SerializedJsonModel(),
        static_discovery=True,
        client_options={"api_endpoint": api_url} if api_url else None,
        cache_discovery=False,
    )
