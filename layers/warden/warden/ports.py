"""The ports the service talks through; adapters implement them with AWS, tests with in-memory fakes."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol

from warden.policy import Grant, Policy


class Clock(Protocol):
    """Where "now" comes from: real time in Lambda, the emulated clock in the local cloud and tests."""

    def now(self) -> datetime: ...


@dataclass(frozen=True)
class TargetInfo:
    """A session target and its tags as they are now."""

    target: str
    tags: Mapping[str, str]
    exists: bool = True

    @property
    def name(self) -> str | None:
        return self.tags.get("Name")


class TargetTags(Protocol):
    def lookup(self, targets: Iterable[str]) -> dict[str, TargetInfo]:
        """Tags of each target, batched; a target that no longer exists (or an ``ecs:`` target) has empty tags."""
        ...


class PolicySource(Protocol):
    def current(self) -> Policy:
        """The policy in force; an invalid stored document keeps the last valid one (and alerts once)."""
        ...


class GrantStore(Protocol):
    def active(self, now: datetime) -> list[Grant]:
        """Grants not revoked whose ``expires_at`` is after *now* (including ones that start later)."""
        ...

    def due_for_expiry(self, now: datetime) -> list[Grant]:
        """Grants still marked active whose ``expires_at`` is at or before *now*."""
        ...

    def get(self, grant_id: str) -> Grant | None: ...

    def mark_expired(self, grant: Grant, now: datetime) -> bool:
        """Mark a grant expired; True only for the one caller that made the change."""
        ...

    def unmark_expired(self, grant: Grant) -> None:
        """Undo :meth:`mark_expired` (its alert could not be sent, so the next sweep sends it)."""
        ...


LedgerStatus = Literal["open", "ended", "failed-call"]


@dataclass
class LedgerEntry:
    """One row per session (and one per failed StartSession call)."""

    session_id: str
    status: LedgerStatus = "open"
    principal_arn: str | None = None
    principal: str | None = None
    identity: dict[str, Any] = field(default_factory=dict)
    target: str | None = None
    target_name: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    document: str | None = None
    reason: str | None = None
    started_at: datetime | None = None
    decision: Literal["allow", "deny"] | None = None
    basis: str | None = None
    rule: str | None = None
    grant: str | None = None
    deadline: datetime | None = None
    why: list[str] = field(default_factory=list)
    mode: str | None = None
    action: str | None = None
    adopted: bool = False
    decided_at: datetime | None = None
    ended_at: datetime | None = None
    ended_by: str | None = None
    end_reason: str | None = None
    duration_seconds: int | None = None
    event_id: str | None = None
    error_code: str | None = None
    error_message: str | None = None


class Ledger(Protocol):
    def get(self, session_id: str) -> LedgerEntry | None: ...

    def record_start(self, entry: LedgerEntry) -> LedgerEntry:
        """Write the start of a session; a row already closed by an earlier end event stays closed."""
        ...

    def record_failed_call(self, entry: LedgerEntry) -> None: ...

    def update_decision(self, entry: LedgerEntry) -> None:
        """Store a re-decision (deadline, rule or grant) of an open session."""
        ...

    def claim(self, session_id: str, marker: str) -> bool:
        """Set a one-time marker on a row (e.g. ``terminated``); True only for the caller that set it first."""
        ...

    def release(self, session_id: str, marker: str) -> None:
        """Remove a marker set by :meth:`claim` (the alert it guarded could not be sent)."""
        ...

    def record_terminated(self, entry: LedgerEntry, *, ended_at: datetime, reason: str, marker: str) -> bool:
        """Write decision and end in one update; True if *marker* was set now (so the caller alerts once)."""
        ...

    def close(
        self, session_id: str, *, ended_at: datetime, ended_by: str | None, reason: str, started_at: datetime | None
    ) -> bool:
        """Close a row (creating a closed stub if the start was not seen yet); True if this call closed it."""
        ...

    def open_entries(self) -> list[LedgerEntry]: ...


@dataclass(frozen=True)
class LiveSession:
    """A session as DescribeSessions reports it."""

    session_id: str
    target: str
    owner: str
    started_at: datetime
    document: str | None = None
    reason: str | None = None
    status: str | None = None
    ended_at: datetime | None = None


class TerminationError(RuntimeError):
    """TerminateSession kept failing; the session may still be open."""


class SessionAlreadyEnded(Exception):
    """TerminateSession answered that the session had already ended."""


class Sessions(Protocol):
    def active(self) -> list[LiveSession]:
        """Every Active session, all pages."""
        ...

    def find(self, session_id: str) -> LiveSession | None:
        """The session in Active or History state, or None when DescribeSessions does not know it."""
        ...

    def history(self, session_id: str) -> LiveSession | None:
        """The session if DescribeSessions lists it in History (ended), else None."""
        ...

    def is_active(self, session_id: str) -> bool: ...

    def terminate(self, session_id: str) -> None:
        """Call TerminateSession; raises SessionAlreadyEnded when AWS says it is over already."""
        ...


class Alerts(Protocol):
    def publish(self, alert: Alert) -> None: ...


class OnceStore(Protocol):
    """Cross-invocation "only once" markers and leases (conditional writes)."""

    def first(self, key: str, ttl_seconds: int) -> bool:
        """True for the first caller to claim *key* (until it expires)."""
        ...

    def acquire(self, key: str, owner: str, seconds: int) -> bool:
        """Take a lease for *seconds*; True when *owner* holds it."""
        ...

    def release(self, key: str, owner: str) -> None: ...


@dataclass(frozen=True)
class Alert:
    """One SNS message: subject, plain-text body and the filterable attributes."""

    kind: str
    severity: Literal["HIGH", "MEDIUM", "INFO"]
    subject: str
    body: str
    session_id: str | None = None

    @property
    def attributes(self) -> dict[str, str]:
        return {"severity": self.severity, "kind": self.kind}
