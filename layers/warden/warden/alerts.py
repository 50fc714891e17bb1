"""Alert texts: the e-mail a person reads and what the card a chat channel shows says (SPEC section 4).

Every alert is published once with SNS message structure per protocol (:func:`warden.chat_cards.sns_message`):
e-mail (and every protocol without a key of its own, SQS included) gets the plain-text body, HTTPS subscribers such
as Amazon Q Developer in chat applications get a custom notification (:func:`warden.chat_cards.chat_notification`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from warden.policy import Grant, format_duration
from warden.records import Alert, ChatCard, LedgerEntry
from warden.timefmt import utc_seconds

SessionAlertKind = Literal["session-terminated", "session-denied", "would-terminate", "termination-failed"]
GrantAlertKind = Literal["grant-created", "grant-extended", "grant-expired", "grant-revoked"]

_SUBJECT_LIMIT = 99  # SNS: ASCII, no line breaks, under 100 characters
DEFAULT_STACK = "session-warden"
# Self-defence alert kinds (the hyphenated form of every kind: `enforcer-tampered` is the stale lease's too).
TAMPERED_KIND = "enforcer-tampered"
BLIND_KIND = "event-path-blind"  # the CLI's --stack default: next steps name --stack only for another stack


@dataclass(frozen=True)
class AlertContext:
    """Where the alert comes from: printed in every footer and used for the console link."""

    stack: str
    region: str
    account: str | None = None


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
    target = _target_label(entry.target, entry.target_name)
    card = ChatCard(
        title=f"{verb} {who} on {target}",
        description="\n".join(
            [opening, f"Decision: deny ({cause})", *[f"• {sentence}" for sentence in why], f"Action: {action}"]
        ),
        facts=_facts(
            ("Who", who),
            ("Target", target),
            ("Document", entry.document),
            ("Started", _when(entry.started_at)),
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
        *_fields(
            ("Who", who),
            ("Identity", entry.principal_arn if entry.principal_arn != who else None),
            ("Target", target),
            ("Document", entry.document),
            ("Started", _when(entry.started_at)),
            ("Reason given", entry.reason or "(none)"),
            ("Session", entry.session_id),
        ),
        "",
        f"Decision: deny ({cause})",
        *[f"  - {sentence}" for sentence in why],
        "",
        f"Action: {action}",
        "",
        *_transcript_lines(entry),
        "Session history (AWS console):",
        f"  {console_link(context.region)}",
        *_footer(context, severity, kind),
    ]
    return Alert(
        kind=kind,
        severity=severity,
        subject=_subject(f"{verb} {who} on {target}"),
        body="\n".join(lines) + "\n",
        session_id=entry.session_id,
        card=card,
    )


_GRANT_VERBS: dict[GrantAlertKind, tuple[str, str]] = {
    "grant-created": ("GRANT CREATED", "A just-in-time grant was created."),
    "grant-extended": (
        "GRANT EXTENDED",
        "A just-in-time grant was extended. Open sessions it allows get the new end at the next sweep.",
    ),
    "grant-expired": (
        "GRANT EXPIRED",
        "A just-in-time grant expired. Open sessions that only it allowed are ended within a minute.",
    ),
    "grant-revoked": (
        "GRANT REVOKED",
        "A just-in-time grant was revoked. Open sessions that only it allowed are ended within a minute.",
    ),
}


def grant_alert(
    kind: GrantAlertKind,
    context: AlertContext,
    grant: Grant,
    *,
    by: str | None = None,
    previous_until: datetime | None = None,
    why: str | None = None,
) -> Alert:
    """INFO alert on a grant's lifecycle: created, extended, revoked, expired.

    Parameters
    ----------
    by
        Who revoked or extended it.
    previous_until, why
        For ``grant-extended``: the expiry before the extension, and the reason given for it.
    """
    verb, opening = _GRANT_VERBS[kind]
    scope = grant_scope(grant)
    extended = kind == "grant-extended"
    pairs: tuple[tuple[str, str | None], ...] = (
        ("Grant", grant.id),
        ("Who", grant.principal),
        ("Targets", scope),
        ("From", _when(grant.starts_at)),
        ("Until", _when(grant.expires_at)),
        ("Was until", _when(previous_until) if extended else None),
        ("Duration", format_duration(grant.expires_at - grant.starts_at)),
        ("Reason", grant.reason),
        ("Created by", grant.created_by),
        ("Revoked by", by if kind == "grant-revoked" else None),
        ("Extended by", by if extended else None),
        ("Extended for", why if extended else None),
    )
    lines = [opening, "", *_fields(*pairs), *_footer(context, "INFO", kind)]
    card = ChatCard(
        title=f"{verb} {grant.principal} on {scope}",
        description=opening,
        facts=_facts(*pairs),
        next_steps=_grant_steps(kind, context, grant),
        thread=grant.id,
        resources=(grant.id,),
    )
    return Alert(
        kind=kind,
        severity="INFO",
        subject=_subject(f"{verb} {grant.principal} on {scope}"),
        body="\n".join(lines) + "\n",
        card=card,
    )


def policy_rejected_alert(context: AlertContext, *, parameter: str, error: str, in_force: str) -> Alert:
    """MEDIUM alert: the stored policy document is invalid; which one stays in force."""
    return _policy_alert(
        context,
        ("policy-rejected", "MEDIUM", "POLICY REJECTED"),
        "The policy document stored in Parameter Store is invalid and was NOT put in force.",
        (parameter, error, in_force),
        ["Fix the document and store it with `warden policy push FILE`, which validates before it writes."],
    )


def policy_missing_alert(context: AlertContext, *, parameter: str, problem: str, in_force: str) -> Alert:
    """HIGH alert: the policy parameter cannot be read (deleted, access denied); which policy stays in force."""
    return _policy_alert(
        context,
        ("policy-missing", "HIGH", "POLICY MISSING"),
        "The policy parameter could not be read. Session Warden keeps enforcing the last valid policy.",
        (parameter, problem, in_force),
        [
            "Check who deleted the parameter or changed the functions' access to it (CloudTrail: DeleteParameter,",
            "PutParameter, IAM changes), then restore it with `warden policy push FILE`.",
        ],
    )


def _policy_alert(
    context: AlertContext,
    heading: tuple[str, Literal["HIGH", "MEDIUM"], str],
    opening: str,
    facts: tuple[str, str, str],
    advice: list[str],
) -> Alert:
    kind, severity, verb = heading
    parameter, problem, in_force = facts
    lines = [
        opening,
        "",
        *_fields(("Parameter", parameter), ("Problem", problem), ("In force", in_force)),
        "",
        *advice,
        *_footer(context, severity, kind),
    ]
    card = ChatCard(
        title=f"{verb} {parameter}",
        description=opening,
        facts=_facts(("Parameter", parameter), ("Problem", problem), ("In force", in_force)),
        next_steps=(
            ("Check the fixed document", "warden policy validate FILE"),
            ("Store it", _warden(context, "policy push FILE")),
            ("See the one in force", _warden(context, "policy show")),
        ),
        thread=parameter,
        resources=(parameter,),
    )
    return Alert(
        kind=kind,
        severity=severity,
        subject=_subject(f"{verb} {parameter}"),
        body="\n".join(lines) + "\n",
        card=card,
    )


def stale_lease_alert(context: AlertContext, *, key: str, held_until: str, limit_seconds: int) -> Alert:
    """HIGH alert: the sweeper's lease in the table claimed to be held far longer than any sweep can run."""
    lines = [
        "The sweeper found its lease held for longer than one sweep can run, and took it over.",
        "Only a write outside Session Warden can set such a lease: it would have stopped every sweep.",
        "",
        *_fields(
            ("Item", key),
            ("Held until", held_until),
            ("Longest lease", f"{limit_seconds} s (one sweep's timeout)"),
        ),
        "",
        "Sweeps go on. Find who wrote the item (CloudTrail data events on the idempotency table, or IAM",
        "principals with dynamodb:PutItem on it).",
        *_footer(context, "HIGH", "enforcer-tampered"),
    ]
    return Alert(
        kind="enforcer-tampered",
        severity="HIGH",
        subject=_subject("ENFORCER TAMPERED sweeper lease held far into the future"),
        body="\n".join(lines) + "\n",
    )


def unjudged_session_alert(
    context: AlertContext, *, session_id: str, target: str, owner: str, since: datetime, problem: str
) -> Alert:
    """MEDIUM alert: a session the sweeper has not been able to judge for minutes (its target's tags unreadable)."""
    lines = [
        "Session Warden cannot judge an open Session Manager session: what it needs to decide could not be read.",
        "The session stays open and is re-checked every minute; every other session is judged as usual.",
        "",
        *_fields(
            ("Session", session_id),
            ("Who", owner),
            ("Target", target),
            ("Unjudged since", _when(since)),
            ("Problem", problem),
        ),
        "",
        "Fix the cause (throttling, or the sweeper role's access to the target's tags), or end the session by",
        "hand. This alert is sent once per episode; the next sweep that judges the session clears it.",
        "",
        "Session history (AWS console):",
        f"  {console_link(context.region)}",
        *_footer(context, "MEDIUM", "enforcer-unhealthy"),
    ]
    return Alert(
        kind="enforcer-unhealthy",
        severity="MEDIUM",
        subject=_subject(f"UNJUDGED SESSION {session_id} on {target}"),
        body="\n".join(lines) + "\n",
        session_id=session_id,
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
    target = _target_label(entry.target, entry.target_name)
    opening = "An allowed Session Manager session ends soon. Its user is warned in the session's terminal."
    pairs: tuple[tuple[str, str | None], ...] = (
        ("Who", who),
        ("Target", target),
        ("Ends at", deadline_text),
        ("Because", why),
        ("Rule", entry.rule),
        ("Grant", entry.grant),
        ("Started", _when(entry.started_at)),
        ("Session", entry.session_id),
    )
    lines = [
        opening,
        "",
        *_fields(*pairs),
        "",
        "Warning in the terminal:",
        *[f"  - {line}" for line in warnings],
        "",
        f"To give it more time: {extend[1]}",
        "",
        "Session history (AWS console):",
        f"  {console_link(context.region)}",
        *_footer(context, "INFO", "session-expiring"),
    ]
    card = ChatCard(
        title=f"EXPIRING {who} on {target} at {deadline_text}",
        description="\n".join([opening, f"Ends at {deadline_text} ({why}).", *[f"• {line}" for line in warnings]]),
        facts=_facts(*pairs),
        next_steps=(extend, ("See the open sessions", _warden(context, "sessions --active"))),
        thread=entry.session_id,
        resources=tuple(part for part in (entry.target, entry.session_id) if part),
        link=("Session history (AWS console)", console_link(context.region)),
    )
    return Alert(
        kind="session-expiring",
        severity="INFO",
        subject=_subject(f"EXPIRING {who} on {target} at {deadline_text}"),
        body="\n".join(lines) + "\n",
        session_id=entry.session_id,
        card=card,
    )


def tamper_alert(
    context: AlertContext,
    *,
    event_name: str,
    actor: str,
    actor_arn: str,
    resource: str,
    at: datetime,
    meaning: str,
    details: Sequence[str] = (),
) -> Alert:
    """HIGH alert: someone changed what the warden depends on (its rules, functions, tables, policy, a trail, the
    Session Manager preferences). ``details``: the preferences that changed, from what to what."""
    opening = f"Someone changed what Session Warden depends on.\nWhat it means: {meaning}."
    lines = [
        opening,
        "",
        *_fields(
            ("Who", actor),
            ("Caller ARN", actor_arn if actor_arn and actor_arn != actor else None),
            ("Call", event_name),
            ("Resource", resource),
            ("When", _when(at)),
        ),
    ]
    if details:
        lines += ["", "What changed:", *[f"  - {line}" for line in details]]
    lines += [
        "",
        "If this was not a planned change: undo it (redeploy the stack with `sam deploy`, start the trail again,",
        "restore the preferences), then find out how this principal got the permission. See README, Self-defence.",
        *_footer(context, "HIGH", TAMPERED_KIND),
    ]
    card = ChatCard(
        title=f"TAMPERED {event_name} on {resource}",
        description=opening + ("\n" + "\n".join(f"• {line}" for line in details) if details else ""),
        facts=_facts(("Who", actor), ("Call", event_name), ("Resource", resource), ("When", _when(at))),
        next_steps=(("See the warden's health", _warden(context, "status")),),
    )
    return Alert(
        kind=TAMPERED_KIND,
        severity="HIGH",
        subject=_subject(f"ENFORCER TAMPERED {event_name} on {resource} by {actor}"),
        body="\n".join(lines) + "\n",
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
        return ("Extend the grant", _warden(context, f"grant extend {entry.grant} --for 30m --reason R"))
    principal = entry.principal_arn or "PATTERN"  # the ARN: a display name may be one the caller chose
    command = f"grant create --principal {principal} --target {entry.target or 'TARGET'} --for 1h --reason R"
    return ("Give it more time with a grant", _warden(context, command))


def canary_blind_alert(
    context: AlertContext,
    *,
    parameter: str,
    waiting_since: datetime,
    now: datetime,
    causes: Sequence[str],
    send_error: str | None = None,
) -> Alert:
    """HIGH alert: the canary the sweeper writes has not come back through CloudTrail and EventBridge in time."""
    minutes = max(0, int((now - waiting_since).total_seconds() // 60))
    opening = (
        f"The event path is blind: the canary written {minutes} minutes ago has not come back through CloudTrail "
        "and EventBridge. Session starts may not reach the warden: sessions are checked only by the sweeper, "
        "up to a minute late, and tamper events go unreported."
    )
    lines = [
        opening,
        "",
        *_fields(
            ("Canary", parameter),
            ("Waiting since", _when(waiting_since)),
            ("Last write error", send_error),
        ),
        "",
        "What can cause it:",
        *[f"  - {cause}" for cause in causes],
        "",
        "Run `warden status` to see which part is broken. A RESTORED alert follows when the canary is seen again.",
        *_footer(context, "HIGH", BLIND_KIND),
    ]
    card = ChatCard(
        title="EVENT PATH BLIND",
        description=opening,
        facts=_facts(("Canary", parameter), ("Waiting since", _when(waiting_since)), ("Last write error", send_error)),
        next_steps=(("See what is broken", _warden(context, "status")),),
    )
    return Alert(
        kind=BLIND_KIND,
        severity="HIGH",
        subject=_subject(f"EVENT PATH BLIND no canary round trip for {minutes} minutes"),
        body="\n".join(lines) + "\n",
        card=card,
    )


def canary_restored_alert(
    context: AlertContext, *, blind_since: datetime, seen_at: datetime, round_trip_ms: int
) -> Alert:
    """INFO alert: the canary came back again; the event path delivers."""
    opening = "The event path is restored: the canary came back through CloudTrail and EventBridge."
    lines = [
        opening,
        "",
        *_fields(
            ("Blind since", _when(blind_since)),
            ("Seen at", _when(seen_at)),
            ("Round trip", f"{round_trip_ms} ms"),
        ),
        "",
        "Sessions that started while it was blind were checked by the sweeper; review the tamper alerts of that time.",
        *_footer(context, "INFO", BLIND_KIND),
    ]
    return Alert(
        kind=BLIND_KIND,
        severity="INFO",
        subject=_subject("EVENT PATH RESTORED canary seen again"),
        body="\n".join(lines) + "\n",
        card=ChatCard(
            title="EVENT PATH RESTORED",
            description=opening,
            facts=_facts(("Blind since", _when(blind_since)), ("Round trip", f"{round_trip_ms} ms")),
        ),
    )


def grant_scope(grant: Grant) -> str:
    """``i-0abc, i-0def`` or ``Environment=prod`` (tags joined with commas)."""
    parts: list[str] = []
    if grant.targets.ids:
        parts.extend(grant.targets.ids)
    for key, value in (grant.targets.tags or {}).items():
        values = [value] if isinstance(value, str) else list(value)
        parts.append(f"{key}={'|'.join(values)}")
    return ", ".join(parts) or "every target"


def console_link(region: str) -> str:
    return f"https://{region}.console.aws.amazon.com/systems-manager/session-manager/session-history?region={region}"


def _transcript_lines(entry: LedgerEntry) -> list[str]:
    """``Transcript: <console link>`` per place Session Manager writes it, or why there is none."""
    if entry.transcript_links:
        return [*(f"Transcript: {link}" for link in entry.transcript_links), f"  ({entry.transcript})", ""]
    return [f"Transcript: {entry.transcript}", ""] if entry.transcript else []


def _target_label(target: str | None, name: str | None) -> str:
    target = target or "unknown target"
    return f"{target} ({name})" if name else target


def _when(moment: datetime | None) -> str | None:
    return None if moment is None else utc_seconds(moment)


def _fields(*pairs: tuple[str, str | None]) -> list[str]:
    shown = [(label, value) for label, value in pairs if value]
    width = max(len(label) for label, _ in shown) + 3
    return [f"  {label + ':':<{width}}{value}" for label, value in shown]


def _footer(context: AlertContext, severity: str, kind: str) -> list[str]:
    where = ", ".join(
        part
        for part in (f"stack {context.stack}", context.account and f"account {context.account}", context.region)
        if part
    )
    return ["", "--", f"Session Warden ({where})", f"severity {severity}, kind {kind}"]


def _subject(text: str) -> str:
    subject = "[Session Warden] " + " ".join(text.split())
    subject = subject.encode("ascii", "replace").decode("ascii")
    return subject if len(subject) <= _SUBJECT_LIMIT else subject[: _SUBJECT_LIMIT - 3] + "..."


def _facts(*pairs: tuple[str, str | None]) -> tuple[tuple[str, str], ...]:
    return tuple((label, value) for label, value in pairs if value)


def _session_steps(kind: SessionAlertKind, context: AlertContext, entry: LedgerEntry) -> tuple[tuple[str, str], ...]:
    steps: list[tuple[str, str]] = []
    if kind in ("would-terminate", "termination-failed"):
        steps.append(("End it by hand", f"aws ssm terminate-session --session-id {entry.session_id}"))
    steps.append(("See the open sessions", _warden(context, "sessions --active")))
    if entry.target:
        command = f"grant create --principal PATTERN --target {entry.target} --for 1h --reason R"
        steps.append(("If the access is needed, grant it", _warden(context, command)))
    return tuple(steps)


def _grant_steps(kind: GrantAlertKind, context: AlertContext, grant: Grant) -> tuple[tuple[str, str], ...]:
    listing = ("See the grants in force", _warden(context, "grant list --active"))
    if kind in ("grant-created", "grant-extended"):
        return (
            ("Give it more time", _warden(context, f"grant extend {grant.id} --for 30m --reason R")),
            ("End it now", _warden(context, f"grant revoke {grant.id}")),
            listing,
        )
    return (listing,)


def _warden(context: AlertContext, command: str) -> str:
    stack = "" if context.stack == DEFAULT_STACK else f" --stack {context.stack}"
    return f"warden {command}{stack}"
