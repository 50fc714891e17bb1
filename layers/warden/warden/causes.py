"""Why a session no longer holds, in an operator's words: pure reasoning over facts the caller has read."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from warden.policy import Decision, Grant, Lapse, Policy
from warden.records import LedgerEntry, TargetInfo
from warden.timefmt import utc_seconds

_GRANT_LAPSES = ("grant-expired", "grant-revoked")


def denial(decision: Decision) -> str:
    """The short cause on the alert's Decision line; the full sentences follow as bullets."""
    if decision.basis == "session-limit":
        return "session limit held"
    if decision.basis == "require-logging":
        return "session not logged"
    return f"denied by rule {decision.rule}" if decision.basis == "deny-rule" else "no rule or grant allows it"


def grant_to_look_up(row: LedgerEntry | None, decision: Decision) -> str | None:
    """The grant whose stored state :func:`explain` needs, None when the row and decision say enough."""
    if (
        decision.basis in ("deny-rule", "session-limit", "require-logging")
        or row is None
        or row.decision != "allow"
        or not row.grant
    ):
        return None
    return None if _grant_lapse(row.grant, decision) else row.grant


def explain(
    row: LedgerEntry | None,
    decision: Decision,
    info: TargetInfo,
    policy: Policy,
    *,
    stored_grant: Grant | None,
    now: datetime,
) -> tuple[str, list[str]]:
    """Why a session that was allowed no longer is: the short cause and the specifics, specifics first.

    Parameters
    ----------
    row
        The session's ledger row (None when the sweeper found a session its start event never announced).
    decision
        The new decision (a deny).
    info
        The target's tags as they are now.
    policy
        The policy in force.
    stored_grant
        What the grant store holds for ``grant_to_look_up(row, decision)`` (None when it holds nothing or
        no look-up was needed).
    now
        The moment of the decision.
    """
    retagged = row is not None and row.decision == "allow" and dict(row.tags) != dict(info.tags)
    change = [f"target tags changed: {tag_change(row.tags, info.tags)}"] if row and retagged else []
    if decision.basis == "session-limit":
        return denial(decision), change
    if decision.basis == "deny-rule":
        return ("target re-tagged" if retagged else denial(decision)), change
    if decision.basis == "require-logging":
        return denial(decision), []
    if row is None:
        return "no rule or grant allows it", [
            "its StartSession event never reached Session Warden; the sweeper found the session open"
        ]
    if row.decision != "allow":
        return "no rule or grant allows it", []
    if row.grant:
        lapse = _grant_lapse(row.grant, decision)
        if lapse:
            return lapse.why.replace("-", " "), [lapse.detail]
        if stored_grant is None:
            return "grant revoked", [f"grant {row.grant} no longer exists"]
        if stored_grant.state == "revoked":
            when = f" at {utc_seconds(stored_grant.revoked_at)}" if stored_grant.revoked_at else ""
            by = stored_grant.revoked_by or "an operator"
            return "grant revoked", [f"grant {row.grant} was revoked{when} by {by}"]
        if stored_grant.expires_at <= now or stored_grant.state == "expired":
            return "grant expired", [f"grant {row.grant} expired at {utc_seconds(stored_grant.expires_at)}"]
    if row.rule:
        lapse = _lapse(decision, "rule", row.rule)
        # Same sentence as the decision's reason for this rule, so it leads the list once.
        if lapse and lapse.why == "outside-window":
            return "window closed", [f"rule {row.rule}: {lapse.detail}"]
        if lapse and lapse.why == "max-duration":
            return "maximum duration reached", [f"rule {row.rule}: {lapse.detail}"]
        if lapse and lapse.why == "not-logged":
            return "session not logged", [f"rule {row.rule}: {lapse.detail}"]
    if retagged:
        return "target re-tagged", change
    gone = row.rule and not any(rule.name == row.rule for rule in policy.rules)
    what = f"rule {row.rule} is no longer in the policy" if gone else f"rule {row.rule} no longer allows it"
    return "policy changed", [what] if row.rule else []


def tag_change(before: Mapping[str, str], after: Mapping[str, str]) -> str:
    """The tags that changed, e.g. ``Department=Analytics -> Department=Finance, Owner=x removed``."""
    changes = []
    for key in sorted(set(before) | set(after)):
        old, new = before.get(key), after.get(key)
        if old == new:
            continue
        if old is None:
            changes.append(f"{key}={new} added")
        elif new is None:
            changes.append(f"{key}={old} removed")
        else:
            changes.append(f"{key}={old} -> {key}={new}")
    return ", ".join(changes)


def _grant_lapse(grant_id: str, decision: Decision) -> Lapse | None:
    """The decision's own word that this grant expired or was revoked, if it says so."""
    lapse = _lapse(decision, "grant", grant_id)
    return lapse if lapse and lapse.why in _GRANT_LAPSES else None


def _lapse(decision: Decision, kind: str, name: str) -> Lapse | None:
    # The last one wins, should an allowance be listed twice.
    return next((lapse for lapse in reversed(decision.lapsed) if (lapse.kind, lapse.name) == (kind, name)), None)
