"""CloudTrail events of the session APIs, compared field by field with the recorded samples in events/."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.localcloud.conftest import START, EventTap
from warden_local import LocalCloud

pytestmark = pytest.mark.functional

EVENTS = Path(__file__).resolve().parents[2] / "events"

# Formats a value can have; the samples and the local cloud must agree on each field's format.
FORMATS = (
    ("time", r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"),
    ("uuid", r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"),
    ("event-version", r"1\.\d\d"),
    ("account", r"\d{12}"),
    ("user-arn", r"arn:aws:iam::\d{12}:user/[\w+=,.@-]+"),
    ("role-arn", r"arn:aws:iam::\d{12}:role/(?:[\w+=,.@-]+/)*[\w+=,.@-]+"),
    ("assumed-role-arn", r"arn:aws:sts::\d{12}:assumed-role/[\w+=,.@-]+/[\w+=,.@-]+"),
    ("user-id", r"AIDA[A-Z0-9]{16,}"),
    ("role-id", r"AROA[A-Z0-9]{16,}"),
    ("role-session-id", r"AROA[A-Z0-9]{16,}:[\w+=,.@-]+"),
    ("long-term-key", r"AKIA[A-Z0-9]{16}"),
    ("session-key", r"ASIA[A-Z0-9]{16}"),
    ("session-id", r"[\w+=,.@-]+-[a-z2-9]{26}"),
    ("instance-id", r"i-[0-9a-f]{17}"),
    (
        "stream-url",
        r"wss://ssmmessages\.[a-z0-9-]+\.amazonaws\.com/v1/data-channel/[\w+=,.@-]+-[a-z2-9]{26}"
        r"\?role=publish_subscribe&cell-number=\S+",
    ),
    ("host", r"ssm\.[a-z0-9-]+\.amazonaws\.com"),
)
FREE_TEXT = {"userAgent", "errorMessage", "reason", "sourceIPAddress", "awsRegion", "region", "userName", "tokenValue"}


def shape(value: Any, key: str = "") -> Any:
    """The structure of an event with each value replaced by its format."""
    if isinstance(value, dict):
        return {k: shape(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [shape(item, key) for item in value]
    if not isinstance(value, str):
        return type(value).__name__
    if key in FREE_TEXT:
        return "text"
    for name, pattern in FORMATS:
        if re.fullmatch(pattern, value):
            return name
    return f"literal:{value}"


def sample(name: str) -> dict[str, Any]:
    path = EVENTS / f"{name}.json"
    if not path.is_file():
        pytest.skip(f"no recorded sample {path.name} yet")
    event: dict[str, Any] = json.loads(path.read_text())
    return event


def assert_same_shape(actual: dict[str, Any], expected: dict[str, Any]) -> None:
    got, want = shape(actual), shape(expected)
    # Values differ (ids, times, region); their formats, the keys and their types must not.
    assert json.dumps(got, indent=1, sort_keys=False) == json.dumps(want, indent=1, sort_keys=False)
    # Same key order too: a parser may not care, but a reader comparing records does.
    assert list(actual["detail"]) == list(expected["detail"])


@pytest.fixture
def instance(bare_cloud: LocalCloud) -> str:
    return bare_cloud.add_instance({"Name": "web-1"}, instance_id="i-0a1b2c3d4e5f60718")


def test_start_session_by_an_iam_user_is_the_recorded_event(
    bare_cloud: LocalCloud, tap: EventTap, instance: str
) -> None:
    expected = sample("start-session-iam-user")
    ssm = bare_cloud.client("ssm", credentials=bare_cloud.user_credentials("alice"))

    started = ssm.start_session(Target=instance, Reason="OPS-1234 rotate application logs")

    [event] = tap.events()
    assert_same_shape(event, expected)
    detail = event["detail"]
    assert detail["userIdentity"]["arn"] == "arn:aws:iam::123456789012:user/alice"
    assert detail["userIdentity"]["userName"] == "alice"
    assert detail["requestParameters"] == {"target": instance, "reason": "OPS-1234 rotate application logs"}
    assert detail["responseElements"]["sessionId"] == started["SessionId"]
    assert detail["responseElements"]["streamUrl"] == started["StreamUrl"]
    assert detail["responseElements"]["tokenValue"] == "Value hidden due to security reasons."
    assert detail["eventTime"] == event["time"] == "2026-11-24T08:00:00Z"
    assert detail["requestID"] == started["ResponseMetadata"]["RequestId"]
    assert detail["sourceIPAddress"] == "127.0.0.1"
    assert detail["userAgent"].startswith("Boto3/")
    assert detail["tlsDetails"]["clientProvidedHostHeader"] == "ssm.us-east-1.amazonaws.com"


def test_start_session_by_an_assumed_role_is_the_recorded_event(
    bare_cloud: LocalCloud, tap: EventTap, instance: str
) -> None:
    expected = sample("start-session-assumed-role")
    creds = bare_cloud.role_credentials("OpsAdmin", "bob", path="/ops/platform/")
    ssm = bare_cloud.client("ssm", credentials=creds)

    ssm.start_session(Target=instance, DocumentName="SSM-SessionManagerRunShell")

    [event] = tap.events()
    assert_same_shape(event, expected)
    identity = event["detail"]["userIdentity"]
    assert identity["arn"] == "arn:aws:sts::123456789012:assumed-role/OpsAdmin/bob"
    assert identity["principalId"].endswith(":bob")
    assert identity["accessKeyId"] == creds.access_key_id
    issuer = identity["sessionContext"]["sessionIssuer"]
    assert issuer["arn"] == "arn:aws:iam::123456789012:role/ops/platform/OpsAdmin"
    assert issuer["userName"] == "OpsAdmin"
    assert identity["principalId"].startswith(issuer["principalId"] + ":")
    assert identity["sessionContext"]["attributes"] == {
        "creationDate": "2026-11-24T08:00:00Z",
        "mfaAuthenticated": "false",
    }


def test_a_failed_start_session_is_recorded_with_its_error_and_no_response(
    bare_cloud: LocalCloud, tap: EventTap
) -> None:
    expected = sample("start-session-failed")
    ssm = bare_cloud.client("ssm", credentials=bare_cloud.role_credentials("OpsAdmin", "bob", path="/ops/platform/"))

    with pytest.raises(ClientError):
        ssm.start_session(Target="i-0718293a4b5c6d7e8")

    [event] = tap.events()
    assert_same_shape(event, expected)
    assert event["detail"]["errorCode"] == "TargetNotConnected"
    assert event["detail"]["errorMessage"] == "i-0718293a4b5c6d7e8 is not connected."
    assert event["detail"]["responseElements"] is None
    assert event["detail"]["requestParameters"] == {"target": "i-0718293a4b5c6d7e8"}


def test_an_invalid_document_is_recorded_as_a_failed_call(bare_cloud: LocalCloud, tap: EventTap, instance: str) -> None:
    ssm = bare_cloud.client("ssm")

    with pytest.raises(ClientError):
        ssm.start_session(Target=instance, DocumentName="No-Such-Document")

    [event] = tap.events()
    detail = event["detail"]
    assert (detail["errorCode"], detail["responseElements"]) == ("InvalidDocument", None)
    assert detail["requestParameters"] == {"target": instance, "documentName": "No-Such-Document"}


def test_resume_and_terminate_are_the_recorded_events(bare_cloud: LocalCloud, tap: EventTap, instance: str) -> None:
    ssm = bare_cloud.client("ssm", credentials=bare_cloud.user_credentials("alice"))
    started = ssm.start_session(Target=instance)

    ssm.resume_session(SessionId=started["SessionId"])
    ssm.terminate_session(SessionId=started["SessionId"])

    start, resume, terminate = tap.events()
    assert [e["detail"]["eventName"] for e in (start, resume, terminate)] == [
        "StartSession",
        "ResumeSession",
        "TerminateSession",
    ]
    assert_same_shape(resume, sample("resume-session"))
    assert_same_shape(terminate, sample("terminate-session"))
    assert terminate["detail"]["requestParameters"] == {"sessionId": started["SessionId"]}
    assert terminate["detail"]["responseElements"] == {"sessionId": started["SessionId"]}


def test_port_forwarding_parameters_are_recorded_as_given(bare_cloud: LocalCloud, tap: EventTap, instance: str) -> None:
    expected = sample("start-session-port-forwarding")
    ssm = bare_cloud.client("ssm", credentials=bare_cloud.role_credentials("Ops", "erin@example.com"))

    ssm.start_session(
        Target=instance,
        DocumentName="AWS-StartPortForwardingSession",
        Parameters={"localPortNumber": ["15432"], "portNumber": ["5432"]},
    )

    [event] = tap.events()
    assert event["detail"]["requestParameters"] == {
        "target": instance,
        "documentName": "AWS-StartPortForwardingSession",
        "parameters": {"localPortNumber": ["15432"], "portNumber": ["5432"]},
    }
    assert set(event["detail"]["requestParameters"]) == set(expected["detail"]["requestParameters"])
    assert event["detail"]["responseElements"]["sessionId"].startswith("erin@example.com-")


def test_describe_calls_never_reach_the_bus(bare_cloud: LocalCloud, tap: EventTap) -> None:
    ssm = bare_cloud.client("ssm")
    ssm.describe_sessions(State="Active")
    ssm.describe_instance_information()
    assert tap.events() == []


def test_event_times_follow_the_emulated_clock(bare_cloud: LocalCloud, tap: EventTap, instance: str) -> None:
    from datetime import timedelta

    ssm = bare_cloud.client("ssm")
    bare_cloud.advance(timedelta(hours=2, minutes=30))
    ssm.start_session(Target=instance)

    [event] = tap.events()
    assert START.isoformat() == "2026-11-24T08:00:00+00:00"
    assert event["time"] == event["detail"]["eventTime"] == "2026-11-24T10:30:00Z"


def test_a_user_rule_receives_exactly_what_its_pattern_selects(bare_cloud: LocalCloud, instance: str) -> None:
    terminations = EventTap(bare_cloud, {"source": ["aws.ssm"], "detail": {"eventName": ["TerminateSession"]}})
    ssm = bare_cloud.client("ssm")
    started = ssm.start_session(Target=instance)
    ssm.terminate_session(SessionId=started["SessionId"])

    assert [event["detail"]["eventName"] for event in terminations.events()] == ["TerminateSession"]
