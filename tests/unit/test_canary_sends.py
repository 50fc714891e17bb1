"""The sweeper's canary, through in-memory fakes: one read when no send is due, a conditional claim when one is, and
one blind alert when no canary came back in time."""

from __future__ import annotations

from datetime import UTC, datetime

from tests.fakes import FakeAlerts, FakeCanaryState, FakeClock, FakeOnce
from warden.alerts import AlertContext
from warden.canary import Canary
from warden.notifier import Notifier

CONTEXT = AlertContext(stack="session-warden", region="eu-central-1", account="123456789012")
PARAMETER = "/session-warden/session-warden/canary"
MONDAY = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


class FakeWriter:
    def __init__(self) -> None:
        self.written: list[str] = []

    def put(self, name: str, value: str) -> int:
        self.written.append(value)
        return len(self.written)


def canary(clock: FakeClock, state: FakeCanaryState, writer: FakeWriter, alerts: FakeAlerts) -> Canary:
    return Canary(clock, PARAMETER, writer, state, Notifier(alerts, FakeOnce()), CONTEXT)


def test_a_sweep_with_no_canary_due_reads_the_state_once_and_claims_nothing() -> None:
    # GIVEN a canary sent a minute ago
    clock, state, writer, alerts = FakeClock(MONDAY), FakeCanaryState(), FakeWriter(), FakeAlerts()
    sweeper = canary(clock, state, writer, alerts)
    sweeper.run()
    assert len(writer.written) == 1
    state.reads = state.claims = 0
    clock.advance(minutes=1)
    # WHEN the next sweep runs
    sweeper.run()
    # THEN it read the canary's state once, made no conditional write, and sent nothing
    assert (state.reads, state.claims, len(writer.written)) == (1, 0, 1)


def test_overlapping_sweeps_send_one_canary_when_one_is_due() -> None:
    # GIVEN two sweepers that both saw a canary due (their reads came before either claim)
    clock, state, writer, alerts = FakeClock(MONDAY), FakeCanaryState(), FakeWriter(), FakeAlerts()
    first, second = canary(clock, state, writer, alerts), canary(clock, state, writer, alerts)
    first.run()
    clock.advance(minutes=5)
    reads = state.canary
    seen_before_claims = reads()
    state.canary = lambda: seen_before_claims if state.claims == 0 else reads()  # type: ignore[method-assign]
    # WHEN both run
    first.run()
    second.run()
    # THEN the conditional claim let exactly one of them write the canary
    assert len(writer.written) == 2
    assert state.claims == 2


def test_no_canary_back_in_ten_minutes_is_one_blind_alert_however_many_sweeps_follow() -> None:
    # GIVEN canaries that never come back
    clock, state, writer, alerts = FakeClock(MONDAY), FakeCanaryState(), FakeWriter(), FakeAlerts()
    sweeper = canary(clock, state, writer, alerts)
    # WHEN the sweeper runs every minute for a quarter of an hour
    for _ in range(16):
        sweeper.run()
        clock.advance(minutes=1)
    # THEN one canary every five minutes, and one event-path-blind alert, raised at the tenth minute
    assert len(writer.written) == 4
    [alert] = alerts.sent
    assert alert.kind == "event-path-blind" and alert.severity == "HIGH"
    assert state.item["blind_since"] == (MONDAY.timestamp() + 600)
