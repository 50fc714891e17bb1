"""Warnings before a deadline in organization mode (SPEC 9): the notice goes to the session's node in the account and
region the session is in, with the warning document of the stack there, through the member role; one alert; the
ledger says what happened."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.functional.org_stack import CENTRAL, EUROPE, PROD_WEB, WARDEN_IN_MEMBERS, OrgStack
from warden.timefmt import iso

pytestmark = pytest.mark.functional

# The organization's policy without its deny in Europe (a grant never overrides a deny rule): grants open the rest.
GRANTS_ONLY = """\
version: 1
mode: enforce
default: deny
timezone: UTC
rules: []
grants:
  max_duration: 8h
"""
DOCUMENT = "session-warden-session-notice-1"  # the member stack's (and the relay stack's) warning document


def commands(org: OrgStack, account: str, region: str) -> list[dict[str, Any]]:
    """Every command SSM ran in that account and region, oldest first: what the nodes' terminals were sent."""
    ssm = org.org.account(account).client("ssm", region=region)
    return sorted(ssm.list_commands()["Commands"], key=lambda command: command["RequestedDateTime"])


def grant_for(org: OrgStack, tmp_path: Path, *accounts: str) -> tuple[str, datetime]:
    """Pushes GRANTS_ONLY, then grants user erin 12 minutes on Team=web in ``accounts`` in eu-west-1: (id, expiry)."""
    policy = tmp_path / "grants-only.yaml"
    policy.write_text(GRANTS_ONLY, encoding="utf-8")
    pushed = org.warden("policy", "push", str(policy))
    assert pushed.code == 0, pushed.text
    account_flags = [flag for account in accounts for flag in ("--account", account)]
    created = org.warden(
        "grant", "create", "--principal", "user:erin", "--tag", "Team=web", *account_flags, "--region", EUROPE,
        "--for", "12m", "--reason", "INC-42 cache flush", "--json",
    )  # fmt: skip
    assert created.code == 0, created.text
    stored = created.json
    return str(stored["id"]), datetime.fromisoformat(str(stored["expires_at"]).replace("Z", "+00:00"))


def test_a_member_session_is_warned_in_its_own_terminal_through_the_member_role_and_alerted_once(
    org: OrgStack, tmp_path: Path
) -> None:
    # GIVEN erin's session on a web server of prod-web in eu-west-1, under a grant that expires in 12 minutes
    grant_id, expires = grant_for(org, tmp_path, PROD_WEB)
    web = org.instance(PROD_WEB, EUROPE, {"Name": "web-1", "Team": "web"})
    session = org.start(PROD_WEB, EUROPE, "erin", web)
    assert session in org.active(PROD_WEB, EUROPE)
    assert commands(org, PROD_WEB, EUROPE) == []
    # WHEN the clock passes ten minutes before the grant's expiry
    org.cloud.advance(expires - timedelta(minutes=10) - org.cloud.clock.now() + timedelta(seconds=30))
    # THEN the node in prod-web got the notice, with the member stack's document, version 1
    notice = f"Session Warden: this session ends at {expires:%H:%M} UTC (grant {grant_id} expires). Save your work."
    [command] = commands(org, PROD_WEB, EUROPE)
    assert (command["DocumentName"], command["DocumentVersion"], command["InstanceIds"]) == (DOCUMENT, "1", [web])
    assert command["Parameters"] == {"SessionId": [session], "Message": [notice]}
    # AND the ledger row's warning is sent, with that command's id
    key = f"10m before {iso(expires)}"
    record = org.row(PROD_WEB, EUROPE, session)["warnings"][key]
    assert (record["status"], record["command"]) == ("sent", command["CommandId"])
    # AND one `session-expiring` alert names the session, its account and region, the deadline and why
    [mail] = org.mails("session-expiring")
    assert mail.severity == "INFO"
    for line in (session, PROD_WEB, EUROPE, f"  Ends at:  {expires:%H:%M} UTC", f"grant {grant_id} expires"):
        assert line in mail.body, mail.body
    assert "  - 10m before: notice sent to the terminal" in mail.body
    # WHEN the next sweep runs THEN it read what the node answered, in prod-web
    org.cloud.advance("1m")
    record = org.row(PROD_WEB, EUROPE, session)["warnings"][key]
    assert (record["status"], record["command"]) == ("delivered", command["CommandId"])
    # AND every call was the member role's, each allowed by it
    made = {d.action for d in org.cloud.iam_decisions if WARDEN_IN_MEMBERS in d.caller_arn}
    assert {"ssm:SendCommand", "ssm:GetCommandInvocation"} <= made
    assert [d.message() for d in org.cloud.iam_denials] == []
    assert [mail.kind for mail in org.mails()] == ["grant-created", "session-expiring"]
    assert org.errors() == []


def test_a_session_in_the_central_accounts_other_region_is_warned_with_the_relay_stacks_document(
    org: OrgStack, tmp_path: Path
) -> None:
    # GIVEN erin's session on a web server of the central account in eu-west-1 (a region its relay stack covers)
    grant_id, expires = grant_for(org, tmp_path, CENTRAL)
    web = org.instance(CENTRAL, EUROPE, {"Name": "web-9", "Team": "web"})
    session = org.start(CENTRAL, EUROPE, "erin", web)
    # WHEN the clock passes ten minutes before the grant's expiry
    org.cloud.advance(expires - timedelta(minutes=10) - org.cloud.clock.now() + timedelta(seconds=30))
    # THEN the sweeper sent the relay stack's document there with its own role, and one alert went out
    [command] = commands(org, CENTRAL, EUROPE)
    assert (command["DocumentName"], command["InstanceIds"]) == (DOCUMENT, [web])
    notice = f"Session Warden: this session ends at {expires:%H:%M} UTC (grant {grant_id} expires). Save your work."
    assert command["Parameters"] == {"SessionId": [session], "Message": [notice]}
    record = org.row(CENTRAL, EUROPE, session)["warnings"][f"10m before {iso(expires)}"]
    assert (record["status"], record["command"]) == ("sent", command["CommandId"])
    assert [mail.kind for mail in org.mails()] == ["grant-created", "session-expiring"]
    assert [d.message() for d in org.cloud.iam_denials] == []
    assert org.errors() == []


def test_deleting_a_member_stacks_warning_document_is_reported_as_tampering(org: OrgStack) -> None:
    # WHEN an administrator of prod-web deletes the warning document in eu-west-1 (to put another one in its place)
    org.org.account(PROD_WEB).client("ssm", region=EUROPE).delete_document(Name=DOCUMENT)
    org.cloud.settle()
    # THEN the tamper watch reports it: the warning document, what losing it means, and who in which account
    [mail] = [mail for mail in org.mails() if mail.kind == "enforcer-tampered"]
    assert f"the warning document {DOCUMENT} is deleted: no warning reaches a session" in mail.body, mail.body
    assert f"  Caller ARN:  arn:aws:iam::{PROD_WEB}:user/" in mail.body, mail.body
    assert org.errors() == []
