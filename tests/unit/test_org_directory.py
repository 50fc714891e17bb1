"""OrgDirectory: accounts and OU paths read from AWS Organizations, cached 15 minutes by the clock."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.fakes import FakeClock
from warden.adapters.organization import OrgDirectory
from warden.errors import AwsCallFailed, OrganizationUnreadable
from warden.records import OrgAccount

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


class FakeOrganizations:
    """The emulated organization: root r-wrdn, OUs Production (with Web) and Development, four accounts."""

    def __init__(self) -> None:
        self.ous = {
            "ou-prod": ("Production", "r-wrdn"),
            "ou-web": ("Web", "ou-prod"),
            "ou-dev": ("Development", "r-wrdn"),
        }
        self.accounts = [
            {"Id": "111111111111", "Name": "management", "Status": "ACTIVE", "parent": "r-wrdn"},
            {"Id": "222222222222", "Name": "prod-web", "Status": "ACTIVE", "parent": "ou-web"},
            {"Id": "333333333333", "Name": "prod-data", "Status": "ACTIVE", "parent": "ou-prod"},
            {"Id": "444444444444", "Name": "dev", "Status": "SUSPENDED", "parent": "ou-dev"},
        ]
        self.calls: Counter[str] = Counter()
        self.refuse: str | None = None
        self.page_size = 2

    def _called(self, name: str) -> None:
        self.calls[name] += 1
        if self.refuse:
            raise ClientError({"Error": {"Code": self.refuse, "Message": "refused"}}, name)

    def list_accounts(self, NextToken: str | None = None) -> dict[str, Any]:
        self._called("ListAccounts")
        start = int(NextToken or 0)
        page = [{k: v for k, v in a.items() if k != "parent"} for a in self.accounts[start : start + self.page_size]]
        more = start + self.page_size < len(self.accounts)
        return {"Accounts": page, **({"NextToken": str(start + self.page_size)} if more else {})}

    def list_parents(self, ChildId: str) -> dict[str, Any]:
        self._called("ListParents")
        parent = next((a["parent"] for a in self.accounts if a["Id"] == ChildId), None) or self.ous[ChildId][1]
        return {"Parents": [{"Id": parent, "Type": "ROOT" if parent.startswith("r-") else "ORGANIZATIONAL_UNIT"}]}

    def describe_organizational_unit(self, OrganizationalUnitId: str) -> dict[str, Any]:
        self._called("DescribeOrganizationalUnit")
        return {"OrganizationalUnit": {"Id": OrganizationalUnitId, "Name": self.ous[OrganizationalUnitId][0]}}


def test_every_account_is_listed_with_its_status_and_ou_path_across_pages() -> None:
    directory = OrgDirectory(FakeOrganizations(), FakeClock(NOW))
    assert directory.accounts() == [
        OrgAccount(id="111111111111", name="management", status="ACTIVE", ou_path=""),
        OrgAccount(id="222222222222", name="prod-web", status="ACTIVE", ou_path="Production/Web"),
        OrgAccount(id="333333333333", name="prod-data", status="ACTIVE", ou_path="Production"),
        OrgAccount(id="444444444444", name="dev", status="SUSPENDED", ou_path="Development"),
    ]


def test_an_account_outside_the_organization_has_no_path() -> None:
    directory = OrgDirectory(FakeOrganizations(), FakeClock(NOW))
    assert directory.path_of("999999999999") is None
    assert directory.account("999999999999") is None
    assert directory.path_of("222222222222") == "Production/Web"


def test_what_was_read_is_reused_for_15_minutes_then_read_again() -> None:
    # GIVEN the paths of two accounts read once
    clock = FakeClock(NOW)
    api = FakeOrganizations()
    directory = OrgDirectory(api, clock)
    directory.path_of("222222222222")
    directory.path_of("333333333333")
    first = dict(api.calls)
    # WHEN they are asked for again within 15 minutes THEN Organizations is not called again
    clock.advance(minutes=14)
    directory.path_of("222222222222")
    directory.path_of("333333333333")
    assert dict(api.calls) == first
    # WHEN an account moved meanwhile and 15 minutes have passed THEN its new path is read
    api.accounts[2]["parent"] = "ou-dev"
    clock.advance(minutes=1)
    assert directory.path_of("333333333333") == "Development"
    assert api.calls["ListAccounts"] == 2 * first["ListAccounts"]


def test_the_ou_names_shared_by_accounts_are_described_once() -> None:
    api = FakeOrganizations()
    OrgDirectory(api, FakeClock(NOW)).accounts()
    assert api.calls["DescribeOrganizationalUnit"] == 3  # Production, Web, Development: each once


def test_an_organization_the_central_account_may_not_read_fails_with_what_it_needs() -> None:
    api = FakeOrganizations()
    api.refuse = "AccessDeniedException"
    with pytest.raises(OrganizationUnreadable, match="delegated administrator") as raised:
        OrgDirectory(api, FakeClock(NOW)).path_of("222222222222")
    assert isinstance(raised.value, AwsCallFailed)
    assert "ListAccounts" in str(raised.value)


def test_a_throttled_refresh_keeps_what_was_read_for_a_while_then_fails() -> None:
    # GIVEN a directory read once, then Organizations throttling
    clock = FakeClock(NOW)
    api = FakeOrganizations()
    directory = OrgDirectory(api, clock)
    assert directory.path_of("222222222222") == "Production/Web"
    api.refuse = "TooManyRequestsException"
    # WHEN the cache has expired THEN what was read is used, and Organizations is tried again a minute later
    clock.advance(minutes=16)
    assert directory.path_of("222222222222") == "Production/Web"
    tries = api.calls["ListAccounts"]
    assert directory.path_of("222222222222") == "Production/Web"
    assert api.calls["ListAccounts"] == tries
    # WHEN it stays throttled for more than an hour past the cache's age THEN the failure is raised, named
    clock.advance(minutes=61)
    with pytest.raises(OrganizationUnreadable, match="TooManyRequestsException"):
        directory.path_of("222222222222")


def test_an_ou_name_with_a_slash_is_escaped_in_the_path_so_it_never_reads_as_a_nested_ou() -> None:
    # GIVEN an OU renamed "Production/Web" directly under the root, with an account in it, beside the real one
    organizations = FakeOrganizations()
    organizations.ous["ou-fake"] = ("Production/Web", "r-wrdn")
    organizations.ous["ou-tail"] = ("Ops\\", "r-wrdn")
    organizations.ous["ou-qa"] = ("QA", "ou-tail")
    organizations.accounts += [
        {"Id": "555555555555", "Name": "impostor", "Status": "ACTIVE", "parent": "ou-fake"},
        {"Id": "666666666666", "Name": "qa", "Status": "ACTIVE", "parent": "ou-qa"},
    ]
    directory = OrgDirectory(organizations, FakeClock(NOW))
    # WHEN their paths are read THEN the '/' (and a '\\') in a name is escaped; the real OU's path is unchanged
    assert directory.path_of("555555555555") == "Production\\/Web"
    assert directory.path_of("222222222222") == "Production/Web"
    assert directory.path_of("666666666666") == "Ops\\\\/QA"
