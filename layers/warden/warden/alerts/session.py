"""Alerts about one Session Manager session: it broke the policy, it ends soon, or it could not be judged."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Literal

from warden.alerts.text import (
    AlertContext,
    build_alert,
    console_lines,
    console_link,
    facts,
    fields,
    footer,
    target_label,
    transcript_lines,
    warden_command,
    when,
)
from warden.records import Alert, ChatCard, LedgerEntry

SessionAlertKind = Literal["session-terminated", "session-denied", "would-terminate", "termination-failed"]


_SESSION_HEADINGS: dict[SessionAlertKind, tuple[Literal["HIGH", "MEDIUM"], str, str]] = {
    "session-terminated": ("HIGH", "TERMINATED", "Session Warden terminated a Session Manager session."),
    "session-denied": (
        "HIGH",
        "DENIED",
        "A Session Manager session broke the policy. It had already ended when Session Warden acted.",
    ),
    "would-terminate": (
        "MEDIUM",
        "WOULD TERMINATE",
        "A Session Manager session breaks the policy. The policy is in monitor mode, so it was NOT terminated.",
    ),
    "termination-failed": (
        "MEDIUM",
        "TERMINATION FAILED",
        "Session Warden could not terminate a Session Manager session that breaks the policy. "
        "It may still be open: end it by hand and check the warden's alarms.",
    ),
}


def session_alert(
    kind: SessionAlertKind,
    context: AlertContext,
    entry: LedgerEntry,
    *,
    cause: str,
    why: Sequence[str],
    action: str,
) -> Alert:
    """The alert for a session that breaks the policy.

    Parameters
    ----------
    kind
        ``session-terminated`` (HIGH), ``would-terminate`` (monitor mode, MEDIUM) or ``termination-failed`` (MEDIUM).
    context
        Stack, region and account, for the footer and the console link.
    entry
        The session's ledger row: who, target, document, start.
    cause
        The short reason in the subject line's terms, e.g. ``grant expired`` or ``denied by rule no-pci``.
    why
        The decision's reasons, one sentence each.
    action
        What was done, one sentence.
    """
    severity, verb, opening = _SESSION_HEADINGS[kind]
    who = entry.principal or entry.principal_arn or "unknown caller"
    target = target_label(entry.target, entry.target_name)
    card = ChatCard(
        title=f"{verb} {who} on {target}",
        description="\n".join(
            [opening, f"Decision: deny ({cause})", *[f"• {sentence}" for sentence in why], f"Action: {action}"]
        ),
        facts=facts(
            ("Who", who),
            ("Target", target),
            ("Document", entry.document),
            ("Started", when(entry.started_at)),
            ("Reason given", entry.reason or "(none)"),
            ("Session", entry.session_id),
            ("Transcript", entry.transcript_links[0] if entry.transcript_links else entry.transcript),
        ),
        next_steps=_session_steps(kind, context, entry),
        thread=entry.session_id,
        resources=tuple(part for part in (entry.target, entry.session_id) if part),
        link=("Session history (AWS console)", console_link(context.region)),
    )
    lines = [
        opening,
        "",
        *fields(
            ("Who", who),
            ("Identity", entry.principal_arn if entry.principal_arn != who else None),
            ("Target", target),
            ("Document", entry.document),
            ("Started", when(entry.started_at)),
            ("Reason given", entry.reason or "(none)"),
            ("Session", entry.session_id),
        ),
        "",
        f"Decision: deny ({cause})",
        *[f"  - {sentence}" for sentence in why],
        "",
        f"Action: {action}",
        "",
        *transcript_lines(entry),
        *console_lines(context.region),
        *footer(context, severity, kind),
    ]
    return build_alert(kind, severity, f"{verb} {who} on {target}", lines, session_id=entry.session_id, card=card)


def unjudged_session_alert(
    context: AlertContext, *, session_id: str, target: str, owner: str, since: datetime, problem: str
) -> Alert:
    """MEDIUM alert: a session the sweeper has not been able to judge for minutes (its target's tags unreadable)."""
    lines = [
        "Session Warden cannot judge an open Session Manager session: what it needs to decide could not be read.",
        "The session stays open and is re-checked every minute; every other session is judged as usual.",
        "",
        *fields(
            ("Session", session_id),
            ("Who", owner),
            ("Target", target),
            ("Unjudged since", when(since)),
            ("Problem", problem),
        ),
        "",
        "Fix the cause (throttling, or the sweeper role's access to the target's tags), or end the session by",
        "hand. This alert is sent once per episode; the next sweep that judges the session clears it.",
        "",
        *console_lines(context.region),
        *footer(context, "MEDIUM", "enforcer-unhealthy"),
    ]
    return build_alert(
        "enforcer-unhealthy", "MEDIUM", f"UNJUDGED SESSION {session_id} on {target}", lines, session_id=session_id
    )


def expiring_alert(
    context: AlertContext,
    entry: LedgerEntry,
    *,
    deadline_text: str,
    why: str,
    warnings: Sequence[str],
    extend: tuple[str, str],
) -> Alert:
    """INFO alert: an allowed session ends soon (sent at its first warning).

    Parameters
    ----------
    deadline_text
        When it ends, in the policy window's time zone (``18:00 Europe/Berlin``) or UTC.
    why
        What ends it: ``business-hours closes``, ``grant g-1 expires``, ``maximum duration 2h``.
    warnings
        What was done about the user's terminal, one line per warning (sent, or why not).
    extend
        (what it does, the command or step) that would give the session more time.
    """
    who = entry.principal or entry.principal_arn or "unknown caller"
    target = target_label(entry.target, entry.target_name)
    opening = "An allowed Session Manager session ends soon. Its user is warned in the session's terminal."
    pairs: tuple[tuple[str, str | None], ...] = (
        ("Who", who),
        ("Target", target),
        ("Ends at", deadline_text),
        ("Because", why),
        ("Rule", entry.rule),
        ("Grant", entry.grant),
        ("Started", when(entry.started_at)),
        ("Session", entry.session_id),
    )
    lines = [
        opening,
        "",
        *fields(*pairs),
        "",
        "Warning in the terminal:",
        *[f"  - {line}" for line in warnings],
        "",
        f"To give it more time: {extend[1]}",
        "",
        *console_lines(context.region),
        *footer(context, "INFO", "session-expiring"),
    ]
    card = ChatCard(
        title=f"EXPIRING {who} on {target} at {deadline_text}",
        description="\n".join([opening, f"Ends at {deadline_text} ({why}).", *[f"• {line}" for line in warnings]]),
        facts=facts(*pairs),
        next_steps=(extend, ("See the open sessions", warden_command(context, "sessions --active"))),
        thread=entry.session_id,
        resources=tuple(part for part in (entry.target, entry.session_id) if part),
        link=("Session history (AWS console)", console_link(context.region)),
    )
    return build_alert(
        "session-expiring",
        "INFO",
        f"EXPIRING {who} on {target} at {deadline_text}",
        lines,
        session_id=entry.session_id,
        card=card,
    )


def extend_step(context: AlertContext, entry: LedgerEntry, *, ends_by_deny: bool) -> tuple[str, str]:
    """What would give a session more time: extending its grant, else a grant; nothing outlasts a deny window."""
    if ends_by_deny:
        return (
            "Nothing but a policy change keeps it",
            "a deny rule's window opens at the deadline; grants do not help",
        )
    if entry.grant:
        return ("Extend the grant", warden_command(context, f"grant extend {entry.grant} --for 30m --reason R"))
    principal = entry.principal_arn or "PATTERN"  # the ARN: a display name may be one the caller chose
    command = f"grant create --principal {principal} --target {entry.target or 'TARGET'} --for 1h --reason R"
    return ("Give it more time with a grant", warden_command(context, command))


def _session_steps(kind: SessionAlertKind, context: AlertContext, entry: LedgerEntry) -> tuple[tuple[str, str], ...]:
    steps: list[tuple[str, str]] = []
    if kind in ("would-terminate", "termination-failed"):
        steps.append(("End it by hand", f"aws ssm terminate-session --session-id {entry.session_id}"))
    steps.append(("See the open sessions", warden_command(context, "sessions --active")))
    if entry.target:
        command = f"grant create --principal PATTERN --target {entry.target} --for 1h --reason R"
        steps.append(("If the access is needed, grant it", warden_command(context, command)))
    return tuple(steps)
