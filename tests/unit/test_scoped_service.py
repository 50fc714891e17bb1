"""The service in an organization scope: decisions know the account's OU path and region; the warden's own
terminations in a member account are not acted on."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

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
    RunOnce,
)
from warden.alerts.text import AlertContext
from warden.events import SessionApiCall
from warden.policy import load_policy, principal_from_arn
from warden.records import OrgAccount
from warden.service import Warden, assemble

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
PROD_WEB = "222222222222"
DEV = "444444444444"
REGION = "eu-west-1"
WARDEN_IN_PROD_WEB = f"arn:aws:sts::{PROD_WEB}:assumed-role/session-warden-member/session-warden"

POLICY = """
version: 1
default: deny
rules:
  - name: web-team-in-production-europe
    principals: ["user:alice"]
    accounts: ["ou:Production/*"]
    regions: ["eu-*"]
"""


class Scoped:
    """A warden deciding in one member account and region, wired to fakes."""

    def __init__(self, account: str = PROD_WEB, region: str = REGION) -> None:
        self.account, self.region = account, region
        self.clock = FakeClock(NOW)
        self.sessions = FakeSessions()
        self.ledger = FakeLedger()
        self.alerts = FakeAlerts()
        self.organization = FakeOrganization()
        self.state = FakeState(self.clock)
        self.warden: Warden = assemble(
            clock=self.clock,
            tags=FakeTags({"i-0web000000000001": {"Name": "web-1"}}),
            policies=FakePolicies(load_policy(POLICY)),
            grants=FakeGrants(),
            ledger=self.ledger,
            sessions=self.sessions,
            alerts=self.alerts,
            once=FakeOnce(),
            context=AlertContext(stack="session-warden", region=region, account=account),
            roles=FakeRoles(),
            documents=FakeDocuments(),
            run_once=RunOnce(),
            sleep=lambda seconds: None,
            outbox=self.state,
            liveness=self.state,
            organization=self.organization,
            warden_callers=frozenset({f"arn:aws:sts::{account}:assumed-role/session-warden-member/session-warden"}),
        )

    def start(self, who: str, session_id: str) -> SessionApiCall:
        self.sessions.start(session_id, "i-0web000000000001", who, self.clock.now())
        return self.call("StartSession", who, session_id, target="i-0web000000000001")

    def call(self, name: str, who: str, session_id: str, *, target: str | None = None) -> SessionApiCall:
        return SessionApiCall(
            event_id=f"ev-{name}-{session_id}",
            event_name=name,  # type: ignore[arg-type]
            event_time=self.clock.now(),
            region=self.region,
            account=self.account,
            principal=principal_from_arn(who),
            session_id=session_id,
            target=target,
            document="SSM-SessionManagerRunShell",
        )


def alice(account: str) -> str:
    return f"arn:aws:iam::{account}:user/alice"


def test_a_rule_naming_an_ou_subtree_allows_in_an_account_of_that_subtree() -> None:
    # GIVEN alice in prod-web (OU Production/Web), eu-west-1
    world = Scoped()
    started = world.start(alice(PROD_WEB), "alice-00000000000000000000000001")
    # WHEN her StartSession is decided THEN the OU path from Organizations lets the rule hold
    outcome = world.warden.events.on_session_started(started)
    assert (outcome.decision, outcome.rule) == ("allow", "web-team-in-production-europe")
    assert world.organization.lookups >= 1


def test_the_same_session_in_an_account_outside_the_subtree_is_terminated() -> None:
    world = Scoped(account=DEV)
    started = world.start(alice(DEV), "alice-00000000000000000000000002")
    outcome = world.warden.events.on_session_started(started)
    assert (outcome.decision, outcome.action) == ("deny", "terminated")
    [alert] = world.alerts.sent
    assert alert.kind == "session-terminated"
    assert f"account {DEV}" in alert.body and REGION in alert.body  # the alert names where it happened


def test_the_sweeper_ends_a_session_whose_account_moved_out_of_the_ou() -> None:
    # GIVEN an allowed session in prod-web
    world = Scoped()
    started = world.start(alice(PROD_WEB), "alice-00000000000000000000000003")
    world.warden.events.on_session_started(started)
    # WHEN the account is moved to Development and the sweeper runs
    world.organization.listed[PROD_WEB] = OrgAccount(id=PROD_WEB, name="prod-web", status="ACTIVE", ou_path="Dev")
    report = world.warden.sweeper.sweep(owner="sweep-1")
    # THEN the sweeper re-decided it in its new place and ended it
    assert report.terminated == 1
    assert not world.sessions.is_active("alice-00000000000000000000000003")


def test_the_wardens_own_termination_in_a_member_account_is_not_acted_on() -> None:
    # GIVEN a session the warden is ending, and the end event its own TerminateSession produced
    world = Scoped()
    started = world.start(alice(PROD_WEB), "alice-00000000000000000000000004")
    world.warden.events.on_session_started(started)
    before = dataclasses.replace(world.ledger.rows["alice-00000000000000000000000004"])
    world.sessions.terminate("alice-00000000000000000000000004")
    ended = world.call("TerminateSession", WARDEN_IN_PROD_WEB, "alice-00000000000000000000000004")
    # WHEN it arrives THEN it counts as the warden's, and nothing is written or sent for it
    outcome = world.warden.events.on_session_ended(ended)
    assert outcome.action == "ignored: ended by session-warden"
    assert world.ledger.rows["alice-00000000000000000000000004"] == before
    assert world.alerts.sent == []


def test_someone_elses_termination_in_a_member_account_closes_the_row() -> None:
    world = Scoped()
    started = world.start(alice(PROD_WEB), "alice-00000000000000000000000005")
    world.warden.events.on_session_started(started)
    world.sessions.terminate("alice-00000000000000000000000005")
    # The same role name with another session name is not the warden.
    other = f"arn:aws:sts::{PROD_WEB}:assumed-role/session-warden-member/mallory"
    outcome = world.warden.events.on_session_ended(
        world.call("TerminateSession", other, "alice-00000000000000000000000005")
    )
    assert outcome.action == "ledger closed"
    assert world.ledger.rows["alice-00000000000000000000000005"].ended_by == "session-warden-member/mallory"
