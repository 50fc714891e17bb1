"""Session Manager sessions through DescribeSessions and TerminateSession."""

from __future__ import annotations

from datetime import UTC
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from warden.adapters.aws import aws_call, error_code
from warden.errors import SessionAlreadyEnded
from warden.records import LiveSession

if TYPE_CHECKING:
    from mypy_boto3_ssm import SSMClient

# TerminateSession has been seen to answer ValidationException for a session that already ended (and
# success for a dead one): both are confirmed through DescribeSessions by the caller.
_ENDED_ERRORS = {"ValidationException", "DoesNotExistException", "InvalidSessionId"}


class SsmSessions:
    def __init__(self, ssm: SSMClient) -> None:
        self._ssm = ssm

    def active(self, *, target: str | None = None, owner: str | None = None) -> list[LiveSession]:
        filters = [{"key": key, "value": value} for key, value in (("Target", target), ("Owner", owner)) if value]
        return self._describe("Active", filters=filters)

    def find(self, session_id: str) -> LiveSession | None:
        for state in ("Active", "History"):
            found = self._describe(state, session_id=session_id)
            if found:
                return found[0]
        return None

    def history(self, session_id: str) -> LiveSession | None:
        found = self._describe("History", session_id=session_id)
        return found[0] if found else None

    def is_active(self, session_id: str) -> bool:
        return bool(self._describe("Active", session_id=session_id))

    def status(self, session_id: str) -> str | None:
        found = self._describe("Active", session_id=session_id)
        return (found[0].status or "Connected") if found else None

    def terminate(self, session_id: str) -> None:
        with aws_call("TerminateSession"):
            try:
                self._ssm.terminate_session(SessionId=session_id)
            except ClientError as error:
                if error_code(error) in _ENDED_ERRORS:
                    raise SessionAlreadyEnded(session_id) from error
                raise

    def _describe(
        self, state: str, *, session_id: str | None = None, filters: list[dict[str, str]] | None = None
    ) -> list[LiveSession]:
        request: dict[str, Any] = {"State": state, "MaxResults": 200}
        if session_id:
            request["Filters"] = [{"key": "SessionId", "value": session_id}]
        elif filters:
            request["Filters"] = filters
        sessions: list[LiveSession] = []
        while True:
            with aws_call("DescribeSessions"):
                page = self._ssm.describe_sessions(**request)
            sessions.extend(_live(item) for item in page.get("Sessions", []) if item.get("SessionId"))
            token = page.get("NextToken")
            if not token:
                return sessions
            request["NextToken"] = token


def _live(item: Any) -> LiveSession:
    return LiveSession(
        session_id=item["SessionId"],
        target=item.get("Target", ""),
        owner=item.get("Owner", ""),
        started_at=item["StartDate"].astimezone(UTC),
        document=item.get("DocumentName"),
        reason=item.get("Reason"),
        status=item.get("Status"),
        ended_at=item["EndDate"].astimezone(UTC) if item.get("EndDate") else None,
    )
