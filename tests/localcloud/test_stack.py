"""The stack from the real template.yaml: created, complete, and routing events by its own patterns."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from tests.localcloud.conftest import START
from warden_local import DEFAULT_TEMPLATE, LocalCloud

pytestmark = [
    pytest.mark.functional,
    pytest.mark.skipif(not DEFAULT_TEMPLATE.is_file(), reason="template.yaml does not exist yet"),
]

REPO = Path(__file__).resolve().parents[2]


def function_named(cloud: LocalCloud, logical_id: str) -> str:
    resources = cloud.client("cloudformation").describe_stack_resources(StackName=cloud.stack_name)["StackResources"]
    [name] = [r["PhysicalResourceId"] for r in resources if r["LogicalResourceId"] == logical_id]
    return str(name)


def test_the_stack_is_created_with_the_outputs_the_cli_needs(local_cloud: LocalCloud) -> None:
    outputs = local_cloud.stack_outputs()

    assert {"AlertsTopicArn", "GrantsTableName", "LedgerTableName", "PolicyParameterName"} <= set(outputs)
    assert outputs["PolicyParameterName"] == "/session-warden/session-warden/policy"
    assert outputs["AlertsTopicArn"].startswith("arn:aws:sns:us-east-1:123456789012:session-warden-AlertsTopic-")
    tables = local_cloud.client("dynamodb").list_tables()["TableNames"]
    assert {outputs["GrantsTableName"], outputs["LedgerTableName"]} <= set(tables)
    stack = local_cloud.client("cloudformation").describe_stacks(StackName="session-warden")["Stacks"][0]
    assert stack["StackStatus"] == "CREATE_COMPLETE"


def test_every_resource_is_emulated_none_is_skipped(local_cloud: LocalCloud) -> None:
    assert local_cloud.unemulated_resources == []
    outputs = local_cloud.stack_outputs()
    # Types moto's CloudFormation lacks, created by the local cloud:
    subscriptions = local_cloud.client("sns").list_subscriptions_by_topic(TopicArn=outputs["AlertsTopicArn"])
    assert [(s["Protocol"], s["Endpoint"]) for s in subscriptions["Subscriptions"]] == [
        ("email", "security@example.com")
    ]
    alarms = local_cloud.client("cloudwatch").describe_alarms()["MetricAlarms"]
    assert alarms, "the template's CloudWatch alarms"
    assert all(alarm["AlarmActions"] == [outputs["AlertsTopicArn"]] for alarm in alarms)
    lam = local_cloud.client("lambda")
    for logical_id in ("SessionStartedFunction", "SessionEndedFunction", "SweeperFunction"):
        config = lam.get_function_event_invoke_config(FunctionName=function_named(local_cloud, logical_id))
        destination = config["DestinationConfig"]["OnFailure"]["Destination"]
        assert destination.startswith("arn:aws:sqs:us-east-1:123456789012:session-warden-FailedInvocationsDLQ-")
    if "EventDeliveryDLQUrl" in outputs:
        policy = local_cloud.client("sqs").get_queue_attributes(
            QueueUrl=outputs["EventDeliveryDLQUrl"], AttributeNames=["Policy"]
        )["Attributes"]["Policy"]
        assert json.loads(policy)["Statement"][0]["Principal"] == {"Service": "events.amazonaws.com"}


def test_the_liveness_alarm_is_created_on_lambdas_own_sweeper_metrics_as_well_as_the_heartbeat(
    local_cloud: LocalCloud,
) -> None:
    name = f"{local_cloud.stack_name}-sweeper-heartbeat"
    [alarm] = local_cloud.client("cloudwatch").describe_alarms(AlarmNames=[name])["MetricAlarms"]
    measured = {
        (query["MetricStat"]["Metric"]["Namespace"], query["MetricStat"]["Metric"]["MetricName"]): query["MetricStat"]
        for query in alarm["Metrics"]
        if "MetricStat" in query
    }
    assert set(measured) == {
        ("SessionWarden", "SweepCompleted"),
        ("AWS/Lambda", "Invocations"),
        ("AWS/Lambda", "Errors"),
    }
    sweeper = function_named(local_cloud, "SweeperFunction")
    for key in (("AWS/Lambda", "Invocations"), ("AWS/Lambda", "Errors")):
        assert measured[key]["Metric"]["Dimensions"] == [{"Name": "FunctionName", "Value": sweeper}]
    [expression] = [query["Expression"] for query in alarm["Metrics"] if query.get("ReturnData")]
    assert "AND" in expression
    assert (alarm["ComparisonOperator"], alarm["TreatMissingData"]) == ("LessThanThreshold", "breaching")


def test_tables_keep_the_ttl_and_point_in_time_recovery_the_template_asks_for(local_cloud: LocalCloud) -> None:
    # moto's CloudFormation drops both properties; the local cloud applies them.
    dynamodb = local_cloud.client("dynamodb")
    for output in ("GrantsTableName", "LedgerTableName"):
        table = local_cloud.stack_outputs()[output]
        ttl = dynamodb.describe_time_to_live(TableName=table)["TimeToLiveDescription"]
        backups = dynamodb.describe_continuous_backups(TableName=table)["ContinuousBackupsDescription"]
        assert (ttl["TimeToLiveStatus"], ttl["AttributeName"]) == ("ENABLED", "purge_at")
        assert backups["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "ENABLED"


def test_each_function_runs_its_own_code_with_the_layer(local_cloud: LocalCloud) -> None:
    functions = {code.code_dir.name: code for code in local_cloud.functions.values()}

    assert set(functions) >= {"session_started", "session_ended", "sweeper"}
    for code in functions.values():
        assert code.handler == "handler.lambda_handler"
        assert code.layer_dirs == (REPO / "layers" / "warden",)
    env = local_cloud.client("lambda").get_function_configuration(
        FunctionName=function_named(local_cloud, "SessionStartedFunction")
    )["Environment"]["Variables"]
    assert env["WARDEN_LEDGER_TABLE"] == local_cloud.stack_outputs()["LedgerTableName"]


def test_a_session_start_reaches_the_session_started_function(local_cloud: LocalCloud) -> None:
    started_fn = function_named(local_cloud, "SessionStartedFunction")
    ssm = local_cloud.client("ssm", credentials=local_cloud.user_credentials("alice"))

    session = ssm.start_session(Target=local_cloud.add_instance({"Name": "web-1"}))["SessionId"]
    local_cloud.settle()

    # (the tamper watch also sees the stack's own creation calls: CloudFormation's, not tampering)
    first = next(
        call
        for call in local_cloud.invocations
        if call.event.get("detail", {}).get("eventSource") == "ssm.amazonaws.com"
        and call.event["detail"].get("eventName") == "StartSession"
    )
    assert first.function_name == started_fn
    assert first.event["detail"]["responseElements"]["sessionId"] == session


def test_a_terminate_by_a_user_reaches_the_session_ended_function_but_not_one_by_the_warden(
    local_cloud: LocalCloud,
) -> None:
    ended_fn = function_named(local_cloud, "SessionEndedFunction")
    local_cloud.add_instance({})
    user = local_cloud.client("ssm", credentials=local_cloud.user_credentials("alice"))
    warden = local_cloud.client(
        "ssm", credentials=local_cloud.role_credentials("session-warden-warden-start", "session-warden-Sweeper")
    )
    # The ids are opaque to TerminateSession: unknown ones succeed, and each call is a CloudTrail event. (The
    # function retries an end of a session DescribeSessions does not list: only first attempts are deliveries.)
    user.terminate_session(SessionId="alice-aaaaaaaaaaaaaaaaaaaaaaaaaa")
    local_cloud.settle()
    by_user = [r for r in local_cloud.invocations if r.function_name == ended_fn and r.attempt == 1]
    warden.terminate_session(SessionId="alice-bbbbbbbbbbbbbbbbbbbbbbbbbb")
    local_cloud.settle()
    by_warden = [r for r in local_cloud.invocations if r.function_name == ended_fn and r.attempt == 1][len(by_user) :]

    assert len(by_user) == 1
    assert by_user[0].event["detail"]["requestParameters"] == {"sessionId": "alice-aaaaaaaaaaaaaaaaaaaaaaaaaa"}
    assert by_warden == []


def test_the_sweeper_runs_every_minute_of_emulated_time(local_cloud: LocalCloud) -> None:
    sweeper = function_named(local_cloud, "SweeperFunction")

    fired = local_cloud.advance(timedelta(minutes=3))

    runs = [r for r in local_cloud.invocations if r.function_name == sweeper]
    assert fired == 3
    assert [r.at for r in runs] == [START + timedelta(minutes=m) for m in (1, 2, 3)]
    assert all(r.detail_type == "Scheduled Event" for r in runs)


def test_a_policy_given_at_start_is_in_the_stack_parameter() -> None:
    text = "version: 1\nmode: monitor\ndefault: allow\n"
    with LocalCloud(start_at=START, policy=text) as cloud:
        name = cloud.stack_outputs()["PolicyParameterName"]
        assert cloud.client("ssm").get_parameter(Name=name)["Parameter"]["Value"] == text


def test_the_local_cloud_starts_well_under_ten_seconds_from_a_cold_process() -> None:
    script = (
        "import time; wall, cpu = time.perf_counter(), time.process_time()\n"
        "from warden_local import LocalCloud\n"
        "cloud = LocalCloud().start()\n"
        "print(round(time.perf_counter() - wall, 2), round(time.process_time() - cpu, 2)); cloud.stop()\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True)
    wall, cpu = (float(value) for value in result.stdout.split())
    print(f"cold start with the stack deployed: {wall:.2f}s wall, {cpu:.2f}s CPU")
    # CPU time, not wall time: parallel test workers (and other jobs) on the machine stretch the wall clock.
    assert cpu < 10
