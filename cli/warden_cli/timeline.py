"""The demo's timeline: each event as it happens, as stamped lines for people or one JSON object per line."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, TextIO

from warden_cli.demo_cast import ALERT_EMAIL, BERLIN

if TYPE_CHECKING:
    from warden_cli.demo_cast import Tracked
    from warden_local.inbox import Mail

# What Amazon SNS puts in From: the topic's DisplayName ("Session Warden" in template.yaml) and its sender address.
MAIL_FROM = "Session Warden <no-reply@sns.amazonaws.com>"
INDENT = " " * len("00:00 Berlin  ")  # continuation lines start under the text of a stamped line


@dataclass(frozen=True)
class Event:
    """One thing that happened: lines for people, data for ``--json``."""

    at: datetime
    kind: str
    lines: Sequence[str]
    data: dict[str, Any] = field(default_factory=dict)
    stamped: bool = True  # whether the first line starts with the local time


class Timeline:
    """Prints each event as it happens: text for people, or one JSON object per line."""

    def __init__(self, stream: TextIO, *, as_json: bool, json_copy: TextIO | None = None) -> None:
        # Keep the real stream: the local cloud swaps sys.stdout while a handler runs.
        self._stream = stream
        self.as_json = as_json
        # ``--json-to FILE``: the JSON lines ``--json`` would print, written there as well, from the same run.
        self._json_copy = json_copy
        self.events: list[Event] = []

    def emit(self, event: Event) -> None:
        self.events.append(event)
        if self.as_json or self._json_copy is not None:
            from warden.timefmt import iso

            line = json.dumps({"at": iso(event.at), "kind": event.kind, **event.data}, ensure_ascii=False)
            if self._json_copy is not None:
                _write(self._json_copy, line)
            if self.as_json:
                _write(self._stream, line)
                return
        lines = list(event.lines)
        if not lines:
            return
        if event.stamped:
            lines[0] = f"{local_time(event.at)} Berlin  {lines[0]}"
        _write(self._stream, "\n".join(lines))

    def text(self, *lines: str) -> None:
        """Lines only people see (headings, blank lines); nothing in ``--json``."""
        if not self.as_json:
            _write(self._stream, "\n".join(lines))


def _write(stream: TextIO, text: str) -> None:
    stream.write(text + "\n")
    stream.flush()


def local_time(moment: datetime) -> str:
    """``15:40``: the time of day in Berlin."""
    from warden.timefmt import wall_clock

    return wall_clock(moment, BERLIN)


def span(delta: timedelta) -> str:
    """``1h05m`` or ``7m``: how long a session was open."""
    minutes = int(delta.total_seconds() // 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m"


def alert_event(mail: Mail, at: datetime) -> Event:
    """An alert as the e-mail the security team receives: headers, a blank line, the body."""
    from warden.timefmt import mail_date

    headers = [
        f"From:    {MAIL_FROM}",
        f"To:      {ALERT_EMAIL}",
        f"Date:    {mail_date(at, BERLIN)}",
        f"Subject: {mail.subject}",
        "",
    ]
    body = mail.body.rstrip("\n").splitlines()
    lines = [
        f"ALERT e-mail ({mail.severity}, {mail.kind})",
        *(f"      | {line}".rstrip() for line in (*headers, *body)),
    ]
    data = {
        "alert": {
            "from": MAIL_FROM,
            "to": ALERT_EMAIL,
            "subject": mail.subject,
            "body": mail.body,
            "severity": mail.severity,
            "kind": mail.kind,
        }
    }
    return Event(at, "alert", lines, data)


def summary_event(
    at: datetime, sessions: Sequence[Tracked], mails: Sequence[Mail], sweeps: int, unmet: Sequence[str], seconds: float
) -> Event:
    """The day in numbers, whether it went as scripted, and where to go next."""
    outcomes = Counter(tracked.outcome for tracked in sessions)
    allowed = sum(1 for tracked in sessions if tracked.allowed_at_start)
    kinds = Counter(mail.kind for mail in mails)
    by_sweeper = outcomes["terminated"]
    at_start = outcomes["terminated at start"]
    data = {
        "sessions_started": len(sessions),
        "allowed_at_start": allowed,
        "terminated_at_start": at_start,
        "terminated_by_sweeper": by_sweeper,
        "would_terminate": outcomes["would terminate"],
        "still_open": sum(1 for tracked in sessions if tracked.active),
        "alerts": dict(sorted(kinds.items())),
        "sweeps": sweeps,
        "as_scripted": not unmet,
        "unmet": list(unmet),
        "seconds": round(seconds, 1),
    }
    alerts = ", ".join(f"{count} {kind}" for kind, count in sorted(kinds.items())) or "none"
    lines = [
        "",
        "Summary",
        f"  sessions started   {len(sessions)}: {allowed} allowed, {at_start} terminated at start, "
        f"{outcomes['would terminate']} left open in monitor mode",
        f"  terminated later   {by_sweeper} by the sweeper ({sweeps} sweeps, one per emulated minute)",
        f"  still open         {data['still_open']}",
        f"  alerts sent        {len(mails)}: {alerts}",
    ]
    if unmet:
        lines += ["", f"NOT AS SCRIPTED ({len(unmet)}):", *(f"  - expected {what}" for what in unmet)]
    else:
        lines += ["", f"The day went as scripted ({seconds:.1f}s)."]
    lines += [
        "",
        'Explore further: `eval "$(warden local up --background)"` runs the same local cloud; then act as',
        "people with `warden local sso` / `warden local user`, start sessions with `warden local session`, read",
        "`warden local alerts`, and use `warden grant create`, `warden sessions` and `warden local advance 1h`",
        'as you would against AWS (README: "Try it on the local cloud").',
    ]
    return Event(at, "summary", lines, data, stamped=False)
