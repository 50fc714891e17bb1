"""`warden demo --org` through the real console script: the organization's morning goes as scripted."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.functional.demo_run import DemoRun, demo_once

pytestmark = pytest.mark.functional


@pytest.fixture(scope="module")
def org_demo(tmp_path_factory: pytest.TempPathFactory) -> DemoRun:
    """`warden demo --org` run once from a fresh directory: its text, and what `--json` prints (`--json-to`)."""
    return demo_once(tmp_path_factory, "organization", "--org")


def test_org_demo_enforces_in_member_accounts_reports_a_broken_member_and_enrolls_a_new_account(
    org_demo: DemoRun,
) -> None:
    # WHEN a newcomer runs `warden demo --org`
    result = org_demo

    # THEN the morning went as scripted, with nothing but the timeline on the terminal
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr
    assert result.stderr == ""
    out = result.stdout
    assert "NOT AS SCRIPTED" not in out
    assert "The day went as scripted" in out
    # the organization: three members in two OUs, the central stack in organization mode
    assert "organization o-warden0001: management account 111111111111, central (security) account 123456789012" in out
    assert "OrganizationId=o-warden0001" in out
    for line in ("222222222222  prod-web   OU Production/Web", "333333333333  prod-data  OU Production"):
        assert line in out
    assert "444444444444  dev        OU Development" in out
    # the member StackSet, deployed by the security team
    assert "$ warden org deploy --ou Production Development --regions us-east-1 eu-west-1" in out
    # 1. a production shell in Europe, terminated in prod-web by the central warden
    assert "erin starts a session on web-1 (i-" in out
    assert ", prod-web eu-west-1)" in out
    assert "DENIED by rule no-production-shells-in-europe  ->  TERMINATED at start" in out
    # 2. a developer's session swept when the morning window closes
    assert "ALLOWED by developers-in-the-morning, until 10:30" in out
    assert "TERMINATED by the sweeper: window closed" in out
    # 3. a grant scoped to prod-data: allowed there, not in dev
    assert "$ warden grant create --principal user:grace --tag Environment=prod --account 333333333333" in out
    assert "ALLOWED by grant g-" in out
    assert out.count("DENIED: no rule or grant allows it  ->  TERMINATED at start") == 1
    # 4. a member whose forwarding rule is deleted is reported not covered, by an alert and by `warden org status`
    assert "dan, administrator of dev/eu-west-1, deletes the rule that forwards to the central bus" in out
    assert "ALERT e-mail (HIGH, account-not-covered)" in out
    assert out.count("$ warden org status") == 3
    # 5. a new account in Production is enrolled by the StackSet by itself, then covered
    assert "the organization creates account prod-api (" in out
    assert "member stack there by itself: us-east-1, eu-west-1" in out
    # AND every alert is the e-mail the security team receives
    subjects = [line.split("Subject: ", 1)[1] for line in out.splitlines() if line.startswith("      | Subject: ")]
    assert sum(1 for subject in subjects if subject.startswith("[Session Warden] TERMINATED ")) == 3
    for noise in ("Traceback", "WARNING", "werkzeug", "HTTP/1.1", "CloudWatchMetrics"):
        assert noise not in out


def test_org_demo_json_tells_each_sessions_account_and_region(org_demo: DemoRun) -> None:
    # `warden demo --org --json` prints what --json-to wrote during the same run
    result = org_demo
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr
    events: list[dict[str, Any]] = [json.loads(line) for line in result.json_lines.splitlines()]
    starts = [event for event in events if event["kind"] == "session-start"]
    assert [(e["account"], e["region"], e["outcome"]) for e in starts] == [
        ("222222222222", "eu-west-1", "terminated at start"),
        ("444444444444", "us-east-1", "allowed"),
        ("333333333333", "us-east-1", "allowed"),
        ("444444444444", "eu-west-1", "terminated at start"),
    ]
    [created] = [event for event in events if event["kind"] == "account-created"]
    assert created["name"] == "prod-api" and created["ou"] == "Production"
    assert all(created["member_stacks"][region] for region in ("us-east-1", "eu-west-1"))
    alerts = [event["alert"] for event in events if event["kind"] == "alert"]
    assert [(a["kind"], a["severity"]) for a in alerts if a["kind"] == "account-not-covered"] == [
        ("account-not-covered", "HIGH")
    ]
    summary = events[-1]
    assert summary["kind"] == "summary" and summary["as_scripted"] is True
