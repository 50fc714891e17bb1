"""The handlers act only on what EventBridge delivers for a CloudTrail-recorded Session Manager call."""

from __future__ import annotations

import copy
import json
import pickle
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.contract.conftest import EVENTS_DIR, REJECTED_DIR, load_event
from warden.event_errors import MalformedEvent, UntrustedEvent
from warden.events import require_eventbridge_envelope
from warden.handling import RejectedEvent, parse_event
from warden.observability import metrics

START = ("StartSession", "ResumeSession")


@pytest.fixture(autouse=True)
def fresh_metrics() -> Iterator[None]:
    metrics.clear_metrics()
    yield
    metrics.clear_metrics()


def _rejections() -> int:
    recorded = metrics.metric_set.get("EventRejected")
    return int(sum(recorded["Value"])) if recorded else 0


def _start() -> dict[str, Any]:
    return load_event(EVENTS_DIR / "start-session-iam-user.json")


def _with(**changes: object) -> Callable[[dict[str, Any]], Any]:
    def mutate(event: dict[str, Any]) -> Any:
        for key, value in changes.items():
            event[key.replace("_", "-")] = value
        return event

    return mutate


def _detail_source(value: object) -> Callable[[dict[str, Any]], Any]:
    def mutate(event: dict[str, Any]) -> Any:
        event["detail"]["eventSource"] = value
        return event

    return mutate


def _drop(key: str) -> Callable[[dict[str, Any]], Any]:
    def mutate(event: dict[str, Any]) -> Any:
        del event[key]
        return event

    return mutate


def _on_failure_record(event: dict[str, Any]) -> Any:
    # What Lambda writes to the on-failure queue; README says to replay its requestPayload, not the record
    return {
        "version": "1.0",
        "timestamp": "2026-11-16T08:15:00.000Z",
        "requestContext": {
            "requestId": "0d3a7d3e-4e36-4d41-a2a5-7a0e0f5f1f49",
            "functionArn": "arn:aws:lambda:eu-central-1:123456789012:function:session-warden-SessionStartedFunction",
            "condition": "RetriesExhausted",
            "approximateInvokeCount": 3,
        },
        "requestPayload": event,
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
    }


# (case, how the event is made, the field named, why)
UNTRUSTED: list[tuple[str, Callable[[dict[str, Any]], Any], str, str]] = [
    ("hand-made source", _with(source="warden.test"), "source", "expected 'aws.ssm', got 'warden.test'"),
    ("source of another service", _with(source="aws.athena"), "source", "expected 'aws.ssm', got 'aws.athena'"),
    ("source not a string", _with(source=["aws.ssm"]), "source", "expected 'aws.ssm', got array"),
    ("no source", _drop("source"), "source", "missing (not an EventBridge event)"),
    ("bare CloudTrail record", lambda event: event["detail"], "source", "missing (not an EventBridge event)"),
    (
        "Lambda on-failure record replayed whole",
        _on_failure_record,
        "source",
        "missing (a Lambda on-failure record: replay its requestPayload)",
    ),
    (
        "another detail-type",
        _with(detail_type="Session Manager Session Started"),
        "detail-type",
        "expected 'AWS API Call via CloudTrail', got 'Session Manager Session Started'",
    ),
    ("no detail-type", _drop("detail-type"), "detail-type", "missing (not an EventBridge event)"),
    (
        "another eventSource under aws.ssm",
        _detail_source("ssmmessages.amazonaws.com"),
        "detail.eventSource",
        "expected 'ssm.amazonaws.com', got 'ssmmessages.amazonaws.com'",
    ),
    ("eventSource not a string", _detail_source(7), "detail.eventSource", "expected 'ssm.amazonaws.com', got number"),
    ("no eventSource", _detail_source(None), "detail.eventSource", "missing"),
]


@pytest.mark.parametrize(("case", "make", "field", "words"), UNTRUSTED, ids=[case for case, *_ in UNTRUSTED])
def test_untrusted_event_is_rejected_naming_the_field_and_why(
    case: str, make: Callable[[dict[str, Any]], Any], field: str, words: str
) -> None:
    # GIVEN a StartSession that did not arrive the way the warden's rules deliver one
    event = make(_start())

    # WHEN the envelope is checked THEN it is untrusted, and the message says which field and why
    with pytest.raises(UntrustedEvent) as caught:
        require_eventbridge_envelope(event)
    assert caught.value.field == field, case
    assert str(caught.value) == f"not delivered by EventBridge from CloudTrail: {field}: {words}"


@pytest.mark.parametrize(("case", "make", "field", "words"), UNTRUSTED, ids=[case for case, *_ in UNTRUSTED])
def test_handler_rejects_an_untrusted_event_counted_and_logged(
    case: str, make: Callable[[dict[str, Any]], Any], field: str, words: str, capsys: pytest.CaptureFixture[str]
) -> None:
    event = make(_start())

    # WHEN a handler parses it THEN it raises RejectedEvent (so the event lands in the DLQ), counted and logged
    with pytest.raises(RejectedEvent, match=f"{field}: ") as caught:
        parse_event(event, expected=START)

    assert words in str(caught.value), case
    assert isinstance(caught.value.__cause__, UntrustedEvent)
    assert _rejections() == 1
    logged = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    assert [(line["message"], line["problem"]) for line in logged] == [("event rejected", str(caught.value))]


def test_untrusted_message_shows_a_long_forged_value_short_and_on_one_line() -> None:
    event = _start()
    event["source"] = "aws.ssm\n" + "x" * 5000

    with pytest.raises(UntrustedEvent) as caught:
        require_eventbridge_envelope(event)

    assert "\n" not in str(caught.value)
    assert len(str(caught.value)) < 200


@pytest.mark.parametrize("shape", [[], "StartSession", None, 7])
def test_an_event_that_is_not_an_object_is_malformed(shape: object) -> None:
    with pytest.raises(MalformedEvent, match=r"^event: expected a JSON object"):
        require_eventbridge_envelope(shape)


@pytest.mark.parametrize(
    ("detail", "reason"), [(None, "missing"), ("StartSession", "expected a JSON object, got string")]
)
def test_an_envelope_without_an_object_detail_is_malformed(detail: object, reason: str) -> None:
    event = _start()
    event["detail"] = detail

    with pytest.raises(MalformedEvent) as caught:
        require_eventbridge_envelope(event)

    assert str(caught.value) == f"detail: {reason}"


@pytest.mark.parametrize("path", sorted(EVENTS_DIR.glob("*.json")), ids=lambda path: path.name)
def test_every_recorded_session_manager_payload_passes_the_envelope_check(path: Any) -> None:
    event = load_event(path)
    before = copy.deepcopy(event)

    require_eventbridge_envelope(event)

    assert event == before


@pytest.mark.parametrize("path", sorted(REJECTED_DIR.glob("*.json")), ids=lambda path: path.name)
def test_handler_rejects_every_recorded_foreign_payload(path: Any) -> None:
    # GIVEN well-formed CloudTrail events of other services or APIs WHEN a handler parses one THEN it is rejected
    event = load_event(path)

    with pytest.raises(RejectedEvent) as caught:
        parse_event(event, expected=START)

    # THEN the message names why: the service's own EventBridge source, or (under aws.ssm) the API call
    detail = event["detail"]
    if event["source"] != "aws.ssm":
        why = f"source: expected 'aws.ssm', got {event['source']!r}"
    else:
        why = f"not a Session Manager API call: {detail['eventSource']} {detail['eventName']}"
    assert why in str(caught.value)
    assert _rejections() == 1


def test_handler_rejects_a_call_of_another_function_and_counts_it() -> None:
    event = load_event(EVENTS_DIR / "terminate-session.json")

    with pytest.raises(RejectedEvent, match=r"^TerminateSession sent to a function for StartSession, ResumeSession$"):
        parse_event(event, expected=START)

    assert _rejections() == 1


def test_handler_accepts_what_eventbridge_delivers() -> None:
    call = parse_event(_start(), expected=START)

    assert call.session_id == "alice-nnzv8ua8ma98x8p93wqco3z5h5"
    assert _rejections() == 0


def test_untrusted_event_error_survives_pickling() -> None:
    error = UntrustedEvent("source", "expected 'aws.ssm', got 'warden.test'")

    assert str(pickle.loads(pickle.dumps(error))) == str(error)
    assert isinstance(error, ValueError)
