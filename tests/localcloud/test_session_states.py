"""Session states and DescribeSessions' validation as AWS has them: Terminating, Disconnected, Failed, filters."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.localcloud.conftest import START
from warden_local import Fidelity, LocalCloud

pytestmark = pytest.mark.functional


def error_of(error: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    return error.value.response["Error"]["Code"], error.value.response["Error"]["Message"]


@pytest.fixture
def slow_cloud() -> Iterator[LocalCloud]:
    """No stack; a terminated session stays Terminating for one second, as it does for a while on AWS."""
    with LocalCloud(template=None, start_at=START, fidelity=Fidelity(terminating_seconds=1.0)) as cloud:
        yield cloud


def status_of(ssm: object, session_id: str) -> tuple[str, str] | None:
    for state in ("Active", "History"):
        found = ssm.describe_sessions(  # type: ignore[attr-defined]
            State=state, Filters=[{"key": "SessionId", "value": session_id}]
        )["Sessions"]
        if found:
            return state, found[0]["Status"]
    return None


def test_a_terminated_session_is_terminating_in_the_active_list_then_terminated_in_history(
    slow_cloud: LocalCloud,
) -> None:
    # GIVEN a connected session
    ssm = slow_cloud.client("ssm")
    session_id = ssm.start_session(Target=slow_cloud.add_instance({}))["SessionId"]

    # WHEN it is terminated
    ssm.terminate_session(SessionId=session_id)
    during = status_of(ssm, session_id)
    # and terminated again while it is still going (an idempotent retry)
    ssm.terminate_session(SessionId=session_id)
    time.sleep(1.1)

    # THEN it was Terminating in the Active list for the window, and is Terminated in History afterwards
    assert during == ("Active", "Terminating")
    assert status_of(ssm, session_id) == ("History", "Terminated")
    # and once ended, terminating it is a ValidationException, as AWS answers
    with pytest.raises(ClientError) as error:
        ssm.terminate_session(SessionId=session_id)
    assert error_of(error)[0] == "ValidationException"


def test_advancing_the_emulated_clock_past_the_window_ends_terminating_too(slow_cloud: LocalCloud) -> None:
    ssm = slow_cloud.client("ssm")
    session_id = ssm.start_session(Target=slow_cloud.add_instance({}))["SessionId"]
    ssm.terminate_session(SessionId=session_id)

    slow_cloud.advance(timedelta(seconds=5))

    assert status_of(ssm, session_id) == ("History", "Terminated")


def test_a_disconnected_session_is_active_and_resume_connects_it_again(bare_cloud: LocalCloud) -> None:
    # GIVEN alice's session whose client lost its connection
    alice = bare_cloud.client("ssm", credentials=bare_cloud.user_credentials("alice"))
    session_id = alice.start_session(Target=bare_cloud.add_instance({}))["SessionId"]
    bare_cloud.set_session_status(session_id, "Disconnected")
    disconnected = status_of(alice, session_id)
    filtered = alice.describe_sessions(State="Active", Filters=[{"key": "Status", "value": "Disconnected"}])

    # WHEN she resumes it
    alice.resume_session(SessionId=session_id)

    # THEN it was Disconnected (and found by that status), and is Connected again
    assert disconnected == ("Active", "Disconnected")
    assert [s["SessionId"] for s in filtered["Sessions"]] == [session_id]
    assert status_of(alice, session_id) == ("Active", "Connected")


def test_a_failed_session_is_in_history_and_cannot_be_resumed(bare_cloud: LocalCloud) -> None:
    ssm = bare_cloud.client("ssm")
    session_id = ssm.start_session(Target=bare_cloud.add_instance({}))["SessionId"]

    bare_cloud.set_session_status(session_id, "Failed")

    assert status_of(ssm, session_id) == ("History", "Failed")
    with pytest.raises(ClientError) as error:
        ssm.resume_session(SessionId=session_id)
    assert error_of(error)[0] == "DoesNotExistException"


@pytest.mark.parametrize(
    ("filters", "code", "message_part"),
    [
        ([{"key": "Status", "value": "Running"}], "ValidationException", "Member must satisfy enum value set"),
        ([{"key": "Owner", "value": "alice"}], "ValidationException", "expected an ARN"),
        ([{"key": "AccessType", "value": "Sometimes"}], "ValidationException", "[Standard, JustInTime]"),
        ([{"key": "Target", "value": "i-" + "0" * 400}], "ValidationException", "less than or equal to 400"),
        ([{"key": "Colour", "value": "blue"}], "InvalidFilterKey", "Colour"),
        (
            [{"key": "Target", "value": f"i-{n:017x}"} for n in range(7)],
            "ValidationException",
            "less than or equal to 6",
        ),
    ],
)
def test_describe_sessions_rejects_filters_aws_rejects(
    bare_cloud: LocalCloud, filters: list[dict[str, str]], code: str, message_part: str
) -> None:
    with pytest.raises(ClientError) as error:
        bare_cloud.client("ssm").describe_sessions(State="Active", Filters=filters)

    assert error_of(error)[0] == code
    assert message_part in error_of(error)[1]


def test_describe_sessions_takes_six_filters_and_an_owner_arn(bare_cloud: LocalCloud) -> None:
    alice = bare_cloud.client("ssm", credentials=bare_cloud.user_credentials("alice"))
    instance = bare_cloud.add_instance({})
    session_id = alice.start_session(Target=instance)["SessionId"]
    filters = [
        {"key": "Owner", "value": "arn:aws:iam::123456789012:user/alice"},
        {"key": "Target", "value": instance},
        {"key": "Status", "value": "Connected"},
        {"key": "SessionId", "value": session_id},
        {"key": "AccessType", "value": "Standard"},
        {"key": "InvokedAfter", "value": "2026-11-24T00:00:00Z"},
    ]

    found = alice.describe_sessions(State="Active", Filters=filters)["Sessions"]

    assert [session["SessionId"] for session in found] == [session_id]


@pytest.mark.parametrize("page_size", [0, 201])
def test_describe_sessions_max_results_is_1_to_200(bare_cloud: LocalCloud, page_size: int) -> None:
    unchecked = bare_cloud.client("ssm", config=Config(parameter_validation=False))  # botocore checks the minimum
    with pytest.raises(ClientError) as error:
        unchecked.describe_sessions(State="Active", MaxResults=page_size)
    assert error_of(error)[0] == "ValidationException"


@pytest.mark.parametrize("reason", ["line one\nline two", "x" * 257])
def test_start_session_rejects_a_reason_outside_its_pattern(bare_cloud: LocalCloud, reason: str) -> None:
    with pytest.raises(ClientError) as error:
        bare_cloud.client("ssm").start_session(Target=bare_cloud.add_instance({}), Reason=reason)

    code, message = error_of(error)
    assert code == "ValidationException"
    assert "at 'reason' failed to satisfy constraint" in message


def test_the_control_api_sets_a_session_status_and_names_what_is_wrong(bare_cloud: LocalCloud) -> None:
    from tests.localcloud.test_faults_and_clock import control

    session_id = bare_cloud.client("ssm").start_session(Target=bare_cloud.add_instance({}))["SessionId"]

    ok = control(bare_cloud, "POST", "session-status", {"session_id": session_id, "status": "Disconnected"})
    bad = control(bare_cloud, "POST", "session-status", {"session_id": session_id, "status": "Asleep"})
    unknown = control(bare_cloud, "POST", "session-status", {"session_id": "nobody-1", "status": "Connected"})
    duplicate = control(bare_cloud, "POST", "faults", {"fault": "duplicate_next_event", "event_name": "StartSession"})

    assert ok == (200, {"session_id": session_id, "status": "Disconnected"})
    assert bad[0] == 400 and "Asleep" in bad[1]["error"]
    assert unknown == (404, {"error": "no session nobody-1 in the local cloud"})
    assert duplicate == (200, {"armed": "duplicate_next_event", "event_name": "StartSession"})
