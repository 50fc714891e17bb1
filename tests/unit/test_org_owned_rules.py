"""Organization mode: changes to the central bus's rules and to a member's forward rule are tampering, with a meaning."""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.test_settings import ENV
from warden.settings import Settings
from warden.tamper import meaning_of, parse_control_event, resource_of
from warden.wiring import owned_resources

ORG = {**ENV, "WARDEN_STACK_NAME": "sw", "WARDEN_ORGANIZATION_ID": "o-warden0001"}


def disable_rule(name: str, account: str) -> dict[str, Any]:
    return {
        "detail-type": "AWS API Call via CloudTrail",
        "source": "aws.events",
        "account": account,
        "detail": {
            "eventSource": "events.amazonaws.com",
            "eventName": "DisableRule",
            "eventID": "e-1",
            "eventTime": "2026-11-24T09:00:00Z",
            "recipientAccountId": account,
            "userIdentity": {"type": "IAMUser", "arn": f"arn:aws:iam::{account}:user/mallory"},
            "requestParameters": {"name": name, "eventBusName": "default"},
        },
    }


@pytest.mark.parametrize(
    ("rule", "account", "what"),
    [
        ("sw-org-session-started", "123456789012", "central session-start rule (for every member account)"),
        ("sw-org-tamper-watch", "123456789012", "central tamper-watch rule (for every member account)"),
        ("sw-org-canary", "123456789012", "central canary rule (for every member account)"),
        ("sw-forward", "222222222222", "member forward rule"),
    ],
)
def test_a_change_to_an_organization_rule_is_a_change_to_the_warden(rule: str, account: str, what: str) -> None:
    owned = owned_resources(Settings.from_env(ORG))
    call = parse_control_event(disable_rule(rule, account))
    assert resource_of(call, owned) == ("rule", rule)
    assert owned.rules[rule] == what
    assert meaning_of(call, "rule", rule, owned)


def test_one_account_owns_no_organization_rule() -> None:
    owned = owned_resources(Settings.from_env({**ENV, "WARDEN_STACK_NAME": "sw"}))
    assert not [name for name in owned.rules if "-org-" in name or name.endswith("-forward")]
    assert resource_of(parse_control_event(disable_rule("sw-forward", "222222222222")), owned) is None
