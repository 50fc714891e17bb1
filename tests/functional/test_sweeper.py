"""The sweeper end to end: every minute it re-decides open sessions and ends what no longer holds."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest

from tests.functional.conftest import POLICY, TUESDAY_MORNING, Stack
from warden.policy import Grant
from warden.service import Warden
from warden.sweeper import ADOPTION_GRACE
from warden.timefmt import iso
from warden_local.pytest_plugin import EventTap

pytestmark = pytest.mark.functional


def grant(stack: Stack, grant_id: str, *, principal: str = "user:bob", hours: float = 1, tag: str = "prod") -> Grant:
    made = Grant(
        id=grant_id,
        principal=principal,
        targets={"tags": {"Environment": tag}},  # type: ignore[arg-type]
        starts_at=stack.cloud.clock.now(),
        expires_at=stack.cloud.clock.now() + timedelta(hours=hours),
        reason="INC-4711 failover",
        created_by="arn:aws:iam::123456789012:user/oncall-lead",
    )
    stack.grants.create(made)
    return made


def last_terminated(stack: Stack) -> str:
    terminated = [mail for mail in stack.inbox.mails() if mail.kind == "session-terminated"]
    assert terminated, f"no termination alert; got {stack.inbox.kinds()}"
    return terminated[-1].body


def test_grant_ends_its_session_at_the_sweep_of_its_expiry_minute_and_not_before(stack: Stack) -> None:
    # GIVEN a one-hour grant for bob on production, and bob's session under it
    grant(stack, "g-one-hour")
    prod = stack.cloud.add_instance({"Name": "prod-db-1", "Environment": "prod"})
    session = stack.start(stack.person("bob"), prod)
    assert stack.row(session).grant == "g-one-hour"
    # WHEN the clock reaches one minute before expiry THEN the session is still there
    stack.cloud.advance("59m")
    assert session in stack.active()
    # WHEN the sweep of the expiry minute runs (expires_at is exclusive) THEN it is gone, and the mails say why
    stack.cloud.advance("1m")
    assert session not in stack.active()
    # (with the warning ten minutes before its end: SPEC section 9)
    assert stack.inbox.kinds() == ["session-expiring", "grant-expired", "session-terminated"]
    body = last_terminated(stack)
    assert "Decision: deny (grant expired)" in body
    assert "  - grant g-one-hour expired at 2026-11-24 10:00:00 UTC" in body
    row = stack.row(session)
    # not the stale allowance: no deadline; the row still names the grant that had allowed the session
    assert (row.decision, row.grant, row.deadline) == ("deny", "g-one-hour", None)
    assert row.ended_at == TUESDAY_MORNING + timedelta(hours=1)
    assert row.end_reason == "terminated by Session Warden: grant expired"


def test_revoked_grant_ends_its_session_within_a_minute(stack: Stack) -> None:
    grant(stack, "g-revoke-me", hours=8)
    prod = stack.cloud.add_instance({"Environment": "prod"})
    session = stack.start(stack.person("bob"), prod)
    stack.cloud.advance("5m")
    stack.grants.revoke("g-revoke-me", by="oncall-lead", now=stack.cloud.clock.now())
    stack.cloud.advance("1m")
    assert session not in stack.active()
    body = last_terminated(stack)
    assert "Decision: deny (grant revoked)" in body
    assert "  - grant g-revoke-me was revoked at 2026-11-24 09:05:00 UTC by oncall-lead" in body


def test_session_covered_by_an_overlapping_grant_stays_when_one_is_revoked(stack: Stack) -> None:
    grant(stack, "g-long", hours=8)
    grant(stack, "g-short", hours=2)
    prod = stack.cloud.add_instance({"Environment": "prod"})
    session = stack.start(stack.person("bob"), prod)
    assert stack.row(session).grant == "g-long"
    stack.grants.revoke("g-long", by="oncall-lead", now=stack.cloud.clock.now())
    stack.cloud.advance("3m")
    assert session in stack.active()
    assert stack.row(session).grant == "g-short"
    stack.cloud.advance("2h")
    assert session not in stack.active()
    assert "Decision: deny (grant expired)" in last_terminated(stack)


def test_session_that_outlives_business_hours_ends_when_the_window_closes(stack: Stack) -> None:
    stack.cloud.advance("7h30m")  # 16:30 UTC = 17:30 in Berlin
    analytics = stack.cloud.add_instance({"Name": "analytics-1", "Department": "Analytics"})
    session = stack.start(stack.person("alice"), analytics)
    assert stack.row(session).deadline == TUESDAY_MORNING + timedelta(hours=8)  # 18:00 Berlin
    stack.cloud.advance("29m")
    assert session in stack.active()
    stack.cloud.advance("1m")
    assert session not in stack.active()
    body = last_terminated(stack)
    assert (
        "Decision: deny (window closed)\n  - rule analysts-on-analytics: window business-hours closed at 18:00" in body
    )


def test_session_ends_at_its_maximum_duration(stack: Stack) -> None:
    analytics = stack.cloud.add_instance({"Department": "Analytics"})
    session = stack.start(stack.person("alice"), analytics)
    stack.cloud.advance("2h")
    assert session not in stack.active()
    assert "Decision: deny (maximum duration reached)" in last_terminated(stack)


def test_session_ends_when_its_target_is_retagged(stack: Stack) -> None:
    runner = stack.cloud.add_instance({"Name": "build-runner", "Department": "Analytics"})
    session = stack.start(stack.person("alice"), runner)
    stack.cloud.advance("10m")
    stack.cloud.client("ec2").create_tags(Resources=[runner], Tags=[{"Key": "Department", "Value": "Finance"}])
    stack.cloud.advance("1m")
    assert session not in stack.active()
    body = last_terminated(stack)
    assert "Decision: deny (target re-tagged)" in body
    assert "  - target tags changed: Department=Analytics -> Department=Finance" in body
    assert "build-runner" in body


def test_session_ends_when_the_policy_no_longer_allows_it(stack: Stack) -> None:
    analytics = stack.cloud.add_instance({"Department": "Analytics"})
    session = stack.start(stack.person("alice"), analytics)
    assert stack.row(session).decision == "allow"  # decided under the old policy
    stack.cloud.put_policy(POLICY.format(mode="enforce").replace('"user:alice", ', ""))
    stack.cloud.advance("1m")
    assert session not in stack.active()
    body = last_terminated(stack)
    assert "Decision: deny (policy changed)" in body
    assert "  - rule analysts-on-analytics no longer allows it" in body


def test_sweeper_adopts_sessions_whose_start_event_was_dropped(stack: Stack) -> None:
    analytics = stack.cloud.add_instance({"Department": "Analytics"})
    prod = stack.cloud.add_instance({"Environment": "prod"})
    stack.cloud.faults.drop_next_event("StartSession")
    allowed = stack.start(stack.person("alice"), analytics)
    stack.cloud.faults.drop_next_event("StartSession")
    denied = stack.start(stack.person("bob"), prod)
    stack.cloud.settle()
    assert {allowed, denied} <= stack.active()  # nothing saw them yet
    stack.cloud.advance("2m")
    assert {allowed, denied} <= stack.active()  # their events may still be on the way: left alone
    stack.cloud.advance("1m")
    assert allowed in stack.active() and denied not in stack.active()
    assert stack.row(allowed).adopted
    assert "never reached Session Warden" in last_terminated(stack)


def test_sweeper_closes_rows_of_sessions_that_ended_without_an_event(stack: Stack) -> None:
    analytics = stack.cloud.add_instance({"Department": "Analytics"})
    session = stack.start(stack.person("alice"), analytics)
    stack.cloud.advance("20m")
    stack.cloud.end_session(session)  # `exit` or an idle timeout: no API call, no CloudTrail event
    stack.cloud.advance("1m")
    row = stack.row(session)
    assert (row.status, row.end_reason) == ("ended", "ended without event")
    assert row.ended_at == TUESDAY_MORNING + timedelta(minutes=20)
    assert row.duration_seconds == 1200
    assert stack.inbox.mails() == []


def test_grant_expiry_is_alerted_once_however_many_sweeps_see_it(stack: Stack) -> None:
    grant(stack, "g-once", hours=1)
    stack.cloud.advance("1h10m")
    assert stack.inbox.kinds() == ["grant-expired"]
    assert stack.grants.get("g-once").state == "expired"  # type: ignore[union-attr]


@contextmanager
def warden_in_process(stack: Stack) -> Iterator[Any]:
    """A second warden, built from the same environment the sweeper function gets."""
    from warden import wiring

    outputs = stack.outputs
    env = {
        "WARDEN_GRANTS_TABLE": outputs["GrantsTableName"],
        "WARDEN_LEDGER_TABLE": outputs["LedgerTableName"],
        "WARDEN_IDEMPOTENCY_TABLE": outputs["IdempotencyTableName"],
        "WARDEN_STATE_TABLE": outputs["StateTableName"],
        "WARDEN_ALERTS_TOPIC_ARN": outputs["AlertsTopicArn"],
        "WARDEN_POLICY_PARAMETER": outputs["PolicyParameterName"],
        "WARDEN_WARNING_DOCUMENT": outputs["WarningDocumentName"],
        "WARDEN_POLICY_CACHE_SECONDS": "0",
        "WARDEN_CLOCK_URL": f"{stack.cloud.endpoint}/_warden/clock",
        "AWS_ENDPOINT_URL": stack.cloud.endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": stack.cloud.region,
    }
    saved = {name: os.environ.get(name) for name in env}
    os.environ.update(env)
    wiring.reset()
    try:
        yield wiring.build_warden
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        wiring.reset()


def sweeps_at_once(warden: Warden, count: int) -> list[BaseException]:
    """Run ``count`` sweeps of ``warden`` at the same moment, each with its own owner; what they raised."""
    barrier = threading.Barrier(count)
    errors: list[BaseException] = []

    def sweep(owner: str) -> None:
        barrier.wait()
        try:
            warden.sweeper.sweep(owner)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=sweep, args=(f"sweep-{n}",)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return errors


def test_concurrent_sweeps_terminate_and_alert_once(stack: Stack) -> None:
    # GIVEN three sessions nothing allows, whose start events were lost
    terminations = EventTap(stack.cloud, {"source": ["aws.ssm"], "detail": {"eventName": ["TerminateSession"]}})
    sessions = []
    for name in ("bob", "carol", "dave"):
        prod = stack.cloud.add_instance({"Environment": "prod"})
        stack.cloud.faults.drop_next_event("StartSession")
        sessions.append(stack.start(stack.person(name), prod))
    stack.cloud.settle()
    # WHEN four sweeps run at the same moment (an overrunning sweep and its successors)
    with warden_in_process(stack) as build:
        warden: Warden = build()
        later = stack.cloud.clock.now() + ADOPTION_GRACE  # old enough to be adopted

        class Later:
            def now(self) -> Any:
                return later

        warden.sweeper.clock = warden.enforcer.clock = Later()
        errors = sweeps_at_once(warden, 4)
    assert errors == []
    # THEN each session was terminated once and alerted once
    assert not set(sessions) & stack.active()
    terminated = sorted(event["detail"]["requestParameters"]["sessionId"] for event in terminations.events())
    assert terminated == sorted(sessions)
    assert stack.inbox.kinds() == ["session-terminated"] * 3


def test_sweep_cost_does_not_grow_with_ledger_history(stack: Stack) -> None:
    # GIVEN a day of history: many sessions that started and ended
    analytics = stack.cloud.add_instance({"Department": "Analytics"})
    alice = stack.person("alice")
    for _ in range(20):
        alice.terminate_session(SessionId=stack.start(alice, analytics))
    stack.cloud.settle(timeout=120)  # each of the 40 events is confirmed with DescribeSessions first
    ended = stack.ledger.query_index("by-day", "day", iso(TUESDAY_MORNING)[:10])
    assert len(ended) == 20
    # WHEN a sweep runs THEN it reads only open rows (none), not the history
    assert stack.ledger.open_entries() == []
    stack.cloud.advance("1m")
    sweeps = [i for i in stack.cloud.invocations if "Sweeper" in i.function_name]
    assert sweeps and sweeps[-1].ok
    assert sweeps[-1].result["active"] == 0 and sweeps[-1].result["ended_without_event"] == 0
