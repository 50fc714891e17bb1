"""Per-scope liveness alerts (organization mode): the sweeps of one account and region have stopped, and resumed."""

from __future__ import annotations

from datetime import datetime

from warden.alerts.coverage import Where
from warden.alerts.text import AlertContext, build_alert, facts, fields, footer, warden_command, when
from warden.records import Alert, ChatCard

UNHEALTHY_KIND = "enforcer-unhealthy"
MEANING = (
    "sessions there are not re-checked: an expired grant or a closed window does not end them, a session the "
    "event path missed is never judged, and the scope's canary is not sent"
)


def sweeps_stopped_alert(
    context: AlertContext,
    *,
    where: Where,
    last_sweep: datetime | None,
    since: datetime,
    now: datetime,
    stack: str,
) -> Alert:
    """HIGH alert: no sweep of this account and region has completed for more than 3 minutes.

    *last_sweep* is the last completed sweep (None: never swept since the warden first sent it an order at
    *since*); one in the future was not written by a sweep."""
    minutes = max(0, int((now - since).total_seconds() // 60))
    if last_sweep is None:
        last = f"never (first sweep order sent {when(since)})"
    elif last_sweep > now:
        last = f"{when(last_sweep)} (in the future: not written by a sweep, someone edited the state table)"
    else:
        last = f"{when(last_sweep)} ({minutes} minutes ago)"
    opening = f"Sweeps of account {where.label} in {where.region} have stopped: {MEANING}."
    lines = [
        opening,
        "",
        *fields(*where.field_pairs(), ("Last completed sweep", last)),
        "",
        "What to look at:",
        "  - the sweep worker's event source mapping on the sweep queue (disabled or deleted?) and the sweep worker "
        f"function of stack {stack} (errors, throttles, reserved concurrency); recent `enforcer tampered` alerts",
        f"  - the sweep queue and its dead-letter queue ({stack}-sweep-dlq alarm): a message for this scope that keeps "
        "failing lands there with its account and region",
        "  - the sweep worker's logs for this account and region (member role not assumable: see the account's "
        "coverage alert)",
        "",
        "A RESTORED alert follows when a sweep of this account and region completes again.",
        *footer(context, "HIGH", UNHEALTHY_KIND),
    ]
    card = ChatCard(
        title=f"SWEEPS STOPPED {where.label} {where.region}",
        description=opening,
        facts=facts(*where.field_pairs(), ("Last completed sweep", last)),
        next_steps=(("See every account's sweeps", warden_command(context, "org status")),),
    )
    return build_alert(UNHEALTHY_KIND, "HIGH", f"SWEEPS STOPPED {where.label} {where.region}", lines, card=card)


def sweeps_resumed_alert(context: AlertContext, *, where: Where, since: datetime, swept_at: datetime) -> Alert:
    """INFO alert: a sweep of an account and region whose sweeps had stopped completed again."""
    opening = f"Sweeps of account {where.label} in {where.region} have resumed: its sessions are re-checked again."
    lines = [
        opening,
        "",
        *fields(*where.field_pairs(), ("Stopped since", when(since)), ("Swept again at", when(swept_at))),
        "",
        "Sessions that should have ended meanwhile are ended by this sweep; review the sweep worker's mapping, queue",
        "and function changes in CloudTrail for who stopped them.",
        *footer(context, "INFO", UNHEALTHY_KIND),
    ]
    return build_alert(
        UNHEALTHY_KIND,
        "INFO",
        f"RESTORED sweeps of {where.label} {where.region}",
        lines,
        card=ChatCard(
            title=f"RESTORED sweeps {where.label} {where.region}",
            description=opening,
            facts=facts(("Stopped since", when(since)), ("Swept again at", when(swept_at))),
        ),
    )
