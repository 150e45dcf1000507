"""Contact groups: listed, created, read, deleted, and their members changed."""

from __future__ import annotations

import secrets
from typing import Any

from sandbox.httpserver import Request, Response
from sandbox.people.base import PeopleBase
from sandbox.people.records import (
    GROUP_FIELDS,
    SYSTEM_GROUPS,
    GoogleError,
    GoogleUser,
    StoredGroup,
    _etag,
    _group_names,
    _membership,
    _membership_group,
)
from sandbox.people.schema import _mask


class ContactGroups(PeopleBase):
    """The contactGroups endpoints, and a group found or deleted by hand."""

    # ---- set-up and inspection ----

    def group_by_name(self, user_id: str, name: str) -> StoredGroup | None:
        for group in self.users[user_id].groups.values():
            if group.name == name and group.deleted_at is None:
                return group
        return None

    def delete_group_by_hand(self, user_id: str, name: str) -> None:
        """A person deletes the group (keeping its contacts, as Contacts' default does)."""
        with self._lock:
            group = self.group_by_name(user_id, name)
            if group is None:
                raise KeyError(name)
            now = self.clock.now()
            group.deleted_at = now
            for person in self.users[user_id].people.values():
                if group.resource_name in _group_names(person.fields):
                    person.fields["memberships"] = [
                        m for m in person.fields["memberships"] if _membership_group(m) != group.resource_name
                    ] or [_membership("contactGroups/myContacts")]
                    self._touch(person, now)

    # ---- groups ----

    def _group_view(self, user: GoogleUser, group: StoredGroup, fields: list[str], max_members: int) -> dict[str, Any]:
        view: dict[str, Any] = {"resourceName": group.resource_name, "etag": group.etag}
        members = [
            p.resource_name
            for p in user.people.values()
            if self._visible(p) and p.deleted_at is None and group.resource_name in _group_names(p.fields)
        ]
        if "name" in fields:
            view["name"] = view["formattedName"] = group.name
        if "groupType" in fields:
            view["groupType"] = "USER_CONTACT_GROUP"
        if "memberCount" in fields:
            view["memberCount"] = len(members)
        if "clientData" in fields and group.client_data:
            view["clientData"] = group.client_data
        if "metadata" in fields:
            view["metadata"] = {"updateTime": "2026-01-01T00:00:00Z"}
            if group.deleted_at is not None:
                view["metadata"]["deleted"] = True
        if max_members and members:  # Google leaves the field out when it would be empty
            view["memberResourceNames"] = members[:max_members]
        return view

    def _groups_list(self, user: GoogleUser, request: Request) -> Response:
        fields = _mask(request.arg("groupFields"), GROUP_FIELDS, "groupFields", required=False) or [
            "metadata",
            "groupType",
            "memberCount",
            "name",
        ]
        size = int(request.arg("pageSize") or 30)
        if not 1 <= size <= 1000:
            raise GoogleError("INVALID_ARGUMENT", "pageSize must be between 1 and 1000.")
        views = [
            {"resourceName": f"contactGroups/{g}", "groupType": "SYSTEM_CONTACT_GROUP", "name": g, "formattedName": g}
            for g in SYSTEM_GROUPS[:2]
        ]
        views += [self._group_view(user, g, fields, 0) for g in user.groups.values() if g.deleted_at is None]
        offset = int(request.arg("pageToken") or 0)
        answer: dict[str, Any] = {"contactGroups": views[offset : offset + size], "totalItems": len(views)}
        if offset + size < len(views):
            answer["nextPageToken"] = str(offset + size)
        return Response(200, answer)

    def _groups_create(self, user: GoogleUser, request: Request) -> Response:
        body = request.json()
        self._schema.check("CreateContactGroupRequest", body, "")
        group_in = body.get("contactGroup") or {}
        name = (group_in.get("name") or "").strip()
        if not name:
            raise GoogleError("INVALID_ARGUMENT", "contactGroup.name is required.")
        self._take_write_slot(user)
        taken = any(g.name == name and g.deleted_at is None for g in user.groups.values())
        if taken or name in SYSTEM_GROUPS:
            raise GoogleError("ALREADY_EXISTS", "Contact group name already exists.")
        group = StoredGroup(
            "contactGroups/" + secrets.token_hex(6), name, group_in.get("clientData", []), _etag(), self.clock.now()
        )
        user.groups[group.resource_name] = group
        fields = _mask(body.get("readGroupFields"), GROUP_FIELDS, "readGroupFields", required=False) or [
            "name",
            "groupType",
            "metadata",
        ]
        return Response(200, self._group_view(user, group, fields, 0), wrote=True)

    def _user_group(self, user: GoogleUser, resource_name: str) -> StoredGroup:
        group = user.groups.get(resource_name)
        if group is None or group.deleted_at is not None:
            raise GoogleError("NOT_FOUND", "Requested entity was not found.")
        return group

    def _groups_get(self, user: GoogleUser, request: Request, resource_name: str) -> Response:
        group = self._user_group(user, resource_name)
        fields = _mask(request.arg("groupFields"), GROUP_FIELDS, "groupFields", required=False) or [
            "metadata",
            "groupType",
            "memberCount",
            "name",
        ]
        max_members = int(request.arg("maxMembers") or 0)
        return Response(200, self._group_view(user, group, fields, max_members))

    def _groups_delete(self, user: GoogleUser, request: Request, resource_name: str) -> Response:
        group = self._user_group(user, resource_name)
        self._take_write_slot(user)
        self.delete_group_by_hand(user.id, group.name)
        if request.arg("deleteContacts") == "true":
            now = self.clock.now()
            for person in user.people.values():
                if person.deleted_at is None and resource_name in _group_names(person.fields):
                    person.deleted_at = person.changed_at = now
        return Response(200, {}, wrote=True)

    def _members_modify(self, user: GoogleUser, request: Request, resource_name: str) -> Response:
        body = request.json()
        self._schema.check("ModifyContactGroupMembersRequest", body, "")
        group = self._user_group(user, resource_name)
        add, remove = body.get("resourceNamesToAdd", []), body.get("resourceNamesToRemove", [])
        if len(add) + len(remove) > 1000:
            raise GoogleError("INVALID_ARGUMENT", "At most 1000 resource names per call.")
        self._take_write_slot(user)
        not_found: list[str] = []
        last_group: list[str] = []
        now = self.clock.now()
        for name in add:
            person = self._live(user, name)
            if person is None:
                not_found.append(name)
            elif group.resource_name not in _group_names(person.fields):
                person.fields.setdefault("memberships", []).append(_membership(group.resource_name))
                self._touch(person, now)
        for name in remove:
            person = self._live(user, name)
            if person is None:
                not_found.append(name)
                continue
            kept = [m for m in person.fields.get("memberships", []) if _membership_group(m) != group.resource_name]
            if not kept:
                last_group.append(name)
            elif len(kept) != len(person.fields.get("memberships", [])):
                person.fields["memberships"] = kept
                self._touch(person, now)
        answer: dict[str, Any] = {}
        if not_found:
            answer["notFoundResourceNames"] = not_found
        if last_group:
            answer["canNotRemoveLastContactGroupResourceNames"] = last_group
        return Response(200, answer, wrote=True)
