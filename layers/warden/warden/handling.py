"""What every handler does at the edge: parse the event, or log, count and raise so it lands in the DLQ."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from warden.errors import RejectedEvent
from warden.event_errors import EventError
from warden.events import SessionApiCall, parse_session_event, require_eventbridge_envelope
from warden.observability import count, logger

# Correlation id = session id: StartSession has it in the response, Resume/Terminate in the request.
SESSION_ID_PATH = "detail.responseElements.sessionId || detail.requestParameters.sessionId"


def parse_event(event: Mapping[str, Any], *, expected: tuple[str, ...]) -> SessionApiCall:
    """Turn the event a function received into a call, or reject it.

    Only what EventBridge delivers for a CloudTrail-recorded ``ssm.amazonaws.com`` call is accepted:
    envelope ``source`` ``aws.ssm``, ``detail-type`` ``AWS API Call via CloudTrail``, and
    ``detail.eventSource`` ``ssm.amazonaws.com``.

    Parameters
    ----------
    event
        The event the function received.
    expected
        The event names this function handles, e.g. ``("StartSession", "ResumeSession")``.

    Returns
    -------
    SessionApiCall
        The parsed call.

    Raises
    ------
    RejectedEvent
        The event is not such a call, is malformed, or is a call this function does not handle. The
        message says why; ``EventRejected`` is counted and the problem logged.
    """
    # Anyone with events:PutEvents can put an event of any source on the default bus EXCEPT one that
    # starts with "aws.": that prefix is reserved for AWS services, and PutEvents fails such an entry
    # with NotAuthorizedForSourceException (EventBridge API reference, PutEventsRequestEntry.Source; seen
    # in practice). So no hand-made event can match the warden's rules, which match source aws.ssm
    # only. What can still arrive is an event that never came through a rule: a DLQ record replayed
    # whole instead of its requestPayload, or any JSON from whoever may call lambda:InvokeFunction. The
    # envelope check turns those away; it is a check of shape, and a direct invoker can forge the shape.
    try:
        require_eventbridge_envelope(event)
        call = parse_session_event(event)
    except EventError as error:
        reject_event(event, str(error))
        raise RejectedEvent(str(error)) from error
    if call.event_name not in expected:
        problem = f"{call.event_name} sent to a function for {', '.join(expected)}"
        reject_event(event, problem)
        raise RejectedEvent(problem)
    return call


def reject_event(event: object, problem: str) -> None:
    """Count ``EventRejected`` and log why (the caller raises :class:`RejectedEvent`, so the event goes to the DLQ)."""
    count("EventRejected")
    logger.error("event rejected", extra={"problem": problem, "event_id": _event_id(event)})


def _event_id(event: object) -> str | None:
    detail = event.get("detail") if isinstance(event, Mapping) else None
    return str(detail.get("eventID")) if isinstance(detail, Mapping) and detail.get("eventID") else None
