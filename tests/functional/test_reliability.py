"""The warden cannot be switched off silently, and loses nothing it did: end to end on the local cloud.

Each test drives real sessions through the real handlers (CloudTrail-shaped events, AWS's timing, IAM enforced)
and checks what AWS and the security team see: DescribeSessions, the ledger row, the alert e-mails.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

import pytest

from tests.functional.conftest import POLICY, TUESDAY_MORNING, Stack
from warden_local.inbox import Mail

if TYPE_CHECKING:
    from warden.adapters.state import DynamoState

pytestmark = pytest.mark.functional

ENFORCE = POLICY.format(mode="enforce")
WITHOUT_ALICE = ENFORCE.replace('"user:alice", ', "")
# A document nested a few thousand levels deep: PyYAML and json raise RecursionError, not a parse error.
NESTED = "[" * 5000 + "]" * 5000


def mails_of(stack: Stack, kind: str) -> list[Mail]:
    return [mail for mail in stack.inbox.mails() if mail.kind == kind]


def state(stack: Stack) -> DynamoState:
    from warden.adapters.state import DynamoState

    return DynamoState(stack.cloud.client("dynamodb"), stack.outputs["StateTableName"], stack.cloud.clock)


# ---------------------------------------------------------------- 1. the policy is never a silent off-switch


def test_a_policy_nested_thousands_deep_is_rejected_and_the_last_valid_one_stays_in_force(stack: Stack) -> None:
    # GIVEN a valid policy in force, then a document nested 5000 deep written straight into the parameter
    prod = stack.cloud.add_instance({"Name": "prod-db-1", "Environment": "prod"})
    analytics = stack.cloud.add_instance({"Department": "Analytics"})
    stack.cloud.put_policy(NESTED)
    # WHEN sessions start and the sweeper runs
    allowed = stack.start(stack.person("alice"), analytics)
    denied = stack.start(stack.person("bob"), prod)
    stack.cloud.advance("2m")
    # THEN the previous policy still decides: alice's session stays, bob's is ended
    assert allowed in stack.active() and denied not in stack.active()
    assert stack.row(allowed).decision == "allow"
    assert stack.row(denied).end_reason == "terminated by Session Warden: no rule or grant allows it"
    # AND one policy-rejected alert says why and what stays in force; no invocation failed
    [rejected] = mails_of(stack, "policy-rejected")
    assert "nests deeper than 64 levels" in rejected.body
    assert "In force:" in rejected.body and "previous valid version" in rejected.body
    assert stack.errors() == []


def test_a_deleted_policy_parameter_keeps_the_kept_copy_in_force_and_alerts_once(stack: Stack) -> None:
    # GIVEN a session decided under the valid policy (which the warden keeps a durable copy of)
    analytics = stack.cloud.add_instance({"Department": "Analytics"})
    prod = stack.cloud.add_instance({"Environment": "prod"})
    first = stack.start(stack.person("alice"), analytics)
    assert stack.row(first).decision == "allow"
    kept = state(stack).load()
    assert kept is not None and "analysts-on-analytics" in kept.text
    # WHEN the parameter (and with it its whole history) is deleted
    stack.cloud.client("ssm").delete_parameter(Name=stack.outputs["PolicyParameterName"])
    allowed = stack.start(stack.person("alice"), analytics)
    denied = stack.start(stack.person("bob"), prod)
    stack.cloud.settle()  # both start events judged first: a sweep leaves a session its event has not reached yet
    stack.cloud.advance("3m")  # three sweeps, each a cold start of its own
    # THEN enforcement goes on under the kept copy
    assert allowed in stack.active() and denied not in stack.active()
    assert stack.row(denied).ended_by == "session-warden"
    # AND one HIGH policy-missing alert says what happened and which policy stays in force
    [missing] = mails_of(stack, "policy-missing")
    assert missing.severity == "HIGH"
    assert "ParameterNotFound" in missing.body
    # From memory (sha256 ...) or, after a cold start, from the kept copy: in the local cloud the tamper watch's
    # run on the DeleteParameter makes the next session start a cold start.
    assert "In force:   the previous valid version (" in missing.body
    assert "sha256 " in missing.body
    # AND the sweeps, each a cold start with no history left to read, judged under the kept copy
    sweeps = [i for i in stack.cloud.invocations if "Sweeper" in i.function_name]
    assert len(sweeps) == 3 and all(sweep.ok and sweep.result["allowed"] == 2 for sweep in sweeps)
    assert stack.errors() == []


def test_a_policy_parameter_the_functions_cannot_read_keeps_the_last_valid_policy(stack: Stack) -> None:
    # GIVEN the valid policy seen once, then GetParameter denied to the functions
    analytics = stack.cloud.add_instance({"Department": "Analytics"})
    stack.start(stack.person("alice"), analytics)
    stack.cloud.settle()
    stack.cloud.faults.fail("ssm:GetParameter", code="AccessDeniedException", times=1000)
    # WHEN a session starts that the policy denies
    prod = stack.cloud.add_instance({"Environment": "prod"})
    denied = stack.start(stack.person("bob"), prod)
    # THEN it is still ended, and one policy-missing alert names the access problem
    assert denied not in stack.active()
    [missing] = mails_of(stack, "policy-missing")
    assert "AccessDenied" in missing.body
    stack.cloud.faults.clear()


def test_with_no_valid_policy_ever_the_warden_fails_closed_loudly(stack: Stack) -> None:
    # GIVEN a fresh stack whose policy parameter was re-created with a broken document (no valid version in
    # its history) before any function ran (no kept copy)
    ssm = stack.cloud.client("ssm")
    name = stack.outputs["PolicyParameterName"]
    ssm.delete_parameter(Name=name)
    ssm.put_parameter(Name=name, Value=NESTED, Type="String")
    prod = stack.cloud.add_instance({"Environment": "prod"})
    # WHEN a session starts
    session = stack.start(stack.person("bob"), prod)
    stack.cloud.settle()
    # THEN nothing is decided on no policy: the invocation fails and is retried (then the Errors alarm, the DLQ)
    failed = [error for error in stack.errors() if "PolicyUnavailable" in error]
    assert len(failed) >= 2  # the first attempt and Lambda's retries
    assert stack.ledger.get(session) is None
    # AND one policy-rejected alert says that no policy is in force
    [rejected] = mails_of(stack, "policy-rejected")
    assert "none: no valid policy exists" in rejected.body


# ---------------------------------------------------------------- 2. a stale lease never stops the sweeps


def test_a_lease_written_far_into_the_future_is_taken_over_and_alerted(stack: Stack) -> None:
    # GIVEN an allowed session, and a sweeper lease someone wrote to expire in 30 years
    analytics = stack.cloud.add_instance({"Department": "Analytics"})
    session = stack.start(stack.person("alice"), analytics)
    forever = int((TUESDAY_MORNING + timedelta(days=365 * 30)).timestamp())
    stack.cloud.client("dynamodb").put_item(
        TableName=stack.outputs["IdempotencyTableName"],
        Item={"id": {"S": "warden#sweeper-lease"}, "owner": {"S": "mallory"}, "expiration": {"N": str(forever)}},
    )
    # WHEN the policy stops allowing the session and two sweeps run
    stack.cloud.put_policy(WITHOUT_ALICE)
    stack.cloud.advance("2m")
    # THEN the first sweep took the lease over and ended the session
    assert session not in stack.active()
    assert stack.row(session).ended_at == TUESDAY_MORNING + timedelta(minutes=1)
    # AND one alert says a lease was held far beyond one sweep
    [tampered] = mails_of(stack, "enforcer-tampered")
    assert tampered.severity == "HIGH"
    assert "2056-" in tampered.body and "warden#sweeper-lease" in tampered.body
    # AND each completed sweep left its heartbeat
    assert state(stack).last_heartbeat() == TUESDAY_MORNING + timedelta(minutes=2)


def test_a_skipped_sweep_records_no_heartbeat(stack: Stack) -> None:
    # GIVEN a lease rightly held (for less than one sweep's timeout) by another sweep
    held_until = int((TUESDAY_MORNING + timedelta(minutes=1, seconds=100)).timestamp())
    stack.cloud.client("dynamodb").put_item(
        TableName=stack.outputs["IdempotencyTableName"],
        Item={"id": {"S": "warden#sweeper-lease"}, "owner": {"S": "other-sweep"}, "expiration": {"N": str(held_until)}},
    )
    # WHEN the next sweep runs THEN it skips, and no heartbeat says a sweep completed
    stack.cloud.advance("1m")
    sweeps = [i for i in stack.cloud.invocations if "Sweeper" in i.function_name]
    assert sweeps[-1].result["skipped"] is True
    assert state(stack).last_heartbeat() is None
    assert mails_of(stack, "enforcer-tampered") == []


# ---------------------------------------------------------------- 3. one unreadable target affects only its sessions


def test_a_managed_node_whose_tags_cannot_be_read_does_not_stop_the_sweep_for_the_others(stack: Stack) -> None:
    # GIVEN two allowed sessions of alice: an EC2 instance and a managed node
    instance = stack.cloud.add_instance({"Department": "Analytics"})
    node = stack.cloud.add_managed_node({"Department": "Analytics", "Name": "lab-node"})
    on_instance = stack.start(stack.person("alice"), instance)
    on_node = stack.start(stack.person("alice"), node)
    assert stack.row(on_node).decision == "allow"
    # WHEN the managed node's tags cannot be read (AccessDenied) and the policy stops allowing alice
    stack.cloud.faults.fail("ssm:ListTagsForResource", code="AccessDeniedException", times=1000)
    stack.cloud.put_policy(WITHOUT_ALICE)
    stack.cloud.advance("1m")
    # THEN the instance session is judged and ended that very sweep; the node's session waits, unjudged
    assert on_instance not in stack.active()
    assert on_node in stack.active()
    assert stack.errors() == []
    # AND after five minutes unjudged, one MEDIUM alert names the session, the target and the error
    stack.cloud.advance("4m")
    assert mails_of(stack, "enforcer-unhealthy") == []
    stack.cloud.advance("1m")
    stack.cloud.advance("3m")
    [unhealthy] = mails_of(stack, "enforcer-unhealthy")
    assert unhealthy.severity == "MEDIUM"
    assert on_node in unhealthy.body and node in unhealthy.body and "AccessDenied" in unhealthy.body
    # AND once the tags can be read again, the session is judged (and ended), with no further alert
    stack.cloud.faults.clear()
    stack.cloud.advance("1m")
    assert on_node not in stack.active()
    assert len(mails_of(stack, "enforcer-unhealthy")) == 1


# ---------------------------------------------------------------- 4. the alert outbox


def test_a_termination_alert_sns_refused_is_sent_by_the_next_sweep_once(stack: Stack) -> None:
    # GIVEN an allowed session that the policy no longer allows, and SNS failing (past botocore's retries)
    analytics = stack.cloud.add_instance({"Name": "analytics-1", "Department": "Analytics"})
    session = stack.start(stack.person("alice"), analytics)
    assert stack.row(session).decision == "allow"
    stack.cloud.put_policy(WITHOUT_ALICE)
    stack.cloud.faults.fail("sns:Publish", code="InternalError", status=500, times=100)
    # WHEN the sweep ends the session THEN nothing reaches the inbox yet, and the sweep did not fail
    stack.cloud.advance("1m")
    assert session not in stack.active()
    assert stack.inbox.mails() == []
    assert stack.errors() == []
    stack.cloud.faults.clear()  # SNS is back
    # WHEN the next sweeps run THEN the TERMINATED alert arrives, once
    stack.cloud.advance("2m")
    [terminated] = mails_of(stack, "session-terminated")
    assert session in terminated.body and "Action: terminated at 2026-11-24 09:01:00 UTC" in terminated.body
    assert stack.inbox.kinds() == ["session-terminated"]


def test_a_grant_expiry_alert_sns_refused_is_sent_later_and_the_grant_stays_expired(stack: Stack) -> None:
    from tests.functional.test_sweeper import grant

    grant(stack, "g-outbox", hours=1)
    stack.cloud.advance("59m")
    stack.cloud.faults.fail("sns:Publish", code="InternalError", status=500, times=100)
    stack.cloud.advance("1m")
    assert stack.grants.get("g-outbox").state == "expired"  # type: ignore[union-attr]
    assert stack.inbox.mails() == []
    stack.cloud.faults.clear()
    stack.cloud.advance("1m")
    assert stack.inbox.kinds() == ["grant-expired"]


# ---------------------------------------------------------------- 5. termination reported as what it was


def test_a_termination_whose_confirmation_is_throttled_is_reported_as_the_wardens(stack: Stack) -> None:
    # GIVEN DescribeSessions throttled past botocore's retries for longer than the termination budget
    prod = stack.cloud.add_instance({"Name": "prod-db-1", "Environment": "prod"})
    stack.cloud.faults.fail("ssm:DescribeSessions", code="ThrottlingException", times=10_000)
    # WHEN a denied session starts (TerminateSession itself succeeds)
    session = stack.start(stack.person("bob"), prod)
    stack.cloud.settle(timeout=120)
    stack.cloud.faults.clear()
    # THEN the warden's termination is recorded and alerted as such, never as failed or "already ended"
    row = stack.row(session)
    assert (row.ended_by, row.action) == ("session-warden", "terminated")
    [mail] = stack.inbox.mails()
    assert mail.kind == "session-terminated"
    assert "TerminateSession succeeded; DescribeSessions could not confirm it yet (ThrottlingException: " in mail.body
    assert stack.errors() == []
    # AND the next sweep sees it gone, and reports nothing more
    stack.cloud.advance("1m")
    assert session not in stack.active()
    assert stack.inbox.kinds() == ["session-terminated"]


def test_a_session_that_stays_terminating_for_seconds_is_no_termination_failure(stack: Stack) -> None:
    # GIVEN sessions take 2 s in Terminating (functional fidelity) WHEN three denied sessions start
    sessions = [stack.start(stack.person(name), stack.cloud.add_instance({"Environment": "prod"})) for name in "xyz"]
    stack.cloud.settle()
    # THEN each is terminated once, alerted once, and no invocation failed
    assert not set(sessions) & stack.active()
    assert stack.inbox.kinds() == ["session-terminated"] * 3
    assert stack.errors() == []


# ---------------------------------------------------------------- 6. the TerminateSession rules


def test_a_role_named_like_the_wardens_cannot_hide_its_terminations(stack: Stack) -> None:
    # GIVEN alice's allowed session, and someone who created a role named like the warden's own
    analytics = stack.cloud.add_instance({"Department": "Analytics"})
    session = stack.start(stack.person("alice"), analytics)
    impostor: Any = stack.person("mallory", role=f"{stack.cloud.stack_name}-warden-impostor")
    # WHEN that role terminates the session
    impostor.terminate_session(SessionId=session)
    stack.cloud.settle()
    # THEN the ledger records who ended it (the end event reached the warden)
    row = stack.row(session)
    assert row.status == "ended"
    # (an ordinary role's session is shown as ROLE/SESSION: its session name is the caller's choice)
    impostor_name = f"{stack.cloud.stack_name}-warden-impostor/mallory"
    assert (row.ended_by, row.end_reason) == (impostor_name, f"terminated by {impostor_name}")
    assert row.end_reason != "ended without event"


def test_the_wardens_own_terminations_do_not_come_back_as_end_events(stack: Stack) -> None:
    prod = stack.cloud.add_instance({"Environment": "prod"})
    session = stack.start(stack.person("bob"), prod)
    stack.cloud.settle()
    assert session not in stack.active()
    assert not [i for i in stack.cloud.invocations if "SessionEnded" in i.function_name]
    assert stack.row(session).ended_by == "session-warden"


# ---------------------------------------------------------------- 7. one bad item stops nothing


def test_one_unreadable_ledger_or_grant_item_does_not_stop_the_sweep(stack: Stack) -> None:
    # GIVEN a session the policy no longer allows, and an open ledger row and a grant written by hand in shapes
    # the warden cannot read
    analytics = stack.cloud.add_instance({"Name": "analytics-1", "Department": "Analytics"})
    session = stack.start(stack.person("alice"), analytics)
    dynamodb = stack.cloud.client("dynamodb")
    dynamodb.put_item(
        TableName=stack.outputs["LedgerTableName"],
        Item={"session_id": {"S": "bogus-1"}, "open": {"S": "open"}, "started_at": {"S": "not a time"}},
    )
    dynamodb.put_item(
        TableName=stack.outputs["GrantsTableName"],
        Item={"id": {"S": "g-bogus"}, "state": {"S": "active"}, "expires_at": {"S": "9999-12-31T00:00:00Z"}},
    )
    stack.cloud.put_policy(WITHOUT_ALICE)
    # WHEN the sweeper runs THEN it still judges and ends the session, and the sweep does not fail
    stack.cloud.advance("1m")
    assert session not in stack.active()
    assert stack.row(session).action == "terminated"
    assert stack.errors() == []


def test_a_backtracking_reason_regex_cannot_keep_a_session_undecided(stack: Stack) -> None:
    # GIVEN a rule whose reason pattern backtracks exponentially in a backtracking engine (seconds at 25 characters,
    # doubling per character: past the Lambda timeout at 30)
    stack.cloud.put_policy(
        ENFORCE.replace("    max_duration: 2h\n", '    max_duration: 2h\n    require_reason: "^([A-Z]+-?)+[0-9]+$"\n')
    )
    analytics = stack.cloud.add_instance({"Name": "analytics-1", "Department": "Analytics"})
    # WHEN alice starts a session with a 60-character reason that almost matches
    session = stack.start(stack.person("alice"), analytics, Reason="A" * 59 + "!")
    # THEN it is decided at once (no match: denied by default and terminated), and nothing failed
    assert session not in stack.active()
    row = stack.row(session)
    assert (row.decision, row.action) == ("deny", "terminated")
    assert stack.errors() == []
    # AND a reason that matches is allowed
    allowed = stack.start(stack.person("alice"), analytics, Reason="INC-4711")
    assert allowed in stack.active()
