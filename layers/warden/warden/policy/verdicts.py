"""What :func:`~warden.policy.decision.decide` is asked (a session request) and answers (a decision, a lapse)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from warden.policy.documents import SessionType
from warden.policy.principals import Principal
from warden.timefmt import iso_z

__all__ = ["Basis", "Decision", "Lapse", "LapseReason", "SessionRequest"]

Basis = Literal["deny-rule", "allow-rule", "grant", "default-allow", "default-deny"]
LapseReason = Literal[
    "outside-window", "max-duration", "reason-missing", "grant-expired", "grant-revoked", "grant-not-started"
]


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


@dataclass(frozen=True, slots=True)
class Lapse:
    """An allowance that matches who, what and which document, but does not hold now.

    Attributes
    ----------
    kind : {"rule", "grant"}
        What kind of allowance.
    name : str
        The rule name or the grant id.
    why : {"outside-window", "max-duration", "reason-missing", "grant-expired", "grant-revoked", "grant-not-started"}
        Why it does not hold.
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
class Decision:
    """The outcome of :func:`decide`.

    Attributes
    ----------
    allowed : bool
        Whether the session may continue.
    basis : {"deny-rule", "allow-rule", "grant", "default-allow", "default-deny"}
        What decided.
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
    """

    allowed: bool
    basis: Basis
    rule: str | None
    grant: str | None
    reasons: tuple[str, ...]
    deadline: datetime | None
    lapsed: tuple[Lapse, ...] = ()

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
