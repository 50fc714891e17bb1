"""The decision: may this principal keep this session on this target now, until when, and why.

What :func:`decide` is asked and what it answers are in :mod:`warden.policy.verdicts`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import NamedTuple

from warden.policy.compiled import CompiledRule
from warden.policy.documents import SessionType, aws_document_session_type, normalise_document
from warden.policy.durations import format_duration
from warden.policy.fields import require_aware
from warden.policy.grants import Grant
from warden.policy.limits import within_limits
from warden.policy.models import Policy
from warden.policy.verdicts import (
    Deadline,
    Decision,
    Lapse,
    LapseReason,
    OpenSession,
    SessionRequest,
)
from warden.policy.windows import HORIZON, Schedule, format_instant, utc_datetime
from warden.timefmt import iso_offset, to_utc

__all__ = ["decide"]

_FOREVER = math.inf


def _iso(moment: datetime) -> str:
    return iso_offset(to_utc(moment))


class _Allowance(NamedTuple):
    rule: CompiledRule | None
    grant: Grant | None
    until: float
    # The window that ends the allowance, when a window does; the text is built for the winner only.
    closing: Schedule | None = None


def decide(
    policy: Policy,
    request: SessionRequest,
    grants: Sequence[Grant],
    now: datetime,
    open_sessions: Sequence[OpenSession] = (),
) -> Decision:
    """Decide whether a session may continue at ``now``.

    1. A matching deny rule whose windows (if any) are open denies; the first in document order.
       Then the policy's ``require_logging`` denies a session that is not known to be logged.
    2. Otherwise the session is allowed when a matching allow rule holds (inside one of its
       windows, reason matches, younger than its maximum duration) or an active grant covers
       the principal and target. The allowance that lasts longest is reported (an indefinite one
       beats any deadline; on a tie, rules before grants, in order).
    3. Otherwise the policy's ``default`` decides.
    4. A session so allowed is denied (basis ``session-limit``) when a session limit is held: a
       matching allow rule's ``max_sessions`` (whether or not that rule is what allows it) by
       the principal's open sessions, older than this one, on targets the rule matches; then the
       policy's ``max_sessions_per_target`` by the target's older open sessions from anyone.

    Parameters
    ----------
    policy : Policy
        A validated policy.
    request : SessionRequest
        The session.
    grants : Sequence[Grant]
        Candidate grants (any state; inactive ones explain lapses).
    now : datetime
        The moment to decide for, timezone-aware.
    open_sessions : Sequence[OpenSession]
        The open sessions the limits count (the session itself may be among them: it is not
        counted, and its start time there, AWS's, orders it). Read only when
        ``Decision.limits`` is not empty: decide once without them to learn whether to fetch them.

    Returns
    -------
    Decision
        With the deadline of an allowed session: when the allowance stops holding, capped by the
        next opening of a matching deny window (searched up to 14 days ahead).

    Raises
    ------
    ValueError
        If ``now`` or ``request.started`` is naive.
    """
    require_aware(now, "now")
    require_aware(request.started, "request.started")
    principal, target, tags = request.principal, request.target, request.tags
    document = normalise_document(request.document)
    now_ts = now.timestamp()
    started_ts = request.started.timestamp()
    # An AWS-provided document does what AWS wrote in it: nobody else can own an AWS- name.
    session_type = request.session_type or aws_document_session_type(document)
    compiled = policy.compiled
    deny_rules, allow_rules = compiled.applicable(
        principal,
        target,
        tags,
        document,
        account=request.account,
        session_type=session_type,
        host=request.host,
        region=request.region,
        account_path=request.account_path,
    )

    limited = compiled.limited
    later_denials: list[CompiledRule] = []
    for rule in deny_rules:
        if rule.windows is None or rule.windows.open_at(now_ts):
            return _denied(rule, request, document, session_type, now_ts)
        later_denials.append(rule)
    if policy.require_logging and not request.logged:
        return Decision(
            allowed=False,
            basis="require-logging",
            rule=None,
            grant=None,
            reasons=(f"require_logging: {request.unlogged_reason}",),
            deadline=None,
        )
    logged = request.logged

    best: _Allowance | None = None
    tried: set[int] = set()
    for rule in allow_rules:
        # Rules with the same windows, maximum duration and reason pattern hold alike and end
        # alike, and on a tie the earlier one is reported: the first of each kind is enough.
        if rule.kind in tried:
            continue
        tried.add(rule.kind)
        # Once something holds, a rule that cannot outlast it changes nothing (lapses are only
        # explained when nothing holds).
        if best is not None and rule.max_seconds is not None and started_ts + rule.max_seconds <= best.until:
            continue
        if _holds(rule, request.reason, now_ts, started_ts, logged=logged):
            allowance = _rule_allowance(rule, now_ts, started_ts, best)
            if best is None or allowance.until > best.until:
                best = allowance
            if best.until == _FOREVER:
                break

    matching_grants: list[Grant] = []
    path = request.account_path
    if best is None or best.until != _FOREVER:
        for grant in grants:
            # Once something holds, a grant that cannot outlast it changes nothing (lapses are only explained when
            # nothing holds): skip it before matching principal, target and places.
            if best is not None and grant.expires_at.timestamp() <= best.until:
                continue
            if not grant.covers(
                principal, target, tags, account=request.account, region=request.region, account_path=path
            ):
                continue
            matching_grants.append(grant)
            if grant.active_at(now):
                until = grant.expires_at.timestamp()
                if best is None or until > best.until:
                    best = _Allowance(None, grant, until)

    if best is not None:
        allowed = _allowed(best, later_denials, now_ts, policy.timezone)
        return within_limits(policy, request, allow_rules, open_sessions, allowed, now_ts) if limited else allowed
    lapsed = tuple(_rule_lapse(rule, request, now_ts, started_ts) for rule in allow_rules) + tuple(
        lapse for grant in matching_grants if (lapse := _grant_lapse(grant, now)) is not None
    )
    decision = _by_default(policy, request, later_denials, lapsed, now_ts)
    if limited and decision.allowed:
        return within_limits(policy, request, allow_rules, open_sessions, decision, now_ts)
    return decision


def _reason_matches(rule: CompiledRule, reason: str | None) -> bool:
    return rule.reason is None or (reason is not None and rule.reason.search(reason))


def _holds(rule: CompiledRule, reason: str | None, now_ts: float, started_ts: float, *, logged: bool) -> bool:
    if rule.logging and not logged:
        return False
    if not _reason_matches(rule, reason):
        return False
    if rule.max_seconds is not None and now_ts >= started_ts + rule.max_seconds:
        return False
    return rule.open_at(now_ts)


def _rule_allowance(rule: CompiledRule, now_ts: float, started_ts: float, best: _Allowance | None) -> _Allowance:
    until = _FOREVER if rule.max_seconds is None else started_ts + rule.max_seconds
    # The window can only bring the end forward: skip the search when this rule cannot win anyway.
    if rule.windows is not None and (best is None or until > best.until):
        closing = rule.windows.closing(now_ts)
        if closing is not None and closing[0] < until:
            return _Allowance(rule, None, closing[0], closing[1])
    return _Allowance(rule, None, until)


def _allowance_reason(allowance: _Allowance, now_ts: float) -> str:
    if allowance.grant is not None:
        grant = allowance.grant
        return f"allowed by grant {grant.id} until {_iso(grant.expires_at)} (reason: {grant.reason})"
    name = allowance.rule.name if allowance.rule is not None else ""
    if allowance.until == _FOREVER:
        return f"allowed by rule {name}"
    if allowance.closing is not None:
        schedule = allowance.closing
        closes = format_instant(allowance.until, schedule.zone_name, now_ts)
        return f"allowed by rule {name} until {closes} (window {schedule.name} closes)"
    duration = allowance.rule.rule.max_duration if allowance.rule is not None else None
    limit = format_duration(duration) if duration is not None else ""
    return f"allowed by rule {name} until {format_instant(allowance.until, 'UTC', now_ts)} (maximum duration {limit})"


def _next_denial(rules: Sequence[CompiledRule], now_ts: float) -> tuple[float, CompiledRule, Schedule] | None:
    horizon = now_ts + HORIZON.total_seconds()
    found: tuple[float, CompiledRule, Schedule] | None = None
    for rule in rules:
        for schedule in rule.schedules:
            opens = schedule.next_opening(now_ts, found[0] if found is not None else horizon)
            if opens is not None:
                found = (opens, rule, schedule)
    return found


def _allowance_end(allowance: _Allowance, zone: str) -> Deadline | None:
    """Why the allowance ends; a grant's expiry and a maximum duration are shown in the policy's ``zone``."""
    if allowance.until == _FOREVER:
        return None
    if allowance.grant is not None:
        return Deadline("grant-expires", allowance.grant.id, zone)
    if allowance.closing is not None:
        return Deadline("window-closes", allowance.closing.name, allowance.closing.zone_name)
    rule = allowance.rule
    duration = rule.rule.max_duration if rule is not None else None
    limit = format_duration(duration) if duration is not None else None
    return Deadline("max-duration", rule.name if rule is not None else "", zone, limit=limit)


def _allowed(best: _Allowance, later_denials: Sequence[CompiledRule], now_ts: float, zone: str) -> Decision:
    until = best.until
    reasons = [_allowance_reason(best, now_ts)]
    ends = _allowance_end(best, zone)
    denial = _next_denial(later_denials, now_ts) if later_denials else None
    if denial is not None and denial[0] < until:
        until, rule, schedule = denial
        opens = format_instant(until, schedule.zone_name, now_ts)
        reasons.append(f"rule {rule.name} denies from {opens} (window {schedule.name} opens)")
        ends = Deadline("deny-window-opens", schedule.name, schedule.zone_name)
    return Decision(
        allowed=True,
        basis="allow-rule" if best.rule is not None else "grant",
        rule=best.rule.name if best.rule is not None else None,
        grant=best.grant.id if best.grant is not None else None,
        reasons=tuple(reasons),
        deadline=None if until == _FOREVER else utc_datetime(until),
        ends=ends,
    )


def _denied(
    rule: CompiledRule, request: SessionRequest, document: str, session_type: SessionType | None, now_ts: float
) -> Decision:
    parts: list[str] = []
    targets = rule.rule.targets
    if targets is not None and targets.tags:
        parts.append("target tag " + ", ".join(f"{key}={request.tags.get(key, '')}" for key in targets.tags))
    if targets is not None and targets.ids:
        parts.append(f"target {request.target}")
    if rule.rule.principals != ("*",):
        parts.append(f"principal {request.principal.display}")
    if rule.rule.documents is not None:
        parts.append(f"document {document}")
    if rule.rule.session_types is not None:
        parts.append(f"session type {session_type or 'unknown'}")
    if rule.rule.hosts is not None and session_type in ("remote-port", None):
        parts.append(f"host {request.host or 'unknown'}")
    if rule.rule.accounts is not None:
        account = request.account if request.account is not None else request.principal.account
        parts.append(f"account {account or 'unknown'}" + _in_ou(rule.rule.accounts, request.account_path))
    if rule.rule.regions is not None:
        parts.append(f"region {request.region or 'unknown'}")
    if rule.windows is not None:
        closing = rule.windows.closing(now_ts)
        if closing is not None:
            closes, schedule = closing
            parts.append(f"window {schedule.name} until {format_instant(closes, schedule.zone_name, now_ts)}")
        else:
            parts.append(f"window {', '.join(schedule.name for schedule in rule.schedules)}")
    why = f" ({'; '.join(parts)})" if parts else ""
    return Decision(
        allowed=False,
        basis="deny-rule",
        rule=rule.name,
        grant=None,
        reasons=(f"denied by rule {rule.name}{why}",),
        deadline=None,
    )


def _in_ou(accounts: Sequence[str], path: str | None) -> str:
    if not any(entry.startswith("ou:") for entry in accounts):
        return ""
    if path is None:
        return " in an unknown OU"
    return f" in OU {path}" if path else " directly under the root"


def _by_default(
    policy: Policy,
    request: SessionRequest,
    later_denials: Sequence[CompiledRule],
    lapsed: tuple[Lapse, ...],
    now_ts: float,
) -> Decision:
    who = request.principal.display
    reasons = [f"no rule or grant allows {who} on {request.target}; default is {policy.default}"]
    reasons.extend(f"rule {lapse.name}: {lapse.detail}" if lapse.kind == "rule" else lapse.detail for lapse in lapsed)
    deadline = None
    ends = None
    if policy.default == "allow":
        denial = _next_denial(later_denials, now_ts) if later_denials else None
        if denial is not None:
            opens, rule, schedule = denial
            deadline = utc_datetime(opens)
            ends = Deadline("deny-window-opens", schedule.name, schedule.zone_name)
            reasons.append(
                f"rule {rule.name} denies from {format_instant(opens, schedule.zone_name, now_ts)} "
                f"(window {schedule.name} opens)"
            )
    return Decision(
        allowed=policy.default == "allow",
        basis="default-allow" if policy.default == "allow" else "default-deny",
        rule=None,
        grant=None,
        reasons=tuple(reasons),
        deadline=deadline,
        lapsed=lapsed,
        ends=ends,
    )


def _rule_lapse(rule: CompiledRule, request: SessionRequest, now_ts: float, started_ts: float) -> Lapse:
    if rule.logging and not request.logged:
        return Lapse("rule", rule.name, "not-logged", None, f"require_logging: {request.unlogged_reason}")
    reason = request.reason
    if not _reason_matches(rule, reason):
        pattern = rule.reason.pattern if rule.reason is not None else ""
        detail = (
            f"no reason given (required: {pattern})" if not reason else f"reason {reason!r} does not match {pattern}"
        )
        return Lapse("rule", rule.name, "reason-missing", None, detail)
    # Several checks can fail at once; report the one that stopped the rule first.
    failures: list[tuple[float | None, LapseReason, str]] = []
    if rule.max_seconds is not None and now_ts >= started_ts + rule.max_seconds:
        ended = started_ts + rule.max_seconds
        duration = format_duration(rule.rule.max_duration) if rule.rule.max_duration is not None else ""
        detail = f"maximum duration {duration} reached at {format_instant(ended, 'UTC', now_ts)}"
        failures.append((ended, "max-duration", detail))
    if not rule.open_at(now_ts):
        failures.append(_window_failure(rule, now_ts))
    at, why, detail = min(failures, key=lambda failure: (failure[0] is not None, failure[0] or 0.0))
    return Lapse("rule", rule.name, why, None if at is None else utc_datetime(at), detail)


def _window_failure(rule: CompiledRule, now_ts: float) -> tuple[float | None, LapseReason, str]:
    last: tuple[float, Schedule] | None = None
    for schedule in rule.schedules:
        closed = schedule.last_close(now_ts)
        if closed is not None and (last is None or closed > last[0]):
            last = (closed, schedule)
    if last is None:
        names = ", ".join(schedule.name for schedule in rule.schedules)
        return None, "outside-window", f"outside window {names}"
    closed, schedule = last
    return (
        closed,
        "outside-window",
        f"window {schedule.name} closed at {format_instant(closed, schedule.zone_name, now_ts)}",
    )


def _grant_lapse(grant: Grant, now: datetime) -> Lapse | None:
    if grant.state == "revoked" and (grant.revoked_at is None or grant.revoked_at < grant.expires_at):
        by = f" by {grant.revoked_by}" if grant.revoked_by else ""
        when = f" at {_iso(grant.revoked_at)}" if grant.revoked_at is not None else ""
        at = grant.revoked_at.astimezone(UTC) if grant.revoked_at is not None else None
        return Lapse("grant", grant.id, "grant-revoked", at, f"grant {grant.id} was revoked{when}{by}")
    if now >= grant.expires_at:
        at = grant.expires_at.astimezone(UTC)
        return Lapse("grant", grant.id, "grant-expired", at, f"grant {grant.id} expired at {_iso(grant.expires_at)}")
    if now < grant.starts_at:
        detail = f"grant {grant.id} starts at {_iso(grant.starts_at)}"
        return Lapse("grant", grant.id, "grant-not-started", None, detail)
    return None
