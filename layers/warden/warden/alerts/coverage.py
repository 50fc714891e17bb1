"""Coverage alerts (organization mode): an account and region whose canary is not coming back to the central warden
(or whose member role cannot be assumed), and the clearing alert when it comes back."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from warden.alerts.text import AlertContext, build_alert, facts, fields, footer, warden_command, when
from warden.records import Alert, ChatCard

NOT_COVERED_KIND = "account-not-covered"


@dataclass(frozen=True)
class Where:
    """The account and region an alert is about, as the organization names them."""

    account: str
    region: str
    name: str | None = None
    ou_path: str | None = None

    @property
    def label(self) -> str:
        return f"{self.account} ({self.name})" if self.name else self.account

    def field_pairs(self) -> tuple[tuple[str, str | None], ...]:
        ou = self.ou_path if self.ou_path else "(directly under the root)" if self.ou_path == "" else "unknown"
        return (("Account", self.account), ("Name", self.name or "unknown"), ("OU path", ou), ("Region", self.region))


def account_not_covered_alert(
    context: AlertContext,
    *,
    where: Where,
    since: datetime,
    now: datetime,
    seen: Sequence[str],
    actions: Sequence[str],
) -> Alert:
    """HIGH alert: the central warden does not see this account and region (the canary is not coming back, or the
    member role cannot be assumed). ``seen``: what was found (the causes it can tell); ``actions``: what to do."""
    minutes = max(0, int((now - since).total_seconds() // 60))
    opening = (
        f"Account {where.label} in {where.region} is not covered: the central warden does not see its events. "
        "Sessions started there are not checked at their start, and tampering there goes unreported; sessions are "
        "swept only while the member role can be assumed."
    )
    lines = [
        opening,
        "",
        *fields(*where.field_pairs(), ("Since", f"{when(since)} ({minutes} minutes)")),
        "",
        "What was seen:",
        *[f"  - {line}" for line in seen],
        "",
        "What to do:",
        *[f"  - {line}" for line in actions],
        "",
        "A RESTORED alert follows when the canary comes back from this account and region.",
        *footer(context, "HIGH", NOT_COVERED_KIND),
    ]
    card = ChatCard(
        title=f"ACCOUNT NOT COVERED {where.label} {where.region}",
        description=opening + "\n" + "\n".join(f"• {line}" for line in seen),
        facts=facts(*where.field_pairs(), ("Since", when(since))),
        next_steps=(("See every account's coverage", warden_command(context, "org status")),),
    )
    return build_alert(NOT_COVERED_KIND, "HIGH", f"ACCOUNT NOT COVERED {where.label} {where.region}", lines, card=card)


def account_covered_alert(
    context: AlertContext, *, where: Where, since: datetime, seen_at: datetime, round_trip_ms: int
) -> Alert:
    """INFO alert: the canary of an account and region that was not covered came back."""
    opening = f"Account {where.label} in {where.region} is covered again: its canary came back to the central warden."
    lines = [
        opening,
        "",
        *fields(
            *where.field_pairs(),
            ("Not covered since", when(since)),
            ("Seen at", when(seen_at)),
            ("Round trip", f"{round_trip_ms} ms"),
        ),
        "",
        "Sessions started there meanwhile were checked by the sweeper when the member role could be assumed;",
        "review that account's CloudTrail for changes to the member stack, its forwarding rule and its trail.",
        *footer(context, "INFO", NOT_COVERED_KIND),
    ]
    return build_alert(
        NOT_COVERED_KIND,
        "INFO",
        f"RESTORED account {where.label} {where.region} covered again",
        lines,
        card=ChatCard(
            title=f"RESTORED {where.label} {where.region}",
            description=opening,
            facts=facts(("Not covered since", when(since)), ("Round trip", f"{round_trip_ms} ms")),
        ),
    )
