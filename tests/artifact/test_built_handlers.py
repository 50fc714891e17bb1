"""The functions as ``sam build`` packages them, run by a bare Python 3.13 against the local cloud.

What the in-process tests cannot see: a package the shipped code imports but the layer does not install, or an
import of something only the development environment has.
"""

from __future__ import annotations

import pytest

from tests.artifact.conftest import BuiltStack

pytestmark = pytest.mark.functional


def start_decided(built: BuiltStack, who: str, tags: dict[str, str]) -> tuple[str, str, dict[str, object]]:
    """``who`` starts a session on a new instance with ``tags``; the built session-start function decides it."""
    target = built.cloud.add_instance(tags)
    session = built.start(built.person(who), target)
    [event] = built.delivered("SessionStartedFunction")
    assert event["detail"]["eventName"] == "StartSession"
    assert event["detail"]["responseElements"]["sessionId"] == session
    run = built.invoke("SessionStartedFunction", event)
    return session, target, run.result


def test_built_session_start_function_allows_a_session_the_policy_allows_and_records_it(built: BuiltStack) -> None:
    # GIVEN alice and an analytics instance on a Tuesday morning in Berlin
    # WHEN she starts a session and the built function decides its CloudTrail event
    session, target, outcome = start_decided(built, "alice", {"Name": "analytics-1", "Department": "Analytics"})
    # THEN it says allow by the analysts' rule, the session stays open, and the ledger row says so
    assert outcome["session_id"] == session
    assert (outcome["decision"], outcome["action"], outcome["rule"]) == ("allow", "none", "analysts-on-analytics")
    assert outcome["deadline"] == "2026-11-24T11:00:00Z"
    assert session in built.active()
    row = built.row(session)
    assert (row.status, row.decision, row.rule, row.principal, row.target) == (
        "open",
        "allow",
        "analysts-on-analytics",
        "alice",
        target,
    )
    assert built.inbox.mails() == []
    # and nothing ran in the test process: the decision is the built artifact's
    assert built.in_process_runs() == []


def test_built_session_start_function_terminates_a_denied_session_and_alerts(built: BuiltStack) -> None:
    # GIVEN bob, whom no rule allows on production
    # WHEN he starts a session there and the built function decides it
    session, _, outcome = start_decided(built, "bob", {"Name": "prod-db-1", "Environment": "prod"})
    # THEN it terminated the session, recorded why, and sent one HIGH alert
    assert (outcome["session_id"], outcome["decision"], outcome["action"]) == (session, "deny", "terminated")
    assert session not in built.active()
    row = built.row(session)
    assert (row.status, row.decision, row.action, row.ended_by) == ("ended", "deny", "terminated", "session-warden")
    [mail] = built.inbox.mails()
    assert (mail.severity, mail.kind) == ("HIGH", "session-terminated")
    assert f"Session:       {session}" in mail.body
    assert built.in_process_runs() == []


def test_built_session_end_function_closes_the_row_of_a_session_its_owner_terminated(built: BuiltStack) -> None:
    # GIVEN alice's allowed session, recorded open by the built session-start function
    session, _, _ = start_decided(built, "alice", {"Department": "Analytics"})
    built.cloud.advance("10m")
    # WHEN she terminates it and the built session-end function gets the TerminateSession event
    built.person("alice").terminate_session(SessionId=session)
    [event] = built.delivered("SessionEndedFunction")
    run = built.invoke("SessionEndedFunction", event)
    # THEN the ledger row is closed: ended by alice, ten minutes long
    assert (run.result["session_id"], run.result["decision"], run.result["action"]) == (
        session,
        "none",
        "ledger closed",
    )
    row = built.row(session)
    assert (row.status, row.ended_by, row.end_reason, row.duration_seconds) == (
        "ended",
        "alice",
        "terminated by alice",
        600,
    )
    assert built.in_process_runs() == []


def test_built_sweeper_ends_a_session_at_its_maximum_duration(built: BuiltStack) -> None:
    # GIVEN alice's allowed session (at most 2h), and two hours later, with no sweep in between
    session, _, _ = start_decided(built, "alice", {"Name": "analytics-1", "Department": "Analytics"})
    events = built.cloud.client("events")
    schedule = built.rules[built.function_names["SweeperFunction"]]
    events.disable_rule(Name=schedule)
    built.cloud.advance("2h")
    events.enable_rule(Name=schedule)
    # WHEN the next minute's scheduled event runs the built sweeper
    built.cloud.advance("1m")
    [event] = built.delivered("SweeperFunction")
    assert event["detail-type"] == "Scheduled Event"
    run = built.invoke("SweeperFunction", event)
    # THEN the sweep completed and terminated that one session, which the ledger and the alert explain
    report = run.result
    assert (report["skipped"], report["active"], report["terminated"], report["termination_failures"]) == (
        False,
        1,
        1,
        0,
    )
    assert session not in built.active()
    row = built.row(session)
    assert (row.status, row.action, row.ended_by) == ("ended", "terminated", "session-warden")
    [mail] = built.inbox.mails()
    assert mail.kind == "session-terminated"
    assert "Decision: deny (maximum duration reached)" in mail.body
    assert built.in_process_runs() == []
