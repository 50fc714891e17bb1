"""What :func:`~warden.policy.decision.decide` is asked (a session request, the open sessions) and answers (a decision,
a lapse, a deadline)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from warden.policy.documents import SessionType
from warden.policy.principals import Principal
from warden.policy.session_logs import SessionLogging
from warden.timefmt import iso_z

__all__ = [
    "HOLDING_STATUSES",
    "Basis",
    "Deadline",
    "DeadlineReason",
    "Decision",
    "Lapse",
    "LapseReason",
    "LimitScope",
    "OpenSession",
    "SessionRequest",
]

Basis = Literal["deny-rule", "allow-rule", "grant", "default-allow", "default-deny", "session-limit", "require-logging"]
# What a session limit counts: a principal's sessions (a rule's max_sessions) or a target's (max_sessions_per_target).
LimitScope = Literal["principal", "target"]
# Only these hold a limit: a Terminating session is on its way out, a Disconnected one can be resumed but is not open.
HOLDING_STATUSES = frozenset({"Connected", "Connecting"})
LapseReason = Literal[
    "outside-window",
    "max-duration",
    "reason-missing",
    "grant-expired",
    "grant-revoked",
    "grant-not-started",
    "not-logged",
]
DeadlineReason = Literal["window-closes", "grant-expires", "max-duration", "deny-window-opens"]


@dataclass(frozen=True, slots=True)
class SessionRequest:
    """What is being decided: who, on which target, with which document, why, since when.

    The fields after ``started`` have defaults, so callers that know less still build one; what
    they leave unknown never helps an allow rule that asks for it.

    Attributes
    ----------
    principal : Principal
        Who started the session.
    target : str
        The instance or managed-node id.
    tags : Mapping[str, str]
        The target's current tags.
    document : str
        The session document as given: a name, or a full ARN
        (``arn:aws:ssm:REGION:ACCOUNT:document/NAME``; AWS-provided documents have an empty
        account field). :func:`decide` normalises it (see :func:`normalise_document`).
    reason : str or None
        The reason given to StartSession.
    started : datetime
        When the session started (timezone-aware).
    session_type : {"shell", "port", "remote-port", "command"} or None
        What the document does, read from its content; ``None`` when unknown (then
        :func:`decide` uses what it knows of AWS-provided documents, see
        :func:`aws_document_session_type`).
    host : str or None
        The remote host of a ``remote-port`` session (its ``host`` parameter).
    account : str or None
        The account the session runs in; ``None``: the principal's account.
    session_id : str or None
        The session's id: it is never counted against its own limit, and breaks ties of start time
        when open sessions are ordered (see :class:`OpenSession`).
    logging : SessionLogging or None
        Whether Session Manager logs the session (from its document and the preferences); ``None``: not
        read, which ``require_logging`` treats as not logged.
    region : str or None
        The region the session runs in (organization mode); ``None``: unknown.
    account_path : str or None
        The OU path of ``account`` (``Production/Web``; ``""`` for an account directly under the root);
        ``None``: unknown.
    """

    principal: Principal
    target: str
    tags: Mapping[str, str]
    document: str
    reason: str | None
    started: datetime
    session_type: SessionType | None = None
    host: str | None = None
    account: str | None = None
    session_id: str | None = None
    logging: SessionLogging | None = None
    region: str | None = None
    account_path: str | None = None

    @property
    def logged(self) -> bool:
        """Whether Session Manager is known to log the session."""
        return self.logging is not None and self.logging.logged

    @property
    def unlogged_reason(self) -> str:
        """Why the session is not known to be logged, for ``require_logging`` reasons."""
        if self.logging is None:
            return "cannot tell whether Session Manager logs the session (its preferences were not read)"
        return self.logging.why or "Session Manager does not log the session"


@dataclass(frozen=True, slots=True)
class OpenSession:
    """Another open session, as AWS lists it (DescribeSessions State=Active), for the session limits.

    Sessions are ordered by ``(started, session_id)``: a session counts against the limits of the
    sessions after it only, so the oldest ones hold a limit and whoever decides (the event path for
    each of two sessions started at once, or the sweeper) agrees on which is the newest.

    Attributes
    ----------
    session_id : str
        The session's id.
    owner : str
        Its owner's ARN (DescribeSessions ``Owner``), compared with the request's principal ARN.
    target : str
        Its target.
    started : datetime
        When it started (DescribeSessions ``StartDate``, timezone-aware).
    status : str
        Its status; only ``Connected`` and ``Connecting`` count (see :data:`HOLDING_STATUSES`).
    tags : Mapping[str, str]
        Its target's tags, to tell whether a rule's ``targets`` match it.
    """

    session_id: str
    owner: str
    target: str
    started: datetime
    status: str = "Connected"
    tags: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Lapse:
    """An allowance that matches who, what and which document, but does not hold now.

    Attributes
    ----------
    kind : {"rule", "grant"}
        What kind of allowance.
    name : str
        The rule name or the grant id.
    why : {"outside-window", "max-duration", "reason-missing", "grant-expired", "grant-revoked", \
"grant-not-started", "not-logged"}
        Why it does not hold (``not-logged``: the rule has ``require_logging`` and the session is not logged).
    at : datetime or None
        When it stopped holding, if known (window close, start + max duration, expiry, revocation).
    detail : str
        The same in words: ``window business-hours closed at 18:00 Europe/Berlin``.
    """

    kind: Literal["rule", "grant"]
    name: str
    why: LapseReason
    at: datetime | None
    detail: str


@dataclass(frozen=True, slots=True)
class Deadline:
    """Why an allowed session's deadline is when it is.

    Attributes
    ----------
    why : {"window-closes", "grant-expires", "max-duration", "deny-window-opens"}
        What ends the allowance.
    name : str
        The window that closes or opens, the grant that expires, or the rule whose maximum duration ends it.
    zone : str
        The IANA time zone to show the deadline in: the window's, else the policy's ``timezone`` (UTC by default).
    limit : str or None
        The maximum duration (``2h``) when that is what ends it.
    """

    why: DeadlineReason
    name: str
    zone: str = "UTC"
    limit: str | None = None

    @property
    def words(self) -> str:
        """The reason in a few words: ``business-hours closes``, ``grant g-1 expires``, ``maximum duration 2h``."""
        if self.why == "window-closes":
            return f"{self.name} closes"
        if self.why == "grant-expires":
            return f"grant {self.name} expires"
        if self.why == "max-duration":
            return f"maximum duration {self.limit}"
        return f"{self.name} opens"


@dataclass(frozen=True, slots=True)
class Decision:
    """The outcome of :func:`decide`.

    Attributes
    ----------
    allowed : bool
        Whether the session may continue.
    basis : {"deny-rule", "allow-rule", "grant", "default-allow", "default-deny", "require-logging"}
        What decided (``require-logging``: the policy's ``require_logging`` and a session that is not logged).
    rule : str or None
        The deny rule that denied, or the allow rule that allowed.
    grant : str or None
        The id of the grant that allowed.
    reasons : tuple[str, ...]
        Sentences for people, most important first.
    deadline : datetime or None
        In UTC, when the allowance stops holding; ``None`` when denied or allowed indefinitely.
    lapsed : tuple[Lapse, ...]
        When nothing allows the session: the allowances that match but do not hold now.
    limits : tuple[{"principal", "target"}, ...]
        The session limits that apply to an allowed (or limit-denied) session: ``principal`` when a
        matching allow rule sets ``max_sessions``, ``target`` when the policy sets
        ``max_sessions_per_target``. Empty when none does: the open sessions change nothing, and
        the caller need not fetch them.
    holders : tuple[str, ...]
        When denied by a limit: the ids of the sessions that hold it, oldest first.
    ends : Deadline or None
        With a deadline: why it is then.
    """

    allowed: bool
    basis: Basis
    rule: str | None
    grant: str | None
    reasons: tuple[str, ...]
    deadline: datetime | None
    lapsed: tuple[Lapse, ...] = ()
    limits: tuple[LimitScope, ...] = ()
    holders: tuple[str, ...] = ()
    ends: Deadline | None = None

    @property
    def decision(self) -> Literal["allow", "deny"]:
        """``"allow"`` or ``"deny"``."""
        return "allow" if self.allowed else "deny"

    def to_json(self) -> dict[str, object]:
        """Return exactly the ``warden explain --json`` object.

        Returns
        -------
        dict
            ``{"decision", "rule", "grant", "reasons", "deadline"}`` with the deadline as ISO 8601
            in UTC (``2026-11-24T17:00:00Z``) or ``None``.
        """
        return {
            "decision": self.decision,
            "rule": self.rule,
            "grant": self.grant,
            "reasons": list(self.reasons),
            "deadline": None if self.deadline is None else iso_z(self.deadline),
        }
