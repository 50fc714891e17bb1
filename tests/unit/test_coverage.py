"""Coverage in organization mode, through in-memory fakes: an account and region whose canary does not come back (or
whose member role cannot be assumed) is one `account-not-covered` alert per outage, naming the account, its name,
OU path and region, what was seen and what to do; the next round trip, noted by the tamper watch in the scope of
the event, is one INFO RESTORED alert."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from tests.fakes import FakeAlerts, FakeCanaryState, FakeClock, FakeOnce, aws_failure
from warden.alerts.coverage import NOT_COVERED_KIND
from warden.alerts.text import AlertContext
from warden.canary import Canary
from warden.coverage import Coverage
from warden.errors import MemberUnreachable
from warden.notifier import Notifier
from warden.records import OrgAccount
from warden.scope import Scope
from warden.tamper import Owned
from warden.watch import TamperWatch

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
STACK = "session-warden"
PARAMETER = f"/session-warden/{STACK}/canary"
SCOPE = Scope("222222222222", "eu-west-1", org=True)
ROLE = "arn:aws:iam::222222222222:role/session-warden-member"
ORG = [OrgAccount(id="222222222222", name="prod-web", status="ACTIVE", ou_path="Production/Web")]


class FakeOrganization:
    def accounts(self) -> list[OrgAccount]:
        return list(ORG)

    def account(self, account_id: str) -> OrgAccount | None:
        return next((account for account in ORG if account.id == account_id), None)

    def path_of(self, account_id: str) -> str | None:
        found = self.account(account_id)
        return found.ou_path if found else None


class FakeTrails:
    def __init__(self) -> None:
        self.found: list[str] = []
        self.reads = 0
        self.fail = False

    def problems(self) -> list[str]:
        self.reads += 1
        if self.fail:
            raise aws_failure("DescribeTrails", "AccessDeniedException", "not allowed")
        return list(self.found)


class FakeMemberSsm:
    """The member account's canary parameter: each write is a version, read back by version."""

    def __init__(self) -> None:
        self.versions: list[str] = []
        self.fail = False

    def put(self, name: str, value: str) -> int:
        if self.fail:
            raise aws_failure("PutParameter", "AccessDeniedException", "not allowed")
        self.versions.append(value)
        return len(self.versions)

    def parameter_value(self, name: str, version: int) -> str | None:
        return self.versions[version - 1] if 0 < version <= len(self.versions) else None

    def document_content(self, name: str, version: str) -> str | None:
        return None


class World:
    def __init__(self) -> None:
        self.clock = FakeClock(NOW)
        self.state = FakeCanaryState()
        self.alerts = FakeAlerts()
        self.once = FakeOnce()
        self.trails = FakeTrails()
        self.ssm = FakeMemberSsm()
        notifier = Notifier(self.alerts, self.once)
        context = AlertContext(stack=STACK, region=SCOPE.region, account=SCOPE.account)
        self.coverage = Coverage(
            scope=SCOPE,
            stack=STACK,
            role_arn=ROLE,
            clock=self.clock,
            directory=FakeOrganization(),
            records=self.state,
            notifier=notifier,
            context=context,
            parameter=PARAMETER,
            trails=lambda: self.trails,
            member_reads=lambda: self.ssm,
        )
        self.canary = Canary(
            clock=self.clock,
            parameter=PARAMETER,
            writer=self.ssm,
            records=self.state,
            notifier=notifier,
            context=context,
            report=self.coverage,
        )
        self.watch = TamperWatch(
            clock=self.clock,
            owned=Owned(
                stack=STACK, rules={}, functions={}, tables={}, policy_parameter="/p", canary_parameter=PARAMETER
            ),
            reads=self.ssm,
            records=FakeCanaryState(),  # the central account's own canary: must not be touched by a member's
            notifier=notifier,
            context=AlertContext(stack=STACK, region="us-east-1", account="123456789012"),
            scoped=lambda event: self.coverage if event.get("account") == SCOPE.account else None,
        )

    def sweeps(self, minutes: int) -> None:
        """One sweep a minute (each runs the scope's canary share) for *minutes* minutes."""
        for _ in range(minutes):
            self.canary.run()
            self.clock.advance(minutes=1)

    def canary_event(self, account: str = SCOPE.account) -> dict[str, Any]:
        """The CloudTrail record of the last canary write, as the member's forwarding rule delivers it."""
        return {
            "detail-type": "AWS API Call via CloudTrail",
            "source": "aws.ssm",
            "account": account,
            "region": SCOPE.region,
            "detail": {
                "eventSource": "ssm.amazonaws.com",
                "eventName": "PutParameter",
                "eventID": f"e-{len(self.ssm.versions)}",
                "eventTime": self.clock.now().strftime("%Y-%m-%dT%H:%M:%SZ"),
                "recipientAccountId": account,
                "awsRegion": SCOPE.region,
                "userIdentity": {
                    "type": "AssumedRole",
                    "arn": f"arn:aws:sts::{account}:assumed-role/session-warden-member/session-warden",
                },
                "requestParameters": {"name": PARAMETER},
                "responseElements": {"version": len(self.ssm.versions), "tier": "Standard"},
            },
        }

    def not_covered(self) -> list[Any]:
        return [alert for alert in self.alerts.sent if alert.kind == NOT_COVERED_KIND and alert.severity == "HIGH"]

    def restored(self) -> list[Any]:
        return [alert for alert in self.alerts.sent if alert.kind == NOT_COVERED_KIND and alert.severity == "INFO"]


def _unreachable(code: str) -> MemberUnreachable:
    cause = ClientError({"Error": {"Code": code, "Message": "no"}}, "AssumeRole")
    return MemberUnreachable(SCOPE.account, SCOPE.region, ROLE, cause, code=code)


def test_a_canary_not_back_in_ten_minutes_is_one_not_covered_alert_naming_the_account_however_many_sweeps() -> None:
    # GIVEN a member whose canary is written but never comes back, while its trail logs
    world = World()

    # WHEN 25 sweeps run (with a second overlapping sweep of the scope each minute)
    for _ in range(25):
        world.canary.run()
        world.canary.run()
        world.clock.advance(minutes=1)

    # THEN exactly one HIGH account-not-covered alert went out, naming the account, its name, OU path and region
    [alert] = world.not_covered()
    assert "222222222222" in alert.subject and "prod-web" in alert.subject and "eu-west-1" in alert.subject
    for text in ("222222222222", "prod-web", "Production/Web", "eu-west-1", PARAMETER):
        assert text in alert.body
    # AND it says what it could tell: the trail logs, so the member's forwarding rule is what is broken
    assert "forwarding rule" in alert.body and "session-warden-forward" in alert.body
    assert "warden org deploy" in alert.body
    assert world.trails.reads == 1


def test_nothing_is_alerted_before_ten_minutes() -> None:
    world = World()
    world.sweeps(10)  # the first canary was written at minute 0; the tenth sweep runs at minute 9
    assert world.not_covered() == []


def test_a_stopped_trail_is_named_as_the_cause() -> None:
    # GIVEN the member's trail, read through the member role, is not logging
    world = World()
    world.trails.found = ["trail management-events is not logging (StopLogging)"]

    world.sweeps(12)

    [alert] = world.not_covered()
    assert "trail management-events is not logging" in alert.body
    assert "start-logging" in alert.body


def test_a_trail_status_that_cannot_be_read_is_said_and_the_alert_still_goes_out() -> None:
    world = World()
    world.trails.fail = True

    world.sweeps(12)

    [alert] = world.not_covered()
    assert "trail status could not be read through the member role" in alert.body


def test_a_member_role_that_cannot_be_assumed_is_alerted_at_once_and_once_per_outage() -> None:
    # GIVEN the member role is refused (the member stack is missing, or its role was changed)
    world = World()

    # WHEN three sweeps of the scope find it unreachable
    for _ in range(3):
        world.coverage.unreachable(_unreachable("AccessDenied"))
        world.clock.advance(minutes=1)

    # THEN one alert says the role cannot be assumed and what that means, with what to do
    [alert] = world.not_covered()
    assert ROLE in alert.body
    assert "member stack is missing" in alert.body and "role was changed" in alert.body
    assert "warden org deploy" in alert.body
    assert "forwarding rule" not in alert.body.split("What to do:")[0]  # not a cause it saw
    assert world.trails.reads == 0  # nothing is read through a role that cannot be assumed


def test_a_throttled_assume_role_waits_the_ten_minutes_before_alerting() -> None:
    world = World()
    for _ in range(9):
        world.coverage.unreachable(_unreachable("Throttling"))
        world.clock.advance(minutes=1)
    assert world.not_covered() == []

    world.clock.advance(minutes=1)
    world.coverage.unreachable(_unreachable("Throttling"))

    assert len(world.not_covered()) == 1


def test_the_next_round_trip_is_one_restored_alert_and_a_later_outage_is_alerted_again() -> None:
    # GIVEN an outage that was alerted
    world = World()
    world.sweeps(11)
    assert len(world.not_covered()) == 1

    # WHEN the forwarding rule is repaired: the next canary comes back through the central bus to the tamper watch
    world.clock.advance(minutes=4)
    world.canary.run()  # a new canary is due (every 5 minutes)
    world.clock.advance(seconds=3)
    outcome = world.watch.handle(world.canary_event())
    world.watch.handle(world.canary_event())  # EventBridge delivered it twice

    # THEN the round trip is noted for that scope, and one INFO RESTORED alert names the account and region
    assert outcome["outcome"] == "canary"
    [restored] = world.restored()
    assert "RESTORED" in restored.subject and "222222222222" in restored.subject and "eu-west-1" in restored.subject
    assert "Production/Web" in restored.body
    assert world.state.item.get("waiting_since") is None and world.state.item["seen_at"]
    # AND a later outage is a new alert
    world.sweeps(16)
    assert len(world.not_covered()) == 2


def test_a_role_outage_clears_with_the_first_canary_after_the_role_is_back() -> None:
    world = World()
    world.coverage.unreachable(_unreachable("AccessDenied"))
    world.clock.advance(minutes=2)

    world.canary.run()  # the role is back: the sweep runs and writes a canary at once
    world.watch.handle(world.canary_event())

    assert len(world.not_covered()) == 1
    assert len(world.restored()) == 1
    assert "unreachable" not in world.state.item


def test_a_canary_event_from_an_account_the_warden_does_not_cover_is_ignored() -> None:
    world = World()
    world.canary.run()

    outcome = world.watch.handle(world.canary_event(account="999999999999"))

    assert outcome["outcome"] == "ignored"
    assert world.state.item.get("waiting_since") is not None  # the member's canary is still awaited


def test_the_member_stack_writing_its_canary_parameter_is_a_deploy_not_a_canary() -> None:
    # GIVEN CloudFormation (the StackSet) creating the member's canary parameter
    world = World()
    world.canary.run()
    event = world.canary_event()
    event["detail"]["userIdentity"]["invokedBy"] = "cloudformation.amazonaws.com"

    # WHEN the tamper watch gets it THEN it is the deploy, and the member's canary is still awaited
    assert world.watch.handle(event)["outcome"] == "deploy"
    assert world.state.item.get("waiting_since") is not None
