"""What the warden owns, for the tamper watch: its rules (their names are fixed in template.yaml), functions, tables
and parameters, each with what breaks when it is changed or removed."""

from __future__ import annotations

from typing import TYPE_CHECKING

from warden.wiring_shared import topic_account

if TYPE_CHECKING:
    from warden.settings import Settings
    from warden.tamper import Owned


def owned_resources(settings: Settings) -> Owned:
    """The warden's rules (their names are fixed in template.yaml), functions, tables and parameters."""
    from warden.adapters.notices import member_document
    from warden.tamper import Owned

    stack = settings.stack_name
    late = "new sessions are checked only by the sweeper, up to a minute late"
    ended = "sessions ended with TerminateSession stay open in the ledger until the sweeper closes them"
    unswept = (
        "open sessions are no longer re-checked, grants do not expire and the canary stops "
        "(the heartbeat alarm fires within 3 minutes)"
    )
    unwatched = "changes to the warden go unreported and the canary never comes back"
    rules = {
        f"{stack}-session-started": ("session-start rule", late),
        f"{stack}-session-ended-by-user": ("session-end rule (users)", ended),
        f"{stack}-session-ended-by-role": ("session-end rule (roles)", ended),
        f"{stack}-sweep-every-minute": ("sweep schedule", unswept),
        f"{stack}-tamper-watch": ("tamper-watch rule", "changes to the warden go unreported (the canary still runs)"),
        f"{stack}-canary": ("canary rule", "the event path is no longer tested: event path blind within 10 minutes"),
    }
    if settings.org:
        members = "for every member account"
        rules |= {
            f"{stack}-org-session-started": (f"central session-start rule ({members})", late),
            f"{stack}-org-session-ended-by-user": (f"central session-end rule, users ({members})", ended),
            f"{stack}-org-session-ended-by-role": (f"central session-end rule, roles ({members})", ended),
            f"{stack}-org-tamper-watch": (
                f"central tamper-watch rule ({members})",
                "changes in member accounts go unreported (their canaries still run)",
            ),
            f"{stack}-org-canary": (
                f"central canary rule ({members})",
                "no member's canary comes back: every member account is reported not covered within 10 minutes",
            ),
            f"{stack}-forward": (
                "member forward rule",
                "that account's session calls and tamper events no longer reach the central warden: its sessions "
                "are judged by the sweeper only, up to 3 minutes late, and its canary stops (account not covered "
                "within 10 minutes)",
            ),
        }
    roles = {
        "session-start": ("session-start function", late),
        "session-end": ("session-end function", ended),
        "sweeper": ("sweeper function", unswept),
        "tamper-watch": ("tamper-watch function", unwatched),
        # Organization mode.
        "sweep-worker": (
            "sweep worker function",
            "no account or region is swept: sessions there are not re-checked (an expired grant or a closed window "
            "does not end them); each account and region's sweeps-stopped alert follows within minutes",
        ),
        "policy-validator": (
            "policy validator function",
            "AppConfig may deploy a policy version the warden never validated, or refuse every new one (the functions "
            "still refuse an invalid policy and keep enforcing the last valid one)",
        ),
    }
    functions: dict[str, tuple[str, str]] = {}
    named = [pair.split("=", 1) for pair in settings.watched_functions.split(",") if "=" in pair]
    if settings.function_name:
        named.append(["tamper-watch", settings.function_name])
    for role, name in named:
        if role.strip() in roles and name.strip():
            functions[name.strip()] = roles[role.strip()]
    tables = {
        settings.grants_table: "grants",
        settings.ledger_table: "session ledger",
        settings.idempotency_table: "idempotency and sweeper lease",
        settings.state_table: "warden state (policy copy, alert outbox, heartbeat, canary)",
    }
    return Owned(
        stack=stack,
        rules={name: what for name, (what, _) in rules.items()},
        functions={name: what for name, (what, _) in functions.items()},
        tables=tables,
        policy_parameter=settings.policy_parameter,
        canary_parameter=settings.canary_parameter,
        warning_document=settings.warning_document,
        member_warning_document=member_document(stack) if settings.org else None,
        region=settings.region,
        account=topic_account(settings),
        consequences={name: then for name, (_, then) in [*rules.items(), *functions.items()]},
        policy_application=settings.policy_application,
        policy_profile=settings.policy_profile,
        queues=_sweep_queues(settings),
    )


def _sweep_queues(settings: Settings) -> dict[str, str]:
    """Organization mode: the sweep queue and its dead-letter queue, by name (the last part of their URLs)."""
    from warden.tamper_fanout import SWEEP_DLQ, SWEEP_QUEUE

    if not settings.org:
        return {}
    named = ((settings.sweep_queue_url, SWEEP_QUEUE), (settings.sweep_dead_letter_url, SWEEP_DLQ))
    return {url.rstrip("/").rsplit("/", 1)[-1]: what for url, what in named if url}
