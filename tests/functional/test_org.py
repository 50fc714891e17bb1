"""Organization mode end to end: the central stack, the member StackSet, and sessions in member accounts enforced,
swept and alerted by the central warden, each in the account and region it came from."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from tests.functional.org_stack import (
    CENTRAL,
    DEV,
    EUROPE,
    HOME,
    MANAGEMENT,
    MEMBER_ROLE,
    MEMBERS,
    ORGANIZATION_ID,
    PROD_DATA,
    PROD_WEB,
    REGIONS,
    WARDEN_IN_MEMBERS,
    OrgStack,
)

pytestmark = pytest.mark.functional


def test_the_central_stack_runs_in_organization_mode_with_a_bus_only_the_organization_may_write(
    org_stack: OrgStack,
) -> None:
    # GIVEN the local cloud's organization, with the SAM stack deployed in the central account
    cloud = org_stack.cloud
    assert cloud.org.organization_id == ORGANIZATION_ID
    assert {account.id for account in cloud.org.accounts()} >= {MANAGEMENT, CENTRAL, *MEMBERS}
    # THEN the stack was deployed with the organization id, and says so in its outputs
    [stack] = cloud.client("cloudformation").describe_stacks(StackName=cloud.stack_name)["Stacks"]
    parameters = {p["ParameterKey"]: p["ParameterValue"] for p in stack.get("Parameters", [])}
    assert parameters["OrganizationId"] == ORGANIZATION_ID
    outputs = org_stack.outputs
    assert outputs["OrganizationId"] == ORGANIZATION_ID
    assert outputs["MemberRoleName"] == MEMBER_ROLE
    assert outputs["CentralEventBusName"] == f"{cloud.stack_name}-central"
    assert outputs["SweepQueueUrl"]
    # AND its central bus admits PutEvents only from principals of the organization
    bus = cloud.client("events").describe_event_bus(Name=outputs["CentralEventBusName"])
    policy = json.loads(bus["Policy"])
    conditions = [json.dumps(statement.get("Condition", {})) for statement in policy["Statement"]]
    assert conditions and all("aws:PrincipalOrgID" in c and ORGANIZATION_ID in c for c in conditions)
    # AND no handler failed while it came up
    assert org_stack.errors() == []


def test_org_deploy_puts_the_member_stack_in_every_account_and_region_of_the_ous(org_stack: OrgStack) -> None:
    # WHEN the security team runs `warden org deploy --ou Production Development --regions us-east-1 eu-west-1`
    result = org_stack.deploy_members("Production", "Development")
    # THEN it succeeds and prints a result for each member account and region
    assert result.code == 0, result.text
    for account in MEMBERS:
        assert account in result.stdout
    for region in REGIONS:
        assert region in result.stdout
    # AND each member account has the member stack in both regions, the management account none
    for account in MEMBERS:
        for region in REGIONS:
            stacks = org_stack.member_stacks(account, region)
            assert [stack["StackStatus"] for stack in stacks] == ["CREATE_COMPLETE"], (account, region, stacks)
    instances = org_stack.stack_instances()
    assert {(i["Account"], i["Region"]) for i in instances} == {(a, r) for a in MEMBERS for r in REGIONS}
    assert MANAGEMENT not in {i["Account"] for i in instances}
    # AND the member role the central functions assume exists once per member account
    for account in MEMBERS:
        role = org_stack.org.account(account).client("iam").get_role(RoleName=MEMBER_ROLE)["Role"]
        assert role["RoleName"] == MEMBER_ROLE
    # AND the central account's other guarded region has the relay stack (its own events go to the central bus)
    relay = org_stack.org.account(CENTRAL).client("cloudformation", region=EUROPE)
    [stack] = relay.describe_stacks(StackName=f"{org_stack.cloud.stack_name}-relay")["Stacks"]
    assert stack["StackStatus"] in ("CREATE_COMPLETE", "UPDATE_COMPLETE")


def test_a_denied_session_in_a_member_account_is_terminated_there_and_alerted_with_its_account_and_region(
    org: OrgStack,
) -> None:
    # GIVEN a production web server of prod-web in eu-west-1, where the policy denies production shells
    web = org.instance(PROD_WEB, EUROPE, {"Name": "web-1", "Team": "web"})
    # WHEN erin, an IAM user of that account, starts a session on it
    session = org.start(PROD_WEB, EUROPE, "erin", web)
    # THEN the central warden terminated it in that account: gone from its DescribeSessions
    assert session not in org.active(PROD_WEB, EUROPE)
    # AND the ledger row is keyed and labelled by the account and region it came from
    row = org.row(PROD_WEB, EUROPE, session)
    assert (row["account"], row["region"], row["aws_session_id"]) == (PROD_WEB, EUROPE, session)
    assert (row["decision"], row["rule"], row["action"], row["ended_by"]) == (
        "deny",
        "no-production-shells-in-europe",
        "terminated",
        "session-warden",
    )
    # AND exactly one alert, the termination, names the session, the account and the region
    mails = org.mails()
    assert [mail.kind for mail in mails] == ["session-terminated"], [m.subject for m in mails]
    [mail] = mails
    assert session in mail.body
    assert PROD_WEB in mail.body and EUROPE in mail.body
    # AND the warden's own TerminateSession in the member (as the member role) came back as no action of its own
    org.cloud.advance(timedelta(minutes=2))
    assert [i for i in org.cloud.invocations if "SessionEnded" in i.function_name] == []
    acted_on_itself = [
        i
        for i in org.cloud.invocations
        if isinstance(i.event, dict)
        and WARDEN_IN_MEMBERS in json.dumps(i.event.get("detail", {}).get("userIdentity", {}))
        and i.function_name.endswith(("SessionStarted", "SessionEnded"))
    ]
    assert acted_on_itself == []
    assert [mail.kind for mail in org.mails()] == ["session-terminated"]
    # AND `warden sessions --account --region` shows it as that account's
    listed = org.warden("sessions", "--account", PROD_WEB, "--region", EUROPE, "--json")
    assert listed.code == 0, listed.text
    assert [(r["session_id"], r.get("account"), r.get("region")) for r in listed.json] == [(session, PROD_WEB, EUROPE)]
    assert org.errors() == []


def test_a_deny_rule_naming_regions_does_not_decide_a_session_of_the_same_account_elsewhere(org: OrgStack) -> None:
    # GIVEN the same kind of server of prod-web, in us-east-1 (the deny rule names only eu-* regions)
    web = org.instance(PROD_WEB, HOME, {"Name": "web-1", "Team": "web"})
    # WHEN erin starts a session on it
    session = org.start(PROD_WEB, HOME, "erin", web)
    # THEN it is decided in us-east-1: no rule for production allows it (default deny), not the European deny rule
    row = org.row(PROD_WEB, HOME, session)
    assert (row["account"], row["region"], row["decision"]) == (PROD_WEB, HOME, "deny")
    assert row.get("rule") in (None, "")
    assert session not in org.active(PROD_WEB, HOME)


def test_an_allowed_session_in_a_member_account_is_swept_and_terminated_when_its_window_closes(org: OrgStack) -> None:
    # GIVEN a web server of the dev account in us-east-1, which developers may use until 09:30 UTC
    web = org.instance(DEV, HOME, {"Name": "dev-web-1", "Team": "web"})
    session = org.start(DEV, HOME, "frank", web)
    row = org.row(DEV, HOME, session)
    assert (row["decision"], row["rule"], row["account"], row["region"]) == (
        "allow",
        "developers-in-the-morning",
        DEV,
        HOME,
    )
    # WHEN the clock runs past 09:30 (the sweeper fans out to every account and region each minute)
    org.cloud.advance(timedelta(minutes=29))
    assert session in org.active(DEV, HOME)
    org.cloud.advance(timedelta(minutes=2))
    # THEN the sweep of dev/us-east-1 terminated it in that account, and the ledger says why
    assert session not in org.active(DEV, HOME)
    row = org.row(DEV, HOME, session)
    assert (row["status"], row["ended_by"]) == ("ended", "session-warden")
    assert "window closed" in str(row.get("end_reason"))
    # AND one termination alert names the account and region
    [mail] = [mail for mail in org.mails("session-terminated") if session in mail.body]
    assert DEV in mail.body and HOME in mail.body
    assert org.errors() == []


def test_a_grant_scoped_to_one_account_allows_there_and_not_in_another(org: OrgStack) -> None:
    # GIVEN production databases in prod-data and in dev, which no rule opens
    data_db = org.instance(PROD_DATA, HOME, {"Name": "db-1", "Environment": "prod"})
    dev_db = org.instance(DEV, HOME, {"Name": "db-1", "Environment": "prod"})
    # WHEN the security team grants user grace an hour on Environment=prod in prod-data only
    created = org.warden(
        "grant",
        "create",
        "--principal",
        "user:grace",
        "--tag",
        "Environment=prod",
        "--account",
        PROD_DATA,
        "--for",
        "1h",
        "--reason",
        "INC-7 replica lag",
    )
    assert created.code == 0, created.text
    grant_id = created.stdout.strip().splitlines()[0]
    assert grant_id.startswith("g-")
    # THEN grace's session in prod-data is allowed by the grant and stays open
    allowed = org.start(PROD_DATA, HOME, "grace", data_db)
    row = org.row(PROD_DATA, HOME, allowed)
    assert (row["decision"], row["grant"], row["account"]) == ("allow", grant_id, PROD_DATA)
    assert allowed in org.active(PROD_DATA, HOME)
    # AND her session on the same kind of host in dev is denied and terminated
    denied = org.start(DEV, HOME, "grace", dev_db)
    row = org.row(DEV, HOME, denied)
    assert (row["decision"], row.get("grant"), row["action"]) == ("deny", None, "terminated")
    assert denied not in org.active(DEV, HOME)
    # AND `warden grant list --account` lists the grant for prod-data and not for dev
    listed = org.warden("grant", "list", "--account", PROD_DATA, "--json")
    assert listed.code == 0, listed.text
    assert [grant["id"] for grant in listed.json] == [grant_id]
    elsewhere = org.warden("grant", "list", "--account", DEV, "--json")
    assert elsewhere.code == 0, elsewhere.text
    assert elsewhere.json == []
    # AND a sweep a few minutes on keeps the granted session open
    org.cloud.advance(timedelta(minutes=3))
    assert allowed in org.active(PROD_DATA, HOME)
    assert org.errors() == []
