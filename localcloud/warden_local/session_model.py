"""What the session APIs keep and answer: sessions, managed nodes, their statuses, and SSM's error shape."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .identity import Caller

# DescribeSessions' SessionStatus enum (botocore's service model); the first four are listed under State=Active.
ACTIVE_STATUSES = ("Connected", "Connecting", "Disconnected", "Terminating")
HISTORY_STATUSES = ("Terminated", "Failed")
SESSION_STATUSES = ("Connected", "Connecting", "Disconnected", "Terminated", "Terminating", "Failed")


class SsmApiError(Exception):
    """An AWS error answer: ``{"__type": code, "message": message}`` (HTTP 400 unless said otherwise)."""

    def __init__(self, code: str, message: str, *, server_fault: bool = False) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.server_fault = server_fault


class UnknownSessionError(KeyError):
    """No session with that id exists in the local cloud."""


def validation(member: str, value: Any, constraint: str) -> SsmApiError:
    """A ``ValidationException`` worded the way AWS's request validation words it."""
    return SsmApiError(
        "ValidationException",
        f"1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint: {constraint}",
    )


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
    # While Terminating: when it moves to History (wall time on the monotonic clock, or emulated time).
    leaves_at_wall: float | None = None
    leaves_at: datetime | None = None

    @property
    def active(self) -> bool:
        return self.status in ACTIVE_STATUSES

    def catch_up(self, now: datetime) -> None:
        """A Terminating session whose window has passed (in wall or emulated time) is Terminated now."""
        if self.status != "Terminating":
            return
        if (self.leaves_at_wall is not None and time.monotonic() >= self.leaves_at_wall) or (
            self.leaves_at is not None and now >= self.leaves_at
        ):
            self.status = "Terminated"
            self.history.append("left Terminating")

    def describe(self) -> dict[str, Any]:
        item: dict[str, Any] = {
            "SessionId": self.session_id,
            "Target": self.target,
            "Status": self.status,
            "StartDate": self.start.timestamp(),
            "DocumentName": self.document_name,
            "Owner": self.owner.arn,
        }
        if self.end is not None and not self.active:
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


def managed_nodes_of(backend: Any) -> dict[str, ManagedNode]:
    """The managed-node registry kept on an SSM backend (created on first use)."""
    nodes: dict[str, ManagedNode] | None = getattr(backend, "_warden_managed_nodes", None)
    if nodes is None:
        nodes = {}
        backend._warden_managed_nodes = nodes
    return nodes
