"""The raw shapes of an EventBridge event and its CloudTrail record, as pydantic reads them.

Only :mod:`warden.events` reads these: unknown fields are ignored so that new CloudTrail versions keep parsing, and
every validation failure becomes a :class:`~warden.event_errors.MalformedEvent` that names the field and the kind of
value only (values can carry caller-supplied request parameters).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any, Final, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, PlainValidator, StringConstraints, ValidationError

from warden.event_errors import MalformedEvent
from warden.timefmt import parse_utc

HIDDEN_BY_CLOUDTRAIL: Final = "HIDDEN_DUE_TO_SECURITY_REASONS"
"""What CloudTrail records in place of request parameters it does not log (e.g. ``parameters``)."""

SessionApiName = Literal["StartSession", "ResumeSession", "TerminateSession"]

_M = TypeVar("_M", bound=BaseModel)
_Text = Annotated[str, StringConstraints(min_length=1)]


def cloudtrail_time_field(value: object) -> datetime:
    # Strings only: lax pydantic would take an int as epoch seconds, which no CloudTrail record carries.
    # ValueError (not TypeError) is what pydantic turns into a validation error, and so into MalformedEvent.
    if not isinstance(value, str):
        raise ValueError(f"expected an ISO 8601 time string, got {json_kind(value)}")
    try:
        # CloudTrail times are UTC by definition; a hand-written record may leave the "Z" out.
        return parse_utc(value)
    except ValueError:
        raise ValueError(f"not an ISO 8601 time: {value[:40]!r}") from None


class Raw(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class Envelope(Raw):
    detail_type: str | None = Field(default=None, alias="detail-type")
    source: str | None = None
    account: str | None = None
    region: str | None = None
    detail: dict[str, Any]


def session_parameters_field(value: object) -> dict[str, Any] | str | None:
    # An object of parameter lists, or CloudTrail's marker for parameters it did not log. Any other
    # string is a malformed record; its text is caller-supplied, so the error names only its kind.
    if value is None or isinstance(value, dict):
        return value
    if value == HIDDEN_BY_CLOUDTRAIL:
        return HIDDEN_BY_CLOUDTRAIL
    raise ValueError(f"expected an object or {HIDDEN_BY_CLOUDTRAIL!r}, got {json_kind(value)}")


class RequestParameters(Raw):
    target: _Text | None = None
    document_name: str | None = Field(default=None, alias="documentName")
    parameters: Annotated[dict[str, Any] | str | None, PlainValidator(session_parameters_field)] = None
    reason: str | None = None
    session_id: _Text | None = Field(default=None, alias="sessionId")


class ResponseElements(Raw):
    session_id: _Text | None = Field(default=None, alias="sessionId")


class Record(Raw):
    event_version: str | None = Field(default=None, alias="eventVersion")
    event_id: _Text = Field(alias="eventID")
    event_time: Annotated[datetime, PlainValidator(cloudtrail_time_field)] = Field(alias="eventTime")
    event_name: SessionApiName = Field(alias="eventName")
    aws_region: _Text | None = Field(default=None, alias="awsRegion")
    user_identity: dict[str, Any] = Field(alias="userIdentity")
    source_ip: str | None = Field(default=None, alias="sourceIPAddress")
    user_agent: str | None = Field(default=None, alias="userAgent")
    request_parameters: RequestParameters | None = Field(default=None, alias="requestParameters")
    response_elements: ResponseElements | None = Field(default=None, alias="responseElements")
    error_code: str | None = Field(default=None, alias="errorCode")
    error_message: str | None = Field(default=None, alias="errorMessage")
    recipient_account_id: str | None = Field(default=None, alias="recipientAccountId")


def validate_shape(model: type[_M], data: Mapping[str, Any], prefix: str) -> _M:
    try:
        return model.model_validate(dict(data))
    except ValidationError as exc:
        raise malformed(exc, prefix) from None


def malformed(exc: ValidationError, prefix: str) -> MalformedEvent:
    # Name the field and the kind of value only: values can carry caller-supplied request parameters.
    errors = exc.errors(include_url=False)
    first = errors[0]
    field = prefix + ".".join(str(part) for part in first["loc"]) if first["loc"] else prefix.rstrip(".") or "event"
    if first["type"] == "missing":
        reason = "missing"
    elif first["type"] == "value_error" and "error" in first.get("ctx", {}):
        reason = str(first["ctx"]["error"])
    else:
        reason = f"{first['msg'][:1].lower()}{first['msg'][1:]}, got {json_kind(first['input'])}"
    if len(errors) > 1:
        reason += f" (and {len(errors) - 1} more problem{'s' if len(errors) > 2 else ''})"
    return MalformedEvent(field, reason)


def required_text(record: Mapping[str, Any], key: str, prefix: str) -> str:
    value = record.get(key)
    if value is None:
        raise MalformedEvent(f"{prefix}{key}", "missing")
    if not isinstance(value, str) or not value:
        raise MalformedEvent(f"{prefix}{key}", f"expected a non-empty string, got {json_kind(value)}")
    return value


def json_kind(value: object) -> str:
    names = {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}
    for python_type, json_name in names.items():
        if isinstance(value, python_type):
            return "empty string" if value == "" else json_name
    if isinstance(value, int | float):
        return "number"
    return type(value).__name__
