"""Adapters turn botocore failures into the port's AwsCallFailed, keeping the AWS error as the cause."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from warden.adapters.alerts import SnsAlerts
from warden.adapters.aws import error_code, is_aws_error
from warden.adapters.sessions import SsmSessions
from warden.errors import AwsCallFailed, RetryableError, SessionAlreadyEnded, TerminationError, WardenError
from warden.records import Alert


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


class FailingDynamo:
    """A DynamoDB client whose every call fails with one error, as AWS answers it after botocore's retries."""

    def __init__(self, error: Exception) -> None:
        self.error = error

    def __getattr__(self, name: str) -> Any:
        def fail(**_: Any) -> dict[str, Any]:
            raise self.error

        return fail


def test_every_dynamodb_adapter_raises_aws_call_failed_naming_the_operation() -> None:
    from warden.adapters.grants import DynamoGrantStore
    from warden.adapters.ledger import DynamoLedger
    from warden.adapters.once import DynamoOnceStore
    from warden.adapters.state import DynamoState
    from warden.records import AlertMarker

    db: Any = FailingDynamo(client_error("ProvisionedThroughputExceededException", "X"))
    clock = type("Clock", (), {"now": staticmethod(lambda: datetime(2026, 12, 1, 10, tzinfo=UTC))})()
    calls = {
        "ledger get": (lambda: DynamoLedger(db, "ledger").get("alice-1"), "GetItem"),
        "ledger claim": (lambda: DynamoLedger(db, "ledger").claim("alice-1", AlertMarker.ENDED), "UpdateItem"),
        "ledger open": (lambda: DynamoLedger(db, "ledger").open_entries(), "Query"),
        "grant get": (lambda: DynamoGrantStore(db, "grants").get("g-1"), "GetItem"),
        "grant list": (lambda: DynamoGrantStore(db, "grants").all(), "Scan"),
        "once first": (lambda: DynamoOnceStore(db, "once", clock).first("k", ttl_seconds=60), "PutItem"),
        "state heartbeat": (lambda: DynamoState(db, "state", clock).heartbeat(clock.now()), "PutItem"),
    }
    for name, (call, operation) in calls.items():
        with pytest.raises(AwsCallFailed) as failed:
            call()
        assert (name, failed.value.operation) == (name, operation)
        assert failed.value.code == "ProvisionedThroughputExceededException"
        assert isinstance(failed.value.__cause__, ClientError)


def test_a_condition_that_does_not_hold_is_an_answer_not_a_failure() -> None:
    from warden.adapters.ledger import DynamoLedger
    from warden.adapters.once import DynamoOnceStore
    from warden.records import AlertMarker

    db: Any = FailingDynamo(client_error("ConditionalCheckFailedException", "UpdateItem"))
    clock = type("Clock", (), {"now": staticmethod(lambda: datetime(2026, 12, 1, 10, tzinfo=UTC))})()
    assert DynamoLedger(db, "ledger").claim("alice-1", AlertMarker.ENDED) is False
    assert DynamoOnceStore(db, "once", clock).first("k", ttl_seconds=60) is False


def test_policy_and_event_errors_are_warden_errors_and_still_value_errors() -> None:
    from warden.event_errors import EventError, MalformedEvent
    from warden.policy import PolicyError, PolicyIssue

    policy_error = PolicyError([PolicyIssue("rules[0]", None, "bad")], source="p.yaml")
    event_error = MalformedEvent("detail.eventTime", "missing")
    assert isinstance(policy_error, WardenError) and isinstance(policy_error, ValueError)
    assert isinstance(event_error, EventError) and isinstance(event_error, WardenError)
    assert str(policy_error) == "p.yaml: rules[0]: bad"
    assert str(event_error) == "detail.eventTime: missing"


def test_the_errors_the_cli_catches_are_warden_errors_of_their_old_kind() -> None:
    from warden.errors import GrantConflict
    from warden_cli.errors import CliError
    from warden_local import LocalCloudError, SettleTimeout

    assert issubclass(CliError, WardenError) and issubclass(GrantConflict, WardenError)
    assert issubclass(LocalCloudError, WardenError) and issubclass(LocalCloudError, RuntimeError)
    assert issubclass(SettleTimeout, WardenError) and issubclass(SettleTimeout, TimeoutError)
    assert not issubclass(SettleTimeout, LocalCloudError)  # the demo tells "did not start" from "did not settle"
