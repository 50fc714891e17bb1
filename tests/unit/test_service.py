"""The service through in-memory fakes: decisions turn into the right ledger rows, terminations and alerts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.fakes import (
    FakeAlerts,
    FakeClock,
    FakeDocuments,
    FakeGrants,
    FakeLedger,
    FakeOnce,
    FakePolicies,
    FakeRoles,
    FakeSessions,
    FakeState,
    FakeTags,
    RunOnce,
)
from warden.alerts.text import AlertContext
from warden.errors import (
    ForgedEvent,
    MissingSessionId,
    SessionNotListed,
    SweepIncomplete,
    TargetUnknown,
    TerminationError,
)
from warden.events import SessionApiCall
from warden.policy import Grant, load_policy, principal_from_arn
from warden.service import assemble
from warden.sweeper import ADOPTION_GRACE, ENDING_WATCH_SECONDS

TUESDAY_10_BERLIN = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
ALICE = "arn:aws:iam::123456789012:user/alice@example.com"
BOB = "arn:aws:iam::123456789012:user/bob"

POLICY = """
version: 1
mode: {mode}
default: deny
windows:
  business-hours:
    timezone: Europe/Berlin
    weekly:
      - days: [mon, tue, wed, thu, fri]
        from: "08:00"
        to: "18:00"
rules:
  - name: no-pci
    effect: deny
    targets: {{tags: {{Compliance: pci}}}}
  - name: analysts-on-analytics
    principals: ["user:alice@example.com"]
    targets: {{tags: {{Department: Analytics}}}}
    windows: [business-hours]
    max_duration: 2h
"""

TAGS = {
    "i-0analytics000001": {"Name": "analytics-1", "Department": "Analytics"},
    "i-0pci000000000001": {"Name": "card-db-1", "Department": "Analytics", "Compliance": "pci"},
    "i-0prod00000000001": {"Name": "prod-db-1", "Environment": "prod"},
}


class World:
    """A warden wired to fakes, with helpers to start sessions the way CloudTrail reports them."""

    def __init__(self, *, mode: str = "enforce", grants: list[Grant] | None = None, with_state: bool = False) -> None:
        self.clock = FakeClock(TUESDAY_10_BERLIN)
        self.tags = FakeTags({target: dict(tags) for target, tags in TAGS.items()})
        self.policies = FakePolicies(load_policy(POLICY.format(mode=mode)))
        self.grants = FakeGrants(grants or [])
        self.ledger = FakeLedger()
        self.sessions = FakeSessions()
        self.alerts = FakeAlerts()
        self.once = FakeOnce()
        self.run_once = RunOnce()
        # The state table (outbox, heartbeat, unjudged marks); without it alerts are sent directly.
        self.state = FakeState(self.clock) if with_state else None
        self.roles = FakeRoles()
        warden = assemble(
            clock=self.clock,
            tags=self.tags,
            policies=self.policies,
            grants=self.grants,
            ledger=self.ledger,
            sessions=self.sessions,
            alerts=self.alerts,
            once=self.once,
            context=AlertContext(stack="session-warden", region="eu-central-1", account="123456789012"),
            roles=self.roles,
            documents=FakeDocuments(),
            run_once=self.run_once,
            sleep=lambda seconds: None,
            outbox=self.state,
            liveness=self.state,
        )
        self.events, self.sweeper, self.enforcer = warden.events, warden.sweeper, warden.enforcer
        self._count = 0

    def start(self, target: str, *, who: str = ALICE, event_id: str | None = None, **extra: Any) -> SessionApiCall:
        self._count += 1
        session_id = f"{who.rsplit('/', 1)[-1]}-{self._count:026d}"
        self.sessions.start(session_id, target, who, self.clock.now())
        return call(
            "StartSession",
            who=who,
            session_id=session_id,
            target=target,
            at=self.clock.now(),
            event_id=event_id or f"ev-{self._count}",
            **extra,
        )


def call(
    name: str,
    *,
    who: str = ALICE,
    session_id: str,
    target: str | None = None,
    at: datetime,
    event_id: str = "ev-1",
    error_code: str | None = None,
    reason: str | None = None,
) -> SessionApiCall:
    return SessionApiCall(
        event_id=event_id,
        event_name=name,  # type: ignore[arg-type]
        event_time=at,
        event_version="1.09",
        region="eu-central-1",
        account="123456789012",
        principal=principal_from_arn(who),
        source_ip="192.0.2.10",
        user_agent="aws-cli/2.15.0",
        console=False,
        session_id=None if error_code else session_id,
        target=target,
        document="SSM-SessionManagerRunShell",
        document_parameters=None,
        reason=reason,
        error_code=error_code,
        error_message="is not connected." if error_code else None,
    )


def grant(grant_id: str, *, principal: str = "user:bob", tag: str = "prod", starts: datetime, hours: float) -> Grant:
    return Grant(
        id=grant_id,
        principal=principal,
        targets={"tags": {"Environment": tag}},  # type: ignore[arg-type]
        starts_at=starts,
        expires_at=starts + timedelta(hours=hours),
        reason="INC-42 database failover",
        created_by="arn:aws:iam::123456789012:user/oncall-lead",
    )


# ---------------------------------------------------------------------------------------------- event path


def test_allowed_session_stays_open_and_is_recorded_with_its_deadline() -> None:
    # GIVEN alice on an analytics instance at 10:00 Berlin on a Tuesday
    world = World()
    started = world.start("i-0analytics000001")
    # WHEN the start event arrives
    outcome = world.events.on_session_started(started)
    # THEN the session stays, the ledger has it open, and the deadline is start + 2h (before 18:00 Berlin)
    assert outcome.decision == "allow"
    assert world.sessions.is_active(started.session_id or "")
    row = world.ledger.get(started.session_id or "")
    assert row is not None
    assert (row.status, row.rule, row.target_name) == ("open", "analysts-on-analytics", "analytics-1")
    assert row.deadline == TUESDAY_10_BERLIN + timedelta(hours=2)
    assert world.alerts.sent == []


def test_deny_rule_terminates_the_session_and_sends_one_high_alert_that_says_why() -> None:
    world = World()
    started = world.start("i-0pci000000000001")
    outcome = world.events.on_session_started(started)
    assert (outcome.decision, outcome.action, outcome.rule) == ("deny", "terminated", "no-pci")
    assert not world.sessions.is_active(started.session_id or "")
    [alert] = world.alerts.sent
    assert (alert.kind, alert.severity) == ("session-terminated", "HIGH")
    assert alert.subject == "[Session Warden] TERMINATED alice@example.com on i-0pci000000000001 (card-db-1)"
    assert "no-pci" in alert.body
    row = world.ledger.get(started.session_id or "")
    assert row is not None and row.status == "ended" and row.action == "terminated"


def test_alert_states_the_cause_once_then_the_reasons() -> None:
    world = World()
    world.events.on_session_started(world.start("i-0prod00000000001", who=BOB))
    body = world.alerts.sent[0].body
    assert "Decision: deny (no rule or grant allows it)\n  - no rule or grant allows bob" in body
    assert body.count("no rule or grant allows bob") == 1


def test_deny_rule_beats_an_allow_rule_that_also_matches() -> None:
    world = World()  # the pci instance is also Department=Analytics, which alice may use in business hours
    outcome = world.events.on_session_started(world.start("i-0pci000000000001"))
    assert outcome.rule == "no-pci"
    assert outcome.decision == "deny"


def test_deny_rule_decides_without_reading_grants() -> None:
    world = World()
    world.events.on_session_started(world.start("i-0pci000000000001"))
    assert world.grants.reads == 0


def test_monitor_mode_alerts_medium_and_never_terminates() -> None:
    world = World(mode="monitor")
    started = world.start("i-0prod00000000001", who=BOB)
    outcome = world.events.on_session_started(started)
    assert outcome.action == "would-terminate"
    assert world.sessions.is_active(started.session_id or "")
    [alert] = world.alerts.sent
    assert (alert.kind, alert.severity) == ("would-terminate", "MEDIUM")
    assert "monitor mode" in alert.body
    assert world.sessions.terminate_calls == []


def test_failed_start_session_is_recorded_and_never_enforced() -> None:
    world = World()
    failed = call(
        "StartSession", session_id="x", target="i-0missing", at=TUESDAY_10_BERLIN, error_code="TargetNotConnected"
    )
    outcome = world.events.on_session_started(failed)
    assert outcome.action == "recorded failed call: TargetNotConnected"
    row = world.ledger.get("failed:ev-1")
    assert row is not None and row.status == "failed-call" and row.error_code == "TargetNotConnected"
    assert world.alerts.sent == [] and world.sessions.terminate_calls == []


def test_same_event_delivered_twice_terminates_and_alerts_once() -> None:
    world = World()
    started = world.start("i-0pci000000000001")
    first = world.events.on_session_started(started)
    second = world.events.on_session_started(started)
    assert first == second
    assert world.sessions.terminate_calls == [started.session_id]
    assert len(world.alerts.sent) == 1


def test_throttled_termination_is_retried_until_the_session_is_gone() -> None:
    world = World()
    world.sessions.fail_terminations = 2
    started = world.start("i-0pci000000000001")
    outcome = world.events.on_session_started(started)
    assert outcome.action == "terminated"
    assert len(world.sessions.terminate_calls) == 3
    assert not world.sessions.is_active(started.session_id or "")


def test_termination_that_keeps_failing_alerts_once_and_raises_for_a_retry() -> None:
    world = World()
    started = world.start("i-0pci000000000001")
    world.sessions.immortal.add(started.session_id or "")
    for _ in range(2):  # the first delivery and Lambda's retry
        with pytest.raises(
            TerminationError, match=r"still active \(Connected\) after \d+ TerminateSession attempt\(s\) in 25 s"
        ):
            world.events.on_session_started(started)
    assert world.alerts.kinds() == ["termination-failed"]
    assert world.alerts.sent[0].severity == "MEDIUM"


def test_end_event_before_its_start_keeps_the_row_closed() -> None:
    world = World()
    started = world.start("i-0analytics000001")
    world.sessions.end(started.session_id or "", TUESDAY_10_BERLIN)  # AWS lists it in History
    ended = call("TerminateSession", session_id=started.session_id or "", at=TUESDAY_10_BERLIN, event_id="ev-end")
    world.events.on_session_ended(ended)
    world.events.on_session_started(started)
    row = world.ledger.get(started.session_id or "")
    assert row is not None
    assert row.status == "ended" and row.rule == "analysts-on-analytics"
    assert world.ledger.open_entries() == []


def test_resume_session_takes_target_and_start_from_the_ledger() -> None:
    world = World()
    started = world.start("i-0analytics000001")
    world.events.on_session_started(started)
    world.clock.advance(hours=3)  # past max_duration: the original start counts, not the resume
    resumed = call("ResumeSession", session_id=started.session_id or "", at=world.clock.now(), event_id="ev-resume")
    outcome = world.events.on_session_started(resumed)
    assert outcome.decision == "deny"
    assert outcome.action == "terminated"


def test_a_start_event_without_a_session_id_is_refused_with_a_typed_error() -> None:
    # GIVEN a successful StartSession whose record carries no session id
    world = World()
    started = world.start("i-0analytics000001").model_copy(update={"session_id": None})
    # WHEN it arrives THEN nothing is decided and the error names the event
    with pytest.raises(MissingSessionId, match="ev-1 carries no session id"):
        world.events.on_session_started(started)
    assert world.ledger.rows == {} and world.alerts.sent == []


def test_resume_of_an_unknown_session_is_retried_not_guessed() -> None:
    world = World()
    resumed = call("ResumeSession", session_id="ghost-1", at=TUESDAY_10_BERLIN)
    with pytest.raises(TargetUnknown):
        world.events.on_session_started(resumed)


# ---------------------------------------------------------------------------------------------- sweeper


def test_sweep_ends_a_session_when_its_grant_expires_and_says_so() -> None:
    world = World(grants=[grant("g-1", starts=TUESDAY_10_BERLIN, hours=1)])
    started = world.start("i-0prod00000000001", who=BOB)
    assert world.events.on_session_started(started).grant == "g-1"
    world.clock.advance(hours=1)  # exactly expires_at: the grant no longer holds
    report = world.sweeper.sweep("sweep-1")
    assert (report.grants_expired, report.terminated) == (1, 1)
    assert world.alerts.kinds() == ["grant-expired", "session-terminated"]
    body = world.alerts.sent[1].body
    assert "Decision: deny (grant expired)" in body
    assert "  - grant g-1 expired at 2026-11-24 10:00:00 UTC" in body
    row = world.ledger.get(started.session_id or "")
    assert row is not None and row.decision == "deny"


def test_sweep_one_minute_before_expiry_keeps_the_session() -> None:
    world = World(grants=[grant("g-1", starts=TUESDAY_10_BERLIN, hours=1)])
    started = world.start("i-0prod00000000001", who=BOB)
    world.events.on_session_started(started)
    world.clock.advance(minutes=59)
    assert world.sweeper.sweep("s").terminated == 0
    assert world.sessions.is_active(started.session_id or "")


def test_sweep_ends_a_session_whose_grant_was_revoked() -> None:
    world = World(grants=[grant("g-1", starts=TUESDAY_10_BERLIN, hours=4)])
    started = world.start("i-0prod00000000001", who=BOB)
    world.events.on_session_started(started)
    world.grants.revoke("g-1")
    world.sweeper.sweep("s")
    assert "Decision: deny (grant revoked)" in world.alerts.sent[-1].body


def test_overlapping_grant_keeps_the_session_when_one_is_revoked() -> None:
    world = World(
        grants=[grant("g-1", starts=TUESDAY_10_BERLIN, hours=4), grant("g-2", starts=TUESDAY_10_BERLIN, hours=2)]
    )
    started = world.start("i-0prod00000000001", who=BOB)
    assert world.events.on_session_started(started).grant == "g-1"
    world.grants.revoke("g-1")
    report = world.sweeper.sweep("s")
    assert report.terminated == 0
    row = world.ledger.get(started.session_id or "")
    assert row is not None and row.grant == "g-2"


def test_sweep_ends_a_session_that_outlives_business_hours() -> None:
    world = World()
    world.clock.moment = datetime(2026, 11, 24, 16, 30, tzinfo=UTC)  # 17:30 Berlin
    started = world.start("i-0analytics000001")
    world.events.on_session_started(started)
    world.clock.advance(minutes=30)  # 18:00 Berlin: the window closes (to is exclusive)
    world.sweeper.sweep("s")
    assert not world.sessions.is_active(started.session_id or "")
    assert "Decision: deny (window closed)" in world.alerts.sent[-1].body


def test_sweep_ends_a_session_at_its_maximum_duration() -> None:
    world = World()
    started = world.start("i-0analytics000001")
    world.events.on_session_started(started)
    world.clock.advance(hours=2)
    world.sweeper.sweep("s")
    assert "Decision: deny (maximum duration reached)" in world.alerts.sent[-1].body


def test_sweep_ends_a_session_whose_target_was_retagged() -> None:
    world = World()
    started = world.start("i-0analytics000001")
    world.events.on_session_started(started)
    world.tags.tags["i-0analytics000001"]["Department"] = "Finance"
    world.sweeper.sweep("s")
    body = world.alerts.sent[-1].body
    assert "Decision: deny (target re-tagged)" in body
    assert "  - target tags changed: Department=Analytics -> Department=Finance\n" in body


def test_sweep_adopts_a_session_whose_start_event_never_arrived() -> None:
    world = World()
    allowed = world.start("i-0analytics000001")
    denied = world.start("i-0prod00000000001", who=BOB)
    world.clock.advance(minutes=3)
    report = world.sweeper.sweep("s")
    assert (report.adopted, report.terminated) == (1, 1)
    row = world.ledger.get(allowed.session_id or "")
    assert row is not None and row.adopted and row.status == "open"
    assert not world.sessions.is_active(denied.session_id or "")
    assert "never reached Session Warden" in world.alerts.sent[-1].body


def test_sweep_leaves_a_fresh_session_to_its_start_event() -> None:
    # GIVEN a session started a moment ago whose CloudTrail event is still on its way
    world = World()
    started = world.start("i-0prod00000000001", who=BOB)
    world.clock.advance(minutes=1)
    # WHEN a sweep runs THEN it neither adopts nor judges it (it has only the Owner ARN to go on)
    report = world.sweeper.sweep("s")
    assert (report.awaiting_event, report.adopted, report.terminated) == (1, 0, 0)
    assert world.sessions.is_active(started.session_id or "")
    # AND once the grace is over with still no event, the sweeper adopts and decides it
    world.clock.advance(seconds=ADOPTION_GRACE.total_seconds())
    assert world.sweeper.sweep("s").terminated == 1


def test_alert_that_cannot_be_sent_is_sent_by_the_retry() -> None:
    world = World()
    world.alerts.failures = 1
    started = world.start("i-0pci000000000001")
    with pytest.raises(RuntimeError, match="SNS"):
        world.events.on_session_started(started)  # terminated, but the alert failed
    world.run_once.results.clear()  # Powertools Idempotency deletes the record of a failed invocation
    outcome = world.events.on_session_started(started)  # Lambda's retry
    assert world.alerts.kinds() == ["session-terminated"]
    assert outcome.action == "terminated"
    # The retry looks first and finds the session gone: no second TerminateSession.
    assert world.sessions.terminate_calls.count(started.session_id) == 1


def test_grant_expiry_alert_that_cannot_be_sent_is_sent_by_the_next_sweep() -> None:
    world = World(grants=[grant("g-1", starts=TUESDAY_10_BERLIN, hours=1)])
    world.clock.advance(hours=1)
    world.alerts.failures = 1
    with pytest.raises(SweepIncomplete, match="grant g-1"):
        world.sweeper.sweep("s1")
    world.sweeper.sweep("s2")
    assert world.alerts.kinds() == ["grant-expired"]


def test_a_denied_session_that_already_ended_is_reported_not_claimed_as_terminated() -> None:
    world = World()
    started = world.start("i-0pci000000000001")
    world.sessions.end(started.session_id or "", world.clock.now())  # its owner ended it first
    outcome = world.events.on_session_started(started)
    assert outcome.action == "already-ended"
    [alert] = world.alerts.sent
    assert alert.subject.startswith("[Session Warden] DENIED alice@example.com on i-0pci000000000001")
    assert "none needed: the session had already ended" in alert.body
    row = world.ledger.get(started.session_id or "")
    assert row is not None and row.ended_by != "session-warden"


def test_termination_gives_up_within_its_time_budget() -> None:
    world = World()
    ticks = iter(range(0, 1000, 10))  # each look at the clock: 10 s later
    world.enforcer.elapsed = lambda: float(next(ticks))
    started = world.start("i-0pci000000000001")
    world.sessions.immortal.add(started.session_id or "")
    with pytest.raises(TerminationError, match=r"after 3 TerminateSession attempt\(s\) in 25 s"):
        world.events.on_session_started(started)
    assert world.alerts.kinds() == ["termination-failed"]


def test_sweep_closes_rows_of_sessions_that_ended_without_an_event() -> None:
    world = World()
    started = world.start("i-0analytics000001")
    world.events.on_session_started(started)
    world.clock.advance(minutes=20)
    world.sessions.end(started.session_id or "", world.clock.now())
    report = world.sweeper.sweep("s")
    assert report.ended_without_event == 1
    row = world.ledger.get(started.session_id or "")
    assert row is not None and row.end_reason == "ended without event" and row.ended_at == world.clock.now()


def test_a_session_that_cannot_be_ended_does_not_stop_the_sweep_for_the_others() -> None:
    world = World()
    stuck = world.start("i-0prod00000000001", who=BOB)
    other = world.start("i-0pci000000000001")
    world.sessions.immortal.add(stuck.session_id or "")
    world.clock.advance(minutes=3)
    with pytest.raises(SweepIncomplete, match="1 session"):
        world.sweeper.sweep("s")
    assert not world.sessions.is_active(other.session_id or "")
    assert sorted(world.alerts.kinds()) == ["session-terminated", "termination-failed"]
    assert world.once.leases == {}  # the lease is released for the next minute's sweep


def test_a_second_sweep_while_one_holds_the_lease_does_nothing() -> None:
    world = World()
    world.start("i-0prod00000000001", who=BOB)
    world.once.acquire("sweeper-lease", "sweep-1", 115)
    assert world.sweeper.sweep("sweep-2").skipped
    assert world.sessions.terminate_calls == []


def test_sweep_and_event_path_alert_once_for_the_same_session() -> None:
    world = World()
    started = world.start("i-0prod00000000001", who=BOB)
    world.clock.advance(minutes=3)
    world.sweeper.sweep("s")  # the sweeper gets there first
    world.events.on_session_started(started)  # then the late event
    assert world.alerts.kinds() == ["session-terminated"]


def test_grant_expiry_alert_is_sent_once_across_sweeps() -> None:
    world = World(grants=[grant("g-1", starts=TUESDAY_10_BERLIN, hours=1)])
    world.clock.advance(hours=2)
    world.sweeper.sweep("s1")
    world.sweeper.sweep("s2")
    assert world.alerts.kinds() == ["grant-expired"]


def test_a_forged_start_event_naming_someone_elses_session_ends_nothing() -> None:
    # GIVEN bob's open session on the card database (allowed or not, it is his)
    world = World()
    bobs = world.start("i-0pci000000000001", who=BOB)
    # WHEN someone invokes the function directly with a StartSession naming bob's session as alice's
    forged = call("StartSession", who=ALICE, session_id=bobs.session_id or "", target=bobs.target, at=world.clock.now())
    # THEN it is rejected as forged: bob's session stays open, no alert, no ledger row
    with pytest.raises(ForgedEvent, match="DescribeSessions says arn:aws:iam::123456789012:user/bob"):
        world.events.on_session_started(forged)
    assert world.sessions.is_active(bobs.session_id or "")
    assert world.alerts.sent == []
    assert world.ledger.get(bobs.session_id or "") is None


def test_a_start_event_for_a_session_aws_does_not_list_yet_is_retried_before_anything_is_ended() -> None:
    world = World()
    unknown = call(
        "StartSession",
        session_id="alice@example.com-00000000000000000000000099",
        target="i-0pci000000000001",
        at=world.clock.now(),
    )
    with pytest.raises(SessionNotListed):
        world.events.on_session_started(unknown)
    assert world.alerts.sent == []


def forged_start(world: World, started: SessionApiCall, **changes: Any) -> SessionApiCall:
    """A well-formed StartSession naming *started*'s session, as a direct invoker could hand it to the function."""
    fields: dict[str, Any] = {"at": world.clock.now(), "event_id": "ev-forged", **changes}
    return call("StartSession", session_id=started.session_id or "", target=started.target, **fields)


def test_a_forged_allowed_start_for_a_recorded_session_rewrites_nothing() -> None:
    # GIVEN alice's allowed session, recorded from its StartSession event
    world = World()
    started = world.start("i-0analytics000001")
    world.events.on_session_started(started)
    before = world.ledger.get(started.session_id or "")
    # WHEN someone invokes the function with another well-formed StartSession for it, half a minute later
    outcome = world.events.on_session_started(
        forged_start(world, started, at=world.clock.now() + timedelta(seconds=30))
    )
    # THEN the first record wins: the row still says what the verified event said
    assert outcome.decision == "allow"
    assert world.ledger.get(started.session_id or "") == before


def test_a_forged_start_whose_reason_aws_contradicts_is_rejected_and_rewrites_nothing() -> None:
    world = World()
    started = world.start("i-0analytics000001")
    world.events.on_session_started(started)
    before = world.ledger.get(started.session_id or "")
    with pytest.raises(ForgedEvent, match="reason differs"):
        world.events.on_session_started(forged_start(world, started, reason="INC-1 approved"))
    assert world.ledger.get(started.session_id or "") == before


def test_a_forged_start_that_moves_a_sessions_start_is_rejected() -> None:
    world = World()
    started = world.start("i-0analytics000001")
    world.events.on_session_started(started)
    before = world.ledger.get(started.session_id or "")
    with pytest.raises(ForgedEvent, match="start differs"):
        world.events.on_session_started(forged_start(world, started, at=world.clock.now() + timedelta(hours=1)))
    assert world.ledger.get(started.session_id or "") == before


def test_a_forged_allowed_start_arriving_first_for_someone_elses_session_writes_no_row() -> None:
    # GIVEN bob's session, whose own event has not arrived yet
    world = World()
    bobs = world.start("i-0analytics000001", who=BOB)
    # WHEN a forged StartSession names it as alice's (whom the policy allows there)
    forged = call("StartSession", who=ALICE, session_id=bobs.session_id or "", target=bobs.target, at=world.clock.now())
    # THEN DescribeSessions contradicts the owner: no row is written, so bob's own event is the first record
    with pytest.raises(ForgedEvent, match="owner differs"):
        world.events.on_session_started(forged)
    assert world.ledger.get(bobs.session_id or "") is None


def test_a_forged_end_event_for_a_running_session_leaves_its_row_open() -> None:
    # GIVEN alice's allowed, running session
    world = World()
    started = world.start("i-0analytics000001")
    world.events.on_session_started(started)
    # WHEN a TerminateSession event names it, though nobody ended it
    forged = call("TerminateSession", session_id=started.session_id or "", at=world.clock.now(), event_id="ev-end")
    # THEN it is rejected as forged and the row stays open (the sweeper keeps judging it)
    with pytest.raises(ForgedEvent, match="DescribeSessions says it is Connected"):
        world.events.on_session_ended(forged)
    row = world.ledger.get(started.session_id or "")
    assert row is not None and row.status == "open"


def test_an_end_event_of_a_session_aws_shows_terminating_closes_the_row() -> None:
    world = World()
    world.sessions.terminating_looks = 5
    started = world.start("i-0analytics000001")
    world.events.on_session_started(started)
    world.sessions.terminate(started.session_id or "")  # alice ends it: Terminating for a while
    ended = call("TerminateSession", session_id=started.session_id or "", at=world.clock.now(), event_id="ev-end")
    outcome = world.events.on_session_ended(ended)
    assert outcome.action == "ledger closed"
    assert world.ledger.open_entries() == []


def test_an_end_event_for_a_session_aws_does_not_list_is_retried_not_closed() -> None:
    world = World()
    unknown = call("TerminateSession", session_id="alice@example.com-0000000000000000000009", at=world.clock.now())
    with pytest.raises(SessionNotListed):
        world.events.on_session_ended(unknown)
    assert world.ledger.get("alice@example.com-0000000000000000000009") is None


def test_a_resume_by_someone_else_ends_the_session_when_the_policy_does_not_allow_its_owner() -> None:
    # GIVEN bob's session on an analytics instance (the policy allows only alice there; its start event was lost)
    world = World()
    bobs = world.start("i-0analytics000001", who=BOB)
    # WHEN alice, whom the policy allows there, resumes it
    resumed = call("ResumeSession", who=ALICE, session_id=bobs.session_id or "", at=world.clock.now())
    outcome = world.events.on_session_started(resumed)
    # THEN it is decided for its owner too: bob is not allowed, so it ends
    assert (outcome.decision, outcome.action) == ("deny", "terminated")
    assert not world.sessions.is_active(bobs.session_id or "")


def test_a_resume_by_someone_else_ends_the_session_when_the_policy_does_not_allow_the_resumer() -> None:
    world = World()
    alices = world.start("i-0analytics000001")
    world.events.on_session_started(alices)
    resumed = call("ResumeSession", who=BOB, session_id=alices.session_id or "", at=world.clock.now(), event_id="r")
    outcome = world.events.on_session_started(resumed)
    assert (outcome.decision, outcome.action) == ("deny", "terminated")


def test_a_resume_by_its_owner_continues_an_allowed_session() -> None:
    world = World()
    alices = world.start("i-0analytics000001")
    world.events.on_session_started(alices)
    resumed = call("ResumeSession", session_id=alices.session_id or "", at=world.clock.now(), event_id="r")
    assert world.events.on_session_started(resumed).action == "none"
    assert world.sessions.is_active(alices.session_id or "")


def test_sessions_that_stay_terminating_do_not_make_the_sweep_wait_for_each_in_turn() -> None:
    # GIVEN three sessions past their maximum duration, and terminations that stay Terminating for a long while
    world = World()
    world.sessions.terminating_looks = 1000
    slept: list[float] = []
    world.enforcer.sleep = slept.append
    sessions = [world.start(target) for target in ["i-0analytics000001"] * 3]
    for started in sessions:
        world.events.on_session_started(started)
    world.clock.advance(hours=2, minutes=1)
    # WHEN the sweeper runs
    report = world.sweeper.sweep("s")
    # THEN it ends all three without waiting for each in turn (one shared, bounded watch once all are judged):
    # each is recorded as ended by the warden, alerted once, and the alert says the ending is under way
    assert sum(slept) <= ENDING_WATCH_SECONDS
    assert report.terminated == 3
    assert world.sessions.terminate_calls == [started.session_id for started in sessions]
    for started in sessions:
        row = world.ledger.get(started.session_id or "")
        assert row is not None and (row.status, row.ended_by) == ("ended", "session-warden")
    assert world.alerts.kinds() == ["session-terminated"] * 3
    assert all("DescribeSessions shows it Terminating" in alert.body for alert in world.alerts.sent)


SSO_ALICE = "arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_Analyst_0123456789abcdef/alice@example.com"
SSO_ROLE = "arn:aws:iam::123456789012:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Analyst_0123456789abcdef"


def sso_session_recorded(world: World) -> SessionApiCall:
    """An Identity Center user's allowed session on analytics, recorded from its CloudTrail event (path included)."""
    started = world.start("i-0analytics000001", who=SSO_ALICE)
    started = started.model_copy(update={"principal": principal_from_arn(SSO_ALICE, role_arn=SSO_ROLE)})
    assert world.events.on_session_started(started).decision == "allow"
    return started


def test_a_throttled_get_role_still_ends_a_session_the_recorded_role_path_denies() -> None:
    # GIVEN an Identity Center user's session, past its maximum duration, while IAM GetRole is throttled
    world = World()
    started = sso_session_recorded(world)
    world.roles.failing.add("AWSReservedSSO_Analyst_0123456789abcdef")
    world.clock.advance(hours=2, minutes=1)
    # WHEN the sweeper runs THEN the role path recorded from the verified start decides the denial: ended
    report = world.sweeper.sweep("s")
    assert report.terminated == 1
    assert not world.sessions.is_active(started.session_id or "")


def test_a_throttled_get_role_never_lets_the_recorded_role_path_allow_a_session() -> None:
    # GIVEN the same session within its allowance, while GetRole is throttled
    world = World()
    started = sso_session_recorded(world)
    world.roles.failing.add("AWSReservedSSO_Analyst_0123456789abcdef")
    world.clock.advance(minutes=10)
    # WHEN the sweeper runs THEN an allowance on the recorded path is not acted on: the session is unjudged this sweep
    with pytest.raises(SweepIncomplete, match="GetRole"):
        world.sweeper.sweep("s")
    assert world.sessions.is_active(started.session_id or "")


def test_a_forged_start_recorded_first_cannot_keep_a_tunnel_its_own_event_denies() -> None:
    # GIVEN a policy that allows alice's remote-port tunnels from analytics to *.dev.internal only
    world = World()
    world.policies.policy = load_policy(
        """
version: 1
default: deny
rules:
  - name: dev-tunnels
    principals: ["user:alice@example.com"]
    targets: {tags: {Department: Analytics}}
    session_types: [remote-port]
    hosts: ["*.dev.internal"]
"""
    )
    tunnel = {"document": "AWS-StartPortForwardingSessionToRemoteHost"}
    real = world.start("i-0analytics000001").model_copy(update={**tunnel, "remote_host": "db.prod.internal"})
    # WHEN alice, who may invoke the function, races her own event with a forged one naming an allowed host
    forged = forged_start(world, real).model_copy(update={**tunnel, "remote_host": "db.dev.internal"})
    assert world.events.on_session_started(forged).decision == "allow"
    # THEN her session's own event is decided on its real host too, and the tunnel ends
    outcome = world.events.on_session_started(real)
    assert (outcome.decision, outcome.action) == ("deny", "terminated")
    assert not world.sessions.is_active(real.session_id or "")
