"""The people the consent pages are clicked through with: two Teamleader accounts, the first
with users in teams and one of them deactivated, and Google accounts for most of them.

Seeded by `python -m sandbox page` and by the tests of the pages; the ids are fixed so that a
test can name a person."""

from __future__ import annotations

from dataclasses import dataclass

from sandbox.datagen import Dataset, load
from sandbox.stack import SandboxStack


@dataclass(frozen=True)
class Member:
    """One person of the cast: their Teamleader user, and their Google account if they have one."""

    account: str
    user_id: str
    first_name: str
    last_name: str
    email: str
    teams: tuple[str, ...]
    function: str
    status: str = "active"
    google: str | None = None

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}"


# In order: the first of each account is its admin (who installed the integration).
CAST = (
    Member(
        "acme", "u-ada", "Ada", "Peeters", "ada@acme.example", ("Management",), "Director", google="ada@acme.example"
    ),
    Member("acme", "u-bram", "Bram", "Janssens", "bram@acme.example", ("Sales",), "Sales", google="bram@acme.example"),
    Member(
        "acme",
        "u-chloe",
        "Chloé",
        "Dubois",
        "chloe@acme.example",
        ("Sales", "Support"),
        "Sales",
        google="chloe@gmail.example",
    ),
    Member("acme", "u-dirk", "Dirk", "Maes", "dirk@acme.example", ("Support",), "Support", status="deactivated"),
    Member("globex", "u-eva", "Eva", "Smit", "eva@globex.example", ("Sales",), "Owner", google="eva@globex.example"),
)
ACCOUNTS = ("acme", "globex")
# Who leads which team, by user id.
TEAM_LEADS = {("acme", "Sales"): "u-bram", ("acme", "Support"): "u-dirk"}


def member(user_id: str) -> Member:
    """The cast member with this Teamleader user id."""
    return next(m for m in CAST if m.user_id == user_id)


def seed_cast(stack: SandboxStack, data: dict[str, Dataset] | None = None) -> None:
    """Both accounts with their users and teams (`data` gives an account its contacts), and
    the Google accounts, each with an empty address book."""
    teamleader, people = stack.teamleader, stack.people
    for account in ACCOUNTS:
        teamleader.add_account(account)
        if data and account in data:
            load(teamleader, account, data[account])
    for (account, team), lead in TEAM_LEADS.items():
        teamleader.add_team(account, team, lead=lead)
    for m in CAST:
        teamleader.add_user(
            m.account,
            m.first_name,
            m.last_name,
            m.email,
            user_id=m.user_id,
            status=m.status,
            teams=m.teams,
            function=m.function,
        )
        if m.google is not None:
            people.add_user(m.google, m.name)
