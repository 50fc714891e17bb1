"""What the warden did: the handlers' return values and the ledger row of one decision."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from warden.policy import Decision, Policy, SessionRequest, transcript_summary
from warden.records import LedgerEntry, TargetInfo
from warden.timefmt import iso


@dataclass
class Outcome:
    """What the warden did with one event (the handler's return value, logged and kept by Lambda)."""

    session_id: str | None
    decision: str
    action: str
    rule: str | None = None
    grant: str | None = None
    reasons: list[str] = field(default_factory=list)
    deadline: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class SweepReport:
    """What one sweep found and did (the sweeper's return value)."""

    skipped: bool = False
    active: int = 0
    allowed: int = 0
    adopted: int = 0
    awaiting_event: int = 0
    unjudged: int = 0
    terminated: int = 0
    violations: int = 0
    termination_failures: int = 0
    ended_without_event: int = 0
    grants_expired: int = 0
    warnings_sent: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def outcome(entry: LedgerEntry, decision: Decision, action: str) -> Outcome:
    """The outcome of a decided session."""
    return Outcome(
        session_id=entry.session_id,
        decision=decision.decision,
        action=action,
        rule=decision.rule,
        grant=decision.grant,
        reasons=list(decision.reasons),
        deadline=iso(decision.deadline) if decision.deadline else None,
    )


def decided_entry(
    session_id: str,
    request: SessionRequest,
    info: TargetInfo,
    decision: Decision,
    policy: Policy,
    now: datetime,
    *,
    event_id: str | None,
    region: str | None = None,
) -> LedgerEntry:
    """The ledger row of a decision: who, on what, what was decided and under which policy mode.

    With *region*, the row also says where Session Manager writes the session's transcript (console links are
    per region); without it, only ``not logged`` / ``unknown`` words or the S3 and log group locations.
    """
    principal = request.principal
    transcript, links = transcript_summary(request.logging, session_id, region or "us-east-1")
    return LedgerEntry(
        session_id=session_id,
        principal_arn=principal.arn,
        principal=principal.display,
        identity={
            "arn": principal.arn,
            "account": principal.account,
            "kind": principal.kind,
            "user": principal.user,
            "role": principal.role,
            "role_arn": principal.role_arn,
        },
        target=request.target,
        target_name=info.name,
        tags=dict(info.tags),
        document=request.document,
        reason=request.reason,
        host=request.host,
        started_at=request.started,
        decision=decision.decision,
        basis=decision.basis,
        rule=decision.rule,
        grant=decision.grant,
        deadline=decision.deadline,
        why=list(decision.reasons),
        mode=policy.mode,
        action="none",
        decided_at=now,
        event_id=event_id,
        transcript=transcript,
        transcript_links=links if region else [],
    )


def log_fields(entry: LedgerEntry, **extra: Any) -> dict[str, Any]:
    """The fields of a session's log line (never the whole event: it can carry request parameters)."""
    return {
        "session_id": entry.session_id,
        "principal": entry.principal,
        "target": entry.target,
        "decision": entry.decision,
        "rule": entry.rule,
        "grant": entry.grant,
        **extra,
    }
