"""Faults on demand, sessions that end without a call, and the one emulated clock (also over /_warden)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from datetime import timedelta
from typing import Any

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.localcloud.conftest import START, EventTap
from warden_local import LocalCloud, LocalCloudError

pytestmark = pytest.mark.functional

NO_RETRIES = Config(retries={"total_max_attempts": 1, "mode": "standard"})


def control(cloud: LocalCloud, method: str, route: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(f"{cloud.endpoint}/_warden/{route}", data=data, method=method)
    try:
        with urllib.request.urlopen(request) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


# -- faults ------------------------------------------------------------------------------------------------------------


def test_a_throttled_terminate_session_reaches_the_caller_then_the_next_call_works(
    bare_cloud: LocalCloud, tap: EventTap
) -> None:
    ssm = bare_cloud.client("ssm", config=NO_RETRIES)
    started = ssm.start_session(Target=bare_cloud.add_instance({}))
    bare_cloud.faults.fail("TerminateSession")

    with pytest.raises(ClientError) as error:
        ssm.terminate_session(SessionId=started["SessionId"])
    ssm.terminate_session(SessionId=started["SessionId"])

    assert error.value.response["Error"]["Code"] == "ThrottlingException"
    assert error.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    # CloudTrail records the throttled call too, with its error.
    events = [(e["detail"]["eventName"], e["detail"].get("errorCode")) for e in tap.events()]
    assert events == [("StartSession", None), ("TerminateSession", "ThrottlingException"), ("TerminateSession", None)]


def test_server_errors_are_retried_by_a_standard_retry_client(bare_cloud: LocalCloud) -> None:
    bare_cloud.faults.fail("DescribeSessions", code="InternalServerError", status=500, times=2)
    ssm = bare_cloud.client("ssm", config=Config(retries={"max_attempts": 3, "mode": "standard"}))

    answer = ssm.describe_sessions(State="Active")

    assert answer["ResponseMetadata"]["RetryAttempts"] == 2


def test_faults_reach_json_and_query_protocol_services(bare_cloud: LocalCloud) -> None:
    dynamodb = bare_cloud.client("dynamodb", config=NO_RETRIES)
    dynamodb.create_table(
        TableName="t",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    sns = bare_cloud.client("sns", config=NO_RETRIES)
    topic = sns.create_topic(Name="alerts")["TopicArn"]
    ec2 = bare_cloud.client("ec2", config=NO_RETRIES)
    bare_cloud.faults.fail("PutItem", code="ProvisionedThroughputExceededException")
    bare_cloud.faults.fail("sns:Publish", code="Throttling")
    bare_cloud.faults.fail("DescribeInstances", code="RequestLimitExceeded", status=503)

    for call, code in (
        (lambda: dynamodb.put_item(TableName="t", Item={"id": {"S": "1"}}), "ProvisionedThroughputExceededException"),
        (lambda: sns.publish(TopicArn=topic, Message="hi"), "Throttling"),
        (ec2.describe_instances, "RequestLimitExceeded"),
    ):
        with pytest.raises(ClientError) as error:
            call()
        assert error.value.response["Error"]["Code"] == code

    dynamodb.put_item(TableName="t", Item={"id": {"S": "1"}})
    sns.publish(TopicArn=topic, Message="hi")
    ec2.describe_instances()


def test_a_dropped_event_is_never_delivered(bare_cloud: LocalCloud, tap: EventTap) -> None:
    ssm = bare_cloud.client("ssm")
    instance = bare_cloud.add_instance({})
    bare_cloud.faults.drop_next_event("StartSession")

    first = ssm.start_session(Target=instance)["SessionId"]
    second = ssm.start_session(Target=instance)["SessionId"]

    delivered = [e["detail"]["responseElements"]["sessionId"] for e in tap.events()]
    assert delivered == [second]
    assert first in [s["SessionId"] for s in ssm.describe_sessions(State="Active")["Sessions"]]


def test_a_delayed_event_arrives_after_later_ones_once_released(bare_cloud: LocalCloud, tap: EventTap) -> None:
    ssm = bare_cloud.client("ssm")
    bare_cloud.faults.delay_next_event("StartSession")

    started = ssm.start_session(Target=bare_cloud.add_instance({}))
    ssm.terminate_session(SessionId=started["SessionId"])
    before = [e["detail"]["eventName"] for e in tap.events()]
    released = bare_cloud.faults.release_delayed()
    after = [e["detail"]["eventName"] for e in tap.events()]

    assert (before, released, after) == (["TerminateSession"], 1, ["StartSession"])


def test_faults_can_be_armed_over_http(bare_cloud: LocalCloud, tap: EventTap) -> None:
    ssm = bare_cloud.client("ssm", config=NO_RETRIES)

    assert (
        control(bare_cloud, "POST", "faults", {"fault": "fail", "api": "StartSession", "code": "ThrottlingException"})[
            0
        ]
        == 200
    )
    assert control(bare_cloud, "POST", "faults", {"fault": "bogus"})[0] == 400
    with pytest.raises(ClientError):
        ssm.start_session(Target=bare_cloud.add_instance({}))
    control(bare_cloud, "POST", "faults", {"fault": "delay_next_event", "event_name": "StartSession"})
    ssm.start_session(Target=bare_cloud.add_instance({}))
    assert [e["detail"].get("errorCode") for e in tap.events()] == ["ThrottlingException"]
    assert control(bare_cloud, "POST", "faults", {"fault": "release_delayed"}) == (200, {"released": 1})
    assert [e["detail"].get("errorCode") for e in tap.events()] == [None]


# -- sessions that end without a call ----------------------------------------------------------------------------------


def test_end_session_moves_it_to_history_at_the_clock_without_an_event(bare_cloud: LocalCloud, tap: EventTap) -> None:
    ssm = bare_cloud.client("ssm")
    started = ssm.start_session(Target=bare_cloud.add_instance({}))
    bare_cloud.advance(timedelta(minutes=42))

    bare_cloud.end_session(started["SessionId"])

    assert ssm.describe_sessions(State="Active")["Sessions"] == []
    [ended] = ssm.describe_sessions(State="History")["Sessions"]
    assert (ended["Status"], ended["EndDate"]) == ("Terminated", START + timedelta(minutes=42))
    assert [e["detail"]["eventName"] for e in tap.events()] == ["StartSession"]
    with pytest.raises(LocalCloudError):
        bare_cloud.end_session("nobody-aaaaaaaaaaaaaaaaaaaaaaaaaa")


def test_end_session_over_http(bare_cloud: LocalCloud) -> None:
    started = bare_cloud.client("ssm").start_session(Target=bare_cloud.add_instance({}))

    status, body = control(bare_cloud, "POST", "end-session", {"session_id": started["SessionId"]})

    assert (status, body["status"], body["end"]) == (200, "Terminated", "2026-11-24T08:00:00Z")
    assert control(bare_cloud, "POST", "end-session", {"session_id": "nope"})[0] == 404


# -- the clock ---------------------------------------------------------------------------------------------------------


def test_the_clock_is_frozen_until_advanced_and_served_over_http(bare_cloud: LocalCloud) -> None:
    assert control(bare_cloud, "GET", "clock") == (200, {"now": "2026-11-24T08:00:00Z", "frozen": True})

    status, body = control(bare_cloud, "POST", "advance", {"duration": "1h30m"})

    assert (status, body) == (200, {"now": "2026-11-24T09:30:00Z", "fired": 0})
    assert bare_cloud.clock.now() == START + timedelta(hours=1, minutes=30)
    assert control(bare_cloud, "POST", "advance", {"duration": "soon"})[0] == 400
    assert control(bare_cloud, "POST", "settle", {})[1] == {"settled": True}


def test_advance_fires_every_occurrence_of_each_schedule_with_the_clock_set_to_it(bare_cloud: LocalCloud) -> None:
    every_minute = EventTap(bare_cloud, {"source": ["never"]})  # a queue to target
    sqs_arn = bare_cloud.client("sqs").get_queue_attributes(
        QueueUrl=every_minute.queue_url, AttributeNames=["QueueArn"]
    )
    events = bare_cloud.client("events")
    events.put_rule(Name="minutely", ScheduleExpression="rate(1 minute)")
    events.put_rule(Name="at-0815", ScheduleExpression="cron(15 8 ? * TUE *)")
    events.put_rule(Name="saturdays", ScheduleExpression="cron(0 * ? * SAT *)")
    for name in ("minutely", "at-0815", "saturdays"):
        events.put_targets(Rule=name, Targets=[{"Id": "q", "Arn": sqs_arn["Attributes"]["QueueArn"]}])

    fired = bare_cloud.advance("20m")

    received = every_minute.events()
    assert fired == 21  # 20 minutely runs + the 08:15 Tuesday one
    assert [e["time"] for e in received if e["resources"][0].endswith("/minutely")][:3] == [
        "2026-11-24T08:01:00Z",
        "2026-11-24T08:02:00Z",
        "2026-11-24T08:03:00Z",
    ]
    [cron] = [e for e in received if e["resources"][0].endswith("/at-0815")]
    assert (cron["source"], cron["detail-type"], cron["time"]) == (
        "aws.events",
        "Scheduled Event",
        "2026-11-24T08:15:00Z",
    )
    # A scheduled rule never matches ordinary events on the bus.
    bare_cloud.client("ssm").start_session(Target=bare_cloud.add_instance({}))
    assert every_minute.events() == []


def test_session_times_come_from_the_emulated_clock(bare_cloud: LocalCloud) -> None:
    ssm = bare_cloud.client("ssm")
    bare_cloud.advance(timedelta(days=1))
    ssm.start_session(Target=bare_cloud.add_instance({}))
    [session] = ssm.describe_sessions(State="Active")["Sessions"]
    assert session["StartDate"] == START + timedelta(days=1)


def test_a_ticking_clock_runs_with_real_time_and_fires_schedules_by_itself() -> None:
    import time

    with LocalCloud(template=None, start_at=START - timedelta(seconds=1), frozen=False) as cloud:
        tap = EventTap(cloud, {"source": ["never"]})
        arn = cloud.client("sqs").get_queue_attributes(QueueUrl=tap.queue_url, AttributeNames=["QueueArn"])
        events = cloud.client("events")
        events.put_rule(Name="minutely", ScheduleExpression="rate(1 minute)")
        events.put_targets(Rule="minutely", Targets=[{"Id": "q", "Arn": arn["Attributes"]["QueueArn"]}])

        deadline = time.monotonic() + 30  # generous: a loaded machine slows the ticker's thread
        received: list[dict[str, Any]] = []
        while not received and time.monotonic() < deadline:
            time.sleep(0.1)
            received = tap.events()

        assert cloud.clock.now() > START
        assert [e["time"] for e in received] == ["2026-11-24T08:00:00Z"]
        assert cloud.advance("2m") == 2
