"""The page's records: a person's sign-in (a session behind a random id, with the OAuth
flow it has under way) and an account's rules of who may turn the sync on."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

# all: every user of the account; teams: members of `teams`; people: the Teamleader user ids in `people`.
WhoMay = Literal["all", "teams", "people"]


@dataclass
class Session:
    """A signed-in person: known by a random id (the cookie holds nothing else), the
    Teamleader user and account they are, until `expires` (epoch seconds). `flow` is the OAuth
    flow under way (its single-use `state`, PKCE `verifier`, and kind), bound to this session."""

    session_id: str
    expires: float
    user_id: str = ""
    account_id: str = ""
    name: str = ""
    teams: list[str] = field(default_factory=list)
    csrf: str = ""
    flow: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Session:
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in data.items() if k in known})


@dataclass
class PageRules:
    """An account's rules, set by its admins: who may turn it on, and which Google domains
    may receive the CRM (empty: any)."""

    account_id: str
    admins: list[str] = field(default_factory=list)
    who: WhoMay = "all"
    teams: list[str] = field(default_factory=list)
    people: list[str] = field(default_factory=list)
    domains: list[str] = field(default_factory=list)
    # Teamleader user id → the destination's name: whose destination is whose.
    owners: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PageRules:
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in data.items() if k in known})


class PageStore(Protocol):
    """Sessions and page rules; both state adapters have it."""

    def session(self, session_id: str, now: float) -> Session | None:
        """The session with this id unless it expired (an expired one is dropped)."""
        ...

    def put_session(self, session: Session) -> None: ...

    def drop_session(self, session_id: str) -> None: ...

    def page_rules(self, account_id: str) -> PageRules | None: ...

    def put_page_rules(self, rules: PageRules) -> None: ...
