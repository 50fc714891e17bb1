"""The Session Manager APIs moto lacks (StartSession, ResumeSession, TerminateSession, DescribeSessions, ...)."""

from __future__ import annotations

import base64
import re
import secrets
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from .clock import EmulatedClock
from .cloudtrail import HIDDEN_TOKEN, RequestInfo, api_call_event
from .identity import Caller, IdentityResolver
from .session_model import (
    ACTIVE_STATUSES,
    ManagedNode,
    Session,
    SsmApiError,
    UnknownSessionError,
    managed_nodes_of,
    validation,
)
from .session_queries import describe_instance_information, describe_sessions, instance_information

__all__ = [
    "HANDLED_ACTIONS",
    "ManagedNode",
    "Session",
    "SessionApi",
    "SsmApiError",
    "UnknownSessionError",
    "managed_nodes_of",
]

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
SESSION_ID_ALPHABET = "abcdefghijklmnopqrstuvwxyz23456789"
EMITTING_ACTIONS = frozenset({"StartSession", "ResumeSession", "TerminateSession"})
HANDLED_ACTIONS = EMITTING_ACTIONS | {"DescribeSessions", "DescribeInstanceInformation"}
# SessionReason's pattern in the service model, ^.{1,256}$: Java's "." matches no line terminator.
_REASON = re.compile(r"[^\n\r\u0085\u2028\u2029]{1,256}")
# Statuses a test may put a session in (Terminated is end_session's, Terminating TerminateSession's).
SETTABLE_STATUSES = ("Connecting", "Connected", "Disconnected", "Failed")


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
        terminating_seconds: float = 0.0,
    ) -> None:
        self._account_id = account_id
        self.terminating_seconds = terminating_seconds
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
        now = self._clock.now()
        for session in sessions.values():
            session.catch_up(now)
        return sessions

    def find(self, session_id: str) -> Session | None:
        """The session with that id in this account and region, or None."""
        with self._lock:
            return self._sessions().get(session_id)

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
            "DescribeSessions": lambda params, _: (describe_sessions(self._sessions().values(), params), None),
            "DescribeInstanceInformation": lambda params, _: (
                describe_instance_information(self._instance_information(), params),
                None,
            ),
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
            raise validation("target", target, "Member must not be null")
        if len(target) > 400:
            raise validation("target", target, "Member must have length less than or equal to 400")
        reason = params.get("Reason")
        if reason is not None:
            if not isinstance(reason, str) or not 1 <= len(reason) <= 256:
                raise validation("reason", reason, "Member must have length less than or equal to 256")
            if not _REASON.fullmatch(reason):
                raise validation("reason", reason, "Member must satisfy regular expression pattern: ^.{1,256}$")
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
        if session is None or session.status not in ("Connected", "Connecting", "Disconnected"):
            raise SsmApiError("DoesNotExistException", f"Session with id {session_id} does not exist.")
        if session.owner.arn != caller.arn:
            raise SsmApiError(
                "AccessDeniedException",
                f"User: {caller.arn} is not authorized to perform: ssm:ResumeSession on resource: "
                f"arn:aws:ssm:{self._region}:{self._account_id}:session/{session_id}",
            )
        session.status = "Connected"  # a Disconnected session is Connected again once the client resumes it
        return self._connection(session_id)

    def _terminate_session(self, params: dict[str, Any], caller: Caller) -> tuple[dict[str, Any], dict[str, Any]]:
        session_id = _required_session_id(params)
        session = self._sessions().get(session_id)
        if session is not None and not session.active:
            # Seen from AWS for a session that already ended (exit, idle timeout, an earlier TerminateSession).
            raise SsmApiError("ValidationException", "Session is not in a valid state")
        if session is not None and session.status != "Terminating":
            # On AWS a terminated session stays Terminating in the Active list for a while.
            how = f"TerminateSession by {caller.arn}"
            if self.terminating_seconds > 0:
                session.status = "Terminating"
                session.end = self._clock.now()
                session.leaves_at_wall = time.monotonic() + self.terminating_seconds
                session.leaves_at = session.end + timedelta(seconds=self.terminating_seconds)
                session.history.append(how)
            else:
                self._close(session, how=how)
        # An id SSM never issued is answered with success: TerminateSession does not check it exists.
        return {"SessionId": session_id}, {"sessionId": session_id}

    def end_session(self, session_id: str) -> Session:
        """End a session the way ``exit``, an idle timeout or the maximum duration does: no API call, no event."""
        with self._lock:
            session = self._sessions().get(session_id)
            if session is None:
                raise UnknownSessionError(session_id)
            if session.status in ACTIVE_STATUSES and session.status != "Terminating":
                self._close(session, how="ended by the client (exit or idle timeout)")
            elif session.status == "Terminating":
                session.status = "Terminated"
            return session

    def set_status(self, session_id: str, status: str) -> Session:
        """Put a session in ``status`` as the agent or client would (a dropped connection is ``Disconnected``)."""
        if status not in SETTABLE_STATUSES:
            raise ValueError(f"invalid session status {status!r}: expected one of {', '.join(SETTABLE_STATUSES)}")
        with self._lock:
            session = self._sessions().get(session_id)
            if session is None:
                raise UnknownSessionError(session_id)
            if not session.active or session.status == "Terminating":
                raise ValueError(f"session {session_id} is {session.status}: it can no longer change status")
            if status == "Failed":
                self._close(session, how="failed", status="Failed")
            else:
                session.status = status
                session.history.append(status)
            return session

    def _close(self, session: Session, *, how: str, status: str = "Terminated") -> None:
        session.end = self._clock.now()
        session.status = status
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

    def _instance_information(self) -> list[tuple[dict[str, Any], dict[str, str]]]:
        tags = self._backend()._resource_tags["ManagedInstance"]
        return instance_information(
            self._ec2_instances(),
            self.managed_nodes().values(),
            lambda node_id: dict(tags.get(node_id, {})),
            region=self._region,
            now=self._clock.now().timestamp(),
        )

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
        raise validation("sessionId", session_id, "Member must not be null")
    if len(session_id) > 96:
        raise validation("sessionId", session_id, "Member must have length less than or equal to 96")
    return session_id
