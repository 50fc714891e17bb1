"""Adapters turn botocore failures into the port's AwsCallFailed, keeping the AWS error as the cause."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from warden.adapters.alerts import SnsAlerts
from warden.adapters.aws import error_code, is_aws_error
from warden.adapters.sessions import SsmSessions
from warden.errors import AwsCallFailed, RetryableError, SessionAlreadyEnded, TerminationError, WardenError
from warden.ports import Alert


def client_error(code: str, operation: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": f"{code} happened"}}, operation)


class FailingSsm:
    """An SSM client whose TerminateSession / DescribeSessions fail the way AWS does."""

    def __init__(self, error: Exception) -> None:
        self.error = error

    def terminate_session(self, **_: Any) -> dict[str, Any]:
        raise self.error

    def describe_sessions(self, **_: Any) -> dict[str, Any]:
        raise self.error


class FailingSns:
    def publish(self, **_: Any) -> dict[str, Any]:
        raise EndpointConnectionError(endpoint_url="https://sns.eu-central-1.amazonaws.com/")


def test_a_throttled_termination_raises_aws_call_failed_with_the_aws_error_as_its_cause() -> None:
    sessions = SsmSessions(FailingSsm(client_error("ThrottlingException", "TerminateSession")))  # type: ignore[arg-type]
    with pytest.raises(AwsCallFailed) as failed:
        sessions.terminate("alice-1")
    assert (failed.value.operation, failed.value.code) == ("TerminateSession", "ThrottlingException")
    assert isinstance(failed.value.__cause__, ClientError)
    assert "ThrottlingException happened" in str(failed.value)


def test_termination_of_an_ended_session_says_so_instead_of_failing() -> None:
    sessions = SsmSessions(FailingSsm(client_error("ValidationException", "TerminateSession")))  # type: ignore[arg-type]
    with pytest.raises(SessionAlreadyEnded):
        sessions.terminate("alice-1")


def test_describe_sessions_that_fails_raises_aws_call_failed() -> None:
    sessions = SsmSessions(FailingSsm(client_error("InternalServerError", "DescribeSessions")))  # type: ignore[arg-type]
    with pytest.raises(AwsCallFailed, match="InternalServerError"):
        sessions.is_active("alice-1")


def test_an_unreachable_sns_raises_aws_call_failed_that_callers_still_see_as_an_aws_error() -> None:
    alerts = SnsAlerts(FailingSns(), "arn:aws:sns:eu-central-1:123456789012:alerts")  # type: ignore[arg-type]
    with pytest.raises(AwsCallFailed) as failed:
        alerts.publish(Alert(kind="grant-created", severity="INFO", subject="s", body="b"))
    assert is_aws_error(failed.value)
    assert error_code(failed.value) is None  # no AWS error code: the request never reached AWS
    assert isinstance(failed.value.__cause__, EndpointConnectionError)


def test_every_warden_error_is_a_warden_error_and_a_runtime_error() -> None:
    assert issubclass(TerminationError, RetryableError)
    assert issubclass(AwsCallFailed, WardenError) and issubclass(WardenError, RuntimeError)
