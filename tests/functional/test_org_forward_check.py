"""The forward check end to end: a member administrator who narrows or disables the member stack's forward rule (while
the canary's PutParameter still comes back, for a narrowed one) makes that account and region not covered within one
coverage round: one `account-not-covered` alert naming the account, region and the events lost, `warden org status`
showing why, and one RESTORED when the rule is put back."""

from __future__ import annotations

import ast
import json
from datetime import timedelta
from typing import Any

import pytest

from tests.functional.org_stack import (
    DEV,
    EUROPE,
    HOME,
    MEMBER_ROLE,
    MEMBERS,
    PROD_DATA,
    PROD_WEB,
    REGIONS,
    OrgStack,
    covered,
    status_row,
)

pytestmark = pytest.mark.functional

NOT_COVERED = "account-not-covered"
ROUND = timedelta(minutes=6)  # a canary, and so a forward check, every 5 minutes


def member_events(org: OrgStack, account: str, region: str) -> Any:
    """The EventBridge client of the member account's administrator."""
    return org.org.account(account).client("events", region=region)


def high(org: OrgStack) -> list[Any]:
    return [mail for mail in org.mails(NOT_COVERED) if mail.severity == "HIGH"]


def restored(org: OrgStack) -> list[Any]:
    return [mail for mail in org.mails(NOT_COVERED) if mail.severity == "INFO"]


def test_a_forward_rule_narrowed_to_drop_session_starts_is_not_covered_until_it_is_restored(org: OrgStack) -> None:
    # GIVEN every member covered
    org.cloud.advance(timedelta(minutes=3))
    assert org.org_status()[0] == 0
    # WHEN prod-web's administrator removes StartSession from the forward rule in eu-west-1, keeping PutParameter
    name = org.forward_rule(PROD_WEB, EUROPE)
    events = member_events(org, PROD_WEB, EUROPE)
    deployed = events.describe_rule(Name=name)["EventPattern"]
    pattern = json.loads(deployed)
    [sessions] = [b for b in pattern["$or"] if "StartSession" in b["detail"]["eventName"]]
    sessions["detail"]["eventName"] = ["ResumeSession", "TerminateSession"]
    events.put_rule(Name=name, EventPattern=json.dumps(pattern), State="ENABLED")
    # AND one coverage round goes by (its canaries keep coming back)
    org.cloud.advance(ROUND)

    # THEN one HIGH alert names the account, the region, the rule and the event it no longer forwards
    [mail] = high(org)
    assert PROD_WEB in mail.subject and EUROPE in mail.subject
    assert f"forward rule {name} in account {PROD_WEB} region {EUROPE} no longer forwards StartSession" in mail.body
    assert "only through the sweeper" in mail.body
    # AND `warden org status --json` shows it not covered, with the reason; every other scope covered
    code, rows = org.org_status()
    assert code == 1
    row = status_row(rows, PROD_WEB, EUROPE)
    assert not covered(row)
    assert "no longer forwards StartSession" in row["forward_rule_problem"]
    assert "StartSession" in row["why"]
    for account in MEMBERS:
        for region in REGIONS:
            if (account, region) != (PROD_WEB, EUROPE):
                assert covered(status_row(rows, account, region)), (account, region)
    # AND it stays one alert while the rule stays narrowed
    org.cloud.advance(ROUND)
    assert len(high(org)) == 1 and restored(org) == []

    # WHEN the rule is put back as deployed
    events.put_rule(Name=name, EventPattern=deployed, State="ENABLED")
    org.cloud.advance(ROUND)

    # THEN one RESTORED alert, and everything covered
    [back] = restored(org)
    assert "RESTORED" in back.subject and PROD_WEB in back.subject and EUROPE in back.subject
    assert org.org_status()[0] == 0
    assert len(high(org)) == 1
    assert org.errors() == []
    # AND the member role read each member's rule by its ARN, as its policy allows, and nothing was denied
    reads = {d.resource for d in org.cloud.iam_decisions if d.action == "events:DescribeRule" and d.allowed}
    assert f"arn:aws:events:{EUROPE}:{PROD_WEB}:rule/{name}" in reads
    assert org.cloud.iam_denials == []


def test_a_disabled_forward_rule_is_one_alert_though_its_canary_stops_coming_back_too(org: OrgStack) -> None:
    org.cloud.advance(timedelta(minutes=3))
    name = org.forward_rule(DEV, HOME)
    events = member_events(org, DEV, HOME)

    # WHEN dev's administrator disables the rule, and the canary goes unanswered past its 10 minutes
    events.disable_rule(Name=name)
    org.cloud.advance(timedelta(minutes=16))

    # THEN one alert, saying the rule is disabled
    [mail] = high(org)
    assert DEV in mail.subject and HOME in mail.subject
    assert f"forward rule {name} in account {DEV} region {HOME} is DISABLED" in mail.body
    code, rows = org.org_status()
    assert code == 1 and "DISABLED" in status_row(rows, DEV, HOME)["why"]

    # WHEN it is enabled again THEN one RESTORED, still one alert
    events.enable_rule(Name=name)
    org.cloud.advance(ROUND)
    assert len(restored(org)) == 1 and len(high(org)) == 1
    assert org.org_status()[0] == 0
    assert org.errors() == []


def test_a_member_role_stripped_of_the_rule_reads_is_not_covered(org: OrgStack) -> None:
    # GIVEN prod-data's administrator takes the forward rule reads out of the member role (to hide a change)
    org.cloud.advance(timedelta(minutes=3))
    iam = org.org.account(PROD_DATA).client("iam")
    role = MEMBER_ROLE
    [policy_name] = iam.list_role_policies(RoleName=role)["PolicyNames"]
    document = iam.get_role_policy(RoleName=role, PolicyName=policy_name)["PolicyDocument"]
    if isinstance(document, str):  # moto keeps a stack-made role's policy as Python text
        document = ast.literal_eval(document) if document.startswith("{'") else json.loads(document)
    document["Statement"] = [s for s in document["Statement"] if s.get("Sid") != "ForwardRule"]
    iam.put_role_policy(RoleName=role, PolicyName=policy_name, PolicyDocument=json.dumps(document))

    # WHEN a coverage round goes by
    org.cloud.advance(ROUND)

    # THEN each of its regions is not covered: the rule cannot be read, so it is not taken as forwarding anything
    mails = [mail for mail in high(org) if PROD_DATA in mail.subject]
    assert {region for region in REGIONS if any(region in mail.subject for mail in mails)} == set(REGIONS)
    assert all("cannot be read through the member role" in mail.body for mail in mails)
    # AND the local cloud refused exactly those reads, as AWS would: the member role's calls are checked by its policy
    denials = org.cloud.iam_denials
    assert denials and {d.action for d in denials} == {"events:DescribeRule"}
    assert {d.caller_arn for d in denials} == {f"arn:aws:sts::{PROD_DATA}:assumed-role/{MEMBER_ROLE}/session-warden"}
