"""The Session Manager APIs moto lacks (StartSession, ResumeSession, TerminateSession, DescribeSessions, ...)."""

from __future__ import annotations

import base64
import json
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .clock import EmulatedClock, parse_instant
from .cloudtrail import HIDDEN_TOKEN, RequestInfo, api_call_event
from .identity import Caller, IdentityResolver

DEFAULT_DOCUMENT = "SSM-SessionManagerRunShell"
# The AWS-owned Session documents; CreateDocument(DocumentType=Session) adds custom ones.
SESSION_DOCUMENTS = frozenset(
    {
        "SSM-SessionManagerRunShell",
        "AWS-StartPortForwardingSession",
        "AWS-StartPortForwardingSessionToRemoteHost",
        "AWS-StartSSHSession",
        "AWS-StartInteractiveCommand",
        "AWS-StartNonInteractiveCommand",
    }
)
# AWS documents no default page size; a small one keeps a caller that forgets NextToken from passing by luck.
DEFAULT_PAGE_SIZE = 20
SESSION_ID_ALPHABET = "abcdefghijklmnopqrstuvwxyz23456789"
EMITTING_ACTIONS = frozenset({"StartSession", "ResumeSession", "TerminateSession"})
HANDLED_ACTIONS = EMITTING_ACTIONS | {"DescribeSessions", "DescribeInstanceInformation"}
_FILTER_KEYS = ("InvokedAfter", "InvokedBefore", "Target", "Owner", "Status", "SessionId", "AccessType")


class SsmApiError(Exception):
    """An AWS error answer: ``{"__type": code, "message": message}`` with an HTTP status."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


class UnknownSessionError(KeyError):
    """No session with that id exists in the local cloud."""


@dataclass
class Session:
    """One Session Manager session as DescribeSessions reports it."""

    session_id: str
    target: str
    document_name: str
    owner: Caller
    start: datetime
    reason: str | None = None
    parameters: dict[str, list[str]] | None = None
    status: str = "Connected"
    end: datetime | None = None
    history: list[str] = field(default_factory=list)

    @property
    def active(self) -> bool:
        return self.end is None

    def describe(self) -> dict[str, Any]:
        item: dict[str, Any] = {
            "SessionId": self.session_id,
            "Target": self.target,
            "Status": self.status,
            "StartDate": self.start.timestamp(),
            "DocumentName": self.document_name,
            "Owner": self.owner.arn,
        }
        if self.end is not None:
            item["EndDate"] = self.end.timestamp()
        if self.reason:
            item["Reason"] = self.reason
        return item


@dataclass
class ManagedNode:
    """A hybrid node registered with Systems Manager (``mi-...``)."""

    node_id: str
    name: str
    registered: datetime
    ip_address: str
    activation_id: str
    iam_role: str = "SSMServiceRole"
    platform_name: str = "Ubuntu"
    platform_version: str = "24.04"


class SessionApi:
    """Serves the session APIs from state kept on moto's SSM backend, so a moto reset clears it."""

    def __init__(
        self,
        *,
        account_id: str,
        region: str,
        clock: EmulatedClock,
        identities: IdentityResolver,
        emit: Callable[[dict[str, Any]], None],
    ) -> None:
        self._account_id = account_id
        self._region = region
        self._clock = clock
        self._identities = identities
        self._emit = emit
        self._lock = threading.RLock()

    # -- state on the moto backend ----------------------------------------------------------------------

    def _backend(self) -> Any:
        from moto.ssm.models import ssm_backends

        return ssm_backends[self._account_id][self._region]

    def _sessions(self) -> dict[str, Session]:
        backend = self._backend()
        sessions: dict[str, Session] | None = getattr(backend, "_warden_sessions", None)
        if sessions is None:
            sessions = {}
            backend._warden_sessions = sessions
        return sessions

    def managed_nodes(self) -> dict[str, ManagedNode]:
        return managed_nodes_of(self._backend())

    # -- the HTTP entry point ----------------------------------------------------------------------------

    def handle(self, action: str, params: dict[str, Any], request: RequestInfo) -> dict[str, Any]:
        """Answer one call; StartSession, ResumeSession and TerminateSession also emit their CloudTrail event."""
        caller = self._identities.resolve(request.access_key_id)
        operation: Callable[[dict[str, Any], Caller], tuple[dict[str, Any], dict[str, Any] | None]] = {
            "StartSession": self._start_session,
            "ResumeSession": self._resume_session,
            "TerminateSession": self._terminate_session,
            "DescribeSessions": self._describe_sessions,
            "DescribeInstanceInformation": self._describe_instance_information,
        }[action]
        with self._lock:
            try:
                response, response_elements = operation(params, caller)
            except SsmApiError as error:
                self.record_failure(action, params, request, error.code, error.message, caller=caller)
                raise
            if action in EMITTING_ACTIONS:
                self._emit(self._event(action, params, request, caller, response_elements=response_elements))
        return response

    def record_failure(
        self,
        action: str,
        params: dict[str, Any],
        request: RequestInfo,
        code: str,
        message: str,
        *,
        caller: Caller | None = None,
    ) -> None:
        """A failed call of an emitting API still reaches CloudTrail, with ``errorCode`` and no response."""
        if action not in EMITTING_ACTIONS:
            return
        caller = caller or self._identities.resolve(request.access_key_id)
        self._emit(self._event(action, params, request, caller, error_code=code, error_message=message))

    def _event(
        self,
        action: str,
        params: dict[str, Any],
        request: RequestInfo,
        caller: Caller,
        *,
        response_elements: dict[str, Any] | None = None,
        error_code: str | None = None,
        error_message: str | None = None,
    ) -> dict[str, Any]:
        return api_call_event(
            event_name=action,
            caller=caller,
            request=request,
            region=self._region,
            account_id=self._account_id,
            when=self._clock.now(),
            request_parameters=_request_parameters(action, params),
            response_elements=response_elements,
            error_code=error_code,
            error_message=error_message,
        )

    # -- StartSession / ResumeSession / TerminateSession -------------------------------------------------

    def _start_session(self, params: dict[str, Any], caller: Caller) -> tuple[dict[str, Any], dict[str, Any]]:
        target = params.get("Target")
        if not isinstance(target, str) or not target:
            raise _validation("target", target, "Member must not be null")
        if len(target) > 400:
            raise _validation("target", target, "Member must have length less than or equal to 400")
        reason = params.get("Reason")
        if reason is not None and not 1 <= len(str(reason)) <= 256:
            raise _validation("reason", reason, "Member must have length less than or equal to 256")
        if not self._target_connected(target):
            raise SsmApiError("TargetNotConnected", f"{target} is not connected.")
        document = self._session_document(params.get("DocumentName"))
        session_id = f"{caller.name}-{''.join(secrets.choice(SESSION_ID_ALPHABET) for _ in range(26))}"
        session = Session(
            session_id=session_id,
            target=target,
            document_name=document,
            owner=caller,
            start=self._clock.now(),
            reason=reason,
            parameters=params.get("Parameters"),
        )
        self._sessions()[session_id] = session
        return self._connection(session_id)

    def _resume_session(self, params: dict[str, Any], caller: Caller) -> tuple[dict[str, Any], dict[str, Any]]:
        session_id = _required_session_id(params)
        session = self._sessions().get(session_id)
        if session is None or not session.active:
            raise SsmApiError("DoesNotExistException", f"Session with id {session_id} does not exist.")
        if session.owner.arn != caller.arn:
            raise SsmApiError(
                "AccessDeniedException",
                f"User: {caller.arn} is not authorized to perform: ssm:ResumeSession on resource: "
                f"arn:aws:ssm:{self._region}:{self._account_id}:session/{session_id}",
            )
        return self._connection(session_id)

    def _terminate_session(self, params: dict[str, Any], caller: Caller) -> tuple[dict[str, Any], dict[str, Any]]:
        session_id = _required_session_id(params)
        session = self._sessions().get(session_id)
        if session is not None and not session.active:
            # Seen from AWS for a session that already ended (exit, idle timeout, an earlier TerminateSession).
            raise SsmApiError("ValidationException", "Session is not in a valid state")
        if session is not None:
            self._close(session, how=f"TerminateSession by {caller.arn}")
        # An id SSM never issued is answered with success: TerminateSession does not check it exists.
        return {"SessionId": session_id}, {"sessionId": session_id}

    def end_session(self, session_id: str) -> Session:
        """End a session the way ``exit``, an idle timeout or the maximum duration does: no API call, no event."""
        with self._lock:
            session = self._sessions().get(session_id)
            if session is None:
                raise UnknownSessionError(session_id)
            if session.active:
                self._close(session, how="ended by the client (exit or idle timeout)")
            return session

    def _close(self, session: Session, *, how: str) -> None:
        session.end = self._clock.now()
        session.status = "Terminated"
        session.history.append(how)

    def _connection(self, session_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
        token = base64.b64encode(secrets.token_bytes(150)).decode()
        cell = base64.b64encode(b"\x00\x01\x00\x01" + secrets.token_bytes(20)).decode()
        stream_url = (
            f"wss://ssmmessages.{self._region}.amazonaws.com/v1/data-channel/{session_id}"
            f"?role=publish_subscribe&cell-number={cell}"
        )
        response = {"SessionId": session_id, "TokenValue": token, "StreamUrl": stream_url}
        return response, {"sessionId": session_id, "tokenValue": HIDDEN_TOKEN, "streamUrl": stream_url}

    def _target_connected(self, target: str) -> bool:
        if target.startswith("mi-"):
            return target in self.managed_nodes()
        if not target.startswith("i-"):
            return False
        return any(instance.id == target and instance.state == "running" for instance in self._ec2_instances())

    def _ec2_instances(self) -> list[Any]:
        from moto.ec2.models import ec2_backends

        return list(ec2_backends[self._account_id][self._region].all_instances())

    def _session_document(self, requested: Any) -> str:
        if requested is None:
            return DEFAULT_DOCUMENT
        name = str(requested)
        if name.startswith("arn:"):
            # arn:aws:ssm:<region>:<account or empty for AWS-owned>:document/<name>
            name = name.split(":document/", 1)[-1] if ":document/" in name else ""
        if name in SESSION_DOCUMENTS:
            return name
        documents = getattr(self._backend(), "_documents", {})
        if name not in documents:
            raise SsmApiError("InvalidDocument", f"Document with name {name or requested} does not exist.")
        if documents[name].get_default_version().document_type != "Session":
            raise SsmApiError("InvalidDocument", f"Document type for {name} is not Session.")
        return name

    # -- DescribeSessions ----------------------------------------------------------------------------

    def _describe_sessions(self, params: dict[str, Any], caller: Caller) -> tuple[dict[str, Any], None]:
        state = params.get("State")
        if state not in ("Active", "History"):
            raise _validation("state", state, "Member must satisfy enum value set: [Active, History]")
        page_size = _page_size(params.get("MaxResults"), low=1, high=200, default=DEFAULT_PAGE_SIZE)
        predicates = [_session_filter(item) for item in params.get("Filters") or []]
        sessions = [
            session
            for session in self._sessions().values()
            if session.active == (state == "Active") and all(predicate(session) for predicate in predicates)
        ]
        sessions.sort(key=lambda session: session.start, reverse=True)  # newest first, like the console
        start = _decode_token(params.get("NextToken"), f"DescribeSessions/{state}")
        page = sessions[start : start + page_size]
        response: dict[str, Any] = {"Sessions": [session.describe() for session in page]}
        if start + page_size < len(sessions):
            response["NextToken"] = _encode_token(start + page_size, f"DescribeSessions/{state}")
        return response, None

    # -- DescribeInstanceInformation -----------------------------------------------------------------

    def _describe_instance_information(self, params: dict[str, Any], caller: Caller) -> tuple[dict[str, Any], None]:
        page_size = _page_size(params.get("MaxResults"), low=5, high=50, default=50)
        filters: list[tuple[str, list[str]]] = [
            (str(item.get("key")), [str(value) for value in item.get("valueSet") or []])
            for item in params.get("InstanceInformationFilterList") or []
        ]
        filters += [
            (str(item.get("Key")), [str(value) for value in item.get("Values") or []])
            for item in params.get("Filters") or []
        ]
        items = [item for item in self._instance_information() if all(_info_matches(item, k, v) for k, v in filters)]
        start = _decode_token(params.get("NextToken"), "DescribeInstanceInformation")
        page = items[start : start + page_size]
        response: dict[str, Any] = {"InstanceInformationList": [info for info, _ in page]}
        if start + page_size < len(items):
            response["NextToken"] = _encode_token(start + page_size, "DescribeInstanceInformation")
        return response, None

    def _instance_information(self) -> list[tuple[dict[str, Any], dict[str, str]]]:
        now = self._clock.now().timestamp()
        items: list[tuple[dict[str, Any], dict[str, str]]] = []
        for instance in self._ec2_instances():
            if instance.state != "running":
                continue
            tags = {tag["key"]: tag["value"] for tag in instance.get_tags()}
            ip = str(instance.private_ip or "10.0.0.10")
            info = {
                "InstanceId": instance.id,
                "PingStatus": "Online",
                "LastPingDateTime": now,
                "AgentVersion": "3.3.1142.0",
                "IsLatestVersion": True,
                "PlatformType": "Linux",
                "PlatformName": "Amazon Linux",
                "PlatformVersion": "2023",
                "ResourceType": "EC2Instance",
                "IPAddress": ip,
                "ComputerName": f"ip-{ip.replace('.', '-')}.{self._region}.compute.internal",
                "SourceId": instance.id,
                "SourceType": "AWS::EC2::Instance",
            }
            items.append((info, tags))
        backend = self._backend()
        for node in self.managed_nodes().values():
            tags = dict(backend._resource_tags["ManagedInstance"].get(node.node_id, {}))
            info = {
                "InstanceId": node.node_id,
                "PingStatus": "Online",
                "LastPingDateTime": now,
                "AgentVersion": "3.3.1142.0",
                "IsLatestVersion": True,
                "PlatformType": "Linux",
                "PlatformName": node.platform_name,
                "PlatformVersion": node.platform_version,
                "ActivationId": node.activation_id,
                "IamRole": node.iam_role,
                "RegistrationDate": node.registered.timestamp(),
                "ResourceType": "ManagedInstance",
                "Name": node.name,
                "IPAddress": node.ip_address,
                "ComputerName": node.name,
                "SourceId": node.node_id,
                "SourceType": "AWS::SSM::ManagedInstance",
            }
            items.append((info, tags))
        return items


def managed_nodes_of(backend: Any) -> dict[str, ManagedNode]:
    """The managed-node registry kept on an SSM backend (created on first use)."""
    nodes: dict[str, ManagedNode] | None = getattr(backend, "_warden_managed_nodes", None)
    if nodes is None:
        nodes = {}
        backend._warden_managed_nodes = nodes
    return nodes


def _request_parameters(action: str, params: dict[str, Any]) -> dict[str, Any]:
    if action == "StartSession":
        parameters: dict[str, Any] = {"target": params.get("Target")}
        for key, name in (("DocumentName", "documentName"), ("Reason", "reason"), ("Parameters", "parameters")):
            if params.get(key) is not None:
                parameters[name] = params[key]
        return parameters
    return {"sessionId": params.get("SessionId")}


def _required_session_id(params: dict[str, Any]) -> str:
    session_id = params.get("SessionId")
    if not isinstance(session_id, str) or not session_id:
        raise _validation("sessionId", session_id, "Member must not be null")
    if len(session_id) > 96:
        raise _validation("sessionId", session_id, "Member must have length less than or equal to 96")
    return session_id


def _validation(member: str, value: Any, constraint: str) -> SsmApiError:
    return SsmApiError(
        "ValidationException",
        f"1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint: {constraint}",
    )


def _page_size(raw: Any, *, low: int, high: int, default: int) -> int:
    if raw is None:
        return default
    try:
        size = int(raw)
    except (TypeError, ValueError):
        raise _validation("maxResults", raw, "Member must be a number") from None
    if size < low:
        raise _validation("maxResults", size, f"Member must have value greater than or equal to {low}")
    if size > high:
        raise _validation("maxResults", size, f"Member must have value less than or equal to {high}")
    return size


def _encode_token(offset: int, scope: str) -> str:
    return base64.urlsafe_b64encode(json.dumps({"o": offset, "s": scope}).encode()).decode()


def _decode_token(token: Any, scope: str) -> int:
    if token is None:
        return 0
    try:
        data = json.loads(base64.urlsafe_b64decode(str(token).encode()))
        if data["s"] != scope:
            raise ValueError(scope)
        return int(data["o"])
    except (ValueError, KeyError, TypeError):
        raise SsmApiError("InvalidNextToken", "The specified token is not valid.") from None


def _session_filter(item: dict[str, Any]) -> Callable[[Session], bool]:
    key, value = item.get("key"), item.get("value")
    if key not in _FILTER_KEYS:
        raise SsmApiError("InvalidFilterKey", f"The specified filter key {key} is not valid.")
    if not isinstance(value, str) or not value:
        raise _validation("filters.member.value", value, "Member must have length greater than or equal to 1")
    if key in ("InvokedAfter", "InvokedBefore"):
        try:
            moment = parse_instant(value)
        except ValueError:
            raise SsmApiError("ValidationException", f"Invalid {key} filter value {value}.") from None
        if key == "InvokedAfter":
            return lambda session: session.start >= moment
        return lambda session: session.start < moment
    if key == "Target":
        return lambda session: session.target == value
    if key == "Owner":
        return lambda session: value in (session.owner.arn, session.owner.name)
    if key == "Status":
        return lambda session: session.status == value
    if key == "SessionId":
        return lambda session: session.session_id == value
    return lambda session: value == "Standard"  # AccessType: just-in-time node access is not emulated


def _info_matches(item: tuple[dict[str, Any], dict[str, str]], key: str, values: list[str]) -> bool:
    info, tags = item
    if key.startswith("tag:"):
        return tags.get(key[4:]) in values
    if key == "tag-key":
        return any(value in tags for value in values)
    field_of = {
        "InstanceIds": "InstanceId",
        "PingStatus": "PingStatus",
        "ResourceType": "ResourceType",
        "PlatformTypes": "PlatformType",
        "AgentVersion": "AgentVersion",
        "IamRole": "IamRole",
        "ActivationIds": "ActivationId",
    }
    if key not in field_of:
        raise SsmApiError("InvalidFilterKey", f"The specified filter key {key} is not valid.")
    return str(info.get(field_of[key])) in values
