"""Tamper watch, organization mode: AppConfig calls on the warden's policy are tampering unless they are a recorded
`warden policy push` of exactly the version's text."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.fakes import FakeAlerts, FakeClock, FakeOnce
from tests.unit.test_canary_sends import FakeCanaryState
from warden.alerts import AlertContext
from warden.notifier import Notifier
from warden.tamper import Owned
from warden.watch import TamperWatch

CONTEXT = AlertContext(stack="sw", region="us-east-1", account="123456789012")
PUSHED_AT = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
APP, PROFILE = "abc1234", "def5678"
OWNED = Owned(
    stack="sw",
    rules={},
    functions={},
    tables={},
    policy_parameter="/session-warden/sw/policy",
    policy_application=APP,
    policy_profile=PROFILE,
)
TEXT = "version: 1\nrules: []\n"


class Reads:
    def __init__(self, versions: dict[int, str]) -> None:
        self.versions = versions

    def document_content(self, name: str, version: str) -> str | None:
        return None

    def parameter_value(self, name: str, version: int) -> str | None:
        return None

    def hosted_version(self, application: str, profile: str, version: int) -> str | None:
        return self.versions.get(version) if (application, profile) == (APP, PROFILE) else None


class Records(FakeCanaryState):
    def __init__(self, pushes: Mapping[str, Mapping[str, Any]]) -> None:
        super().__init__()
        self.pushes = pushes

    def policy_push(self, digest: str) -> Mapping[str, Any] | None:
        return self.pushes.get(digest)


def watch(versions: dict[int, str], pushes: Mapping[str, Mapping[str, Any]]) -> tuple[TamperWatch, FakeAlerts]:
    alerts = FakeAlerts()
    return (
        TamperWatch(
            clock=FakeClock(PUSHED_AT),
            owned=OWNED,
            reads=Reads(versions),
            records=Records(pushes),
            notifier=Notifier(alerts, FakeOnce()),
            context=CONTEXT,
        ),
        alerts,
    )


def call(name: str, request: dict[str, Any], response: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "detail-type": "AWS API Call via CloudTrail",
        "source": "aws.appconfig",
        "detail": {
            "eventSource": "appconfig.amazonaws.com",
            "eventName": name,
            "eventID": f"e-{name}",
            "eventTime": "2026-11-24T09:01:00Z",
            "userIdentity": {"type": "IAMUser", "arn": "arn:aws:iam::123456789012:user/mallory"},
            "requestParameters": request,
            "responseElements": response,
        },
    }


PUSHED = {hashlib.sha256(TEXT.encode()).hexdigest(): {"at": PUSHED_AT.timestamp(), "version": 3}}


def test_the_version_and_deployment_of_a_recorded_push_raise_no_alert() -> None:
    tamper, alerts = watch({3: TEXT}, PUSHED)
    created = call(
        "CreateHostedConfigurationVersion",
        {"applicationId": APP, "configurationProfileId": PROFILE},
        {"versionNumber": 3},
    )
    started = call(
        "StartDeployment", {"applicationId": APP, "configurationProfileId": PROFILE, "configurationVersion": "3"}
    )
    assert tamper.handle(created)["outcome"] == "policy push"
    assert tamper.handle(started)["outcome"] == "policy push"
    assert alerts.sent == []


def test_deploying_a_version_nobody_pushed_is_tampering_naming_the_organization() -> None:
    tamper, alerts = watch({3: TEXT, 4: "version: 1\ndefault: allow\n"}, PUSHED)
    started = call(
        "StartDeployment", {"applicationId": APP, "configurationProfileId": PROFILE, "configurationVersion": "4"}
    )
    assert tamper.handle(started)["outcome"] == "tampered"
    [alert] = alerts.sent
    assert alert.kind == "enforcer-tampered" and "every account of the organization" in alert.body


@pytest.mark.parametrize(
    ("name", "meaning"),
    [
        ("DeleteConfigurationProfile", "policy profile in AppConfig is deleted"),
        ("UpdateConfigurationProfile", "its validators"),
        ("StopDeployment", "rolled back"),
        ("DeleteHostedConfigurationVersion", "was deleted from AppConfig"),
    ],
)
def test_changes_the_cli_never_makes_are_tampering(name: str, meaning: str) -> None:
    tamper, alerts = watch({3: TEXT}, PUSHED)
    assert tamper.handle(call(name, {"applicationId": APP, "configurationProfileId": PROFILE}))["outcome"] == "tampered"
    [alert] = alerts.sent
    assert meaning in alert.body


def test_calls_on_another_application_are_not_the_wardens() -> None:
    tamper, alerts = watch({}, {})
    outcome = tamper.handle(call("DeleteConfigurationProfile", {"applicationId": "zzz9999"}))
    assert outcome["outcome"] == "ignored" and alerts.sent == []
