"""Termination confirmed within a time budget, the alert outbox, the sweep lease and heartbeat, unjudged sessions."""

from __future__ import annotations

import pytest

from tests.unit.test_service import BOB, World
from warden.errors import TerminationError
from warden.records import Alert
from warden.sweeper import SWEEP_LEASE, UNJUDGED_ALERT_AFTER

PCI = "i-0pci000000000001"
PROD = "i-0prod00000000001"
ANALYTICS = "i-0analytics000001"


def test_a_session_that_shows_terminating_is_ended_by_one_call_and_reported_as_terminated() -> None:
    # GIVEN AWS shows a terminated session as Terminating for several looks
    world = World()
    world.sessions.terminating_looks = 5
    started = world.start(PCI)
    # WHEN it is denied THEN TerminateSession is called once, and the warden reports its own termination
    outcome = world.events.on_session_started(started)
    assert outcome.action == "terminated"
    assert world.sessions.terminate_calls == [started.session_id]
    assert world.alerts.kinds() == ["session-terminated"]


def test_a_termination_whose_confirmation_is_throttled_throughout_is_still_the_wardens() -> None:
    # GIVEN TerminateSession succeeds but DescribeSessions is throttled for the whole budget
    world = World()
    world.sessions.fail_describes = 10_000
    started = world.start(PCI)
    # WHEN it is denied THEN the ledger and the alert say the warden terminated it (not "termination failed")
    outcome = world.events.on_session_started(started)
    assert outcome.action == "terminated"
    row = world.ledger.get(started.session_id or "")
    assert row is not None and row.ended_by == "session-warden"
    [alert] = world.alerts.sent
    assert alert.kind == "session-terminated"
    assert "TerminateSession succeeded; DescribeSessions could not confirm it yet" in alert.body


def test_a_session_that_stays_connected_is_a_real_failure_alerted_once() -> None:
    world = World()
    started = world.start(PCI)
    world.sessions.immortal.add(started.session_id or "")
    for _ in range(2):
        with pytest.raises(TerminationError, match=r"still active \(Connected\)"):
            world.events.on_session_started(started)
    assert world.alerts.kinds() == ["termination-failed"]


def test_an_alert_sns_refuses_is_kept_and_sent_by_the_next_sweep_once_even_when_sweeps_overlap() -> None:
    # GIVEN SNS refusing the TERMINATED alert of a denied session
    world = World(with_state=True)
    world.alerts.failures = 1
    started = world.start(PCI)
    # WHEN the event path ends the session THEN nothing is raised, and the alert is kept
    assert world.events.on_session_started(started).action == "terminated"
    assert world.alerts.sent == []
    assert world.state is not None and len(world.state.pending()) == 1
    # WHEN one sender holds it (an overlapping sweep mid-send) THEN another sweep does not send it too
    [(key, _)] = world.state.pending()
    assert world.state.claim(key, "overlapping-sweep", 60)
    world.sweeper.sweep("s1")
    assert world.alerts.sent == []
    # AND once that claim has lapsed, the next sweep sends it, once
    world.clock.advance(seconds=61)
    world.sweeper.sweep("s2")
    world.sweeper.sweep("s3")
    assert world.alerts.kinds() == ["session-terminated"]
    assert world.state.pending() == []


def test_a_grant_expiry_alert_sns_refuses_is_sent_later_without_failing_the_sweep() -> None:
    from tests.unit.test_service import TUESDAY_10_BERLIN, grant

    world = World(grants=[grant("g-1", starts=TUESDAY_10_BERLIN, hours=1)], with_state=True)
    world.clock.advance(hours=1)
    world.alerts.failures = 1
    # WHEN SNS refuses the first send THEN the sweep does not fail, and the kept alert goes out from the outbox once
    # SNS answers (here at the end of the same sweep, after every session is judged), once across sweeps
    assert world.sweeper.sweep("s1").grants_expired == 1
    assert world.alerts.kinds() == ["grant-expired"]
    world.sweeper.sweep("s2")
    assert world.alerts.kinds() == ["grant-expired"]


def test_a_stale_lease_is_taken_over_alerted_once_and_the_completed_sweep_beats() -> None:
    # GIVEN a lease someone wrote far into the future
    world = World(with_state=True)
    world.once.leases[SWEEP_LEASE] = "mallory"
    world.once.stale[SWEEP_LEASE] = "2056-11-24 09:00:00 UTC"
    # WHEN the sweep runs THEN it takes the lease over, says so once, and records its heartbeat
    report = world.sweeper.sweep("s1")
    assert not report.skipped
    [alert] = world.alerts.sent
    assert (alert.kind, alert.severity) == ("enforcer-tampered", "HIGH")
    assert "2056-11-24 09:00:00 UTC" in alert.body
    assert world.state is not None and world.state.beats == [world.clock.now()]


def test_a_skipped_sweep_records_no_heartbeat() -> None:
    world = World(with_state=True)
    world.once.acquire(SWEEP_LEASE, "sweep-1", 115)
    assert world.sweeper.sweep("sweep-2").skipped
    assert world.state is not None and world.state.beats == []


def test_an_unreadable_target_leaves_only_its_session_unjudged_and_alerts_once_after_five_minutes() -> None:
    # GIVEN two sessions the policy denies, one on a target whose tags cannot be read
    world = World(with_state=True)
    world.tags.unreadable[PROD] = "ListTagsForResource: ClientError: AccessDenied"
    stuck = world.start(PROD, who=BOB)
    other = world.start(PCI)
    world.clock.advance(minutes=3)  # both were never seen by the event path: adopted now
    # WHEN sweeps run minute by minute
    world.sweeper.sweep("s")
    assert not world.sessions.is_active(other.session_id or "")  # the other one was judged and ended
    assert world.sessions.is_active(stuck.session_id or "")
    for _ in range(int(UNJUDGED_ALERT_AFTER.total_seconds() // 60) + 3):
        world.clock.advance(minutes=1)
        world.sweeper.sweep("s")
    # THEN one MEDIUM alert names the session, its target and the error
    unhealthy = [alert for alert in world.alerts.sent if alert.kind == "enforcer-unhealthy"]
    assert len(unhealthy) == 1
    assert unhealthy[0].severity == "MEDIUM"
    assert stuck.session_id in unhealthy[0].body and PROD in unhealthy[0].body and "AccessDenied" in unhealthy[0].body
    # AND once it can be judged, its mark is cleared
    del world.tags.unreadable[PROD]
    world.sweeper.sweep("s")
    assert not world.sessions.is_active(stuck.session_id or "")
    assert world.state is not None and world.state.unjudged() == {}


def test_any_failure_of_the_policy_loader_is_a_rejection_not_a_crash(monkeypatch: pytest.MonkeyPatch) -> None:
    from warden.adapters import policy_source
    from warden.policy import PolicyError

    def explode(text: str, *, source: str) -> None:
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr(policy_source, "load_policy", explode)
    with pytest.raises(PolicyError, match=r"cannot be read as a policy \(RecursionError\)"):
        policy_source._load("version: 1", "the-parameter")


@pytest.mark.parametrize(
    "document",
    ["[" * 5000 + "]" * 5000, "{a: " * 100 + "1" + "}" * 100, "\n".join("  " * level + "- x" for level in range(100))],
)
def test_a_document_nested_absurdly_deep_is_rejected_before_it_is_parsed(document: str) -> None:
    from warden.adapters import policy_source
    from warden.policy import PolicyError

    with pytest.raises(PolicyError, match="nests deeper than 64 levels"):
        policy_source._load(document, "the-parameter")


def test_a_backlog_of_kept_alerts_is_sent_a_bounded_number_at_a_time() -> None:
    from warden.notifier import FLUSH_LIMIT

    # GIVEN more kept alerts than one sweep sends
    world = World(with_state=True)
    assert world.state is not None
    for number in range(FLUSH_LIMIT + 5):
        world.state.keep(f"k{number}", Alert("grant-expired", "INFO", f"s{number}", "body"), owner="x", seconds=0)
    # WHEN two sweeps run THEN the first sends FLUSH_LIMIT of them, the second the rest, each once
    world.sweeper.sweep("s1")
    assert len(world.alerts.sent) == FLUSH_LIMIT
    world.sweeper.sweep("s2")
    assert sorted(alert.subject for alert in world.alerts.sent) == sorted(f"s{n}" for n in range(FLUSH_LIMIT + 5))
