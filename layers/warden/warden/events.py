"""Session Manager API calls reported by CloudTrail through EventBridge, parsed once at the edge.

The errors a rejected event raises are in :mod:`warden.event_errors`, the raw record shapes in
:mod:`warden.cloudtrail_shapes`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Any, Final

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field

from warden.cloudtrail_shapes import (
    HIDDEN_BY_CLOUDTRAIL,
    Envelope,
    Record,
    RequestParameters,
    ResponseElements,
    SessionApiName,
    json_kind,
    required_text,
    validate_shape,
)
from warden.event_errors import MalformedEvent, UnsupportedEvent, UntrustedEvent
from warden.policy import DEFAULT_DOCUMENT, Principal, canonical_host, principal_from_identity
from warden.timefmt import to_utc

__all__ = [
    "CLOUDTRAIL_DETAIL_TYPE",
    "EVENTBRIDGE_SOURCE",
    "HIDDEN_BY_CLOUDTRAIL",
    "SESSION_API_NAMES",
    "SESSION_API_SOURCE",
    "SessionApiCall",
    "SessionApiName",
    "describe_failure",
    "parse_session_event",
    "require_eventbridge_envelope",
]

SESSION_API_SOURCE: Final = "ssm.amazonaws.com"
"""The CloudTrail ``eventSource`` of the Session Manager API."""

CLOUDTRAIL_DETAIL_TYPE: Final = "AWS API Call via CloudTrail"
"""The EventBridge ``detail-type`` of API calls that CloudTrail forwards."""

EVENTBRIDGE_SOURCE: Final = "aws.ssm"
"""The EventBridge ``source`` of the events CloudTrail forwards for ``ssm.amazonaws.com`` calls."""

SESSION_API_NAMES: Final[frozenset[str]] = frozenset({"StartSession", "ResumeSession", "TerminateSession"})

# Console-started sessions are called by the console's own Java SDK ("aws-internal/3 aws-sdk-java/...")
# or by a service on the caller's behalf (Fleet Manager: sourceIPAddress "ssm-guiconnect.amazonaws.com").
_AWS_SERVICE_HOST: Final = re.compile(r"^[a-z0-9][a-z0-9.-]*\.amazonaws\.com(\.cn)?$")
_MAX_ERROR_MESSAGE: Final = 300


class SessionApiCall(BaseModel):
    """One StartSession, ResumeSession or TerminateSession call, as CloudTrail recorded it.

    Built by :func:`parse_session_event`; the domain never sees the raw event. Session ids are opaque.

    Attributes
    ----------
    event_id
        CloudTrail ``eventID``; the idempotency key (EventBridge re-deliveries keep it).
    event_name
        ``StartSession``, ``ResumeSession`` or ``TerminateSession``.
    event_time
        When the call was made, aware and in UTC.
    event_version
        CloudTrail ``eventVersion`` (``1.05`` ... ``1.11``), if recorded.
    region
        Region of the call (``awsRegion``, else the envelope's ``region``).
    account
        Account the call was made in: ``recipientAccountId``, else the envelope's ``account``,
        else ``userIdentity.accountId``.
    principal
        The caller, from ``userIdentity``.
    source_ip
        ``sourceIPAddress``: an address, or an AWS service host name for calls made on the caller's behalf.
    user_agent
        ``userAgent``.
    console
        True when the call came from the AWS console: an ``aws-internal`` user agent, or a
        ``sourceIPAddress`` that is an AWS service (``*.amazonaws.com``, ``AWS Internal``).
    session_id
        StartSession: ``responseElements.sessionId`` (None when the call failed);
        ResumeSession/TerminateSession: ``requestParameters.sessionId``.
    target
        StartSession: ``requestParameters.target`` (``i-...``, ``mi-...``, ``ecs:...``); None otherwise.
    document
        ``requestParameters.documentName`` exactly as the caller gave it: a name, or a full document ARN
        (``arn:aws:ssm:REGION:ACCOUNT:document/NAME``; ``arn:aws:ssm:REGION::document/NAME`` for an
        AWS-provided one), never shortened, since a document of another account is not the document of
        the same name in this one. ``SSM-SessionManagerRunShell`` when none was given. ResumeSession and
        TerminateSession requests name no document: for them it is the default too, and means nothing.
    document_parameters
        ``requestParameters.parameters``; None when absent or hidden by CloudTrail (see
        ``parameters_hidden``). Caller-supplied: never log it (it is left out of ``repr``).
    parameters_hidden
        True when CloudTrail recorded ``requestParameters.parameters`` as ``HIDDEN_DUE_TO_SECURITY_REASONS``:
        the session has parameters, but what they are (the remote host included) is unknown.
    remote_host
        The ``host`` parameter (``parameters.host``, a list holding one name), the remote host of a
        port-forwarding session to a remote host (``AWS-StartPortForwardingSessionToRemoteHost`` or a
        copy of it), as a resolver reads it: a DNS name in lower case without a trailing dot, or an IP
        address in its canonical form. None when absent, hidden, not exactly one string, or not a plain
        host name or address (e.g. ``0x0a000001``): unknown, never a guess. Caller-supplied: left out of
        ``repr``.
    reason
        ``requestParameters.reason``.
    error_code
        ``errorCode`` of a failed call, e.g. ``TargetNotConnected`` or ``AccessDenied``.
    error_message
        ``errorMessage`` of a failed call.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    event_id: str
    event_name: SessionApiName
    event_time: Annotated[AwareDatetime, AfterValidator(to_utc)]
    event_version: str | None = None
    region: str
    account: str | None = None
    principal: Principal
    source_ip: str | None = None
    user_agent: str | None = None
    console: bool = False
    session_id: str | None = None
    target: str | None = None
    document: str
    document_parameters: dict[str, Any] | None = Field(default=None, repr=False)
    parameters_hidden: bool = False
    remote_host: str | None = Field(default=None, repr=False)
    reason: str | None = None
    error_code: str | None = None
    error_message: str | None = None

    @property
    def failed(self) -> bool:
        """True when the call failed (CloudTrail recorded an ``errorCode``): no session came of it."""
        return self.error_code is not None

    @property
    def is_start(self) -> bool:
        """True for StartSession and ResumeSession, the calls that (when they succeed) open a session."""
        return self.event_name in ("StartSession", "ResumeSession")


def parse_session_event(event: Mapping[str, Any]) -> SessionApiCall:
    """Parse a Session Manager API call from an EventBridge event or a bare CloudTrail record.

    Two input shapes are accepted:

    * the EventBridge envelope the Lambda functions receive (``{"version", "id", "detail-type":
      "AWS API Call via CloudTrail", "source": "aws.ssm", "account", "time", "region", "resources",
      "detail": {...}}``);
    * a bare CloudTrail record (``eventVersion``, ``eventSource``, ... at the top level), as copied
      from CloudTrail Event history or a trail's log file, handy for ``warden explain --event``.

    Fields that CloudTrail adds in later versions, or leaves out of older ones, are tolerated.

    Parameters
    ----------
    event
        The decoded JSON event.

    Returns
    -------
    SessionApiCall
        The call, successful or failed (see :attr:`SessionApiCall.failed`).

    Raises
    ------
    MalformedEvent
        The input is not an EventBridge event or CloudTrail record, a required field is missing or has
        the wrong type, or a successful call lacks its session id (StartSession also its target). The
        message names the field, e.g. ``detail.eventTime: not an ISO 8601 time: 'yesterday'``.
    UnsupportedEvent
        A well-formed event that is not ``ssm.amazonaws.com`` StartSession, ResumeSession or
        TerminateSession, e.g. ``not a Session Manager API call: athena.amazonaws.com TerminateSession``.
    """
    if not isinstance(event, Mapping):
        raise MalformedEvent("event", f"expected a JSON object, got {json_kind(event)}")

    envelope: Envelope | None = None
    if "detail" in event or "detail-type" in event:
        envelope = validate_shape(Envelope, event, prefix="")
        if envelope.detail_type is not None and envelope.detail_type != CLOUDTRAIL_DETAIL_TYPE:
            raise UnsupportedEvent(envelope.source or "(no source)", envelope.detail_type)
        record: Mapping[str, Any] = envelope.detail
        prefix = "detail."
    elif "eventSource" in event or "eventName" in event:
        record, prefix = event, ""
    else:
        raise MalformedEvent(
            "detail", "missing (neither an EventBridge event nor a CloudTrail record with eventSource)"
        )

    source = required_text(record, "eventSource", prefix)
    name = required_text(record, "eventName", prefix)
    if source != SESSION_API_SOURCE or name not in SESSION_API_NAMES:
        raise UnsupportedEvent(source, name)

    raw = validate_shape(Record, record, prefix)
    request = raw.request_parameters or RequestParameters()
    response = raw.response_elements or ResponseElements()
    failed = raw.error_code is not None

    if raw.event_name == "StartSession":
        session_id, target = response.session_id, request.target
        if not failed and session_id is None:
            raise MalformedEvent(f"{prefix}responseElements.sessionId", "missing on a successful StartSession")
        if not failed and target is None:
            raise MalformedEvent(f"{prefix}requestParameters.target", "missing on a successful StartSession")
    else:
        session_id, target = request.session_id or response.session_id, None
        if not failed and session_id is None:
            raise MalformedEvent(f"{prefix}requestParameters.sessionId", f"missing on a successful {raw.event_name}")

    region = raw.aws_region or (envelope.region if envelope else None)
    if not region:
        raise MalformedEvent(f"{prefix}awsRegion", "missing")

    identity_account = raw.user_identity.get("accountId")
    account = (
        raw.recipient_account_id
        or (envelope.account if envelope else None)
        or (identity_account if isinstance(identity_account, str) else None)
    )

    # Every userIdentity type parses: one the principal model does not know (a future type, or one
    # CloudTrail uses only for other calls) is an Unknown principal that only "*", "arn:" and "account:"
    # patterns can match, so the policy decides it as nobody in particular, never as someone it names.
    try:
        principal = principal_from_identity(raw.user_identity)
    except (ValueError, TypeError) as exc:
        raise MalformedEvent(f"{prefix}userIdentity", _one_line(str(exc))) from None
    parameters = request.parameters if isinstance(request.parameters, dict) else None

    return SessionApiCall(
        event_id=raw.event_id,
        event_name=raw.event_name,
        event_time=raw.event_time,
        event_version=raw.event_version,
        region=region,
        account=account,
        principal=principal,
        source_ip=raw.source_ip,
        user_agent=raw.user_agent,
        console=_from_console(raw.user_agent, raw.source_ip),
        session_id=session_id,
        target=target,
        document=_document(request.document_name),
        document_parameters=parameters,
        parameters_hidden=request.parameters == HIDDEN_BY_CLOUDTRAIL,
        remote_host=_remote_host(parameters),
        reason=request.reason,
        error_code=raw.error_code,
        error_message=raw.error_message,
    )


def require_eventbridge_envelope(event: object) -> None:
    """Check that an event is what EventBridge delivers for a CloudTrail-recorded Session Manager call.

    The handlers call this before :func:`parse_session_event` (which also takes bare records, for the
    command line). It is a check of shape, not of origin: the warden's rules match only ``source:
    aws.ssm``, and EventBridge refuses ``aws.*`` sources from PutEvents, so nobody can put such an
    event on a bus by hand; but whoever may call lambda:InvokeFunction can hand a function any JSON.
    What it stops is an event that could never have come from a rule: a bare CloudTrail record, a
    Lambda on-failure record replayed whole instead of its ``requestPayload``, or an event of another
    source, detail-type or service.

    Parameters
    ----------
    event
        The decoded JSON event, as the function received it.

    Raises
    ------
    MalformedEvent
        ``event`` is not a JSON object, or its ``detail`` is not one.
    UntrustedEvent
        ``source`` is not ``aws.ssm``, ``detail-type`` is not ``AWS API Call via CloudTrail``, or
        ``detail.eventSource`` is not ``ssm.amazonaws.com``; the message names the field and says why.
    """
    if not isinstance(event, Mapping):
        raise MalformedEvent("event", f"expected a JSON object, got {json_kind(event)}")
    expected: tuple[tuple[str, object, str], ...] = (
        ("source", event.get("source"), EVENTBRIDGE_SOURCE),
        ("detail-type", event.get("detail-type"), CLOUDTRAIL_DETAIL_TYPE),
    )
    for field, value, wanted in expected:
        if value is None:
            what = "a Lambda on-failure record: replay its requestPayload" if "requestPayload" in event else None
            raise UntrustedEvent(field, f"missing ({what or 'not an EventBridge event'})")
        if value != wanted:
            raise UntrustedEvent(field, f"expected {wanted!r}, got {_shown(value)}")
    detail = event.get("detail")
    if not isinstance(detail, Mapping):
        raise MalformedEvent(
            "detail", "missing" if detail is None else f"expected a JSON object, got {json_kind(detail)}"
        )
    source = detail.get("eventSource")
    if source != SESSION_API_SOURCE:
        reason = "missing" if source is None else f"expected {SESSION_API_SOURCE!r}, got {_shown(source)}"
        raise UntrustedEvent("detail.eventSource", reason)


def describe_failure(call: SessionApiCall) -> str:
    """Say in one line how a call failed, for logs, alerts and ``warden explain``.

    Parameters
    ----------
    call
        A parsed call.

    Returns
    -------
    str
        e.g. ``StartSession failed: TargetNotConnected (i-0abc is not connected.)``, or
        ``StartSession succeeded`` for a call that did not fail.
    """
    if call.error_code is None:
        return f"{call.event_name} succeeded"
    text = f"{call.event_name} failed: {call.error_code}"
    if call.error_message:
        text += f" ({_one_line(call.error_message)})"
    return text


def _document(name: str | None) -> str:
    # Exactly as given: shortening an ARN to its name would judge another account's document as ours.
    return name if name is not None and name.strip() else DEFAULT_DOCUMENT


def _remote_host(parameters: Mapping[str, Any] | None) -> str | None:
    # StartSession parameters are lists of strings; a host that is not exactly one string is unknown. This is
    # the host AWS-StartPortForwardingSessionToRemoteHost dials ({{ host }}); what another document dials is
    # read from its content (policy.session_target_from_content). Spelled as a resolver reads it.
    hosts = parameters.get("host") if parameters is not None else None
    if isinstance(hosts, list) and len(hosts) == 1 and isinstance(hosts[0], str):
        return canonical_host(hosts[0])
    return None


def _shown(value: object) -> str:
    # A caller-chosen envelope value, shown short and on one line.
    return repr(_one_line(value)[:80]) if isinstance(value, str) else json_kind(value)


def _from_console(user_agent: str | None, source_ip: str | None) -> bool:
    if user_agent is not None and "aws-internal" in user_agent:
        return True
    return source_ip is not None and (source_ip == "AWS Internal" or _AWS_SERVICE_HOST.match(source_ip) is not None)


def _one_line(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= _MAX_ERROR_MESSAGE else flat[: _MAX_ERROR_MESSAGE - 1] + "…"
