"""Per-scope liveness (organization mode): the dispatcher judges every account and region's last completed sweep each
minute and alerts once per outage (and once when it ends); its own heartbeat means every order went out, and a sweep
worker's completed scope never stands in for it."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
from moto import mock_aws

from tests.fakes import (
    FakeAlerts,
    FakeClock,
    FakeDocuments,
    FakeGrants,
    FakeLedger,
    FakeOnce,
    FakeOrganization,
    FakePolicies,
    FakeRoles,
    FakeSessions,
    FakeState,
    FakeTags,
    aws_failure,
)
from tests.unit.test_sweep_fanout import FakeQueue, dispatcher
from warden.adapters.scope_beats import DynamoScopeBeats
from warden.adapters.state import heartbeat_key
from warden.alerts.text import AlertContext
from warden.fanout import FanOutIncomplete
from warden.notifier import Notifier
from warden.observability import metrics
from warden.org_round import OrgRound
from warden.outcomes import SweepReport
from warden.policy import load_policy
from warden.scope import Scope
from warden.scope_liveness import STALE_AFTER, ScopeBeat, ScopeWatch, stale_since
from warden.sweeper import Sweeper

NOW = datetime(2026, 11, 24, 9, 0, 30, tzinfo=UTC)
WEB_EU = Scope("222222222222", "eu-west-1", org=True)
DATA_US = Scope("333333333333", "us-east-1", org=True)


@pytest.fixture(autouse=True)
def fresh_metrics() -> Iterator[None]:
    metrics.clear_metrics()
    yield
    metrics.clear_metrics()


def counted(name: str) -> int:
    recorded = metrics.metric_set.get(name)
    return int(sum(recorded["Value"])) if recorded else 0


# ---------------------------------------------------------------- the one judgement


@pytest.mark.parametrize(
    ("beat", "stale_from"),
    [
        (ScopeBeat(last_sweep=NOW - timedelta(seconds=50)), None),
        (ScopeBeat(last_sweep=NOW - STALE_AFTER), None),
        (ScopeBeat(last_sweep=NOW - timedelta(minutes=3, seconds=1)), NOW - timedelta(minutes=3, seconds=1)),
        (ScopeBeat(watched_since=NOW - timedelta(minutes=2)), None),
        (ScopeBeat(watched_since=NOW - timedelta(minutes=4)), NOW - timedelta(minutes=4)),
        (
            ScopeBeat(last_sweep=NOW - timedelta(minutes=9), watched_since=NOW - timedelta(minutes=1)),
            NOW - timedelta(minutes=9),
        ),
        (ScopeBeat(last_sweep=NOW + timedelta(days=365)), NOW + timedelta(days=365)),
        (ScopeBeat(), None),
        (None, None),
    ],
    ids=[
        "swept-50s-ago",
        "swept-exactly-3min-ago",
        "swept-3min1s-ago",
        "new-scope-in-its-grace",
        "new-scope-never-swept-after-its-grace",
        "last-sweep-counts-before-watched-since",
        "heartbeat-in-the-future-was-edited",
        "empty-item",
        "no-item-yet",
    ],
)
def test_a_scope_counts_as_stopped_only_after_3_minutes_without_a_completed_sweep(
    beat: ScopeBeat | None, stale_from: datetime | None
) -> None:
    # GIVEN a scope's heartbeat item as the state table holds it; WHEN judged now; THEN stopped since when, or not
    assert stale_since(beat, NOW) == stale_from


# ---------------------------------------------------------------- alert once per outage


class FakeBeats:
    """The scopes' heartbeat items and outages in memory (``at`` written by the workers, ``watched`` by the check)."""

    def __init__(self) -> None:
        self.items: dict[Scope, ScopeBeat] = {}
        self.open: dict[str, datetime] = {}
        self.fail = False

    def swept(self, scope: Scope, at: datetime) -> None:
        self.items[scope] = ScopeBeat(last_sweep=at)

    def beats(self, scopes: Sequence[Scope]) -> dict[Scope, ScopeBeat]:
        if self.fail:
            raise aws_failure("BatchGetItem", "ProvisionedThroughputExceededException", "slow down")
        return {scope: self.items[scope] for scope in scopes if scope in self.items}

    def watch_from(self, scopes: Sequence[Scope], at: datetime) -> None:
        for scope in scopes:  # as the adapter: unless a watch was noted
            item = self.items.get(scope, ScopeBeat())
            if item.watched_since is None:
                self.items[scope] = ScopeBeat(last_sweep=item.last_sweep, watched_since=at)

    def outages(self) -> dict[str, datetime]:
        return dict(self.open)

    def outage_began(self, scope: Scope, since: datetime) -> None:
        self.open[scope.label] = since

    def outage_ended(self, label: str) -> None:
        self.open.pop(label, None)


class Watched:
    def __init__(self) -> None:
        self.clock = FakeClock(NOW)
        self.alerts = FakeAlerts()
        self.beats = FakeBeats()
        self.watch = ScopeWatch(
            clock=self.clock,
            beats=self.beats,
            notifier=Notifier(self.alerts, FakeOnce(), FakeState(self.clock)),
            directory=FakeOrganization(),
            context_of=lambda scope: AlertContext(stack="session-warden", region=scope.region, account=scope.account),
            stack="session-warden",
        )

    def minutes(self, count: int, scopes: Sequence[Scope], *, swept: Sequence[Scope] = ()) -> list[Scope]:
        """*count* minutes: each, the workers sweep *swept*, then the dispatcher checks *scopes*."""
        stale: list[Scope] = []
        for _ in range(count):
            self.clock.advance(minutes=1)
            for scope in swept:
                self.beats.swept(scope, self.clock.now())
            stale = self.watch.check(scopes)
        return stale


def test_a_scope_whose_sweeps_stop_is_alerted_once_naming_account_ou_region_and_what_it_means() -> None:
    # GIVEN two scopes swept every minute
    world = Watched()
    world.minutes(3, [WEB_EU, DATA_US], swept=[WEB_EU, DATA_US])
    last = world.clock.now()

    # WHEN prod-web's sweeps in eu-west-1 stop for ten minutes while prod-data's go on
    stale = world.minutes(10, [WEB_EU, DATA_US], swept=[DATA_US])

    # THEN exactly one HIGH enforcer-unhealthy alert names that account, its name and OU path, the region, the last
    # completed sweep and what it means; the other scope is not named
    assert stale == [WEB_EU]
    [alert] = world.alerts.sent
    assert (alert.kind, alert.severity) == ("enforcer-unhealthy", "HIGH")
    assert "222222222222 (prod-web)" in alert.subject and "eu-west-1" in alert.subject
    assert "Production/Web" in alert.body
    assert f"{last:%Y-%m-%d %H:%M:%S}" in alert.body
    assert "an expired grant or a closed window does not end them" in alert.body
    assert "333333333333" not in alert.body
    assert counted("ScopeSweepsStopped") == 1


def test_sweeps_that_resume_send_one_restored_alert_and_a_later_outage_is_alerted_again() -> None:
    # GIVEN a scope whose sweeps stopped and were alerted
    world = Watched()
    world.minutes(1, [WEB_EU], swept=[WEB_EU])
    world.minutes(5, [WEB_EU])

    # WHEN its sweeps resume for a few minutes, then stop again
    assert world.minutes(3, [WEB_EU], swept=[WEB_EU]) == []
    world.minutes(5, [WEB_EU])

    # THEN: stopped (HIGH), RESTORED (INFO) once, stopped again (HIGH): one alert per outage and per recovery
    assert [(alert.severity, alert.subject.split("]")[1].split()[0]) for alert in world.alerts.sent] == [
        ("HIGH", "SWEEPS"),
        ("INFO", "RESTORED"),
        ("HIGH", "SWEEPS"),
    ]
    assert "222222222222 (prod-web)" in world.alerts.sent[1].subject


def test_a_newly_enrolled_scope_has_3_minutes_of_grace_then_is_alerted_as_never_swept() -> None:
    # GIVEN a scope the dispatcher has never seen (no heartbeat item: the account just joined)
    world = Watched()

    # WHEN no sweep of it completes: first seen, three minutes after that, then one more
    within_grace = world.minutes(4, [WEB_EU])
    after_grace = world.minutes(1, [WEB_EU])

    # THEN nothing is alerted within its grace, then one alert says it was never swept
    assert within_grace == []
    assert after_grace == [WEB_EU]
    [alert] = world.alerts.sent
    assert "Last completed sweep:" in alert.body and "never (first sweep order sent" in alert.body


def test_a_heartbeat_written_in_the_future_is_alerted_not_trusted() -> None:
    # GIVEN someone wrote a scope's heartbeat a year ahead (no sweep can)
    world = Watched()
    world.beats.swept(WEB_EU, NOW + timedelta(days=365))

    # WHEN the dispatcher checks twice
    world.minutes(2, [WEB_EU])

    # THEN one alert says the heartbeat lies in the future
    [alert] = world.alerts.sent
    assert "in the future" in alert.body


def test_a_heartbeat_item_with_no_readable_time_gets_the_grace_of_a_new_scope_then_is_alerted() -> None:
    # GIVEN someone removed the time from a scope's heartbeat item (or wrote one the reader cannot read)
    world = Watched()
    world.beats.items[WEB_EU] = ScopeBeat(last_sweep=None, watched_since=None)

    # WHEN no sweep of it completes
    within_grace = world.minutes(4, [WEB_EU])
    after_grace = world.minutes(1, [WEB_EU])

    # THEN it is judged as a scope never swept: alerted once its grace is over, never trusted for ever
    assert within_grace == [] and after_grace == [WEB_EU]
    assert len(world.alerts.sent) == 1


def test_a_watch_noted_in_the_future_is_alerted_not_trusted() -> None:
    # GIVEN someone moved the start of a never-swept scope's watch a year ahead
    world = Watched()
    world.beats.items[WEB_EU] = ScopeBeat(last_sweep=None, watched_since=NOW + timedelta(days=365))

    # WHEN the dispatcher checks; THEN it is stopped at once
    assert world.minutes(1, [WEB_EU]) == [WEB_EU]
    assert len(world.alerts.sent) == 1


def test_an_outage_of_a_scope_no_longer_swept_is_forgotten_without_an_alert() -> None:
    # GIVEN a scope alerted as stopped
    world = Watched()
    world.minutes(5, [WEB_EU])
    assert WEB_EU.label in world.beats.open

    # WHEN its account leaves the organization (no longer among the scopes)
    world.minutes(1, [DATA_US], swept=[DATA_US])

    # THEN its outage is dropped, and no RESTORED alert claims it is swept again
    assert WEB_EU.label not in world.beats.open
    assert [alert.severity for alert in world.alerts.sent] == ["HIGH"]


# ---------------------------------------------------------------- the dispatcher's heartbeat


class OrgWide:
    def __init__(self, *, skipped: bool = False) -> None:
        self.skipped = skipped
        self.beats = 0

    def sweep_org(self, owner: str) -> SweepReport:
        return SweepReport(skipped=self.skipped)

    def heartbeat(self) -> None:
        self.beats += 1


def test_the_dispatchers_heartbeat_means_every_order_sent_and_every_scope_judged() -> None:
    # GIVEN the organization-wide part, the queue and the per-scope check
    org_wide, queue, world = OrgWide(), FakeQueue(), Watched()

    # WHEN a minute runs
    result = OrgRound(sweeper=org_wide, dispatcher=dispatcher(queue), watch=world.watch).run("schedule-1")

    # THEN every scope got its order, each was judged (noted as newly watched), and then the heartbeat was recorded
    assert result["orders_sent"] == len(queue.delivered) == 8
    assert len(world.beats.items) == 8
    assert org_wide.beats == 1


def test_an_order_that_stays_refused_fails_the_minute_without_a_heartbeat_but_every_scope_is_still_judged() -> None:
    # GIVEN SQS refuses one scope's order every time, and another scope's sweeps stopped long ago
    org_wide, queue, world = OrgWide(), FakeQueue(), Watched()
    queue.refuse["444444444444/eu-west-1"] = -1
    world.beats.swept(WEB_EU, NOW - timedelta(minutes=20))

    # WHEN a minute runs
    with pytest.raises(FanOutIncomplete, match="444444444444/eu-west-1"):
        OrgRound(sweeper=org_wide, dispatcher=dispatcher(queue), watch=world.watch).run("schedule-1")

    # THEN no heartbeat (the liveness alarm sees a failed invocation), yet the stopped scope was alerted
    assert org_wide.beats == 0
    assert [alert.kind for alert in world.alerts.sent] == ["enforcer-unhealthy"]


@pytest.mark.parametrize("why", ["lease held", "heartbeats unreadable"])
def test_no_heartbeat_when_the_org_part_was_skipped_or_the_scopes_could_not_be_judged(why: str) -> None:
    # GIVEN another sweep holds the lease, or the heartbeats cannot be read
    org_wide, queue, world = OrgWide(skipped=why == "lease held"), FakeQueue(), Watched()
    world.beats.fail = why == "heartbeats unreadable"
    minute = OrgRound(sweeper=org_wide, dispatcher=dispatcher(queue), watch=world.watch)

    # WHEN a minute runs
    if world.beats.fail:
        with pytest.raises(Exception, match="slow down"):
            minute.run("schedule-1")
    else:
        minute.run("schedule-1")

    # THEN the orders still went out, and no heartbeat was recorded
    assert len(queue.delivered) == 8
    assert org_wide.beats == 0


def test_a_workers_completed_scope_counts_scope_sweep_completed_never_the_alarms_sweep_completed() -> None:
    # GIVEN one scope's sweeper, as the sweep worker builds it
    clock = FakeClock(NOW)
    state, once, alerts = FakeState(clock), FakeOnce(), FakeAlerts()
    notifier = Notifier(alerts, once, state)
    context = AlertContext(stack="session-warden", region=WEB_EU.region, account=WEB_EU.account)
    sweeper = Sweeper(
        clock=clock,
        tags=FakeTags({}),
        policies=FakePolicies(load_policy("version: 1\nmode: enforce\ndefault: deny\nrules: []\n")),
        grants=FakeGrants([]),
        ledger=FakeLedger(),
        sessions=FakeSessions(),
        once=once,
        notifier=notifier,
        context=context,
        enforcer=SimpleNamespace(await_endings=lambda ended, budget_seconds: []),  # type: ignore[arg-type]
        roles=FakeRoles(),
        documents=FakeDocuments(),
        liveness=state,
    )

    # WHEN the worker sweeps the scope, and then the dispatcher records its own heartbeat
    sweeper.sweep_scope("order-1")
    scope_only = (counted("SweepCompleted"), counted("ScopeSweepCompleted"))
    sweeper.heartbeat()

    # THEN the scope's sweep wrote its heartbeat and counted only ScopeSweepCompleted; SweepCompleted (what the
    # liveness alarm watches) comes from the dispatcher alone
    assert scope_only == (0, 1)
    assert counted("SweepCompleted") == 1
    assert state.beats == [NOW, NOW]


# ---------------------------------------------------------------- the state table


@pytest.fixture
def state_table() -> Iterator[Any]:
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name="us-east-1")
        dynamodb.create_table(
            TableName="state",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        yield dynamodb


def test_the_heartbeats_of_many_scopes_are_read_in_batches_and_a_new_scope_is_watched_once(state_table: Any) -> None:
    # GIVEN 150 scopes, the workers' heartbeats of all but the last one (written as the worker writes them)
    from warden.adapters.state import DynamoState

    beats = DynamoScopeBeats(state_table, "state")
    scopes = [Scope(f"{200000000000 + n:012d}", "eu-west-1", org=True) for n in range(150)]
    for scope in scopes[:-1]:
        DynamoState(state_table, "state", FakeClock(NOW), scope=scope).heartbeat(NOW - timedelta(seconds=30))

    # WHEN the dispatcher reads them, notes the new scope twice (two overlapping sweeps) and reads again
    first = beats.beats(scopes)
    beats.watch_from([scopes[-1]], NOW)
    beats.watch_from([scopes[-1]], NOW + timedelta(minutes=1))
    again = beats.beats(scopes)

    # THEN every heartbeat is read (BatchGetItem takes 100 keys), the new scope was missing, and its watch began once
    assert len(first) == 149 and scopes[-1] not in first
    assert first[scopes[0]].last_sweep == NOW - timedelta(seconds=30)
    assert again[scopes[-1]] == ScopeBeat(last_sweep=None, watched_since=NOW)


def test_an_outage_is_kept_until_it_ends(state_table: Any) -> None:
    # GIVEN the state table; WHEN an outage begins, is read, and ends
    beats = DynamoScopeBeats(state_table, "state")
    beats.outage_began(WEB_EU, NOW)
    kept = beats.outages()
    beats.outage_ended(WEB_EU.label)

    # THEN it was kept under the scope's label, since when, and is gone once ended
    assert kept == {WEB_EU.label: NOW}
    assert beats.outages() == {}


def test_a_heartbeat_item_whose_time_was_made_unreadable_is_watched_from_now(state_table: Any) -> None:
    # GIVEN a scope's heartbeat item whose `at` someone turned into a string
    beats = DynamoScopeBeats(state_table, "state")
    scope = Scope("222222222222", "eu-west-1", org=True)
    pk, sk = heartbeat_key(scope)
    state_table.put_item(TableName="state", Item={"pk": {"S": pk}, "sk": {"S": sk}, "at": {"S": "soon"}})

    # WHEN the dispatcher reads it and notes its watch
    assert beats.beats([scope]) == {scope: ScopeBeat(last_sweep=None, watched_since=None)}
    beats.watch_from([scope], NOW)

    # THEN the watch is noted, so the scope is judged from now on
    assert beats.beats([scope]) == {scope: ScopeBeat(last_sweep=None, watched_since=NOW)}
