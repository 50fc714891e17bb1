"""The forward check end to end: a member administrator who narrows or disables the member stack's forward rule (while
the canary's PutParameter still comes back, for a narrowed one) makes that account and region not covered within one
coverage round: one `account-not-covered` alert naming the account, region and the events lost, `warden org status`
showing why, and one RESTORED when the rule is put back."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from tests.functional.org_stack import DEV, EUROPE, HOME, MEMBERS, PROD_WEB, REGIONS, OrgStack, covered, status_row

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
    code, rows = org.org_status()
    assert code == 0, [row["forward_rule_problem"] or row["why"] for row in rows if not covered(row)]
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
