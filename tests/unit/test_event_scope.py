"""Event scope: an organization's event is decided where it came from, or refused to the DLQ saying why."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.fakes import FakeOrganization
from warden.errors import RejectedEvent
from warden.event_scope import scope_of
from warden.observability import metrics
from warden.records import OrgAccount
from warden.scope import Scope
from warden.settings import Settings

EVENT = Path(__file__).resolve().parents[2] / "events" / "start-session-iam-user.json"
ENV = {
    "WARDEN_GRANTS_TABLE": "grants",
    "WARDEN_LEDGER_TABLE": "ledger",
    "WARDEN_IDEMPOTENCY_TABLE": "idempotency",
    "WARDEN_STATE_TABLE": "state",
    "WARDEN_ALERTS_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:alerts",
    "WARDEN_POLICY_PARAMETER": "/session-warden/session-warden/policy",
    "AWS_REGION": "us-east-1",
}
ORG = {"WARDEN_ORGANIZATION_ID": "o-warden0001", "WARDEN_GUARDED_REGIONS": "us-east-1,eu-west-1"}


@pytest.fixture(autouse=True)
def fresh_metrics() -> Iterator[None]:
    metrics.clear_metrics()
    yield
    metrics.clear_metrics()


def rejections() -> int:
    recorded = metrics.metric_set.get("EventRejected")
    return int(sum(recorded["Value"])) if recorded else 0


def event_from(account: str, region: str, *, recipient: str | None = None, called_in: str | None = None) -> Any:
    """The recorded StartSession as a member account's rule forwards it: EventBridge's envelope kept."""
    event = json.loads(EVENT.read_text(encoding="utf-8"))
    event["account"], event["region"] = account, region
    event["detail"]["recipientAccountId"] = recipient or account
    event["detail"]["awsRegion"] = called_in or region
    return event


def org_settings() -> Settings:
    return Settings.from_env({**ENV, **ORG})


def test_single_account_mode_decides_every_event_where_it_always_did() -> None:
    # GIVEN no organization WHEN an event arrives THEN there is no scope: the function's own account and region
    assert scope_of(event_from("222222222222", "eu-west-1"), Settings.from_env(ENV), FakeOrganization()) is None


def test_an_organization_event_is_decided_in_its_account_and_region() -> None:
    scope = scope_of(event_from("222222222222", "eu-west-1"), org_settings(), FakeOrganization())
    assert scope == Scope("222222222222", "eu-west-1", org=True)
    assert rejections() == 0


def test_the_central_account_home_region_is_an_organization_scope_too() -> None:
    scope = scope_of(event_from("123456789012", "us-east-1"), org_settings(), FakeOrganization())
    assert scope == Scope("123456789012", "us-east-1", org=True)


@pytest.mark.parametrize(
    ("event", "problem"),
    [
        (
            event_from("222222222222", "eu-west-1", recipient="333333333333"),
            "detail.recipientAccountId '333333333333' is not the envelope's account 222222222222",
        ),
        (
            event_from("222222222222", "eu-west-1", called_in="us-east-1"),
            "detail.awsRegion 'us-east-1' is not the envelope's region eu-west-1",
        ),
        (event_from("999999999999", "eu-west-1"), "account 999999999999 is not in organization o-warden0001"),
        (event_from("222222222222", "ap-south-1"), "region ap-south-1 is not guarded (guarded: us-east-1, eu-west-1)"),
    ],
    ids=["forged-account", "forged-region", "outside-the-organization", "unguarded-region"],
)
def test_an_event_the_warden_must_not_act_on_is_rejected_naming_why(event: Any, problem: str) -> None:
    # WHEN it is scoped THEN it is rejected (to the DLQ), the reason named and EventRejected counted
    with pytest.raises(RejectedEvent) as raised:
        scope_of(event, org_settings(), FakeOrganization())
    assert problem in str(raised.value)
    assert rejections() == 1


def test_a_suspended_account_is_not_acted_in() -> None:
    organization = FakeOrganization([OrgAccount(id="444444444444", name="dev", status="SUSPENDED", ou_path="Dev")])
    with pytest.raises(RejectedEvent, match=r"account 444444444444 \(dev\) is SUSPENDED"):
        scope_of(event_from("444444444444", "us-east-1"), org_settings(), organization)


def test_an_envelope_without_an_account_is_rejected() -> None:
    event = event_from("222222222222", "eu-west-1")
    del event["account"]
    with pytest.raises(RejectedEvent, match="envelope account: expected a 12-digit account id, got nothing"):
        scope_of(event, org_settings(), FakeOrganization())
