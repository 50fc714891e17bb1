"""Session limits (SPEC: max_sessions of a rule, max_sessions_per_target): an allowed decision stays allowed only
while the open sessions that started before the request's leave room under every limit that applies."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from warden.policy.compiled import CompiledRule
from warden.policy.identities import principal_from_arn
from warden.policy.models import Policy
from warden.policy.verdicts import HOLDING_STATUSES, Decision, LimitScope, OpenSession, SessionRequest
from warden.policy.windows import format_instant

__all__ = ["within_limits"]

# A denial names at most this many of the sessions that hold the limit.
_NAMED_HOLDERS = 3


def within_limits(
    policy: Policy,
    request: SessionRequest,
    allow_rules: Sequence[CompiledRule],
    open_sessions: Sequence[OpenSession],
    decision: Decision,
    now_ts: float,
) -> Decision:
    """The allowed decision, or a ``session-limit`` denial when older open sessions hold a limit."""
    limited_rules = [rule for rule in allow_rules if rule.rule.max_sessions is not None]
    per_target = policy.max_sessions_per_target
    scopes: list[LimitScope] = []
    if limited_rules:
        scopes.append("principal")
    if per_target is not None:
        scopes.append("target")
    if not scopes:
        return decision
    return _check_limits(policy, request, limited_rules, open_sessions, decision, tuple(scopes), now_ts)


def _check_limits(
    policy: Policy,
    request: SessionRequest,
    limited_rules: Sequence[CompiledRule],
    open_sessions: Sequence[OpenSession],
    decision: Decision,
    scopes: tuple[LimitScope, ...],
    now_ts: float,
) -> Decision:
    per_target = policy.max_sessions_per_target
    older = _older_open_sessions(request, open_sessions)
    for rule in limited_rules:
        limit = rule.rule.max_sessions or 0
        targets = rule.rule.targets
        held = [
            session
            for session in older
            if session.owner == request.principal.arn
            and (targets is None or targets.matches(session.target, session.tags))
        ]
        if len(held) >= limit:
            what = f"max_sessions {limit} of rule {rule.name!r}"
            return _limit_denial(decision, scopes, rule.name, what, held[:limit], now_ts, policy.timezone, owners=False)
    if per_target is not None:
        held = [session for session in older if session.target == request.target]
        if len(held) >= per_target:
            what = f"max_sessions_per_target {per_target} on {request.target}"
            holders = held[:per_target]
            return _limit_denial(decision, scopes, None, what, holders, now_ts, policy.timezone, owners=True)
    return replace(decision, limits=scopes)


def _older_open_sessions(request: SessionRequest, open_sessions: Sequence[OpenSession]) -> list[OpenSession]:
    """The open sessions that started before the request's, in (start, id) order; never the request's own."""
    own_id = request.session_id or ""
    # AWS's start time when AWS lists the session: the same clock as the others', so every decider orders alike.
    own_start = next(
        (session.started for session in open_sessions if own_id and session.session_id == own_id), request.started
    )
    own_key = (own_start.timestamp(), own_id)
    older = [
        session
        for session in open_sessions
        if session.status in HOLDING_STATUSES
        and session.session_id != own_id
        and (session.started.timestamp(), session.session_id) < own_key
    ]
    older.sort(key=lambda session: (session.started.timestamp(), session.session_id))
    return older


def _limit_denial(
    allowed: Decision,
    scopes: tuple[LimitScope, ...],
    rule: str | None,
    what: str,
    holders: Sequence[OpenSession],
    now_ts: float,
    zone: str,
    *,
    owners: bool,
) -> Decision:
    named = [_holder(session, now_ts, zone, owner=owners) for session in holders[:_NAMED_HOLDERS]]
    more = len(holders) - len(named)
    listed = ", ".join(named) + (f" and {more} more" if more else "")
    noun = "session" if len(holders) == 1 else "sessions"
    return Decision(
        allowed=False,
        basis="session-limit",
        rule=rule,
        grant=None,
        reasons=(f"{what} is held by {noun} {listed}", f"without the limit: {allowed.reasons[0]}"),
        deadline=None,
        limits=scopes,
        holders=tuple(session.session_id for session in holders),
    )


def _holder(session: OpenSession, now_ts: float, zone: str, *, owner: bool) -> str:
    since = format_instant(session.started.timestamp(), zone, now_ts)
    if not owner:
        return f"{session.session_id} on {session.target} since {since}"
    try:
        who = principal_from_arn(session.owner).display
    except ValueError:
        who = session.owner
    return f"{session.session_id} of {who} since {since}"
