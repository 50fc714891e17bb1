"""Self-defence alerts: someone tampered with what the warden depends on, the sweeper's lease was forged, or the
canary stopped coming back (the event path is blind) and came back again."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from warden.alerts.text import AlertContext, build_alert, facts, fields, footer, warden_command, when
from warden.records import Alert, ChatCard

# Self-defence alert kinds (the hyphenated form of every kind: `enforcer-tampered` is the stale lease's too).
TAMPERED_KIND = "enforcer-tampered"
BLIND_KIND = "event-path-blind"  # the CLI's --stack default: next steps name --stack only for another stack


def stale_lease_alert(context: AlertContext, *, key: str, held_until: str, limit_seconds: int) -> Alert:
    """HIGH alert: the sweeper's lease in the table claimed to be held far longer than any sweep can run."""
    lines = [
        "The sweeper found its lease held for longer than one sweep can run, and took it over.",
        "Only a write outside Session Warden can set such a lease: it would have stopped every sweep.",
        "",
        *fields(
            ("Item", key),
            ("Held until", held_until),
            ("Longest lease", f"{limit_seconds} s (one sweep's timeout)"),
        ),
        "",
        "Sweeps go on. Find who wrote the item (CloudTrail data events on the idempotency table, or IAM",
        "principals with dynamodb:PutItem on it).",
        *footer(context, "HIGH", "enforcer-tampered"),
    ]
    return build_alert("enforcer-tampered", "HIGH", "ENFORCER TAMPERED sweeper lease held far into the future", lines)


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
    member_stack: bool = False,
) -> Alert:
    """HIGH alert: someone changed what the warden depends on (its rules, functions, tables, policy, a trail, the
    Session Manager preferences). ``details``: the preferences that changed, from what to what. ``member_stack``:
    the call was made in an account or region the member stack guards (``context`` names it), not the central
    stack's."""
    opening = f"Someone changed what Session Warden depends on.\nWhat it means: {meaning}."
    lines = [
        opening,
        "",
        *fields(
            ("Who", actor),
            ("Caller ARN", actor_arn if actor_arn and actor_arn != actor else None),
            ("Call", event_name),
            ("Resource", resource),
            ("When", when(at)),
        ),
    ]
    if details:
        lines += ["", "What changed:", *[f"  - {line}" for line in details]]
    lines += [
        "",
        "If this was not a planned change: undo it ("
        + (
            "restore the member stack with `warden org deploy`"
            if member_stack
            else "redeploy the stack with `sam deploy`"
        )
        + ", start the trail again,",
        "restore the preferences), then find out how this principal got the permission. See README, Self-defence.",
        *footer(context, "HIGH", TAMPERED_KIND),
    ]
    card = ChatCard(
        title=f"TAMPERED {event_name} on {resource}",
        description=opening + ("\n" + "\n".join(f"• {line}" for line in details) if details else ""),
        facts=facts(("Who", actor), ("Call", event_name), ("Resource", resource), ("When", when(at))),
        next_steps=(("See the warden's health", warden_command(context, "status")),),
    )
    return build_alert(
        TAMPERED_KIND, "HIGH", f"ENFORCER TAMPERED {event_name} on {resource} by {actor}", lines, card=card
    )


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
        *fields(
            ("Canary", parameter),
            ("Waiting since", when(waiting_since)),
            ("Last write error", send_error),
        ),
        "",
        "What can cause it:",
        *[f"  - {cause}" for cause in causes],
        "",
        "Run `warden status` to see which part is broken. A RESTORED alert follows when the canary is seen again.",
        *footer(context, "HIGH", BLIND_KIND),
    ]
    card = ChatCard(
        title="EVENT PATH BLIND",
        description=opening,
        facts=facts(("Canary", parameter), ("Waiting since", when(waiting_since)), ("Last write error", send_error)),
        next_steps=(("See what is broken", warden_command(context, "status")),),
    )
    return build_alert(
        BLIND_KIND, "HIGH", f"EVENT PATH BLIND no canary round trip for {minutes} minutes", lines, card=card
    )


def canary_restored_alert(
    context: AlertContext, *, blind_since: datetime, seen_at: datetime, round_trip_ms: int
) -> Alert:
    """INFO alert: the canary came back again; the event path delivers."""
    opening = "The event path is restored: the canary came back through CloudTrail and EventBridge."
    lines = [
        opening,
        "",
        *fields(
            ("Blind since", when(blind_since)),
            ("Seen at", when(seen_at)),
            ("Round trip", f"{round_trip_ms} ms"),
        ),
        "",
        "Sessions that started while it was blind were checked by the sweeper; review the tamper alerts of that time.",
        *footer(context, "INFO", BLIND_KIND),
    ]
    return build_alert(
        BLIND_KIND,
        "INFO",
        "EVENT PATH RESTORED canary seen again",
        lines,
        card=ChatCard(
            title="EVENT PATH RESTORED",
            description=opening,
            facts=facts(("Blind since", when(blind_since)), ("Round trip", f"{round_trip_ms} ms")),
        ),
    )
