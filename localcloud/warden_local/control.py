"""The ``/_warden`` control API's answers (``warden local``, the CLI tests): plain data, no HTTP.

Errors are Python's: ValueError or TypeError for a bad request, LookupError for something that does not exist,
TimeoutError (:class:`SettleTimeout`) for a cloud that did not settle; the server maps them to HTTP statuses.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Protocol

from warden.timefmt import iso_z

from .accounts import LocalOrganization
from .clock import EmulatedClock
from .faults import Faults
from .identity import Credentials
from .invocations import Invocation
from .sessions import SessionApi


class Controlled(Protocol):
    """What the control API drives."""

    clock: EmulatedClock
    faults: Faults
    sessions: SessionApi
    region: str
    stack_name: str
    org: LocalOrganization | None

    @property
    def endpoint(self) -> str: ...

    @property
    def invocations(self) -> list[Invocation]: ...

    def advance(self, duration: timedelta | str) -> int: ...

    def settle(self, timeout: float = 30) -> None: ...

    def user_credentials(self, user_name: str) -> Credentials: ...

    def sso_credentials(self, user_name: str, *, permission_set: str) -> Credentials: ...


class ControlApi:
    def __init__(self, cloud: Controlled) -> None:
        self._cloud = cloud

    def handle(self, method: str, route: str, body: dict[str, Any]) -> dict[str, Any]:
        cloud = self._cloud
        if (method, route) == ("GET", "clock"):
            return {"now": iso_z(cloud.clock.now()), "frozen": cloud.clock.frozen}
        if (method, route) == ("GET", "health"):
            return {"ok": True, "endpoint": cloud.endpoint, "region": cloud.region, "stack": cloud.stack_name}
        if (method, route) == ("POST", "advance"):
            return self._advance(body.get("duration"))
        if (method, route) == ("POST", "end-session") and body.get("account") is not None:
            return self._end_member_session(body)
        if (method, route) == ("POST", "end-session"):
            return self._end_session(body.get("session_id"))
        if (method, route) == ("POST", "session-status"):
            return self._session_status(body.get("session_id"), body.get("status"))
        if (method, route) == ("POST", "settle"):
            try:
                timeout = float(body.get("timeout", 30))
            except (TypeError, ValueError):
                raise ValueError("timeout must be a number of seconds") from None
            cloud.settle(timeout)
            return {"settled": True}
        if (method, route) == ("POST", "faults"):
            return cloud.faults.apply(body)
        if (method, route) == ("POST", "identity"):
            return self._identity(body)
        if (method, route) == ("GET", "invocations"):
            return {"invocations": [_invocation(record) for record in cloud.invocations]}
        raise LookupError(f"no such control endpoint: {method} /_warden/{route}")

    def _advance(self, duration: Any) -> dict[str, Any]:
        if not isinstance(duration, str):
            raise ValueError('expected {"duration": "10m"}')
        fired = self._cloud.advance(duration)
        return {"now": iso_z(self._cloud.clock.now()), "fired": fired}

    def _identity(self, body: dict[str, Any]) -> dict[str, Any]:
        kind, name, account = body.get("kind"), body.get("name"), body.get("account")
        if not isinstance(name, str) or not name:
            raise ValueError('expected {"kind": "user" | "sso", "name": "...", "permission_set": "..."}')
        if account is not None:
            # A user of an account of the emulated organization (`warden local up --org`).
            if self._cloud.org is None:
                raise ValueError("an account was named, but the local cloud emulates no organization (--org)")
            if kind != "user":
                raise ValueError('only {"kind": "user"} may name an account')
            return self._cloud.org.account(str(account)).user_credentials(name).env()
        if kind == "user":
            credentials = self._cloud.user_credentials(name)
        elif kind == "sso":
            permission_set = body.get("permission_set")
            if not isinstance(permission_set, str) or not permission_set:
                raise ValueError('an Identity Center user needs {"permission_set": "..."}')
            credentials = self._cloud.sso_credentials(name, permission_set=permission_set)
        else:
            raise ValueError(f'unknown identity kind {kind!r}: expected "user" or "sso"')
        return credentials.env()

    def _end_session(self, session_id: Any) -> dict[str, Any]:
        if not isinstance(session_id, str) or not session_id:
            raise ValueError('expected {"session_id": "..."}')
        try:
            session = self._cloud.sessions.end_session(session_id)
        except KeyError:
            raise LookupError(f"no session {session_id} in the local cloud") from None
        return {"session_id": session.session_id, "status": session.status, "end": _end(session.end, self._cloud)}

    def _end_member_session(self, body: dict[str, Any]) -> dict[str, Any]:
        session_id, account, region = body.get("session_id"), str(body.get("account")), body.get("region")
        if not isinstance(session_id, str) or not session_id or not isinstance(region, str) or not region:
            raise ValueError('expected {"session_id": "...", "account": "...", "region": "..."}')
        if self._cloud.org is None:
            raise ValueError("an account was named, but the local cloud emulates no organization (--org)")
        view = self._cloud.org.account(account)
        view.end_session(session_id, region=region)
        session = view.session(session_id, region=region)
        return {"session_id": session.session_id, "status": session.status, "end": _end(session.end, self._cloud)}

    def _session_status(self, session_id: Any, status: Any) -> dict[str, Any]:
        if not isinstance(session_id, str) or not isinstance(status, str):
            raise ValueError('expected {"session_id": "...", "status": "Disconnected"}')
        try:
            session = self._cloud.sessions.set_status(session_id, status)
        except KeyError:
            raise LookupError(f"no session {session_id} in the local cloud") from None
        return {"session_id": session.session_id, "status": session.status}


def _end(end: datetime | None, cloud: Controlled) -> str:
    return iso_z(end or cloud.clock.now())


def _invocation(record: Invocation) -> dict[str, Any]:
    return {
        "function_name": record.function_name,
        "request_id": record.request_id,
        "attempt": record.attempt,
        "event_id": record.event_id,
        "envelope_id": record.envelope_id,
        "detail_type": record.detail_type,
        "outcome": record.outcome,
        "error": record.error,
        "error_type": record.error_type,
        "at": iso_z(record.at),
        "logs": list(record.logs),
    }
