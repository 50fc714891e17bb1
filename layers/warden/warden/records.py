"""The values the warden's ports carry: ledger rows, live sessions, target tags, alerts and their chat cards.

Plain data, no behaviour beyond describing itself; the ports that carry them are in :mod:`warden.ports`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

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


@dataclass(frozen=True)
class TargetInfo:
    """A session target and its tags as they are now."""

    target: str
    tags: Mapping[str, str]
    exists: bool = True

    @property
    def name(self) -> str | None:
        return self.tags.get("Name")


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
    # Warnings before the deadline: "<threshold> before <deadline ISO>" -> at, status, detail, command.
    warnings: dict[str, dict[str, str]] = field(default_factory=dict)
    # Where Session Manager writes the session's transcript (``s3://bucket/key``, ``CloudWatch Logs GROUP stream
    # ID``, or ``not logged (why)``) and its console links, as the preferences said when the session was decided.
    transcript: str | None = None
    transcript_links: list[str] = field(default_factory=list)
    # Organization mode: the account and region the session runs in (None in single-account mode).
    account: str | None = None
    region: str | None = None


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


@dataclass(frozen=True)
class ChatCard:
    """What a chat channel shows for an alert: a title, a short description, the key facts, the next steps.

    Values are plain text; :func:`warden.chat_cards.chat_notification` escapes them for the chat's markdown.
    """

    title: str
    description: str
    facts: tuple[tuple[str, str], ...] = ()
    next_steps: tuple[tuple[str, str], ...] = ()  # (what it does, the command to run, shown as code)
    thread: str | None = None  # alerts about the same session or grant share a chat thread
    resources: tuple[str, ...] = ()
    link: tuple[str, str] | None = None  # (label, https URL of the warden's own making)

    def to_json(self) -> dict[str, Any]:
        """The card as JSON-ready data (the alert outbox keeps it so a re-sent alert shows the same card)."""
        return {
            "title": self.title,
            "description": self.description,
            "facts": [list(pair) for pair in self.facts],
            "next_steps": [list(pair) for pair in self.next_steps],
            "thread": self.thread,
            "resources": list(self.resources),
            "link": list(self.link) if self.link else None,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ChatCard:
        """Rebuild a card kept by :meth:`to_json`; raises ``ValueError`` for data of another shape."""
        try:
            link = data.get("link")
            return cls(
                title=str(data["title"]),
                description=str(data["description"]),
                facts=tuple((str(label), str(value)) for label, value in data.get("facts") or ()),
                next_steps=tuple((str(what), str(command)) for what, command in data.get("next_steps") or ()),
                thread=None if data.get("thread") is None else str(data["thread"]),
                resources=tuple(str(resource) for resource in data.get("resources") or ()),
                link=(str(link[0]), str(link[1])) if link else None,
            )
        except (KeyError, TypeError, ValueError, IndexError) as error:
            raise ValueError(f"not a kept chat card: {error}") from error


@dataclass(frozen=True)
class Alert:
    """One SNS message: subject, plain-text body, the chat card and the filterable attributes.

    The body is what e-mail subscribers read; the card is what chat channels show (``None``: one is made from the
    subject and body).
    """

    kind: str
    severity: Literal["HIGH", "MEDIUM", "INFO"]
    subject: str
    body: str
    session_id: str | None = None
    card: ChatCard | None = None

    @property
    def attributes(self) -> dict[str, str]:
        return {"severity": self.severity, "kind": self.kind}


@dataclass(frozen=True)
class OrgAccount:
    """An account of the organization, as AWS Organizations lists it.

    ``ou_path`` is the OU names from the root down joined by ``/`` (``Production/Web``; ``""`` directly under the
    root); ``status`` is Organizations' (``ACTIVE``, ``SUSPENDED``, ``PENDING_CLOSURE``)."""

    id: str
    name: str
    status: str
    ou_path: str


@dataclass(frozen=True)
class StoredPolicy:
    """The durable copy of the last policy document the warden validated and put in force."""

    text: str
    digest: str
    saved_at: datetime
