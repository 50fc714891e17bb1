"""CloudTrail events of the control-plane calls the tamper watch needs, and trails gating their delivery."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.localcloud.conftest import EventTap
from warden_local import LocalCloud
from warden_local.trail_recorder import ACCOUNT_TRAIL

pytestmark = pytest.mark.functional

ALL_SOURCES = {"source": ["aws.events", "aws.cloudtrail", "aws.ssm", "aws.lambda", "aws.dynamodb"]}


def _details(tap: EventTap) -> list[dict[str, Any]]:
    return [event["detail"] for event in tap.events()]


def test_each_watched_call_emits_the_cloudtrail_event_aws_would(bare_cloud: LocalCloud) -> None:
    # GIVEN a tap on every service the tamper watch listens to, and an IAM user who makes the calls
    tap = EventTap(bare_cloud, ALL_SOURCES)
    mallory = bare_cloud.user_credentials("mallory")
    events = bare_cloud.client("events", credentials=mallory)
    ssm = bare_cloud.client("ssm", credentials=mallory)
    dynamodb = bare_cloud.client("dynamodb", credentials=mallory)
    cloudtrail = bare_cloud.client("cloudtrail", credentials=mallory)
    bare_cloud.client("events").put_rule(Name="guard", EventPattern=json.dumps({"source": ["aws.ssm"]}))
    bare_cloud.client("dynamodb").create_table(
        TableName="ledger",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    tap.events()
    # WHEN the user makes each call
    events.disable_rule(Name="guard")
    events.remove_targets(Rule="guard", Ids=["x"])
    events.delete_rule(Name="guard")
    version = ssm.put_parameter(Name="/app/policy", Value="secret text", Type="String")["Version"]
    ssm.delete_parameter(Name="/app/policy")
    dynamodb.delete_table(TableName="ledger")
    cloudtrail.put_event_selectors(
        TrailName=ACCOUNT_TRAIL, EventSelectors=[{"ReadWriteType": "All", "IncludeManagementEvents": True}]
    )
    cloudtrail.stop_logging(Name=ACCOUNT_TRAIL)
    # THEN each is one event with the service's source, the user's identity and the call's parameters
    details = _details(tap)
    assert [(d["eventSource"], d["eventName"]) for d in details] == [
        ("events.amazonaws.com", "DisableRule"),
        ("events.amazonaws.com", "RemoveTargets"),
        ("events.amazonaws.com", "DeleteRule"),
        ("ssm.amazonaws.com", "PutParameter"),
        ("ssm.amazonaws.com", "DeleteParameter"),
        ("dynamodb.amazonaws.com", "DeleteTable"),
        ("cloudtrail.amazonaws.com", "PutEventSelectors"),
        ("cloudtrail.amazonaws.com", "StopLogging"),
    ]
    assert {d["userIdentity"]["arn"] for d in details} == {"arn:aws:iam::123456789012:user/mallory"}
    assert {d["userIdentity"]["type"] for d in details} == {"IAMUser"}
    disable, remove, _, put, *_ = details
    assert disable["requestParameters"] == {"name": "guard"}
    assert disable["responseElements"] is None
    assert remove["requestParameters"] == {"rule": "guard", "ids": ["x"]}
    # AND a parameter's value never appears in the record; the version stored does
    assert put["requestParameters"]["value"] == "HIDDEN_DUE_TO_SECURITY_REASONS"
    assert "secret text" not in json.dumps(put)
    assert put["responseElements"]["version"] == version
    assert details[5]["requestParameters"] == {"tableName": "ledger"}


def test_lambda_calls_carry_their_api_version_in_the_event_name(app_cloud: LocalCloud) -> None:
    # GIVEN the test app's function and a tap on Lambda's events
    tap = EventTap(app_cloud, {"source": ["aws.lambda"]})
    name = app_cloud.stack_outputs()["RecorderFunctionName"]
    lam = app_cloud.client("lambda")
    # WHEN its configuration changes and a permission goes
    lam.update_function_configuration(FunctionName=name, Timeout=9)
    policy = json.loads(lam.get_policy(FunctionName=name)["Policy"])
    lam.remove_permission(FunctionName=name, StatementId=policy["Statement"][0]["Sid"])
    # THEN CloudTrail names them with Lambda's API version, and the function in requestParameters
    details = _details(tap)
    assert [d["eventName"] for d in details] == ["UpdateFunctionConfiguration20150331v2", "RemovePermission20150331v2"]
    assert {d["eventSource"] for d in details} == {"lambda.amazonaws.com"}
    assert details[0]["requestParameters"]["functionName"] == name
    assert details[0]["requestParameters"]["timeout"] == 9
    assert details[1]["requestParameters"]["statementId"] == policy["Statement"][0]["Sid"]


def test_no_logging_trail_means_no_cloudtrail_events_on_the_bus(bare_cloud: LocalCloud, tap: EventTap) -> None:
    # GIVEN the account trail, logging from the start
    cloudtrail = bare_cloud.client("cloudtrail")
    assert cloudtrail.get_trail_status(Name=ACCOUNT_TRAIL)["IsLogging"] is True
    target = bare_cloud.add_instance({"Team": "a"})
    ssm = bare_cloud.client("ssm", credentials=bare_cloud.user_credentials("alice"))
    ssm.start_session(Target=target)
    assert [e["detail"]["eventName"] for e in tap.events()] == ["StartSession"]
    # WHEN the trail stops logging
    cloudtrail.stop_logging(Name=ACCOUNT_TRAIL)
    ssm.start_session(Target=target)
    # THEN no session event reaches EventBridge; once it logs again, they do
    assert tap.events() == []
    cloudtrail.start_logging(Name=ACCOUNT_TRAIL)
    ssm.start_session(Target=target)
    assert [e["detail"]["eventName"] for e in tap.events()] == ["StartSession"]


def test_the_stopping_call_is_recorded_and_later_ones_are_not(bare_cloud: LocalCloud) -> None:
    # GIVEN a tap on CloudTrail's and EventBridge's events
    tap = EventTap(bare_cloud, {"source": ["aws.cloudtrail", "aws.events"]})
    tap.events()  # the tap's own PutTargets, which CloudTrail records too
    cloudtrail, events = bare_cloud.client("cloudtrail"), bare_cloud.client("events")
    # WHEN the only trail is deleted, then a rule is disabled
    cloudtrail.delete_trail(Name=ACCOUNT_TRAIL)
    events.put_rule(Name="after", ScheduleExpression="rate(1 hour)")
    events.disable_rule(Name="after")
    # THEN only the DeleteTrail is delivered
    assert [e["detail"]["eventName"] for e in tap.events()] == ["DeleteTrail"]


def test_selectors_without_management_events_stop_delivery(bare_cloud: LocalCloud, tap: EventTap) -> None:
    # GIVEN the account trail's selectors now record data events only
    bare_cloud.client("cloudtrail").put_event_selectors(
        TrailName=ACCOUNT_TRAIL,
        EventSelectors=[{"ReadWriteType": "All", "IncludeManagementEvents": False, "DataResources": []}],
    )
    # WHEN a session starts
    target = bare_cloud.add_instance({"Team": "a"})
    bare_cloud.client("ssm").start_session(Target=target)
    # THEN no event reaches the bus
    assert tap.events() == []
