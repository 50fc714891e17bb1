"""Warnings before a session's deadline, through the local cloud: SendCommand with the stack's document, once each.

The stack's policy (conftest) allows alice on Analytics inside business hours (08:00-18:00 Europe/Berlin = 07:00-17:00
UTC on 2026-11-24) for at most 2 hours; the default ``warn_before`` is 10 and 2 minutes.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from tests.functional.conftest import TUESDAY_MORNING, Stack
from tests.functional.test_sweeper import grant, sweeps_at_once, warden_in_process
from tests.functional.test_tamper import CALLERS_SCRIPT
from warden.service import Warden
from warden.timefmt import iso

pytestmark = pytest.mark.functional

# 16:30 UTC = 17:30 in Berlin: half an hour before business hours close.
LATE_AFTERNOON = TUESDAY_MORNING.replace(hour=16, minute=30)


def commands(stack: Stack) -> list[dict[str, Any]]:
    """Every command SSM was asked to run, oldest first, as ListCommands shows it."""
    ssm = stack.cloud.client("ssm")
    found: list[dict[str, Any]] = []
    request: dict[str, Any] = {}
    while True:
        page = ssm.list_commands(**request)
        found.extend(page["Commands"])
        if not page.get("NextToken"):
            return sorted(found, key=lambda command: command["RequestedDateTime"])
        request["NextToken"] = page["NextToken"]


def sent(stack: Stack) -> list[tuple[str, list[str], dict[str, list[str]]]]:
    return [(c["DocumentName"], c["InstanceIds"], c["Parameters"]) for c in commands(stack)]


def clock_at(stack: Stack, moment: datetime) -> None:
    stack.cloud.advance(moment - stack.cloud.clock.now())


def test_a_session_gets_each_warning_once_before_the_window_closes_and_one_expiring_alert(stack: Stack) -> None:
    document = stack.outputs["WarningDocumentName"]
    # GIVEN alice's session on an Analytics instance at 17:30 Berlin time
    clock_at(stack, LATE_AFTERNOON)
    analytics = stack.cloud.add_instance({"Name": "etl-1", "Department": "Analytics"})
    session = stack.start(stack.person("alice"), analytics)
    assert stack.row(session).deadline == LATE_AFTERNOON.replace(hour=17, minute=0)
    # WHEN the clock passes 17:49 THEN nothing was sent yet
    stack.cloud.advance("19m")
    assert sent(stack) == []
    # WHEN the sweep of 17:50 runs THEN the notice goes to the instance, with the deadline in Berlin time
    stack.cloud.advance("1m")
    notice = "Session Warden: this session ends at 18:00 Europe/Berlin (business-hours closes). Save your work."
    first = (document, [analytics], {"SessionId": [session], "Message": [notice]})
    assert sent(stack) == [first]
    assert [command["RequestedDateTime"].minute for command in commands(stack)] == [50]
    # AND one `session expiring` alert: who, target, deadline, why, and what would extend it
    assert stack.inbox.kinds() == ["session-expiring"]
    (mail,) = stack.inbox.mails()
    assert mail.severity == "INFO"
    assert "[Session Warden] EXPIRING alice on " in mail.subject
    for line in (
        "  Who:      alice",
        f"  Target:   {analytics} (etl-1)",
        "  Ends at:  18:00 Europe/Berlin",
        "  Because:  business-hours closes",
        "  Rule:     analysts-on-analytics",
        "  - 10m before: notice sent to the terminal",
        f"To give it more time: warden grant create --principal arn:aws:iam::123456789012:user/alice --target "
        f"{analytics} --for 1h --reason R",
    ):
        assert line in mail.body, mail.body
    # WHEN the sweeps up to 17:57 run THEN nothing more; at 17:58 the 2-minute notice, and no second alert
    stack.cloud.advance("7m")
    assert len(sent(stack)) == 1
    stack.cloud.advance("1m")
    assert sent(stack) == [first, first]
    assert [command["RequestedDateTime"].minute for command in commands(stack)] == [50, 58]
    assert stack.inbox.kinds() == ["session-expiring"]
    # AND the ledger says each was sent and what the node answered
    warnings = stack.row(session).warnings
    assert set(warnings) == {"10m before 2026-11-24T17:00:00Z", "2m before 2026-11-24T17:00:00Z"}
    stack.cloud.advance("1m")
    delivered = stack.row(session).warnings
    assert {record["status"] for record in delivered.values()} == {"delivered"}
    assert delivered["10m before 2026-11-24T17:00:00Z"]["at"] == "2026-11-24T16:50:00Z"
    # AND at 18:00 the session ends as before, with no further notice
    stack.cloud.advance("1m")
    assert session not in stack.active()
    assert len(sent(stack)) == 2
    assert stack.errors() == []
    assert stack.cloud.iam_denials == []


def test_a_grant_extended_in_time_gets_its_own_warnings_before_the_new_expiry(stack: Stack) -> None:
    # GIVEN bob's session under a one-hour grant (until 10:00 UTC)
    grant(stack, "g-0warned00000")
    prod = stack.cloud.add_instance({"Name": "prod-db-1", "Environment": "prod"})
    session = stack.start(stack.person("bob"), prod)
    # WHEN the 10-minute warning fires at 09:50
    stack.cloud.advance("50m")
    (first,) = commands(stack)
    assert first["Parameters"]["Message"] == [
        "Session Warden: this session ends at 10:00 UTC (grant g-0warned00000 expires). Save your work."
    ]
    (mail,) = stack.inbox.mails()
    assert "To give it more time: warden grant extend g-0warned00000 --for 30m --reason R" in mail.body
    # AND the grant is extended by 30 minutes at 09:55
    stack.cloud.advance("5m")
    stored = stack.grants.get("g-0warned00000")
    assert stored is not None
    now = stack.cloud.clock.now()
    stack.grants.extend(stored, until=stored.expires_at + timedelta(minutes=30), by="oncall", reason="r", now=now)
    # THEN no 2-minute warning for the old expiry; the new expiry's warnings come at 10:20 and 10:28
    stack.cloud.advance("24m")  # 10:19
    assert len(commands(stack)) == 1
    stack.cloud.advance("1m")
    stack.cloud.advance("8m")
    times = [iso(command["RequestedDateTime"]) for command in commands(stack)]
    assert times == ["2026-11-24T09:50:00Z", "2026-11-24T10:20:00Z", "2026-11-24T10:28:00Z"]
    assert commands(stack)[-1]["Parameters"]["Message"] == [
        "Session Warden: this session ends at 10:30 UTC (grant g-0warned00000 expires). Save your work."
    ]
    assert stack.inbox.kinds() == ["session-expiring", "session-expiring"]
    assert session in stack.active()
    assert stack.errors() == []


def test_a_managed_node_gets_the_notice_with_the_maximum_duration_in_utc(stack: Stack) -> None:
    # GIVEN alice's session on an Analytics managed node, and the clock at 10:50 (her rule allows 2 hours)
    node = stack.cloud.add_managed_node({"Department": "Analytics"})
    session = stack.start(stack.person("alice"), node)
    stack.cloud.advance("1h50m")
    # THEN the managed node gets its notice (the deadline is start + 2 h, shown in UTC)
    (command,) = commands(stack)
    assert command["InstanceIds"] == [node]
    assert command["Parameters"]["Message"] == [
        "Session Warden: this session ends at 11:00 UTC (maximum duration 2h). Save your work."
    ]
    assert stack.inbox.kinds() == ["session-expiring"]
    assert stack.row(session).warnings["10m before 2026-11-24T11:00:00Z"]["status"] == "sent"


def test_two_sweeps_at_once_send_each_warning_once(stack: Stack) -> None:
    clock_at(stack, LATE_AFTERNOON)
    analytics = stack.cloud.add_instance({"Department": "Analytics"})
    session = stack.start(stack.person("alice"), analytics)
    stack.cloud.advance("19m")  # 17:49
    stack.cloud.settle()
    # WHEN at 17:50 two sweeps run at the same moment (an overrun and the next, or a duplicate delivery)
    with warden_in_process(stack) as build:
        warden: Warden = build()
        at = stack.cloud.clock.now() + timedelta(minutes=1)

        class At:
            def now(self) -> datetime:
                return at

        warden.sweeper.clock = warden.enforcer.clock = At()
        errors = sweeps_at_once(warden, 2)
        # AND once more, as a third sweep of the same minute would
        warden.sweeper.sweep("sweep-3")
    # THEN the notice was sent once and the alert went out once
    assert errors == []
    assert [c["Parameters"]["SessionId"] for c in commands(stack)] == [[session]]
    stack.cloud.settle()
    assert stack.inbox.kinds() == ["session-expiring"]


def test_the_sweeper_runs_version_1_of_the_warning_document_even_when_another_is_the_default(stack: Stack) -> None:
    # GIVEN someone added a version 2 of the warning document with a script of their own, and made it the default
    ssm = stack.cloud.client("ssm")
    document = stack.outputs["WarningDocumentName"]
    ssm.update_document(Name=document, Content=CALLERS_SCRIPT, DocumentFormat="JSON", DocumentVersion="$LATEST")
    ssm.update_document_default_version(Name=document, DocumentVersion="2")
    assert ssm.describe_document(Name=document)["Document"]["DefaultVersion"] == "2"
    # WHEN alice's session gets its 10-minute warning
    clock_at(stack, LATE_AFTERNOON)
    analytics = stack.cloud.add_instance({"Name": "etl-1", "Department": "Analytics"})
    stack.start(stack.person("alice"), analytics)
    stack.cloud.advance("20m")
    # THEN the command SSM ran is the stack's own version 1, not the default
    [command] = commands(stack)
    assert command["DocumentName"] == document
    assert command["DocumentVersion"] == "1"
