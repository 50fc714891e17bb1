"""The event path end to end: real StartSession calls, real CloudTrail events, the real handlers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.functional.conftest import POLICY, Stack

pytestmark = pytest.mark.functional

EVENTS = Path(__file__).resolve().parents[2] / "events"


def test_allowed_session_of_an_iam_user_stays_open_and_is_recorded(stack: Stack) -> None:
    # GIVEN alice (an IAM user) and an analytics instance, on a Tuesday morning in Berlin
    analytics = stack.cloud.add_instance({"Name": "analytics-1", "Department": "Analytics"})
    # WHEN she starts a session
    session = stack.start(stack.person("alice"), analytics)
    # THEN it stays open, the ledger says why and until when, and nobody is alerted
    assert session in stack.active()
    row = stack.row(session)
    assert (row.status, row.decision, row.rule) == ("open", "allow", "analysts-on-analytics")
    assert (row.principal, row.target, row.target_name) == ("alice", analytics, "analytics-1")
    assert row.deadline is not None and row.deadline.isoformat() == "2026-11-24T11:00:00+00:00"
    assert stack.inbox.mails() == []
    assert stack.errors() == []


def test_denied_session_of_an_assumed_role_disappears_and_one_alert_says_why(stack: Stack) -> None:
    # GIVEN an Identity Center user (assumed role, e-mail session name) and a production instance
    prod = stack.cloud.add_instance({"Name": "prod-db-1", "Environment": "prod"})
    # (The path, not the name, makes the role an Identity Center one: a role of that name elsewhere is ordinary.)
    credentials = stack.cloud.role_credentials(
        "AWSReservedSSO_Analyst_0123456789abcdef", "carol@example.com", path="/aws-reserved/sso.amazonaws.com/"
    )
    carol = stack.cloud.client("ssm", credentials=credentials)
    # WHEN she starts a session nothing allows
    session = stack.start(carol, prod)
    # THEN it is gone from DescribeSessions and exactly one HIGH alert says who, where and why
    assert session not in stack.active()
    [mail] = stack.inbox.mails()
    assert mail.subject == f"[Session Warden] TERMINATED carol@example.com on {prod} (prod-db-1)"
    assert (mail.severity, mail.kind) == ("HIGH", "session-terminated")
    assert "default is deny" in mail.body
    assert f"Session:       {session}" in mail.body
    assert "DescribeSessions confirms it is no longer active" in mail.body
    row = stack.row(session)
    assert (row.status, row.action, row.ended_by) == ("ended", "terminated", "session-warden")


def test_deny_rule_beats_an_allow_rule_that_matches_too(stack: Stack) -> None:
    card_db = stack.cloud.add_instance({"Name": "card-db", "Department": "Analytics", "Compliance": "pci"})
    session = stack.start(stack.person("alice"), card_db)
    assert session not in stack.active()
    [mail] = stack.inbox.mails()
    assert "Decision: deny (denied by rule no-pci" in mail.body
    assert stack.row(session).rule == "no-pci"


def test_monitor_mode_alerts_and_leaves_the_session_open(monitor_stack: Stack) -> None:
    prod = monitor_stack.cloud.add_instance({"Name": "prod-db-1", "Environment": "prod"})
    session = monitor_stack.start(monitor_stack.person("bob"), prod)
    assert session in monitor_stack.active()
    [mail] = monitor_stack.inbox.mails()
    assert (mail.severity, mail.kind) == ("MEDIUM", "would-terminate")
    assert mail.subject.startswith("[Session Warden] WOULD TERMINATE bob on")
    assert "monitor mode" in mail.body
    assert monitor_stack.row(session).action == "would-terminate"


def test_failed_start_session_calls_are_recorded_and_break_nothing(stack: Stack) -> None:
    alice = stack.person("alice")
    with pytest.raises(alice.exceptions.TargetNotConnected):
        alice.start_session(Target="i-0000000000000dead")
    analytics = stack.cloud.add_instance({"Department": "Analytics"})
    session = stack.start(alice, analytics)
    assert session in stack.active()
    assert stack.inbox.mails() == []
    assert stack.errors() == []
    failed = [row for row in stack.ledger.query_index("by-day", "day", "2026-11-24") if row.status == "failed-call"]
    assert [(row.error_code, row.target) for row in failed] == [("TargetNotConnected", "i-0000000000000dead")]


def test_the_same_event_delivered_twice_terminates_and_alerts_once(stack: Stack) -> None:
    from warden_local.pytest_plugin import EventTap

    starts = EventTap(stack.cloud, {"source": ["aws.ssm"], "detail": {"eventName": ["StartSession"]}})
    terminations = EventTap(stack.cloud, {"source": ["aws.ssm"], "detail": {"eventName": ["TerminateSession"]}})
    prod = stack.cloud.add_instance({"Environment": "prod"})
    session = stack.start(stack.person("bob"), prod)
    [event] = starts.events()
    # WHEN EventBridge delivers the same CloudTrail event again
    stack.cloud.redeliver(event["source"], event["detail-type"], event["detail"])
    stack.cloud.settle()
    # THEN the session was terminated once, and one alert went out
    assert [e["detail"]["requestParameters"]["sessionId"] for e in terminations.events()] == [session]
    assert stack.inbox.kinds() == ["session-terminated"]
    runs = [i for i in stack.cloud.invocations if i.event_id == event["detail"]["eventID"]]
    assert len(runs) == 2, [(i.function_name, i.event_id, i.outcome, i.error) for i in stack.cloud.invocations]
    assert all(run.ok for run in runs)


def test_throttled_termination_is_retried_and_the_session_still_ends(stack: Stack) -> None:
    # GIVEN TerminateSession throttled more often than botocore's own retries absorb
    stack.cloud.faults.fail("TerminateSession", code="ThrottlingException", times=6)
    prod = stack.cloud.add_instance({"Environment": "prod"})
    session = stack.start(stack.person("bob"), prod)
    assert session not in stack.active()
    assert stack.inbox.kinds() == ["session-terminated"]
    assert stack.errors() == []


def test_termination_that_never_succeeds_alerts_and_lands_in_the_dead_letter_queue(stack: Stack) -> None:
    stack.cloud.faults.fail("TerminateSession", code="InternalServerError", status=500, times=1000)
    prod = stack.cloud.add_instance({"Environment": "prod"})
    session = stack.start(stack.person("bob"), prod)
    stack.cloud.settle(timeout=120)
    assert session in stack.active()
    assert stack.inbox.kinds() == ["termination-failed"]
    sqs = stack.cloud.client("sqs")
    records = sqs.receive_message(QueueUrl=stack.outputs["FailedInvocationsDLQUrl"], MaxNumberOfMessages=10)
    [record] = [json.loads(message["Body"]) for message in records.get("Messages", [])]
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestPayload"]["detail"]["responseElements"]["sessionId"] == session


def test_session_end_event_closes_the_ledger_row_even_before_its_start_arrives(stack: Stack) -> None:
    analytics = stack.cloud.add_instance({"Department": "Analytics"})
    alice = stack.person("alice")
    stack.cloud.faults.delay_next_event("StartSession")
    session = stack.start(alice, analytics)
    stack.cloud.advance("10m")
    alice.terminate_session(SessionId=session)
    stack.cloud.settle()
    stack.cloud.faults.release_delayed()  # the start event arrives after the end
    row = stack.row(session)
    assert (row.status, row.ended_by, row.end_reason) == ("ended", "alice", "terminated by alice")
    assert row.rule == "analysts-on-analytics"
    assert row.duration_seconds == 600
    assert stack.ledger.open_entries() == []


def test_a_denied_session_its_owner_already_ended_is_reported_as_denied_not_terminated(stack: Stack) -> None:
    # GIVEN bob's session on production, ended by bob himself (the AWS CLI does so when its plugin is
    # missing) before its StartSession event reaches the warden
    prod = stack.cloud.add_instance({"Name": "prod-db-1", "Environment": "prod"})
    bob = stack.person("bob")
    stack.cloud.faults.delay_next_event("StartSession")
    session = stack.start(bob, prod)
    bob.terminate_session(SessionId=session)
    stack.cloud.settle()
    # WHEN the start event arrives
    stack.cloud.faults.release_delayed()
    # THEN the alert says it was denied and had already ended, and the ledger keeps who ended it
    [mail] = stack.inbox.mails()
    assert mail.subject == f"[Session Warden] DENIED bob on {prod} (prod-db-1)"
    assert "none needed: the session had already ended" in mail.body
    row = stack.row(session)
    assert (row.decision, row.action, row.ended_by) == ("deny", "already-ended", "bob")


def test_the_wardens_own_terminations_do_not_reach_the_session_end_function(stack: Stack) -> None:
    prod = stack.cloud.add_instance({"Environment": "prod"})
    stack.start(stack.person("bob"), prod)
    stack.cloud.settle()
    ended_runs = [i for i in stack.cloud.invocations if "SessionEnded" in i.function_name]
    assert ended_runs == []


def test_invalid_policy_is_refused_by_push_and_never_replaces_the_valid_one(stack: Stack, tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text(POLICY.format(mode="enforce").replace("windows: [business-hours]", "windows: [busness-hours]"))
    env = {
        **os.environ,
        "AWS_ENDPOINT_URL": stack.cloud.endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": stack.cloud.region,
    }
    pushed = subprocess.run(
        [sys.executable, "-m", "warden_cli.main", "policy", "push", str(broken)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert pushed.returncode == 2
    assert "unknown window" in pushed.stderr + pushed.stdout
    parameter = stack.cloud.client("ssm").get_parameter(Name=stack.outputs["PolicyParameterName"])["Parameter"]
    assert "busness-hours" not in parameter["Value"]


def test_invalid_policy_stored_behind_the_wardens_back_keeps_the_last_valid_one_and_alerts_once(stack: Stack) -> None:
    analytics = stack.cloud.add_instance({"Department": "Analytics"})
    prod = stack.cloud.add_instance({"Environment": "prod"})
    alice = stack.person("alice")
    stack.start(alice, analytics)  # the valid policy has been read
    stack.cloud.put_policy("version: 1\nrules:\n  - name: x\n    efect: allow\n")
    allowed = stack.start(alice, analytics)
    denied = stack.start(stack.person("bob"), prod)
    active = stack.active()
    assert allowed in active and denied not in active
    kinds = stack.inbox.kinds()
    assert kinds.count("policy-rejected") == 1
    rejected = next(mail for mail in stack.inbox.received if mail.kind == "policy-rejected")
    assert "efect" in rejected.body


@pytest.mark.parametrize("payload", sorted(EVENTS.rglob("*.json")), ids=lambda path: path.name)
def test_every_recorded_payload_passes_through_the_handlers_without_a_crash(stack: Stack, payload: Path) -> None:
    event = json.loads(payload.read_text())
    stack.cloud.redeliver(event["source"], event["detail-type"], event["detail"])
    stack.cloud.settle(timeout=60)
    runs = [i for i in stack.cloud.invocations if i.event_id == event["detail"].get("eventID")]
    for run in runs:
        # A handled event ends well; an event the warden cannot act on fails with a clear, typed error. A recorded
        # payload names a session this cloud never started: a denial waits for DescribeSessions to list it.
        expected = {"RejectedEvent", "TargetUnknown", "SessionNotListed", "ForgedEvent"}
        assert run.ok or run.error_type in expected, (run.error_type, run.error)
