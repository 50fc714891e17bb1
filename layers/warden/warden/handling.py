"""What every handler does at the edge: parse the event, or log, count and raise so it lands in the DLQ."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from warden.errors import RejectedEvent
from warden.events import EventError, SessionApiCall, parse_session_event
from warden.observability import count, logger

# Correlation id = session id: StartSession has it in the response, Resume/Terminate in the request.
SESSION_ID_PATH = "detail.responseElements.sessionId || detail.requestParameters.sessionId"


def parse_event(event: Mapping[str, Any], *, expected: tuple[str, ...]) -> SessionApiCall:
    try:
        call = parse_session_event(event)
    except EventError as error:
        count("EventRejected")
        logger.error("event rejected", extra={"problem": str(error), "event_id": _event_id(event)})
        raise RejectedEvent(str(error)) from error
    if call.event_name not in expected:
        count("EventRejected")
        raise RejectedEvent(f"{call.event_name} sent to a function for {', '.join(expected)}")
    return call


def _event_id(event: Mapping[str, Any]) -> str | None:
    detail = event.get("detail")
    return str(detail.get("eventID")) if isinstance(detail, Mapping) and detail.get("eventID") else None
