"""Session limits through the service and in-memory fakes: what is fetched, what is counted, who goes."""

from __future__ import annotations

import dataclasses

from tests.unit.test_service import ALICE, BOB, World
from warden.policy import load_policy

ANALYTICS = "i-0analytics000001"
PROD = "i-0prod00000000001"
LIMITED = """
version: 1
max_sessions_per_target: 2
rules:
  - name: analysts-on-analytics
    principals: ["user:alice@example.com"]
    targets: {tags: {Department: Analytics}}
    max_sessions: 1
  - name: prod
    principals: ["user:bob", "user:alice@example.com"]
    targets: {tags: {Environment: prod}}
"""


def limited_world() -> World:
    world = World()
    world.policies.policy = load_policy(LIMITED)
    return world


def test_without_a_limit_the_event_path_makes_no_describe_sessions_call() -> None:
    # GIVEN a policy with no session limit / WHEN an allowed session starts
    world = World()
    assert not world.policies.policy.compiled.limited
    assert world.events.on_session_started(world.start(ANALYTICS)).decision == "allow"

    # THEN no open sessions were listed for it
    assert world.sessions.filtered_looks == []


def test_a_rule_limit_lists_the_principals_sessions_and_a_target_limit_the_targets() -> None:
    world = limited_world()
    world.events.on_session_started(world.start(ANALYTICS))
    # alice matches a limited rule (Owner filter) and the policy limits each target (Target filter)
    assert world.sessions.filtered_looks == [(None, ALICE), (ANALYTICS, None)]


def test_a_second_session_over_the_rule_limit_is_terminated_and_the_alert_names_the_holder() -> None:
    # GIVEN alice holds one analytics session
    world = limited_world()
    first = world.start(ANALYTICS)
    assert world.events.on_session_started(first).decision == "allow"
    world.clock.advance(seconds=30)

    # WHEN she starts another
    second = world.start(ANALYTICS)
    world.events.on_session_started(second)

    # THEN the second is terminated, the first stays, and the alert says which limit and which session
    assert world.sessions.terminate_calls == [second.session_id]
    assert first.session_id in world.sessions.live
    (alert,) = world.alerts.sent
    text = alert.body
    assert "Decision: deny (session limit held)" in text
    assert f"max_sessions 1 of rule 'analysts-on-analytics' is held by session {first.session_id}" in text
    row = world.ledger.rows[second.session_id]
    assert (row.decision, row.basis) == ("deny", "session-limit")


def test_a_ledger_row_is_not_an_open_session() -> None:
    # GIVEN the ledger says alice has an open session, but AWS lists none (it ended without an event)
    world = limited_world()
    first = world.start(ANALYTICS)
    world.events.on_session_started(first)
    world.sessions.end(first.session_id, world.clock.now())
    assert world.ledger.rows[first.session_id].status == "open"

    # WHEN she starts another / THEN it is allowed
    second = world.start(ANALYTICS)
    assert world.events.on_session_started(second).decision == "allow"
    assert world.sessions.terminate_calls == []


def test_a_terminating_session_does_not_hold_the_limit() -> None:
    world = limited_world()
    first = world.start(ANALYTICS)
    world.events.on_session_started(first)
    listed = world.sessions.live[first.session_id]
    world.sessions.live[first.session_id] = dataclasses.replace(listed, status="Terminating")
    assert world.events.on_session_started(world.start(ANALYTICS)).decision == "allow"


def test_the_per_target_limit_counts_every_owner() -> None:
    world = limited_world()
    for who in (ALICE, BOB):
        world.events.on_session_started(world.start(PROD, who=who))
    third = world.start(PROD, who=BOB)
    world.events.on_session_started(third)
    assert world.sessions.terminate_calls == [third.session_id]
    (alert,) = world.alerts.sent
    assert "max_sessions_per_target 2 on i-0prod00000000001 is held by sessions" in alert.body


def test_the_sweeper_ends_the_newest_sessions_over_a_limit_and_keeps_the_oldest() -> None:
    # GIVEN three analytics sessions of alice that the event path never saw (lost events)
    world = limited_world()
    ids = []
    for _ in range(3):
        ids.append(world.start(ANALYTICS).session_id)
        world.clock.advance(seconds=5)

    # WHEN the sweeper adopts them
    world.clock.advance(minutes=4)
    world.sweeper.sweep("sweep-1")

    # THEN the newest is ended first, then the middle one; the oldest stays
    assert world.sessions.terminate_calls == [ids[2], ids[1]]
    assert ids[0] in world.sessions.live
