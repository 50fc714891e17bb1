"""What the demo's timeline says of a session, read from its ledger row."""

from __future__ import annotations

from typing import TYPE_CHECKING

from warden_cli.timeline import local_time

if TYPE_CHECKING:
    from warden.records import LedgerEntry


def start_verdict(row: LedgerEntry | None, active: bool) -> tuple[str, str]:
    """(outcome, what the timeline says) for a session just started."""
    state = "still active" if active else "no longer active"
    if row is None:
        return ("allowed" if active else "gone"), f"no decision in the ledger ({state} per DescribeSessions)"
    if row.decision == "allow":
        by = f"grant {row.grant}" if row.grant else (row.rule or "the default")
        until = f", until {local_time(row.deadline)}" if row.deadline else ""
        outcome = "allowed" if active else "gone"
        suffix = "" if active else f" (but DescribeSessions: {state})"
        return outcome, f"ALLOWED by {by}{until}{suffix}"
    denied = f"DENIED by rule {row.rule}" if row.basis == "deny-rule" else "DENIED: no rule or grant allows it"
    if row.action == "terminated":
        if active:
            return "still active", f"{denied}, yet DescribeSessions still lists it as active"
        return "terminated at start", f"{denied}  ->  TERMINATED at start"
    if row.action == "would-terminate":
        return "would terminate", f"{denied}  ->  WOULD TERMINATE (monitor mode), left open"
    if row.action == "termination-failed":
        return "termination failed", f"{denied}  ->  TERMINATION FAILED ({state})"
    return ("denied, open" if active else "denied, gone"), f"{denied} (action {row.action}; {state})"


def cause_of(row: LedgerEntry) -> str | None:
    """Why the warden ended the session, in the alert's words."""
    reason = row.end_reason or ""
    prefix = "terminated by Session Warden: "
    if reason.startswith(prefix):
        return reason[len(prefix) :]
    if row.basis == "deny-rule":
        return f"denied by rule {row.rule}"
    return reason or (row.why[0] if row.why else None)
