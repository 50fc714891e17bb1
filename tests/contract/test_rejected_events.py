"""Events that are not Session Manager calls are Unsupported; broken ones are Malformed and say which field."""

from __future__ import annotations

import pickle
from collections.abc import Callable
from typing import Any

import pytest

from tests.contract.conftest import EVENTS_DIR, REJECTED_DIR, load_event
from warden.event_errors import EventError, MalformedEvent, UnsupportedEvent
from warden.events import parse_session_event

REJECTED: dict[str, tuple[str, str]] = {
    "athena-terminate-session.json": ("athena.amazonaws.com", "TerminateSession"),
    "ssm-create-control-channel.json": ("ssmmessages.amazonaws.com", "CreateControlChannel"),
    "ssm-guiconnect-start-connection.json": ("ssm-guiconnect.amazonaws.com", "StartConnection"),
    "ssm-send-command.json": ("ssm.amazonaws.com", "SendCommand"),
}


def test_every_rejected_payload_has_an_expectation() -> None:
    assert {path.name for path in REJECTED_DIR.glob("*.json")} == set(REJECTED)


@pytest.mark.parametrize("name", sorted(REJECTED))
def test_foreign_event_is_unsupported_and_says_what_it_is(name: str) -> None:
    source, event_name = REJECTED[name]
    event = load_event(REJECTED_DIR / name)

    for shape in (event, event["detail"]):
        with pytest.raises(UnsupportedEvent) as caught:
            parse_session_event(shape)
        assert str(caught.value) == f"not a Session Manager API call: {source} {event_name}"
        assert (caught.value.source, caught.value.name) == (source, event_name)


def test_event_of_another_detail_type_is_unsupported() -> None:
    event = {
        "version": "0",
        "id": "7bf73129-1428-4cd3-a780-95db273d1602",
        "detail-type": "EC2 Instance State-change Notification",
        "source": "aws.ec2",
        "account": "123456789012",
        "time": "2026-11-16T08:14:03Z",
        "region": "eu-central-1",
        "resources": ["arn:aws:ec2:eu-central-1:123456789012:instance/i-0a1b2c3d4e5f60718"],
        "detail": {"instance-id": "i-0a1b2c3d4e5f60718", "state": "running"},
    }

    with pytest.raises(UnsupportedEvent, match=r"aws\.ec2 EC2 Instance State-change Notification$"):
        parse_session_event(event)


def test_ssm_data_event_is_rejected_even_though_it_names_the_same_instance() -> None:
    event = load_event(REJECTED_DIR / "ssm-create-control-channel.json")
    assert event["detail"]["eventCategory"] == "Data"

    with pytest.raises(UnsupportedEvent):
        parse_session_event(event)


def _base() -> dict[str, Any]:
    return load_event(EVENTS_DIR / "start-session-iam-user.json")


def _set(path: str, value: object) -> Callable[[dict[str, Any]], object]:
    *parents, leaf = path.split(".")

    def mutate(event: dict[str, Any]) -> object:
        node = event
        for key in parents:
            node = node[key]
        node[leaf] = value
        return event

    return mutate


def _drop(path: str) -> Callable[[dict[str, Any]], object]:
    *parents, leaf = path.split(".")

    def mutate(event: dict[str, Any]) -> object:
        node = event
        for key in parents:
            node = node[key]
        del node[leaf]
        return event

    return mutate


MALFORMED: list[tuple[str, Callable[[dict[str, Any]], object], str]] = [
    ("not an object", lambda event: [event], "event"),
    ("empty object", lambda event: {}, "detail"),
    ("missing detail", _drop("detail"), "detail"),
    ("detail is a string", _set("detail", "StartSession"), "detail"),
    ("detail is a list", _set("detail", []), "detail"),
    ("detail is null", _set("detail", None), "detail"),
    ("missing eventName", _drop("detail.eventName"), "detail.eventName"),
    ("eventName not a string", _set("detail.eventName", 7), "detail.eventName"),
    ("missing eventSource", _drop("detail.eventSource"), "detail.eventSource"),
    ("missing eventID", _drop("detail.eventID"), "detail.eventID"),
    ("empty eventID", _set("detail.eventID", ""), "detail.eventID"),
    ("missing eventTime", _drop("detail.eventTime"), "detail.eventTime"),
    ("eventTime not a time", _set("detail.eventTime", "yesterday"), "detail.eventTime"),
    ("eventTime as epoch seconds", _set("detail.eventTime", 1794816843), "detail.eventTime"),
    ("missing userIdentity", _drop("detail.userIdentity"), "detail.userIdentity"),
    ("userIdentity a string", _set("detail.userIdentity", "alice"), "detail.userIdentity"),
    ("requestParameters a string", _set("detail.requestParameters", "i-0a1b"), "detail.requestParameters"),
    ("target a number", _set("detail.requestParameters.target", 42), "detail.requestParameters.target"),
    (
        "documentName a list",
        _set("detail.requestParameters.documentName", ["x"]),
        "detail.requestParameters.documentName",
    ),
    ("parameters a list", _set("detail.requestParameters.parameters", ["x"]), "detail.requestParameters.parameters"),
    ("sessionId missing on success", _drop("detail.responseElements.sessionId"), "detail.responseElements.sessionId"),
    ("responseElements null on success", _set("detail.responseElements", None), "detail.responseElements.sessionId"),
    ("target missing on success", _drop("detail.requestParameters.target"), "detail.requestParameters.target"),
    ("errorCode a number", _set("detail.errorCode", 403), "detail.errorCode"),
]


@pytest.mark.parametrize(("case", "mutate", "field"), MALFORMED, ids=[case for case, _, _ in MALFORMED])
def test_malformed_event_names_the_field(case: str, mutate: Callable[[dict[str, Any]], Any], field: str) -> None:
    event = mutate(_base())

    with pytest.raises(MalformedEvent) as caught:
        parse_session_event(event)

    assert caught.value.field == field, case
    assert str(caught.value).startswith(f"{field}: ")
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize("name", ["terminate-session.json", "resume-session.json"])
def test_successful_resume_or_terminate_without_session_id_is_malformed(name: str) -> None:
    event = load_event(EVENTS_DIR / name)
    del event["detail"]["requestParameters"]["sessionId"]
    event["detail"]["responseElements"] = None

    with pytest.raises(MalformedEvent, match=r"^detail\.requestParameters\.sessionId: missing on a successful"):
        parse_session_event(event)


def test_bare_record_errors_name_the_field_without_a_detail_prefix() -> None:
    record = _base()["detail"]
    record["eventTime"] = "16/11/2026"

    with pytest.raises(MalformedEvent, match=r"^eventTime: not an ISO 8601 time: '16/11/2026'$"):
        parse_session_event(record)


def test_malformed_message_does_not_echo_request_parameters() -> None:
    # GIVEN parameters of the wrong type that carry something secret-looking
    event = _base()
    event["detail"]["requestParameters"]["parameters"] = "--password hunter2"

    with pytest.raises(MalformedEvent) as caught:
        parse_session_event(event)

    assert "hunter2" not in str(caught.value)
    assert "got string" in str(caught.value)


def test_event_errors_are_value_errors_that_survive_pickling() -> None:
    # Powertools and the DLQ path may copy exceptions across process boundaries
    malformed = MalformedEvent("detail.eventTime", "missing")
    unsupported = UnsupportedEvent("athena.amazonaws.com", "TerminateSession")

    for error in (malformed, unsupported):
        assert isinstance(error, EventError)
        assert isinstance(error, ValueError)
        assert str(pickle.loads(pickle.dumps(error))) == str(error)
