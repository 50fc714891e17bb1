"""The EventBridge reads of the forward check: the member's rule with every page of its targets (None when there is no
rule), and the central bus's rules, listed once per quarter hour by the warden's clock."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.fakes import FakeClock
from warden.adapters.forward_rules import CentralRules, EventsForwardRule
from warden.errors import AwsCallFailed

BUS = "arn:aws:events:us-east-1:123456789012:event-bus/session-warden-central"


class FakeEvents:
    """EventBridge as the member's administrator left it: one rule, its targets over two pages."""

    def __init__(self) -> None:
        self.rules: dict[str, dict[str, Any]] = {
            "session-warden-forward": {"Name": "session-warden-forward", "State": "ENABLED", "EventPattern": "{}"}
        }
        self.targets = [
            [{"Id": "audit", "Arn": "arn:aws:sqs:us-east-1:222222222222:audit", "InputPath": "$.detail"}],
            [{"Id": "central-warden", "Arn": BUS, "RoleArn": "arn:aws:iam::222222222222:role/forward"}],
        ]
        self.central = [
            [{"Name": "session-warden-org-canary", "EventPattern": '{"source": ["aws.ssm"]}'}],
            [{"Name": "session-warden-org-tamper-watch", "EventPattern": '{"source": ["aws.events"]}'}, {"Name": "x"}],
        ]
        self.listed = 0
        self.fail: str | None = None

    def describe_rule(self, Name: str, EventBusName: str) -> dict[str, Any]:
        assert EventBusName == "default"
        if self.fail:
            raise ClientError({"Error": {"Code": self.fail, "Message": "no"}}, "DescribeRule")
        if Name not in self.rules:
            raise ClientError({"Error": {"Code": "ResourceNotFoundException", "Message": "none"}}, "DescribeRule")
        return self.rules[Name]

    def list_targets_by_rule(self, Rule: str, EventBusName: str, NextToken: str = "0") -> dict[str, Any]:
        page = int(NextToken)
        return {"Targets": self.targets[page], **({"NextToken": str(page + 1)} if page + 1 < len(self.targets) else {})}

    def list_rules(self, EventBusName: str, NamePrefix: str, NextToken: str = "0") -> dict[str, Any]:
        assert (EventBusName, NamePrefix) == ("session-warden-central", "session-warden-org-")
        self.listed += 1
        page = int(NextToken)
        return {"Rules": self.central[page], **({"NextToken": str(page + 1)} if page + 1 < len(self.central) else {})}


def test_the_forward_rule_is_read_with_every_page_of_its_targets() -> None:
    rule = EventsForwardRule(FakeEvents(), "session-warden-forward").read()
    assert rule is not None and (rule.name, rule.state, rule.pattern) == ("session-warden-forward", "ENABLED", "{}")
    assert [(t.arn, t.rewrites) for t in rule.targets] == [
        ("arn:aws:sqs:us-east-1:222222222222:audit", True),
        (BUS, False),
    ]
    assert rule.targets[1].role_arn == "arn:aws:iam::222222222222:role/forward"


def test_a_missing_rule_is_none_and_a_refused_read_is_raised() -> None:
    events = FakeEvents()
    events.rules.clear()
    assert EventsForwardRule(events, "session-warden-forward").read() is None
    events.fail = "AccessDeniedException"
    with pytest.raises(AwsCallFailed) as raised:
        EventsForwardRule(events, "session-warden-forward").read()
    assert raised.value.code == "AccessDeniedException"


def test_the_central_rules_are_listed_once_per_quarter_hour() -> None:
    events, clock = FakeEvents(), FakeClock(datetime(2026, 11, 24, 9, 0, tzinfo=UTC))
    rules = CentralRules(events, "session-warden-central", "session-warden-org-", clock)
    first = rules.needed()
    assert [rule.name for rule in first] == ["session-warden-org-canary", "session-warden-org-tamper-watch"]
    clock.advance(minutes=14)
    assert rules.needed() == first and events.listed == 2  # two pages, once
    clock.advance(minutes=2)
    rules.needed()
    assert events.listed == 4


def test_no_central_rule_is_an_error_not_an_empty_judgement() -> None:
    events = FakeEvents()
    events.central = [[]]
    rules = CentralRules(events, "session-warden-central", "session-warden-org-", FakeClock(datetime.now(UTC)))
    with pytest.raises(AwsCallFailed, match="no rule named session-warden-org-"):
        rules.needed()


def test_a_rule_someone_adds_under_the_prefix_asks_nothing_of_members() -> None:
    # GIVEN the central bus also has a rule a user added under the warden's prefix
    events = FakeEvents()
    clock = FakeClock(datetime(2026, 11, 24, 9, 0, tzinfo=UTC))
    owned = frozenset({"session-warden-org-canary", "session-warden-org-tamper-watch"})
    events.central = [
        [*page, {"Name": "session-warden-org-zzz", "EventPattern": '{"source": ["aws.ssm"]}'}]
        for page in events.central
    ]
    # WHEN the rules the members must forward are listed with the stack's own names
    needed = CentralRules(events, "session-warden-central", "session-warden-org-", clock, names=owned).needed()
    # THEN only the stack's own rules count
    assert sorted(rule.name for rule in needed) == sorted(owned)
