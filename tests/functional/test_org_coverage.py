"""Organization coverage end to end: every member account and region has a canary coming back; a broken member is
reported `account-not-covered` and shown by `warden org status`; a new account of an OU is enrolled and covered."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.functional.org_stack import (
    DEV,
    EUROPE,
    HOME,
    MANAGEMENT,
    MEMBER_ROLE,
    MEMBERS,
    REGIONS,
    OrgStack,
    covered,
    status_row,
)

pytestmark = pytest.mark.functional

NOT_COVERED = "account-not-covered"


def test_every_member_account_and_region_is_covered_once_its_canary_comes_back(org: OrgStack) -> None:
    # GIVEN the member stacks deployed
    # WHEN a few sweeps have run
    org.cloud.advance(timedelta(minutes=3))
    # THEN `warden org status` lists every member account in every guarded region, all covered
    code, rows = org.org_status()
    assert code == 0, rows
    for account in MEMBERS:
        for region in REGIONS:
            row = status_row(rows, account, region)
            assert covered(row), row
    assert MANAGEMENT not in {row.get("account") for row in rows}
    # AND nobody was alerted
    assert org.mails() == []
    assert org.errors() == []


def test_a_member_whose_forwarding_rule_is_deleted_is_reported_not_covered_once(org: OrgStack) -> None:
    # GIVEN every member covered
    org.cloud.advance(timedelta(minutes=3))
    assert org.org_status()[0] == 0
    # WHEN an administrator of dev deletes the member stack's forwarding rule in eu-west-1
    name = org.delete_forward_rule(DEV, EUROPE)
    # (the forward check of the next coverage round finds the rule gone, before the canary's 10 minutes are up)
    org.cloud.advance(timedelta(minutes=6))
    assert len(org.mails(NOT_COVERED)) == 1
    org.cloud.advance(timedelta(minutes=10))
    # THEN one HIGH `account-not-covered` alert names the account, its name and OU, the region, and what to do
    [mail] = org.mails(NOT_COVERED)
    assert mail.severity == "HIGH"
    text = mail.subject + "\n" + mail.body
    for named in (DEV, "dev", "Development", EUROPE):
        assert named in text, named
    assert "forwarding" in mail.body or "canary" in mail.body
    assert f"forward rule {name} in account {DEV} region {EUROPE} is missing" in mail.body
    # AND only that account-region: the other members keep their canaries
    for other in MEMBERS:
        if other != DEV:
            assert other not in text, other
    # AND `warden org status` exits 1, shows it not covered and the rest covered
    code, rows = org.org_status()
    assert code == 1
    assert not covered(status_row(rows, DEV, EUROPE))
    assert covered(status_row(rows, DEV, HOME))
    text_status = org.warden("org", "status")
    assert text_status.code == 1
    rows = [line for line in text_status.stdout.splitlines() if line.startswith(DEV) and EUROPE in line]
    assert len(rows) == 1 and " no: " in rows[0], text_status.text
    problems = [line for line in text_status.stdout.splitlines() if line.startswith("- ")]
    assert len(problems) == 1 and DEV in problems[0], text_status.text
    # AND more sweeps while it stays broken send no second alert
    org.cloud.advance(timedelta(minutes=5))
    assert len(org.mails(NOT_COVERED)) == 1


def test_a_new_account_created_in_an_ou_is_enrolled_by_the_stack_set_and_then_covered(org: OrgStack) -> None:
    # GIVEN the StackSet deployed to Production and Development with automatic deployment
    # WHEN the organization creates a new account in Production
    new = org.org.create_account("prod-api", "Production")
    org.cloud.settle()
    # THEN the StackSet deployed the member stack there in both regions by itself, and its member role
    for region in REGIONS:
        stacks = org.member_stacks(new, region)
        assert [stack["StackStatus"] for stack in stacks] == ["CREATE_COMPLETE"], (region, stacks)
    assert org.org.account(new).client("iam").get_role(RoleName=MEMBER_ROLE)["Role"]["RoleName"] == MEMBER_ROLE
    assert (new, EUROPE) in {(i["Account"], i["Region"]) for i in org.stack_instances()}
    # AND after a few sweeps the new account is covered in both regions
    org.cloud.advance(timedelta(minutes=3))
    code, rows = org.org_status()
    assert code == 0, rows
    for region in REGIONS:
        row = status_row(rows, new, region)
        assert covered(row), row
        assert row.get("name") == "prod-api"
    # AND the warden enforces there: a production shell in eu-west-1 is terminated
    web = org.instance(new, EUROPE, {"Name": "api-1"})
    session = org.start(new, EUROPE, "heidi", web)
    assert session not in org.active(new, EUROPE)
    row = org.row(new, EUROPE, session)
    assert (row["account"], row["rule"], row["action"]) == (new, "no-production-shells-in-europe", "terminated")
    assert org.mails(NOT_COVERED) == []
    assert org.errors() == []
