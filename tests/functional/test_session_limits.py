"""Concurrent-session limits end to end: real StartSession calls, the event path, the sweeper, the alert e-mails."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.functional.conftest import TUESDAY_MORNING, Stack
from warden_local import LocalCloud
from warden_local.pytest_plugin import EventTap, functional_fidelity

pytestmark = pytest.mark.functional

LIMITED = """\
version: 1
default: deny
rules:
  - name: ops
    principals: ["user:bob", "user:carol"]
    targets: {tags: {Team: ops}}
    max_sessions: 1
  - name: anyone-on-shared
    principals: ["user:alice", "user:bob"]
    targets: {tags: {Team: shared}}
"""

PER_TARGET = """\
version: 1
default: deny
max_sessions_per_target: 1
rules:
  - name: everyone
    principals: ["user:alice", "user:bob"]
"""


def cloud_with(policy: str) -> Iterator[Stack]:
    with LocalCloud(start_at=TUESDAY_MORNING, policy=policy, fidelity=functional_fidelity()) as cloud:
        yield Stack(cloud)


@pytest.fixture
def limited() -> Iterator[Stack]:
    yield from cloud_with(LIMITED)


@pytest.fixture
def per_target() -> Iterator[Stack]:
    yield from cloud_with(PER_TARGET)


def assert_every_call_allowed(stack: Stack) -> None:
    """The limit path's own calls (filtered DescribeSessions, other targets' tags) are allowed by the roles."""
    decisions = stack.cloud.iam_decisions
    assert [(d.function_name, d.action, d.resource) for d in decisions if not d.allowed] == []
    assert any("SessionStartedFunction" in d.function_name and d.action == "ssm:DescribeSessions" for d in decisions)


def terminated_bodies(stack: Stack) -> list[str]:
    return [mail.body for mail in stack.inbox.mails() if mail.kind == "session-terminated"]


def test_a_second_session_over_the_rule_limit_is_denied_and_the_alert_names_the_limit_and_holder(
    limited: Stack,
) -> None:
    # GIVEN bob may hold one session on the ops machines, and holds one
    ops_1 = limited.cloud.add_instance({"Team": "ops", "Name": "ops-1"})
    ops_2 = limited.cloud.add_instance({"Team": "ops", "Name": "ops-2"})
    bob = limited.person("bob")
    first = limited.start(bob, ops_1)
    assert limited.row(first).decision == "allow"
    limited.cloud.advance("30s")

    # WHEN he starts a second one, on another ops machine
    second = limited.start(bob, ops_2)

    # THEN the second is ended and gone from DescribeSessions' Active list; the first stays
    active = limited.active()
    assert first in active
    assert second not in active
    row = limited.row(second)
    assert (row.decision, row.basis, row.rule) == ("deny", "session-limit", "ops")
    # AND the alert says which limit and which session holds it
    (body,) = terminated_bodies(limited)
    assert "Decision: deny (session limit held)" in body
    assert f"max_sessions 1 of rule 'ops' is held by session {first} on {ops_1} since 09:00 UTC" in body
    assert limited.errors() == []
    assert_every_call_allowed(limited)


def test_the_rule_limit_counts_only_the_rules_targets_and_the_principals_own_sessions(limited: Stack) -> None:
    # GIVEN bob holds a session on a shared machine (another rule's targets) and carol one on ops
    shared = limited.cloud.add_instance({"Team": "shared"})
    ops_1 = limited.cloud.add_instance({"Team": "ops"})
    on_shared = limited.start(limited.person("bob"), shared)
    carols = limited.start(limited.person("carol"), ops_1)

    # WHEN bob starts his first session on ops
    bobs = limited.start(limited.person("bob"), ops_1)

    # THEN all three are allowed: neither other session is bob's on the ops rule's targets
    assert {on_shared, carols, bobs} <= limited.active()
    assert terminated_bodies(limited) == []


def test_the_per_target_limit_counts_everyones_sessions_on_that_target(per_target: Stack) -> None:
    # GIVEN one session per target, and bob on the machine
    node = per_target.cloud.add_instance({"Name": "db-1"})
    other = per_target.cloud.add_instance({"Name": "db-2"})
    bobs = per_target.start(per_target.person("bob"), node)
    per_target.cloud.advance("10s")

    # WHEN alice starts one on the same machine, and one on another
    alices = per_target.start(per_target.person("alice"), node)
    elsewhere = per_target.start(per_target.person("alice"), other)

    # THEN hers on the same machine is ended; the alert names the limit and bob's session
    active = per_target.active()
    assert {bobs, elsewhere} <= active
    assert alices not in active
    (body,) = terminated_bodies(per_target)
    assert f"max_sessions_per_target 1 on {node} is held by session {bobs} of bob since 09:00 UTC" in body
    assert_every_call_allowed(per_target)


def test_a_session_that_ended_no_longer_holds_the_limit(per_target: Stack) -> None:
    # GIVEN bob's session on the machine ended (no event: exit); the ledger row may still say open
    node = per_target.cloud.add_instance({})
    bobs = per_target.start(per_target.person("bob"), node)
    per_target.cloud.end_session(bobs)

    # WHEN alice starts one there / THEN it is allowed: AWS lists no open session, whatever the ledger says
    alices = per_target.start(per_target.person("alice"), node)
    assert alices in per_target.active()
    assert per_target.row(alices).decision == "allow"


def test_late_events_leave_it_to_the_sweeper_which_ends_the_newest_and_keeps_the_oldest(limited: Stack) -> None:
    # GIVEN three ops sessions of bob a few seconds apart whose StartSession events never arrive
    ops = [limited.cloud.add_instance({"Team": "ops"}) for _ in range(3)]
    terminations = EventTap(limited.cloud, {"source": ["aws.ssm"], "detail": {"eventName": ["TerminateSession"]}})
    sessions = []
    for target in ops:
        limited.cloud.faults.drop_next_event("StartSession")
        sessions.append(limited.start(limited.person("bob"), target))
        limited.cloud.advance("5s")
    oldest, middle, newest = sessions
    assert set(sessions) <= limited.active()

    # WHEN the sweeper adopts them (each once its grace for a late event is over)
    limited.cloud.advance("4m")

    # THEN the oldest stays, the two newer ones are ended, the newest first
    active = limited.active()
    assert oldest in active
    assert middle not in active and newest not in active
    ended = [event["detail"]["requestParameters"]["sessionId"] for event in terminations.events()]
    assert ended == [newest, middle]
    bodies = terminated_bodies(limited)
    assert len(bodies) == 2
    assert all(f"held by session {oldest} on {ops[0]} since 09:00 UTC" in body for body in bodies)


def test_two_sessions_started_at_once_each_seeing_the_other_keep_exactly_the_older(limited: Stack) -> None:
    # GIVEN bob starts two ops sessions at the same instant, and both events are delivered together (the local
    # cloud's four delivery workers decide them concurrently, each seeing the other in DescribeSessions)
    ops_1 = limited.cloud.add_instance({"Team": "ops"})
    ops_2 = limited.cloud.add_instance({"Team": "ops"})
    limited.cloud.faults.delay_next_event("StartSession")
    limited.cloud.faults.delay_next_event("StartSession")
    one = limited.start(limited.person("bob"), ops_1)
    two = limited.start(limited.person("bob"), ops_2)
    assert {one, two} <= limited.active()

    # WHEN both events arrive at once
    assert limited.cloud.faults.release_delayed() == 2

    # THEN exactly one survives: the older by (start time, session id) - the same start, so the smaller id
    older, newer = sorted([one, two])
    active = limited.active()
    assert older in active
    assert newer not in active
    assert (limited.row(older).decision, limited.row(newer).decision) == ("allow", "deny")
    (body,) = terminated_bodies(limited)
    assert f"held by session {older}" in body
    # AND the sweeper agrees: a minute later nothing else is ended
    limited.cloud.advance("1m")
    assert older in limited.active()
    assert len(terminated_bodies(limited)) == 1
    assert limited.errors() == []
    assert_every_call_allowed(limited)
