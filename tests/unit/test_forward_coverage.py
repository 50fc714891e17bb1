"""The forward check in each coverage round, through in-memory fakes: a member's forward rule that no longer carries
what the central rules need is the scope's `account-not-covered` outage, even while its canary comes back; one alert
per outage whichever of the canary and the check sees it first, and one RESTORED when both are back."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from tests.fakes import aws_failure
from tests.unit.test_coverage import SCOPE, World, _unreachable
from tests.unit.test_forward_rule import BUS, ROLE, RULE, deployed_pattern, needed
from warden.coverage import Forwarding
from warden.policy.forward_rule import ForwardRule, ForwardTarget, NeededRule


class FakeRules:
    """The member's forward rule as DescribeRule / ListTargetsByRule give it; counts the reads."""

    def __init__(self) -> None:
        self.rule: ForwardRule | None = self.deployed()
        self.error: Exception | None = None
        self.reads = 0

    @staticmethod
    def deployed(pattern: dict[str, Any] | None = None, state: str = "ENABLED") -> ForwardRule:
        return ForwardRule(
            name=RULE,
            state=state,
            pattern=json.dumps(pattern if pattern is not None else deployed_pattern()),
            targets=(ForwardTarget(arn=BUS, role_arn=ROLE, rewrites=False),),
        )

    def read(self) -> ForwardRule | None:
        self.reads += 1
        if self.error is not None:
            raise self.error
        return self.rule


class FakeCentral:
    def __init__(self) -> None:
        self.rules = tuple(needed())
        self.error: Exception | None = None

    def needed(self) -> tuple[NeededRule, ...]:
        if self.error is not None:
            raise self.error
        return self.rules


class ForwardWorld(World):
    def __init__(self) -> None:
        super().__init__()
        self.rules = FakeRules()
        self.central = FakeCentral()
        forwarding = Forwarding(rule_name=RULE, central_bus_arn=BUS, needed=self.central, reader=lambda: self.rules)
        self.coverage = replace(self.coverage, forwarding=forwarding)
        self.canary = replace(self.canary, report=self.coverage)

    def narrow(self) -> None:
        """The member admin drops StartSession and TerminateSession, keeping the canary's PutParameter."""
        pattern = deployed_pattern()
        [session] = [b for b in pattern["$or"] if "StartSession" in b["detail"]["eventName"]]
        session["detail"]["eventName"] = ["ResumeSession"]
        self.rules.rule = FakeRules.deployed(pattern)

    def rounds(self, minutes: int, *, canary_back: bool = True) -> None:
        """One sweep a minute; each canary written comes back 3 seconds later when *canary_back*."""
        for _ in range(minutes):
            sent = len(self.ssm.versions)
            self.canary.run()
            if canary_back and len(self.ssm.versions) > sent:
                self.clock.advance(seconds=3)
                self.watch.handle(self.canary_event())
            self.clock.advance(minutes=1)


def test_a_narrowed_rule_is_one_not_covered_alert_though_the_canary_comes_back() -> None:
    world = ForwardWorld()
    world.rounds(6)
    assert world.not_covered() == []  # the deployed rule: covered

    # WHEN the member admin narrows the rule and 20 minutes of sweeps go by, canaries coming back all along
    world.narrow()
    world.rounds(20)

    # THEN one alert names the rule, account, region and lost events, and what it means
    [alert] = world.not_covered()
    assert "222222222222" in alert.subject and "eu-west-1" in alert.subject
    assert (
        f"forward rule {RULE} in account 222222222222 region eu-west-1 no longer forwards StartSession, "
        "TerminateSession: session events from there reach the warden only through the sweeper"
    ) in alert.body
    assert "prod-web" in alert.body and "Production/Web" in alert.body
    assert "PutRule" in alert.body and "drift" in alert.body
    assert world.restored() == []
    assert world.state.item["rule_problem"].endswith("only through the sweeper")


def test_the_rule_is_read_once_per_coverage_round_not_every_sweep() -> None:
    world = ForwardWorld()
    world.rounds(15)
    assert world.rules.reads == 3  # a canary every 5 minutes: minutes 0, 5 and 10


def test_a_restored_rule_is_one_restored_alert_after_the_next_canary_comes_back() -> None:
    world = ForwardWorld()
    world.narrow()
    world.rounds(6)
    assert len(world.not_covered()) == 1

    world.rules.rule = FakeRules.deployed()
    world.rounds(12)

    [restored] = world.restored()
    assert "RESTORED" in restored.subject and "222222222222" in restored.subject
    assert "rule_since" not in world.state.item and "rule_problem" not in world.state.item
    assert len(world.not_covered()) == 1


def test_a_disabled_rule_is_one_alert_though_the_canary_then_goes_blind_too_and_one_restored() -> None:
    world = ForwardWorld()
    world.rounds(3)
    # GIVEN the rule disabled: the check sees it at the next round, the canary stops coming back
    world.rules.rule = FakeRules.deployed(state="DISABLED")
    world.rounds(25, canary_back=False)
    [alert] = world.not_covered()
    assert "is DISABLED" in alert.body
    assert world.state.item.get("blind_since") is not None  # the canary's outage is the same one, not re-alerted

    # WHEN it is enabled again and the canary comes back
    world.rules.rule = FakeRules.deployed()
    world.rounds(6)

    # THEN one RESTORED, and still one not-covered alert
    assert len(world.restored()) == 1 and len(world.not_covered()) == 1


def test_a_rule_fixed_before_the_canary_would_have_gone_blind_is_not_alerted_twice() -> None:
    world = ForwardWorld()
    world.rules.rule = None  # deleted: found at the first round
    world.rounds(6, canary_back=False)
    assert len(world.not_covered()) == 1
    assert "is missing" in world.not_covered()[0].body

    world.rules.rule = FakeRules.deployed()
    world.rounds(10)

    assert len(world.not_covered()) == 1 and len(world.restored()) == 1


def test_a_canary_outage_first_then_a_narrowed_rule_is_one_alert_and_restored_only_when_both_are_fixed() -> None:
    world = ForwardWorld()
    world.rounds(12, canary_back=False)  # a trail stopped, say: the canary goes blind and is alerted
    assert len(world.not_covered()) == 1
    world.narrow()
    world.rounds(6)  # the trail is back (canaries return) but the rule is narrowed
    assert len(world.not_covered()) == 1 and world.restored() == []

    world.rules.rule = FakeRules.deployed()
    world.rounds(6)
    assert len(world.restored()) == 1 and len(world.not_covered()) == 1


def test_a_rule_the_member_role_may_not_read_is_not_covered() -> None:
    world = ForwardWorld()
    world.rules.error = aws_failure("DescribeRule", "AccessDeniedException", "not authorized")
    world.rounds(2)
    [alert] = world.not_covered()
    assert "cannot be read through the member role" in alert.body


def test_a_member_read_that_keeps_failing_is_never_judged_fine_and_a_central_listing_failure_changes_nothing() -> None:
    world = ForwardWorld()
    world.narrow()
    world.rounds(2)
    assert len(world.not_covered()) == 1
    world.rules.rule = FakeRules.deployed()
    world.rules.error = aws_failure("DescribeRule", "ThrottlingException", "slow down")
    world.rounds(10)
    assert world.restored() == [] and "rule_since" in world.state.item  # not judged fixed on a failed read
    assert len(world.not_covered()) == 1  # the same outage: one alert

    world.central.error = aws_failure("ListRules", "ThrottlingException", "slow down")
    world.rules.error = None
    world.rounds(5)
    assert world.restored() == [] and "rule_since" in world.state.item


def test_a_rule_whose_reads_the_member_keeps_throttled_is_not_covered() -> None:
    # GIVEN a member whose own callers exhaust its EventBridge limits, so the warden's reads of the rule fail
    world = ForwardWorld()
    world.rules.error = aws_failure("DescribeRule", "ThrottlingException", "Rate exceeded")
    # WHEN a coverage round comes; THEN the rule is not trusted: one not-covered alert saying it cannot be read
    world.rounds(2)
    [alert] = world.not_covered()
    assert "cannot be read through the member role" in alert.body and "ThrottlingException" in alert.body


def test_a_scope_without_forward_rule_is_judged_by_its_canary_only() -> None:
    world = World()  # forwarding None: the central account's home region
    world.sweeps(6)
    assert world.not_covered() == [] and "rule_since" not in world.state.item
    assert SCOPE.org


def test_a_member_role_refused_during_the_check_is_left_to_the_unreachable_report() -> None:
    world = ForwardWorld()
    world.rules.error = _unreachable("AccessDenied")
    world.rounds(2)
    assert world.not_covered() == [] and "rule_since" not in world.state.item
