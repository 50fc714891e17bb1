"""The ports the service talks through; adapters implement them with AWS, tests with in-memory fakes.

What they carry (ledger rows, live sessions, alerts, ...) is in :mod:`warden.records`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, Protocol

from warden.policy import Grant, Policy, SessionLogging, SessionType
from warden.records import Alert, AlertMarker, LedgerEntry, LiveSession, OrgAccount, StoredPolicy, TargetInfo


class Clock(Protocol):
    """Where "now" comes from: real time in Lambda, the emulated clock in the local cloud and tests."""

    def now(self) -> datetime:
        """The current time, timezone-aware (UTC)."""
        ...


class TargetTags(Protocol):
    def lookup(self, targets: Iterable[str]) -> dict[str, TargetInfo]:
        """Tags of each target, batched; a target that no longer exists (or an ``ecs:`` target) has empty tags.

        Raises AwsCallFailed when any target's tags cannot be read."""
        ...

    def lookup_each(self, targets: Iterable[str]) -> tuple[dict[str, TargetInfo], dict[str, str]]:
        """Like :meth:`lookup`, but one target's failure is returned (target -> what failed) instead of raised,
        so the others are still judged."""
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


class Ledger(Protocol):
    def get(self, session_id: str) -> LedgerEntry | None:
        """The session's row (open or ended), None when the ledger has none."""
        ...

    def record_start(self, entry: LedgerEntry, *, first: bool = False) -> LedgerEntry:
        """Write the start of a session; a row already closed by an earlier end event stays closed.

        With *first* (a StartSession event's record), nothing is written when the row already records the start
        from another event (``event_id`` set and different): the first record wins. Returns the row as stored."""
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


class Sessions(Protocol):
    def active(self, *, target: str | None = None, owner: str | None = None) -> list[LiveSession]:
        """Every Active session, all pages; raises AwsCallFailed when DescribeSessions fails.

        ``target`` and ``owner`` (an ARN) narrow the list with DescribeSessions' own Target and Owner filters."""
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

    def status(self, session_id: str) -> str | None:
        """The session's status while DescribeSessions lists it as Active (``Connected``, ``Terminating``, ...),
        None when it is no longer listed; raises AwsCallFailed when it cannot tell."""
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

    def session_target(
        self,
        document: str,
        parameters: Mapping[str, Any] | None,
        *,
        parameters_hidden: bool,
        named_host: str | None,
    ) -> tuple[SessionType | None, str | None]:
        """The session type and, for a remote-port tunnel, the host the agent dials: the document's
        ``properties.host`` resolved from the session's *parameters* (``named_host``, the event's ``host``
        parameter, only for AWS's own remote-host document); ``(None, None)`` when the document cannot be read."""
        ...

    def session_logging(self, document: str) -> SessionLogging:
        """Whether and where Session Manager logs a session of this document: its own inputs (Standard_Stream),
        the account's preferences (``SSM-SessionManagerRunShell``, for command documents), never (Port documents);
        ``unknown`` when what decides it cannot be read."""
        ...

    def forget_preferences(self, now: datetime | None = None) -> None:
        """Read logging settings afresh from now on (they may change while sessions are open); with *now*, the moment
        this event or sweep decides at, judge kept documents' age at that moment until the next call."""
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

    def take_over_stale(self, key: str, owner: str, seconds: int) -> str | None:
        """Take a lease whose stored expiry lies beyond now + *seconds* (or is unusable): no sweep wrote that.

        Returns what the stale lease said (its expiry, in words), None when it is not stale (held rightly)."""
        ...


class PolicyCopy(Protocol):
    """The last valid policy document, kept where neither a deleted parameter nor 100 bad versions reach it."""

    def load(self) -> StoredPolicy | None:
        """The stored copy, None when there is none; raises AwsCallFailed when it cannot be read."""
        ...

    def save(self, text: str, digest: str, at: datetime) -> None:
        """Replace the copy with a document that just validated."""
        ...


class Outbox(Protocol):
    """Alerts not yet delivered, kept durably under their once-key until they are sent (conditional writes)."""

    def keep(self, key: str, alert: Alert, *, owner: str, seconds: int) -> bool:
        """Store *alert* under *key*, claimed by *owner* for *seconds*; False when one is already kept under it."""
        ...

    def pending(self) -> list[tuple[str, Alert]]:
        """Every kept alert, oldest first."""
        ...

    def claim(self, key: str, owner: str, seconds: int) -> bool:
        """Take the right to send the alert kept under *key* for *seconds*; True for the one sender that got it."""
        ...

    def unclaim(self, key: str, owner: str) -> None:
        """Give the claim back (the send failed: another sender may try)."""
        ...

    def sent(self, key: str) -> None:
        """The alert under *key* was published: remove it."""
        ...


class Liveness(Protocol):
    """What the warden notes about its own health: the last completed sweep, and sessions it could not judge."""

    def heartbeat(self, at: datetime) -> None:
        """Note that a sweep completed at *at*."""
        ...

    def last_heartbeat(self) -> datetime | None:
        """When the last sweep completed, None when none has."""
        ...

    def unjudged_since(self, session_id: str, now: datetime, problem: str) -> datetime:
        """When the warden first failed to judge *session_id* (now, if this is the first time)."""
        ...

    def judged(self, session_ids: Iterable[str]) -> None:
        """Forget the unjudged marks of these sessions (they were judged, or have ended)."""
        ...

    def unjudged(self) -> dict[str, datetime]:
        """Every session marked unjudged, with when it was first marked."""
        ...


class SessionNotices(Protocol):
    """Writes a notice into a session's terminal on its node (SSM SendCommand with the warden's own document)."""

    def send(self, target: str, session_id: str, message: str) -> str:
        """Send the command; its command id. Raises AwsCallFailed when SSM refuses it."""
        ...

    def result(self, command_id: str, target: str) -> tuple[str, str] | None:
        """``("delivered", detail)`` or ``("failed", why)`` once the command finished; None while it runs."""
        ...


class WarningRecords(Protocol):
    """Where the warnings of a session are noted (its ledger row's ``warnings``)."""

    def record_warning(self, session_id: str, key: str, record: Mapping[str, str]) -> None:
        """Set ``warnings[key]`` of an open session's row; nothing when the row is closed or missing."""
        ...


class Organization(Protocol):
    """The accounts of the organization and their OU paths (AWS Organizations, cached for a while)."""

    def accounts(self) -> list[OrgAccount]:
        """Every account of the organization (the management account included), with its status and OU path."""
        ...

    def account(self, account_id: str) -> OrgAccount | None:
        """The account with this id, None when the organization has no such account."""
        ...

    def path_of(self, account_id: str) -> str | None:
        """The account's OU path (``Production/Web``; ``""`` under the root); None: not in the organization."""
        ...
