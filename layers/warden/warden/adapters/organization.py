r"""The organization's accounts and OU paths from AWS Organizations, read by the central account, cached a while.

Implements :class:`~warden.ports.Organization`. ``ListAccounts`` gives every account and its status; an account's
OU path is built by walking ``ListParents`` up to the root, naming each OU with ``DescribeOrganizationalUnit``. An OU
name may hold any character: a ``/`` or ``\`` in one is escaped in the path (:func:`warden.policy.join_ou_path`), so
an OU renamed ``Production/Web`` never has the path of ``Web`` inside ``Production``.
Everything read is kept for 15 minutes by the warden's clock: an OU path is asked of AWS once per account per
quarter hour, not once per event.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from warden.adapters.aws import error_code
from warden.errors import OrganizationUnreadable
from warden.observability import count, logger
from warden.policy import join_ou_path
from warden.ports import Clock
from warden.records import OrgAccount

MAX_AGE = timedelta(minutes=15)
# When Organizations cannot be read, what was read last is used for at most this long past MAX_AGE (each failed
# refresh is tried again a minute later): a throttled Organizations API never stops enforcement at once.
STALE_FOR = timedelta(hours=1)
_RETRY_AFTER = timedelta(minutes=1)
# Organizations nests OUs at most five deep under the root; a longer walk is a loop in what was read.
_MAX_DEPTH = 8


@dataclass
class _Generation:
    """What was read since *read_at*: the account list, and parents and OU names as they were asked for."""

    read_at: datetime
    accounts: dict[str, tuple[str, str]]  # id -> (name, status)
    parents: dict[str, tuple[str, str]] = field(default_factory=dict)  # child id -> (parent id, parent type)
    names: dict[str, str] = field(default_factory=dict)  # OU id -> name
    paths: dict[str, str] = field(default_factory=dict)  # account id -> OU path
    retry_at: datetime | None = None  # a refresh failed: kept in use, and not read again before this


class OrgDirectory:
    """The organization as the central account reads it (``organizations:ListAccounts``, ``ListParents``,
    ``DescribeOrganizationalUnit``); failures raise :class:`~warden.errors.OrganizationUnreadable`."""

    def __init__(
        self, organizations: Any, clock: Clock, *, max_age: timedelta = MAX_AGE, stale_for: timedelta = STALE_FOR
    ) -> None:
        self._api = organizations
        self._clock = clock
        self._max_age = max_age
        self._stale_for = stale_for
        self._current: _Generation | None = None

    def accounts(self) -> list[OrgAccount]:
        generation = self._generation()
        return [
            OrgAccount(id=account_id, name=name, status=status, ou_path=self._path(generation, account_id))
            for account_id, (name, status) in sorted(generation.accounts.items())
        ]

    def account(self, account_id: str) -> OrgAccount | None:
        generation = self._generation()
        found = generation.accounts.get(account_id)
        if found is None:
            return None
        name, status = found
        return OrgAccount(id=account_id, name=name, status=status, ou_path=self._path(generation, account_id))

    def path_of(self, account_id: str) -> str | None:
        generation = self._generation()
        if account_id not in generation.accounts:
            return None
        return self._path(generation, account_id)

    # ------------------------------------------------------------ plumbing
    def _generation(self) -> _Generation:
        now = self._clock.now()
        current = self._current
        if current is not None and (
            now - current.read_at < self._max_age or (current.retry_at is not None and now < current.retry_at)
        ):
            return current
        try:
            fresh = _Generation(read_at=now, accounts=self._list_accounts())
        except OrganizationUnreadable as error:
            if current is None or now - current.read_at >= self._max_age + self._stale_for:
                raise
            count("OrganizationStale")
            logger.warning(
                "AWS Organizations could not be read; using the accounts read before",
                extra={"read_at": current.read_at.isoformat(), "problem": str(error)},
            )
            current.retry_at = now + _RETRY_AFTER  # the next try in a minute, not on each call
            return current
        self._current = fresh
        return fresh

    def _list_accounts(self) -> dict[str, tuple[str, str]]:
        found: dict[str, tuple[str, str]] = {}
        request: dict[str, Any] = {}
        while True:
            page = _call("ListAccounts", self._api.list_accounts, **request)
            for account in page.get("Accounts", []):
                status = str(account.get("Status") or account.get("State") or "UNKNOWN")
                found[str(account["Id"])] = (str(account.get("Name", "")), status)
            if not page.get("NextToken"):
                return found
            request = {"NextToken": page["NextToken"]}

    def _path(self, generation: _Generation, account_id: str) -> str:
        known = generation.paths.get(account_id)
        if known is not None:
            return known
        names: list[str] = []
        parent_id, parent_type = self._parent(generation, account_id)
        while parent_type == "ORGANIZATIONAL_UNIT":
            if len(names) >= _MAX_DEPTH:
                raise OrganizationUnreadable(
                    "ListParents", ValueError(f"the OUs above account {account_id} do not end at the root"), code=None
                )
            names.append(self._ou_name(generation, parent_id))
            parent_id, parent_type = self._parent(generation, parent_id)
        path = join_ou_path(reversed(names))
        generation.paths[account_id] = path
        return path

    def _parent(self, generation: _Generation, child_id: str) -> tuple[str, str]:
        if child_id not in generation.parents:
            page = _call("ListParents", self._api.list_parents, ChildId=child_id)
            parents = page.get("Parents") or [{"Id": "", "Type": "ROOT"}]
            generation.parents[child_id] = (str(parents[0].get("Id", "")), str(parents[0].get("Type", "ROOT")))
        return generation.parents[child_id]

    def _ou_name(self, generation: _Generation, ou_id: str) -> str:
        if ou_id not in generation.names:
            page = _call(
                "DescribeOrganizationalUnit", self._api.describe_organizational_unit, OrganizationalUnitId=ou_id
            )
            generation.names[ou_id] = str(page["OrganizationalUnit"]["Name"])
        return generation.names[ou_id]


def _call(operation: str, call: Callable[..., Any], **request: Any) -> Any:
    """One Organizations call; a failure (after botocore's retries) names the call and what it needs."""
    try:
        return call(**request)
    except (ClientError, BotoCoreError) as error:
        raise OrganizationUnreadable(operation, error, code=error_code(error)) from error
