"""What every alert shares: where it comes from (:class:`AlertContext`), its subject line, the aligned fields of its
body, its footer, the facts of its chat card and the `warden` commands its next steps name."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from warden.records import Alert, ChatCard, LedgerEntry
from warden.timefmt import utc_seconds

_SUBJECT_LIMIT = 99  # SNS: ASCII, no line breaks, under 100 characters
DEFAULT_STACK = "session-warden"


@dataclass(frozen=True)
class AlertContext:
    """Where the alert comes from: printed in every footer and used for the console link."""

    stack: str
    region: str
    account: str | None = None


def console_link(region: str) -> str:
    return f"https://{region}.console.aws.amazon.com/systems-manager/session-manager/session-history?region={region}"


def console_lines(region: str) -> list[str]:
    """The body's two lines that link the region's Session Manager history."""
    return ["Session history (AWS console):", f"  {console_link(region)}"]


def transcript_lines(entry: LedgerEntry) -> list[str]:
    """``Transcript: <console link>`` per place Session Manager writes it, or why there is none."""
    if entry.transcript_links:
        return [*(f"Transcript: {link}" for link in entry.transcript_links), f"  ({entry.transcript})", ""]
    return [f"Transcript: {entry.transcript}", ""] if entry.transcript else []


def target_label(target: str | None, name: str | None) -> str:
    target = target or "unknown target"
    return f"{target} ({name})" if name else target


def when(moment: datetime | None) -> str | None:
    return None if moment is None else utc_seconds(moment)


def fields(*pairs: tuple[str, str | None]) -> list[str]:
    shown = [(label, value) for label, value in pairs if value]
    width = max(len(label) for label, _ in shown) + 3
    return [f"  {label + ':':<{width}}{value}" for label, value in shown]


def footer(context: AlertContext, severity: str, kind: str) -> list[str]:
    where = ", ".join(
        part
        for part in (f"stack {context.stack}", context.account and f"account {context.account}", context.region)
        if part
    )
    return ["", "--", f"Session Warden ({where})", f"severity {severity}, kind {kind}"]


def build_alert(
    kind: str,
    severity: Literal["HIGH", "MEDIUM", "INFO"],
    title: str,
    lines: list[str],
    *,
    session_id: str | None = None,
    card: ChatCard | None = None,
) -> Alert:
    """The alert whose SNS subject is ``title`` (made safe by :func:`subject`) and whose e-mail body is ``lines``."""
    return Alert(
        kind=kind,
        severity=severity,
        subject=subject(title),
        body="\n".join(lines) + "\n",
        session_id=session_id,
        card=card,
    )


def subject(text: str) -> str:
    subject = "[Session Warden] " + " ".join(text.split())
    subject = subject.encode("ascii", "replace").decode("ascii")
    return subject if len(subject) <= _SUBJECT_LIMIT else subject[: _SUBJECT_LIMIT - 3] + "..."


def facts(*pairs: tuple[str, str | None]) -> tuple[tuple[str, str], ...]:
    return tuple((label, value) for label, value in pairs if value)


def warden_command(context: AlertContext, command: str) -> str:
    stack = "" if context.stack == DEFAULT_STACK else f" --stack {context.stack}"
    return f"warden {command}{stack}"
