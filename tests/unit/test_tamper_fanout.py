"""Tamper watch, organization mode: changes to the sweep fan-out (the worker's event source mapping, the sweep queue
and its dead-letter queue, the worker and validator functions) are tampering, each alerted once with what it means;
the stack's own deploy and a refused call are not."""

from __future__ import annotations

from typing import Any

import pytest

from tests.fakes import FakeAlerts, FakeClock, FakeOnce
from tests.unit.test_settings import ENV
from tests.unit.test_tamper_policy_store import CONTEXT, PUSHED_AT, Reads, Records
from warden.notifier import Notifier
from warden.settings import Settings
from warden.tamper import meaning_of, parse_control_event, resource_of
from warden.watch import TamperWatch
from warden.wiring import owned_resources

ACCOUNT = "123456789012"
QUEUE, DLQ = "sw-SweepQueue-AbC123", "sw-SweepDeadLetterQueue-XyZ789"
URL = f"https://sqs.eu-central-1.amazonaws.com/{ACCOUNT}/"
ORG = {
    **ENV,
    "WARDEN_STACK_NAME": "sw",
    "WARDEN_ORGANIZATION_ID": "o-warden0001",
    "WARDEN_SWEEP_QUEUE_URL": URL + QUEUE,
    "WARDEN_SWEEP_DLQ_URL": URL + DLQ,
    "WARDEN_WATCHED_FUNCTIONS": "session-start=sw-Start,sweeper=sw-Sweeper,sweep-worker=sw-SweepWorker-1,"
    "policy-validator=sw-PolicyValidator-2",
}
MAPPING = "14e0db71-1111-2222-3333-444455556666"


def cloudtrail(
    source: str, name: str, request: dict[str, Any], response: dict[str, Any] | None = None, **extra: Any
) -> dict[str, Any]:
    return {
        "detail-type": "AWS API Call via CloudTrail",
        "source": f"aws.{source}",
        "detail": {
            "eventSource": f"{source}.amazonaws.com",
            "eventName": name,
            "eventID": f"e-{name}",
            "eventTime": "2026-11-24T09:01:00Z",
            "userIdentity": {"type": "IAMUser", "arn": f"arn:aws:iam::{ACCOUNT}:user/mallory", **extra},
            "requestParameters": request,
            "responseElements": response,
        },
    }


def mapping(name: str, request: dict[str, Any], queue: str = QUEUE) -> dict[str, Any]:
    response = {"uUID": MAPPING, "eventSourceArn": f"arn:aws:sqs:eu-central-1:{ACCOUNT}:{queue}", "state": "Updating"}
    return cloudtrail("lambda", name, {"uUID": MAPPING, **request}, response)


@pytest.mark.parametrize(
    ("event", "kind", "says"),
    [
        (mapping("UpdateEventSourceMapping20150331", {"enabled": False}), "event source mapping", "is disabled"),
        (mapping("DeleteEventSourceMapping20150331", {}), "event source mapping", "is deleted"),
        (mapping("UpdateEventSourceMapping20150331", {"functionName": "elsewhere"}), "event source mapping", "changed"),
        (cloudtrail("sqs", "PurgeQueue", {"queueUrl": URL + QUEUE}), "queue", "purged"),
        (cloudtrail("sqs", "DeleteQueue", {"queueUrl": URL + QUEUE}), "queue", "the sweeper can send no order"),
        (
            cloudtrail("sqs", "SetQueueAttributes", {"queueUrl": URL + QUEUE, "attributes": {"Policy": "{}"}}),
            "queue",
            "attributes changed (Policy)",
        ),
        (cloudtrail("sqs", "PurgeQueue", {"queueUrl": URL + DLQ}), "queue", "kept failing is gone"),
        (cloudtrail("lambda", "UpdateFunctionCode20150331v2", {"functionName": "sw-SweepWorker-1"}), "function", ""),
        (
            cloudtrail("lambda", "DeleteFunction20150331", {"functionName": "sw-PolicyValidator-2"}),
            "function",
            "AppConfig may deploy a policy version the warden never validated",
        ),
    ],
)
def test_a_change_to_the_sweep_fan_out_is_a_change_to_the_warden_with_what_it_means(
    event: dict[str, Any], kind: str, says: str
) -> None:
    # GIVEN what the warden owns in organization mode; WHEN CloudTrail records the call
    owned = owned_resources(Settings.from_env(ORG))
    call = parse_control_event(event)
    found = resource_of(call, owned)
    # THEN it is that resource of the warden's, and its meaning says what enforcement loses
    assert found is not None and found[0] == kind
    meaning = meaning_of(call, found[0], found[1], owned)
    assert says in meaning
    if found[0] == "event source mapping":
        assert MAPPING in found[1] and QUEUE in found[1]
    if "SweepWorker" in str(event["detail"]["requestParameters"]):
        assert "no account or region is swept" in meaning


@pytest.mark.parametrize(
    "event",
    [
        mapping("UpdateEventSourceMapping20150331", {"enabled": False}, queue="someone-elses-queue"),
        cloudtrail("sqs", "PurgeQueue", {"queueUrl": URL + "someone-elses-queue"}),
        cloudtrail("sqs", "PurgeQueue", {"queueUrl": f"https://sqs.eu-central-1.amazonaws.com/999999999999/{QUEUE}"}),
    ],
)
def test_a_change_to_another_queue_or_mapping_is_not_the_wardens(event: dict[str, Any]) -> None:
    assert resource_of(parse_control_event(event), owned_resources(Settings.from_env(ORG))) is None


def test_one_account_owns_no_sweep_queue() -> None:
    owned = owned_resources(Settings.from_env({**ENV, "WARDEN_STACK_NAME": "sw"}))
    assert owned.queues == {}
    assert resource_of(parse_control_event(cloudtrail("sqs", "PurgeQueue", {"queueUrl": URL + QUEUE})), owned) is None


def watch(scoped: Any = None) -> tuple[TamperWatch, FakeAlerts]:
    alerts = FakeAlerts()
    tamper = TamperWatch(
        clock=FakeClock(PUSHED_AT),
        owned=owned_resources(Settings.from_env(ORG)),
        reads=Reads({}),
        records=Records({}),
        notifier=Notifier(alerts, FakeOnce()),
        context=CONTEXT,
        scoped=scoped,
    )
    return tamper, alerts


def test_disabling_the_worker_mapping_raises_one_enforcer_tampered_alert_naming_it_and_what_it_means() -> None:
    # GIVEN the tamper watch; WHEN the same disabling call is delivered twice
    tamper, alerts = watch()
    event = mapping("UpdateEventSourceMapping20150331", {"enabled": False})
    outcomes = [tamper.handle(event)["outcome"], tamper.handle(event)["outcome"]]
    # THEN one HIGH enforcer-tampered alert names who, the call, the mapping and its queue, and what it means
    assert outcomes == ["tampered", "tampered"]
    [alert] = alerts.sent
    assert (alert.kind, alert.severity) == ("enforcer-tampered", "HIGH")
    assert "UpdateEventSourceMapping20150331" in alert.subject and "Who:" in alert.body and "mallory" in alert.body
    assert MAPPING in alert.body and QUEUE in alert.body
    assert "no sweep order is taken" in alert.body and "an expired grant or a closed window" in alert.body


@pytest.mark.parametrize(
    "event",
    [
        mapping("UpdateEventSourceMapping20150331", {"batchSize": 1}),
        cloudtrail("sqs", "SetQueueAttributes", {"queueUrl": URL + QUEUE, "attributes": {"Policy": "{}"}}),
    ],
)
def test_the_stacks_own_deploy_of_the_fan_out_is_not_tampering(event: dict[str, Any]) -> None:
    # GIVEN CloudFormation making the call for the stack (AWS sets invokedBy; a caller cannot)
    event["detail"]["userIdentity"]["invokedBy"] = "cloudformation.amazonaws.com"
    tamper, alerts = watch()
    # WHEN it is delivered; THEN it is the deploy, and nothing is alerted
    assert tamper.handle(event)["outcome"] == "deploy"
    assert alerts.sent == []


def test_a_refused_purge_changes_nothing_and_is_not_alerted() -> None:
    # GIVEN a PurgeQueue the queue policy refused (CloudTrail records the error)
    event = cloudtrail("sqs", "PurgeQueue", {"queueUrl": URL + QUEUE})
    event["detail"]["errorCode"] = "AccessDenied"
    tamper, alerts = watch()
    # WHEN it is delivered; THEN it is ignored
    assert tamper.handle(event)["outcome"] == "ignored"
    assert alerts.sent == []


@pytest.mark.parametrize(
    ("account", "region", "remedy"),
    [
        ("222222222222", "eu-west-1", "restore the member stack with `warden org deploy`"),
        (ACCOUNT, "eu-west-1", "restore the member stack with `warden org deploy`"),  # a relay stack's region
        (ACCOUNT, "us-east-1", "redeploy the stack with `sam deploy`"),  # the central stack's own
    ],
)
def test_a_tamper_alert_names_the_account_and_region_the_call_was_made_in_and_which_stack_to_restore(
    account: str, region: str, remedy: str
) -> None:
    # GIVEN the organization's tamper watch; WHEN a member's trail records a change to the warden's document
    tamper, alerts = watch(scoped=lambda event: None)
    event = cloudtrail("ssm", "DeleteDocument", {"name": "sw-session-notice-1"})
    event["detail"] |= {"recipientAccountId": account, "awsRegion": region}
    assert tamper.handle(event)["outcome"] == "tampered"
    # THEN the alert's footer names that account and region, and its remedy the stack that owns the resource there
    [alert] = alerts.sent
    assert f"Session Warden (stack sw, account {account}, {region})" in alert.body
    assert remedy in alert.body


def test_a_tamper_alert_with_no_recorded_account_keeps_the_central_footer() -> None:
    tamper, alerts = watch()
    tamper.handle(cloudtrail("sqs", "PurgeQueue", {"queueUrl": URL + QUEUE}))
    [alert] = alerts.sent
    assert "Session Warden (stack sw, account 123456789012, us-east-1)" in alert.body
    assert "redeploy the stack with `sam deploy`" in alert.body
