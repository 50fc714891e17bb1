"""Resource policies as AWS evaluates them for another account: bus policies and trust policies, failing closed."""

from __future__ import annotations

from typing import Any

import pytest

from warden_local.resource_policy import Principal, admits, trusts_service

BUS = "arn:aws:events:us-east-1:123456789012:event-bus/central"
MEMBER = Principal(account="222222222222", arn="arn:aws:iam::222222222222:role/forward", org_id="o-warden0001")
OUTSIDER = Principal(account="999999999999", arn="arn:aws:iam::999999999999:role/forward")


def policy(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(condition: dict[str, Any] | None = None, principal: Any = "*", effect: str = "Allow") -> dict[str, Any]:
    statement: dict[str, Any] = {
        "Effect": effect,
        "Principal": principal,
        "Action": "events:PutEvents",
        "Resource": BUS,
    }
    if condition is not None:
        statement["Condition"] = condition
    return statement


@pytest.mark.parametrize(
    ("condition", "member", "outsider"),
    [
        ({"StringEquals": {"aws:PrincipalOrgID": "o-warden0001"}}, True, False),
        ({"StringEquals": {"aws:principalorgid": ["o-other00001", "o-warden0001"]}}, True, False),
        ({"StringNotEquals": {"aws:PrincipalOrgID": "o-warden0001"}}, False, True),
        ({"StringEqualsIfExists": {"aws:PrincipalOrgID": "o-warden0001"}}, True, True),
        ({"StringLike": {"aws:PrincipalArn": "arn:aws:iam::222222222222:role/*"}}, True, False),
        ({"NumericLessThan": {"aws:PrincipalOrgID": "1"}}, False, False),  # not understood: never admits
        ({"StringEquals": {"aws:RequestedRegion": "us-east-1"}}, False, False),
    ],
)
def test_conditions_admit_as_aws_evaluates_them_and_fail_closed(
    condition: dict[str, Any], member: bool, outsider: bool
) -> None:
    document = policy(allow(condition))
    assert admits(document, MEMBER, "events:PutEvents", BUS) is member
    assert admits(document, OUTSIDER, "events:PutEvents", BUS) is outsider


def test_an_explicit_deny_wins_and_one_not_understood_applies() -> None:
    assert not admits(policy(allow(), allow(effect="Deny")), MEMBER, "events:PutEvents", BUS)
    denied_unknown = allow({"DateLessThan": {"aws:CurrentTime": "2030-01-01"}}, effect="Deny")
    assert not admits(policy(allow(), denied_unknown), MEMBER, "events:PutEvents", BUS)


def test_principals_resources_and_actions_must_match() -> None:
    by_account = policy(allow(principal={"AWS": "222222222222"}))
    by_root = policy(allow(principal={"AWS": ["arn:aws:iam::222222222222:root"]}))
    assert admits(by_account, MEMBER, "events:PutEvents", BUS) and admits(by_root, MEMBER, "events:PutEvents", BUS)
    assert not admits(by_account, OUTSIDER, "events:PutEvents", BUS)
    assert not admits(policy(allow()), MEMBER, "events:PutEvents", BUS.replace("central", "other"))
    assert not admits(policy(allow()), MEMBER, "events:PutRule", BUS)
    assert not admits(None, MEMBER, "events:PutEvents", BUS)


def test_a_trust_policy_for_eventbridge_is_evaluated_for_the_rule() -> None:
    rule = "arn:aws:events:eu-west-1:222222222222:rule/forward"
    statement = {
        "Effect": "Allow",
        "Principal": {"Service": "events.amazonaws.com"},
        "Action": "sts:AssumeRole",
        "Condition": {"ArnLike": {"aws:SourceArn": "arn:aws:events:*:222222222222:rule/*"}},
    }
    document = policy(statement)
    assert trusts_service(document, "events.amazonaws.com", source_account="222222222222", source_arn=rule)
    other = rule.replace("222222222222", "333333333333")
    assert not trusts_service(document, "events.amazonaws.com", source_account="333333333333", source_arn=other)
    assert not trusts_service(document, "lambda.amazonaws.com", source_account="222222222222", source_arn=rule)
