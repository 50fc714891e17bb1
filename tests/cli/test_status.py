"""`warden status` against the local cloud: healthy first, then each problem introduced for real and named."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.cli.conftest import POLICY, cli_env, local_cloud, run_warden

pytestmark = pytest.mark.functional

# Tuesday 10:00 UTC (11:00 Berlin): alice's business-hours rule allows her.
START = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
INVALID_POLICY = "version: 1\ndefault: deny\nrules:\n  - name: typo\n    efect: deny\n"
TOP_LEVEL_FIELDS = {
    "stack", "policy", "sweep", "canary", "trails", "alert_subscriptions", "dead_letter_queues", "open_sessions",
    "active_grants", "tamper_events", "healthy", "problems",
}  # fmt: skip


@dataclass(frozen=True)
class Stack:
    cloud: Any
    env: dict[str, str]
    outputs: dict[str, str]
    session: str

    def status(self, *args: str) -> Any:
        return run_warden("status", *args, env=self.env)

    def state(self, item: dict[str, Any]) -> None:
        """Write a StateTable item as the warden's own functions do (contract: pk/sk strings, epoch seconds)."""
        from warden.adapters.dynamo import to_item

        self.cloud.client("dynamodb").put_item(TableName=self.outputs["StateTableName"], Item=to_item(item))

    def forget_state(self, pk: str, sk: str) -> None:
        self.cloud.client("dynamodb").delete_item(
            TableName=self.outputs["StateTableName"], Key={"pk": {"S": pk}, "sk": {"S": sk}}
        )

    def later(self, span: timedelta) -> None:
        """Move the emulated clock without firing the schedule: as if no sweep ran meanwhile."""
        self.cloud.clock.set(self.cloud.now() + span)


def account_trail(cloud: Any) -> str:
    """The account's CloudTrail trail, logging management events in every region (what the warden depends on)."""
    cloud.client("s3").create_bucket(Bucket="org-trail-logs")
    trail = cloud.client("cloudtrail")
    arn = str(
        trail.create_trail(Name="management-events", S3BucketName="org-trail-logs", IsMultiRegionTrail=True)["TrailARN"]
    )
    trail.start_logging(Name=arn)
    return arn


def canary_seen(stack: Stack, *, round_trip_ms: int = 850, ago: timedelta = timedelta(seconds=30)) -> None:
    seen = stack.cloud.now() - ago
    stack.state(
        {
            "pk": "canary",
            "sk": "state",
            "nonce": "n-1",
            "sent_at": int(seen.timestamp()) - 1,
            "seen_at": int(seen.timestamp()),
            "round_trip_ms": round_trip_ms,
        }
    )


@pytest.fixture
def stack() -> Iterator[Stack]:
    with local_cloud(START, policy=POLICY) as cloud:
        account_trail(cloud)
        web = cloud.add_instance({"Name": "web-1"})
        alice = cloud.client("ssm", credentials=cloud.user_credentials("alice"))
        session = alice.start_session(Target=web, Reason="OPS-1")["SessionId"]
        cloud.settle()
        cloud.advance("1m")  # one sweep completes: the heartbeat
        env = cli_env(cloud)
        granted = run_warden(
            "grant", "create", "--principal", "user:bob", "--target", web, "--for", "2h", "--reason", "INC-9", env=env
        )
        assert granted.code == 0, granted.stderr
        found = Stack(cloud, env, cloud.stack_outputs(), session)
        canary_seen(found)
        yield found


def problems(result: Any) -> list[str]:
    """The problem lines of the text output (after `N problems:`)."""
    lines = result.lines
    start = next(index for index, line in enumerate(lines) if line.endswith("problems:") or line == "1 problem:")
    return [line[2:] for line in lines[start + 1 :] if line.startswith("- ")]


def field(result: Any, label: str) -> str:
    [line] = [line for line in result.lines if line.startswith(label + " ")]
    return line[len(label) :].strip()


# --- healthy -----------------------------------------------------------------------------------------------------


def test_a_healthy_stack_exits_0_and_shows_every_check(stack: Stack) -> None:
    # GIVEN a deployed stack with a logging trail, a completed sweep, a canary round trip and a confirmed subscription
    # WHEN the operator runs `warden status`
    result = stack.status()
    # THEN it exits 0 and each line says what it found
    assert result.code == 0, result.stdout + result.stderr
    assert field(result, "stack") == "session-warden (us-east-1, CREATE_COMPLETE), warden 0.1.0; this CLI 0.1.0"
    assert field(result, "policy").startswith("version ")
    assert field(result, "policy").endswith("in force (3 rules, 1 window, mode enforce, default deny); valid")
    assert field(result, "last sweep") == "completed 2026-11-24 10:01Z (now)"
    assert field(result, "canary") == "round trip 850 ms, seen 2026-11-24 10:00Z (30s ago)"
    assert field(result, "trail") == "management-events: logging management events in us-east-1"
    assert field(result, "alerts") == "1 subscription confirmed"
    assert field(result, "DLQs") == "EventDeliveryDLQ 0, FailedInvocationsDLQ 0"
    assert field(result, "sessions") == "1 open"
    assert field(result, "grants") == "1 active"
    assert field(result, "tamper") == "none in the last 24 h"
    assert result.lines[-1] == "healthy: no problems found"


def test_json_has_every_field_and_an_empty_problem_list(stack: Stack) -> None:
    # WHEN status is asked for JSON
    result = stack.status("--json")
    # THEN one object holds every field, healthy, and no problems
    assert result.code == 0, result.stdout + result.stderr
    data = result.json
    assert set(data) == TOP_LEVEL_FIELDS
    assert (data["healthy"], data["problems"]) == (True, [])
    assert data["stack"]["warden_version"] == data["stack"]["cli_version"] == "0.1.0"
    assert data["stack"]["created_at"] == "2026-11-24T10:00:00Z"
    assert data["policy"]["stored_valid"] is True
    assert data["policy"]["in_force_version"] == data["policy"]["stored_version"]
    assert data["sweep"] == {"last_completed_at": "2026-11-24T10:01:00Z", "age_seconds": 0}
    assert data["canary"]["round_trip_ms"] == 850
    assert data["canary"]["blind_since"] is None
    [trail] = data["trails"]
    assert (trail["name"], trail["logging"], trail["management_events"]) == ("management-events", True, True)
    assert data["alert_subscriptions"] == [{"protocol": "email", "endpoint": "security@example.com", "confirmed": True}]
    assert [(queue["name"], queue["messages"]) for queue in data["dead_letter_queues"]] == [
        ("EventDeliveryDLQ", 0),
        ("FailedInvocationsDLQ", 0),
    ]
    assert [session["session_id"] for session in data["open_sessions"]] == [stack.session]
    [grant] = data["active_grants"]
    assert grant["principal"] == "user:bob"
    assert data["tamper_events"] == []


def test_no_canary_yet_is_not_a_problem_while_the_stack_is_young(stack: Stack) -> None:
    # GIVEN no canary has been sent yet, five minutes after the deploy
    stack.cloud.advance("4m")
    stack.forget_state("canary", "state")  # (the sweeps of those minutes send one: forgotten)
    # WHEN status runs THEN it says so, and it is healthy
    result = stack.status()
    assert result.code == 0, result.stdout
    assert field(result, "canary") == "no canary yet"


# --- each problem, introduced for real ---------------------------------------------------------------------------


def test_a_stopped_trail_is_a_problem_saying_how_to_start_it(stack: Stack) -> None:
    # GIVEN every trail stops logging
    trail = stack.cloud.client("cloudtrail")
    for found in trail.describe_trails()["trailList"]:
        trail.stop_logging(Name=found["TrailARN"])
    # WHEN status runs
    result = stack.status()
    # THEN it exits 1 and the problem says what is lost and the command that starts the trail
    assert result.code == 1
    # (the tamper watch saw the StopLogging: the last trail records its own stopping)
    problem, *tampering = problems(result)
    assert tampering and all("called StopLogging on" in line for line in tampering)
    assert problem.startswith("no trail logs management events in us-east-1: EventBridge gets no")
    assert "aws cloudtrail start-logging --name arn:aws:cloudtrail:us-east-1:123456789012:trail/management-events" in (
        problem
    )
    assert field(result, "trail") == "none logging management events in us-east-1"


def test_a_trail_without_management_events_is_a_problem(stack: Stack) -> None:
    # GIVEN the trail logs data events only
    stack.cloud.client("cloudtrail").put_event_selectors(
        TrailName="management-events",
        EventSelectors=[{"ReadWriteType": "All", "IncludeManagementEvents": False}],
    )
    # WHEN status runs THEN the problem names the selectors to put back
    result = stack.status("--json")
    assert result.code == 1
    [problem] = [line for line in result.json["problems"] if not line.startswith("tampering at ")]
    assert [event["event_name"] for event in result.json["tamper_events"]] == ["PutEventSelectors"]
    assert "aws cloudtrail put-event-selectors --trail-name arn:aws:cloudtrail:" in problem
    assert result.json["trails"][0]["management_events"] is False


def test_each_non_empty_dead_letter_queue_is_a_problem_with_its_replay_command(stack: Stack) -> None:
    # GIVEN one undelivered start event and one failed invocation record
    sqs = stack.cloud.client("sqs")
    event = {"detail-type": "AWS API Call via CloudTrail", "detail": {"eventName": "StartSession"}}
    sqs.send_message(QueueUrl=stack.outputs["EventDeliveryDLQUrl"], MessageBody=json.dumps(event))
    record = {"requestContext": {"functionArn": "arn:aws:lambda:us-east-1:123456789012:function:f:$LATEST"}}
    sqs.send_message(QueueUrl=stack.outputs["FailedInvocationsDLQUrl"], MessageBody=json.dumps(record))
    # WHEN status runs
    result = stack.status()
    # THEN each queue is one problem line naming its depth and the command that replays it to its function
    assert result.code == 1
    delivery, failed = problems(result)
    started = function_of(stack, "SessionStartedFunction")
    assert delivery.startswith("EventDeliveryDLQ holds 1 message (events EventBridge could not deliver")
    assert f"aws sqs receive-message --queue-url {stack.outputs['EventDeliveryDLQUrl']} " in delivery
    assert f"StartSession|ResumeSession) f={started};;" in delivery
    assert f"aws sqs purge-queue --queue-url {stack.outputs['EventDeliveryDLQUrl']}" in delivery
    assert failed.startswith("FailedInvocationsDLQ holds 1 message (events a function gave up on after its retries)")
    assert ".requestContext.functionArn" in failed
    assert "aws lambda invoke --invocation-type Event" in failed
    assert field(result, "DLQs") == "EventDeliveryDLQ 1, FailedInvocationsDLQ 1"


def test_a_pending_alert_subscription_is_a_problem(stack: Stack) -> None:
    # GIVEN a second recipient subscribed by e-mail who has not confirmed yet
    topic = stack.outputs["AlertsTopicArn"]
    stack.cloud.client("sns").subscribe(TopicArn=topic, Protocol="email", Endpoint="oncall@example.com")
    # WHEN status runs THEN the pending one is named, with how to get a new confirmation message
    result = stack.status()
    assert result.code == 1
    [problem] = problems(result)
    assert problem.startswith(
        "the alert subscription email:oncall@example.com is not confirmed: alerts do not reach it"
    )
    assert (
        f"aws sns subscribe --topic-arn {topic} --protocol email --notification-endpoint oncall@example.com" in problem
    )
    assert field(result, "alerts") == "1 subscription confirmed, 1 pending"


def test_no_alert_subscription_is_a_problem(stack: Stack) -> None:
    sns = stack.cloud.client("sns")
    for subscription in sns.list_subscriptions_by_topic(TopicArn=stack.outputs["AlertsTopicArn"])["Subscriptions"]:
        sns.unsubscribe(SubscriptionArn=subscription["SubscriptionArn"])
    result = stack.status()
    assert result.code == 1
    [problem] = problems(result)
    assert problem.startswith("the alerts topic has no subscription: alerts reach nobody")


def test_an_invalid_stored_policy_names_its_version_and_error_and_the_one_in_force(stack: Stack) -> None:
    # GIVEN someone stores an invalid document straight into Parameter Store (not through `warden policy push`)
    ssm = stack.cloud.client("ssm")
    parameter = stack.outputs["PolicyParameterName"]
    valid = int(ssm.get_parameter(Name=parameter)["Parameter"]["Version"])
    ssm.put_parameter(Name=parameter, Value=INVALID_POLICY, Type="String", Overwrite=True)
    # WHEN status runs
    result = stack.status()
    # THEN the problem names the invalid version, its error, and the last valid version that stays in force
    assert result.code == 1
    [problem] = [line for line in problems(result) if line.startswith("the stored policy")]
    assert problem.startswith(f"the stored policy, version {valid + 1} of {parameter}, is invalid: ")
    assert "efect" in problem
    assert f"version {valid}, the last valid one, stays in force" in problem
    assert "warden policy push FILE" in problem
    assert field(result, "policy") == (
        f"version {valid} in force (3 rules, 1 window, mode enforce, default deny); stored version {valid + 1} INVALID"
    )


def test_a_heartbeat_older_than_three_minutes_is_a_problem(stack: Stack) -> None:
    # GIVEN four minutes pass with no sweep
    stack.later(timedelta(minutes=4))
    # WHEN status runs THEN the last completed sweep is too old, and what to check is said
    result = stack.status()
    assert result.code == 1
    [problem] = problems(result)
    assert problem.startswith("the last completed sweep was 4m ago (more than 3 minutes): open sessions are not")
    assert "session-warden-sweep-every-minute" in problem


def test_a_heartbeat_in_the_future_is_a_problem_not_a_healthy_sweep(stack: Stack) -> None:
    # GIVEN someone with write access to the state table stamps the heartbeat an hour ahead (to hide a dead sweeper)
    stack.state({"pk": "heartbeat", "sk": "sweep", "at": int(stack.cloud.now().timestamp()) + 3600})
    # WHEN status runs THEN the forged time is a problem, with what to trust instead
    result = stack.status()
    assert result.code == 1
    [problem] = problems(result)
    assert problem.startswith(
        "the sweep heartbeat (pk=heartbeat) in the state table says 2026-11-24 11:01Z, in the future: only a write "
        "outside Session Warden does that"
    )
    assert "trust the SweepCompleted metric and its alarm" in problem


def test_a_deleted_policy_parameter_is_a_problem_and_the_kept_copy_stays_in_force(stack: Stack) -> None:
    # GIVEN the policy parameter is deleted (the functions keep their copy of the last valid policy)
    stack.cloud.client("ssm").delete_parameter(Name=stack.outputs["PolicyParameterName"])
    # WHEN status runs
    result = stack.status("--json")
    # THEN the problem says it is gone, what stays in force, and how to restore it
    assert result.code == 1
    [problem] = [line for line in result.json["problems"] if not line.startswith("tampering at ")]
    assert [event["event_name"] for event in result.json["tamper_events"]] == ["DeleteParameter"]
    assert problem.startswith(
        f"the policy parameter {stack.outputs['PolicyParameterName']} does not exist: the functions keep the copy "
        "in the state table; restore it with `warden policy push FILE`"
    )
    policy = result.json["policy"]
    assert (policy["in_force_source"], policy["summary"]) == (
        "state table copy",
        "3 rules, 1 window, mode enforce, default deny",
    )


def test_no_canary_on_a_stack_older_than_ten_minutes_is_a_problem(stack: Stack) -> None:
    # GIVEN no canary item, eleven minutes after the deploy (sweeps keep running)
    stack.cloud.advance("10m")
    stack.forget_state("canary", "state")
    # WHEN status runs THEN the missing canary is a problem
    result = stack.status()
    assert result.code == 1
    [problem] = problems(result)
    assert problem.startswith("no canary has been sent, and the stack is older than 10 minutes")


def test_a_blind_event_path_is_a_problem(stack: Stack) -> None:
    # GIVEN the canary has not come back for 12 minutes and the blind alert is out
    moment = int(stack.cloud.now().timestamp())
    stack.state(
        {
            "pk": "canary",
            "sk": "state",
            "nonce": "n-2",
            "sent_at": moment - 60,
            "seen_at": moment - 720,
            "round_trip_ms": 900,
            "blind_since": moment - 120,
        }
    )
    result = stack.status()
    assert result.code == 1
    [problem] = problems(result)
    assert problem.startswith("the event path is blind since 2026-11-24 09:59Z: the canary has not come back")
    assert "the trail, its event selectors, the canary rule, its target or the function's permission" in problem


def test_each_tamper_event_of_the_last_24_hours_is_a_problem_line(stack: Stack) -> None:
    # GIVEN two tamper events today (one with terminal escapes in a name someone chose) and one from two days ago
    moment = stack.cloud.now()

    def tamper(at: datetime, event_id: str, resource: str) -> None:
        stamp = at.strftime("%Y-%m-%dT%H:%M:%SZ")
        stack.state(
            {
                "pk": "tamper",
                "sk": f"{stamp}#{event_id}",
                "event_name": "DisableRule",
                "actor": "mallory (arn:aws:iam::123456789012:user/mallory)",
                "resource": resource,
                "meaning": "the session-start rule is disabled: new sessions are checked only by the sweeper",
                "at": int(at.timestamp()),
            }
        )

    tamper(moment - timedelta(hours=2), "e-1", "session-warden-session-started")
    tamper(moment - timedelta(minutes=5), "e-2", "rule-\x1b[2Jcleared")
    tamper(moment - timedelta(days=2), "e-0", "old-rule")
    # WHEN status runs
    result = stack.status("--json")
    # THEN each of today's is one problem saying who did what on which resource and what it means
    assert result.code == 1
    first, second = result.json["problems"]
    assert first.startswith(
        "tampering at 2026-11-24T08:01:00Z: mallory (arn:aws:iam::123456789012:user/mallory) called DisableRule on "
        "session-warden-session-started: the session-start rule is disabled"
    )
    assert "\x1b" not in second
    assert "rule- [2Jcleared" in second
    assert [event["event_id"] for event in result.json["tamper_events"]] == ["e-1", "e-2"]


# --- cannot read the stack ---------------------------------------------------------------------------------------


def test_an_unreachable_endpoint_exits_2_with_one_line() -> None:
    env = {"AWS_ENDPOINT_URL": "http://127.0.0.1:9", "AWS_ACCESS_KEY_ID": "k", "AWS_SECRET_ACCESS_KEY": "s"}
    result = run_warden("status", "--region", "us-east-1", env=env, extra_env={"AWS_MAX_ATTEMPTS": "1"})
    assert result.code == 2
    assert result.stdout == ""
    [line] = result.stderr.splitlines()
    assert line.startswith("warden: error: ")
    assert "Traceback" not in result.stderr


def test_a_missing_stack_exits_2(stack: Stack) -> None:
    result = run_warden("status", "--stack", "no-such-stack", env=stack.env)
    assert result.code == 2
    assert result.stderr.strip() == (
        "warden: error: --stack: no stack 'no-such-stack' in us-east-1; deploy it with `sam deploy`, "
        "or name yours with --stack (and --region)"
    )


def test_status_makes_only_read_calls(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN the command run in-process, every AWS call it makes recorded
    from warden_cli import main as cli
    from warden_cli.aws import Aws, Connection

    calls: list[str] = []
    original = Aws.client

    def recording(self: Aws, service: str) -> Any:
        client = original(self, service)
        client.meta.events.register("before-call", lambda model, **_: calls.append(model.name))
        return client

    monkeypatch.setattr(Aws, "client", recording)
    connection = Connection(
        endpoint_url=stack.cloud.endpoint, region="us-east-1", access_key_id="testing", secret_access_key="testing"
    )
    # WHEN status runs (with a problem present, so every check has something to read)
    stack.later(timedelta(minutes=4))
    assert cli.main(["status"], connection=connection) == 1
    # THEN every call was a read
    assert calls
    assert all(name.startswith(("Describe", "Get", "List", "Query")) for name in calls), sorted(set(calls))


def function_of(stack: Stack, logical_id: str) -> str:
    resources = stack.cloud.client("cloudformation").describe_stack_resources(StackName="session-warden")
    [name] = [r["PhysicalResourceId"] for r in resources["StackResources"] if r["LogicalResourceId"] == logical_id]
    return str(name)
