"""Forged but well-formed CloudTrail events (what a direct invoker can hand the functions) change nothing AWS denies.

Each forged event is the real one the local cloud recorded, edited as an attacker would, and put on the bus.
"""

from __future__ import annotations

import copy
import uuid
from typing import Any

import pytest

from tests.functional.conftest import POLICY, Stack

pytestmark = pytest.mark.functional


def recorded_event(stack: Stack, session_id: str, event_name: str) -> dict[str, Any]:
    """The event the warden received for *session_id*'s *event_name* call, as CloudTrail delivered it."""
    stack.cloud.settle()
    for run in stack.cloud.invocations:
        detail = (run.event or {}).get("detail") or {}
        named = (detail.get("responseElements") or {}).get("sessionId") or (detail.get("requestParameters") or {}).get(
            "sessionId"
        )
        if detail.get("eventName") == event_name and named == session_id:
            return copy.deepcopy(run.event)  # type: ignore[no-any-return]
    raise AssertionError(f"no {event_name} event of {session_id}")


def forge(stack: Stack, event: dict[str, Any], **detail: Any) -> str:
    """Put an edited copy of *event* on the bus under a new eventID; returns that id."""
    forged = copy.deepcopy(event)
    forged["detail"].update(detail)
    forged["detail"]["eventID"] = str(uuid.uuid4())
    stack.cloud.redeliver(forged["source"], forged["detail-type"], forged["detail"])
    stack.cloud.settle(timeout=60)
    return str(forged["detail"]["eventID"])


def failures(stack: Stack, event_id: str) -> set[str | None]:
    return {run.error_type for run in stack.cloud.invocations if run.event_id == event_id and not run.ok}


def test_a_forged_start_event_for_an_open_session_does_not_rewrite_its_row(stack: Stack) -> None:
    # GIVEN alice's allowed session, recorded from its real StartSession event
    analytics = stack.cloud.add_instance({"Name": "analytics-1", "Department": "Analytics"})
    session = stack.start(stack.person("alice"), analytics)
    before = stack.row(session)
    real = recorded_event(stack, session, "StartSession")
    # WHEN a copy, half a minute later, reaches the function (one that moves the start further is rejected)
    forge(stack, real, eventTime="2026-11-24T09:00:30Z")
    # THEN the first record wins: start and event are the real one's, and the session is untouched
    after = stack.row(session)
    assert (after.started_at, after.event_id, after.status) == (before.started_at, before.event_id, "open")
    assert session in stack.active()


def test_a_forged_start_event_with_another_reason_is_rejected_as_forged(stack: Stack) -> None:
    analytics = stack.cloud.add_instance({"Name": "analytics-1", "Department": "Analytics"})
    session = stack.start(stack.person("alice"), analytics)
    before = stack.row(session)
    real = recorded_event(stack, session, "StartSession")
    parameters = {**real["detail"]["requestParameters"], "reason": "INC-1 approved by nobody"}
    forged = forge(stack, real, requestParameters=parameters)
    assert failures(stack, forged) == {"ForgedEvent"}
    assert stack.row(session).reason == before.reason


def test_a_forged_end_event_leaves_the_row_of_a_running_session_open(stack: Stack) -> None:
    # GIVEN alice's allowed, running session and the real end event of another session of hers
    analytics = stack.cloud.add_instance({"Name": "analytics-1", "Department": "Analytics"})
    alice = stack.person("alice")
    ended = stack.start(alice, analytics)
    alice.terminate_session(SessionId=ended)
    running = stack.start(alice, analytics)
    real_end = recorded_event(stack, ended, "TerminateSession")
    # WHEN a copy naming the running session reaches the session-end function
    forged = forge(
        stack,
        real_end,
        requestParameters={"sessionId": running},
        responseElements={"sessionId": running},
    )
    # THEN it is rejected as forged; the running session's row stays open, the ended one's is closed
    assert failures(stack, forged) == {"ForgedEvent"}
    assert stack.row(running).status == "open"
    assert running in stack.active()


def test_a_session_its_owner_terminates_has_its_row_closed_once_aws_lists_it_ended(stack: Stack) -> None:
    # GIVEN alice's session; WHEN she ends it (AWS shows it Terminating for 2 s first)
    analytics = stack.cloud.add_instance({"Name": "analytics-1", "Department": "Analytics"})
    alice = stack.person("alice")
    session = stack.start(alice, analytics)
    alice.terminate_session(SessionId=session)
    # THEN the end event closes the row, naming her (after waiting for History, or a retry)
    stack.cloud.settle(timeout=60)
    row = stack.row(session)
    assert (row.status, row.ended_by) == ("ended", "alice")
    assert stack.errors() == []


def test_a_session_resumed_by_someone_else_ends_when_the_policy_allows_only_one_of_them(stack: Stack) -> None:
    # GIVEN alice's allowed session on an analytics instance (the policy allows only alice there), and bob's identity
    # as CloudTrail records it (the local cloud, stricter than an ssm:ResumeSession on session/*, refuses him the
    # call itself, so his resume is the record of hers with his identity)
    analytics = stack.cloud.add_instance({"Name": "analytics-1", "Department": "Analytics"})
    alice = stack.person("alice")
    session = stack.start(alice, analytics)
    bobs = stack.start(stack.person("bob"), stack.cloud.add_instance({"Environment": "prod"}))
    bob = recorded_event(stack, bobs, "StartSession")["detail"]["userIdentity"]
    stack.cloud.set_session_status(session, "Disconnected")
    alice.resume_session(SessionId=session)
    resumed = recorded_event(stack, session, "ResumeSession")
    assert session in stack.active()
    # WHEN bob resumes it
    forge(stack, resumed, userIdentity=bob)
    # THEN it is decided for bob as well as its owner, and ends
    assert session not in stack.active()
    assert stack.row(session).action == "terminated"


def test_sessions_stuck_terminating_do_not_spend_the_sweep_one_after_another(stack: Stack) -> None:
    # GIVEN three of alice's sessions, a policy that no longer allows her, and terminations that stay Terminating
    # far longer than a sweep (a fault: AWS's Terminating usually lasts seconds)
    analytics = stack.cloud.add_instance({"Name": "analytics-1", "Department": "Analytics"})
    alice = stack.person("alice")
    sessions = [stack.start(alice, analytics) for _ in range(3)]
    stack.cloud.settle()
    stack.cloud.sessions.terminating_seconds = 3600
    stack.cloud.put_policy(POLICY.format(mode="enforce").replace('"user:alice", ', ""))
    # WHEN the sweeper runs
    stack.cloud.advance("1m")
    stack.cloud.settle(timeout=60)
    # THEN one sweep ends all three, without waiting for each in turn to leave Terminating
    [sweep] = [run for run in stack.cloud.invocations if "Sweeper" in run.function_name]
    assert sweep.ok, sweep.error
    assert sweep.duration_ms < 20_000  # one shared watch (10 s) at most, not 25 s per session
    for session in sessions:
        row = stack.row(session)
        assert (row.status, row.ended_by, row.action) == ("ended", "session-warden", "terminated")
    mails = stack.inbox.mails()
    assert [mail.kind for mail in mails] == ["session-terminated"] * 3
    assert all("DescribeSessions shows it Terminating" in mail.body for mail in mails)
    # AND the next sweep looks again: still Terminating, nothing more is sent
    stack.cloud.advance("1m")
    assert [mail.kind for mail in stack.inbox.mails()] == ["session-terminated"] * 3
