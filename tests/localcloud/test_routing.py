"""EventBridge to Lambda: the template's rules route events to the real handler, with Lambda's async semantics."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from tests.localcloud.conftest import START
from warden_local import LocalCloud

pytestmark = pytest.mark.functional


def drain(cloud: LocalCloud, queue_url: str) -> list[dict[str, Any]]:
    cloud.settle()
    sqs = cloud.client("sqs")
    bodies: list[dict[str, Any]] = []
    while messages := sqs.receive_message(
        QueueUrl=queue_url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]
    ).get("Messages", []):
        for message in messages:
            body = json.loads(message["Body"])
            if message.get("MessageAttributes"):
                body["_attributes"] = {k: v["StringValue"] for k, v in message["MessageAttributes"].items()}
            bodies.append(body)
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    return bodies


def test_the_rule_runs_the_real_handler_with_the_event_its_environment_and_its_role(app_cloud: LocalCloud) -> None:
    # GIVEN the test app deployed from its SAM template
    outputs = app_cloud.stack_outputs()
    function_name = outputs["RecorderFunctionName"]
    ssm = app_cloud.client("ssm")

    # WHEN a session starts
    started = ssm.start_session(Target=app_cloud.add_instance({}))

    # THEN the handler ran once, asynchronously, with the CloudTrail event, and saw what Lambda would give it
    [report] = drain(app_cloud, outputs["SeenQueueUrl"])
    assert report["event"]["detail"]["responseElements"]["sessionId"] == started["SessionId"]
    assert report["function_name"] == function_name
    assert report["identity"] == f"arn:aws:sts::123456789012:assumed-role/warden-test-recorder/{function_name}"
    assert report["clock"] == "2026-11-24T08:00:00Z"
    assert report["greeting"] == "hello"
    assert report["cache_seconds"] == "0"
    assert report["tracing_disabled"] == "true"
    assert 0 < report["remaining_ms"] <= 20_000
    [invocation] = app_cloud.invocations
    assert (invocation.function_name, invocation.outcome, invocation.attempt) == (function_name, "ok", 1)
    assert invocation.event_id == report["event"]["detail"]["eventID"]
    assert invocation.envelope_id == report["event"]["id"]
    assert invocation.detail_type == "AWS API Call via CloudTrail"
    assert invocation.at == START
    assert invocation.result == {"ok": True}
    # What the handler printed is captured in the record, not on the terminal.
    assert invocation.logs == ("recorder got AWS API Call via CloudTrail",)


def test_a_failing_handler_is_retried_then_its_event_goes_to_the_on_failure_destination(app_cloud: LocalCloud) -> None:
    outputs = app_cloud.stack_outputs()
    ssm = app_cloud.client("ssm")

    ssm.start_session(Target=app_cloud.add_instance({}), Reason="please fail")

    [record] = drain(app_cloud, outputs["FailedQueueUrl"])
    attempts = [(i.attempt, i.outcome, i.error) for i in app_cloud.invocations]
    # EventInvokeConfig says MaximumRetryAttempts: 1, so two attempts in all.
    assert attempts == [(1, "error", "asked to fail"), (2, "error", "asked to fail")]
    assert record["version"] == "1.0"
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 2
    assert record["requestContext"]["functionArn"].endswith(f":function:{outputs['RecorderFunctionName']}:$LATEST")
    assert record["requestContext"]["requestId"] == app_cloud.invocations[0].request_id
    assert record["requestPayload"]["detail"]["requestParameters"]["reason"] == "please fail"
    assert record["responseContext"] == {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"}
    assert record["responsePayload"]["errorMessage"] == "asked to fail"
    assert record["responsePayload"]["errorType"] == "RuntimeError"
    assert record["timestamp"] == "2026-11-24T08:00:00.000Z"
    assert "RuntimeError: asked to fail" in app_cloud.invocations[0].log_text
    assert drain(app_cloud, outputs["SeenQueueUrl"]) == []


def test_the_schedule_fires_as_the_clock_advances_with_the_clock_at_each_occurrence(app_cloud: LocalCloud) -> None:
    outputs = app_cloud.stack_outputs()

    fired = app_cloud.advance(timedelta(minutes=12))

    reports = drain(app_cloud, outputs["SeenQueueUrl"])
    # rate(5 minutes) from 08:00: 08:05 and 08:10 fall due within 12 minutes.
    assert fired == 2
    assert [report["clock"] for report in reports] == ["2026-11-24T08:05:00Z", "2026-11-24T08:10:00Z"]
    events = [report["event"] for report in reports]
    assert [(e["source"], e["detail-type"], e["time"], e["detail"]) for e in events] == [
        ("aws.events", "Scheduled Event", "2026-11-24T08:05:00Z", {}),
        ("aws.events", "Scheduled Event", "2026-11-24T08:10:00Z", {}),
    ]
    assert events[0]["resources"][0].startswith("arn:aws:events:us-east-1:123456789012:rule/warden-test-")
    assert app_cloud.clock.now() == START + timedelta(minutes=12)


def test_events_put_by_anyone_reach_a_lambda_target_with_its_input_settings(app_cloud: LocalCloud) -> None:
    outputs = app_cloud.stack_outputs()
    events = app_cloud.client("events")
    function_arn = app_cloud.client("lambda").get_function(FunctionName=outputs["RecorderFunctionName"])[
        "Configuration"
    ]["FunctionArn"]
    events.put_rule(Name="orders", EventPattern=json.dumps({"source": ["shop"]}))
    events.put_targets(
        Rule="orders",
        Targets=[
            {"Id": "whole", "Arn": function_arn},
            {"Id": "detail", "Arn": function_arn, "InputPath": "$.detail"},
            {"Id": "constant", "Arn": function_arn, "Input": json.dumps({"fixed": True})},
        ],
    )
    app_cloud.client("lambda").add_permission(
        FunctionName=outputs["RecorderFunctionName"],
        StatementId="orders",
        Action="lambda:InvokeFunction",
        Principal="events.amazonaws.com",
        SourceArn=events.describe_rule(Name="orders")["Arn"],
    )

    events.put_events(Entries=[{"Source": "shop", "DetailType": "Order", "Detail": json.dumps({"n": 1})}])
    app_cloud.settle()

    received = sorted((i.event for i in app_cloud.invocations), key=json.dumps)
    assert {"fixed": True} in received
    assert {"n": 1} in received
    [whole] = [event for event in received if "detail-type" in event]
    # Stamped by EventBridge on receipt, with the emulated clock.
    assert (whole["source"], whole["time"], whole["detail"]) == ("shop", "2026-11-24T08:00:00Z", {"n": 1})
    assert "ingestion-time" not in whole


def test_without_a_resource_policy_eventbridge_cannot_invoke_and_uses_the_dead_letter_queue(
    app_cloud: LocalCloud,
) -> None:
    outputs = app_cloud.stack_outputs()
    lam = app_cloud.client("lambda")
    policy = json.loads(lam.get_policy(FunctionName=outputs["RecorderFunctionName"])["Policy"])
    for statement in policy["Statement"]:
        lam.remove_permission(FunctionName=outputs["RecorderFunctionName"], StatementId=statement["Sid"])

    app_cloud.client("ssm").start_session(Target=app_cloud.add_instance({}))

    [dead] = drain(app_cloud, outputs["DeliveryDLQUrl"])
    assert app_cloud.invocations == []
    assert dead["detail"]["eventName"] == "StartSession"
    assert dead["_attributes"]["ERROR_CODE"] == "NO_PERMISSIONS"
    assert dead["_attributes"]["RULE_ARN"].startswith("arn:aws:events:us-east-1:123456789012:rule/")


def test_a_throttled_invoke_is_retried_by_eventbridge_up_to_its_retry_policy(app_cloud: LocalCloud) -> None:
    outputs = app_cloud.stack_outputs()
    # The rule's RetryPolicy allows 2 retries: 3 throttles exhaust it.
    app_cloud.faults.fail("Invoke", code="TooManyRequestsException", status=429, times=3)

    app_cloud.client("ssm").start_session(Target=app_cloud.add_instance({}))

    [dead] = drain(app_cloud, outputs["DeliveryDLQUrl"])
    assert dead["_attributes"]["ERROR_CODE"] == "TooManyRequestsException"
    assert dead["_attributes"]["EXHAUSTED_RETRY_CONDITION"] == "MaximumRetryAttempts"
    assert app_cloud.invocations == []
    assert [failure.error_code for failure in app_cloud.failed_deliveries] == ["TooManyRequestsException"]


def test_a_disabled_rule_delivers_nothing(app_cloud: LocalCloud) -> None:
    events = app_cloud.client("events")
    for rule in events.list_rules()["Rules"]:
        events.disable_rule(Name=rule["Name"])

    app_cloud.client("ssm").start_session(Target=app_cloud.add_instance({}))
    app_cloud.advance(timedelta(minutes=10))

    assert app_cloud.invocations == []


def test_an_sqs_target_receives_events_asynchronously_after_the_call_returns(bare_cloud: LocalCloud) -> None:
    sqs = bare_cloud.client("sqs")
    queue_url = sqs.create_queue(QueueName="seen")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events = bare_cloud.client("events")
    events.put_rule(Name="all-ssm", EventPattern=json.dumps({"source": ["aws.ssm"]}))
    events.put_targets(Rule="all-ssm", Targets=[{"Id": "q", "Arn": arn}])

    bare_cloud.client("ssm").start_session(Target=bare_cloud.add_instance({}))

    [event] = drain(bare_cloud, queue_url)
    assert event["detail"]["eventName"] == "StartSession"


def test_put_events_refuses_a_source_reserved_for_aws_and_puts_the_other_entries(bare_cloud: LocalCloud) -> None:
    # GIVEN a rule that sends every event of aws.ssm and of shop to a queue
    sqs = bare_cloud.client("sqs")
    queue_url = sqs.create_queue(QueueName="seen")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events = bare_cloud.client("events")
    events.put_rule(Name="both", EventPattern=json.dumps({"source": ["aws.ssm", "shop"]}))
    events.put_targets(Rule="both", Targets=[{"Id": "q", "Arn": arn}])

    # WHEN anyone puts a hand-made aws.ssm event beside an ordinary one
    forged = {"Source": "aws.ssm", "DetailType": "AWS API Call via CloudTrail", "Detail": json.dumps({"x": 1})}
    answer = events.put_events(Entries=[forged, {"Source": "shop", "DetailType": "Order", "Detail": "{}"}])

    # THEN EventBridge refuses the aws.ssm entry, as AWS does, and delivers only the other
    assert answer["FailedEntryCount"] == 1
    assert answer["Entries"][0]["ErrorCode"] == "NotAuthorizedForSourceException"
    assert "EventId" in answer["Entries"][1]
    assert [event["source"] for event in drain(bare_cloud, queue_url)] == ["shop"]


def test_redeliver_puts_an_aws_event_on_the_default_bus_as_only_aws_can(bare_cloud: LocalCloud) -> None:
    sqs = bare_cloud.client("sqs")
    queue_url = sqs.create_queue(QueueName="again")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events = bare_cloud.client("events")
    events.put_rule(Name="ssm", EventPattern=json.dumps({"source": ["aws.ssm"]}))
    events.put_targets(Rule="ssm", Targets=[{"Id": "q", "Arn": arn}])

    bare_cloud.redeliver("aws.ssm", "AWS API Call via CloudTrail", {"eventName": "StartSession"})

    [event] = drain(bare_cloud, queue_url)
    assert (event["source"], event["account"], event["region"]) == ("aws.ssm", bare_cloud.account_id, bare_cloud.region)
    assert event["detail"] == {"eventName": "StartSession"}
