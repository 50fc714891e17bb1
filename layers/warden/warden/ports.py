"""The ports the service talks through; adapters implement them with AWS, tests with in-memory fakes."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal, Protocol

from warden.policy import Grant, Policy, SessionType

# Who the ledger names in ``ended_by`` when the warden itself ended a session.
WARDEN_ACTOR = "session-warden"


class AlertMarker(StrEnum):
    """One-time markers on a ledger row: each guards one alert, so it is sent once per session.

    The values are stored in the ledger's ``markers`` set; they must not change.
    """

    # The one alert that says how a denied session ended: TERMINATED by the warden, or DENIED when it had
    # already ended when the warden acted. Sharing the marker means a session never gets both.
    ENDED = "alert:terminated"
    TERMINATION_FAILED = "alert:termination-failed"
    WOULD_TERMINATE = "alert:would-terminate"


class Clock(Protocol):
    """Where "now" comes from: real time in Lambda, the emulated clock in the local cloud and tests."""

    def now(self) -> datetime:
        """The current time, timezone-aware (UTC)."""
        ...


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

    def get(self, grant_id: str) -> Grant | None:
        """The grant with this id in whatever state it is (active, expired, revoked), None if there is none."""
        ...

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
    # The remote host of a remote-port session, as its StartSession event named it (DescribeSessions has none).
    host: str | None = None
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
    def get(self, session_id: str) -> LedgerEntry | None:
        """The session's row (open or ended), None when the ledger has none."""
        ...

    def record_start(self, entry: LedgerEntry) -> LedgerEntry:
        """Write the start of a session; a row already closed by an earlier end event stays closed."""
        ...

    def record_failed_call(self, entry: LedgerEntry) -> None:
        """Write the row of a failed StartSession call (keyed ``failed:<eventID>``, never open)."""
        ...

    def update_decision(self, entry: LedgerEntry) -> None:
        """Store a re-decision (deadline, rule or grant) of an open session."""
        ...

    def claim(self, session_id: str, marker: AlertMarker) -> bool:
        """Set a one-time marker on an existing row; True only for the caller that set it first."""
        ...

    def release(self, session_id: str, marker: AlertMarker) -> None:
        """Remove a marker set by :meth:`claim` (the alert it guarded could not be sent)."""
        ...

    def record_terminated(self, entry: LedgerEntry, *, ended_at: datetime, reason: str, marker: AlertMarker) -> bool:
        """Write decision and end (by :data:`WARDEN_ACTOR`) in one update; True if *marker* was set now."""
        ...

    def close(
        self, session_id: str, *, ended_at: datetime, ended_by: str | None, reason: str, started_at: datetime | None
    ) -> bool:
        """Close a row (creating a closed stub if the start was not seen yet); True if this call closed it."""
        ...

    def open_entries(self) -> list[LedgerEntry]:
        """Every open row (an index read: the cost follows open sessions, not the ledger's history)."""
        ...


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


class Sessions(Protocol):
    def active(self) -> list[LiveSession]:
        """Every Active session, all pages; raises AwsCallFailed when DescribeSessions fails."""
        ...

    def find(self, session_id: str) -> LiveSession | None:
        """The session in Active or History state, or None when DescribeSessions does not know it."""
        ...

    def history(self, session_id: str) -> LiveSession | None:
        """The session if DescribeSessions lists it in History (ended), else None."""
        ...

    def is_active(self, session_id: str) -> bool:
        """True while DescribeSessions lists the session as Active; raises AwsCallFailed when it cannot tell."""
        ...

    def terminate(self, session_id: str) -> None:
        """Call TerminateSession; raises SessionAlreadyEnded when AWS says it is over, AwsCallFailed otherwise."""
        ...


class IssuerRoles(Protocol):
    """The path of the role behind an assumed-role session: IAM vouches for it, DescribeSessions' Owner lacks it."""

    def role_arn(self, role_name: str) -> str:
        """The role's ARN with its path (IAM GetRole); raises AwsCallFailed when IAM cannot tell."""
        ...

    def forget(self) -> None:
        """Drop what was learned (each sweep resolves paths afresh: a role can be deleted and re-created)."""
        ...


class SessionDocuments(Protocol):
    """What a Session document does, read from its content (``ssm:GetDocument``)."""

    def session_type(self, document: str) -> SessionType | None:
        """``shell``, ``port``, ``remote-port`` or ``command``; None when the document cannot be read or says
        nothing the warden knows (rules with ``session_types`` then treat it as unknown: fail closed)."""
        ...


class Alerts(Protocol):
    def publish(self, alert: Alert) -> None:
        """Send one alert to the operators; raises AwsCallFailed when it could not be sent."""
        ...


class OnceStore(Protocol):
    """Cross-invocation "only once" markers and leases (conditional writes)."""

    def first(self, key: str, ttl_seconds: int) -> bool:
        """True for the first caller to claim *key* (until it expires)."""
        ...

    def forget(self, key: str) -> None:
        """Undo :meth:`first` (the work it guarded failed), so the next caller is first again."""
        ...

    def acquire(self, key: str, owner: str, seconds: int) -> bool:
        """Take a lease for *seconds*; True when *owner* holds it."""
        ...

    def release(self, key: str, owner: str) -> None:
        """Give up *key* if *owner* holds it (a marker whose work failed, or a lease when done)."""
        ...


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
