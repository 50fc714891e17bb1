"""When an allowed session's user is warned before its deadline, and the one line the warning says (SPEC section 9)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import NamedTuple

from warden.policy.durations import format_duration
from warden.policy.verdicts import Deadline
from warden.policy.windows import format_instant

__all__ = [
    "MESSAGE_PATTERN",
    "SESSION_ID_PATTERN",
    "WarningTime",
    "due_thresholds",
    "format_warnings",
    "notice_text",
    "session_warnings",
    "warning_times",
]

# The warning document's allowedPattern for each parameter (template.yaml; a test keeps them identical). A session
# id is the caller's name (IAM user, role session or federated user name characters), a dash and AWS's suffix:
# 17 hexadecimal characters in older sessions, 26 of [a-z0-9] now.
SESSION_ID_PATTERN = r"^[A-Za-z0-9+=,.@_-]{1,64}-([0-9a-f]{17}|[a-z0-9]{26})$"
# Letters, digits, spaces and . , : ( ) / + _ - only: nothing a shell or a terminal reads as more than text.
MESSAGE_PATTERN = r"^[A-Za-z0-9 .,:()/+_-]{1,200}$"
MESSAGE_LIMIT = 200
_NOT_ALLOWED = re.compile(r"[^A-Za-z0-9 .,:()/+_-]")


class WarningTime(NamedTuple):
    """A warning: ``10m`` before a deadline of 18:00 fires at 17:50."""

    before: timedelta
    at: datetime

    @property
    def label(self) -> str:
        """The threshold as the policy writes it: ``10m``."""
        return format_duration(self.before)


def warning_times(warn_before: Sequence[timedelta], deadline: datetime) -> list[WarningTime]:
    """When each warning before ``deadline`` fires, earliest first."""
    return [WarningTime(before, deadline - before) for before in sorted(warn_before, reverse=True)]


def session_warnings(
    warn_before: Sequence[timedelta], deadline: datetime | None, started: datetime
) -> list[WarningTime]:
    """The warnings a session that started at ``started`` gets before ``deadline``, earliest first."""
    if deadline is None:
        return []
    return [time for time in warning_times(warn_before, deadline) if time.at >= started]


def format_warnings(times: Sequence[WarningTime], zone: str, now: datetime) -> str:
    """``17:50, 17:58 Europe/Berlin``: when the warnings fire, in one time zone."""
    suffix = f" {zone}"
    shown = [format_instant(time.at.timestamp(), zone, now.timestamp()).removesuffix(suffix) for time in times]
    return ", ".join(shown) + suffix


def due_thresholds(
    warn_before: Sequence[timedelta], deadline: datetime, now: datetime, *, started: datetime | None = None
) -> list[WarningTime]:
    """The warnings that have fired by ``now`` and whose deadline is still ahead, earliest first.

    A warning that fired before the session started is not due: a session opened five minutes before its
    deadline gets the 2-minute warning, not a 10-minute one that was never true.
    """
    if now >= deadline:
        return []
    return [
        time
        for time in warning_times(warn_before, deadline)
        if time.at <= now and (started is None or time.at >= started)
    ]


def notice_text(deadline: datetime, ends: Deadline | None, now: datetime) -> str:
    """The line written into the session's terminal, in the deadline's time zone.

    ``Session Warden: this session ends at 18:00 Europe/Berlin (business-hours closes). Save your work.`` Names
    the policy chose (windows, rules) are reduced to the characters the document accepts, and the whole fits its
    length limit.
    """
    zone = ends.zone if ends is not None else "UTC"
    when = format_instant(deadline.timestamp(), zone, now.timestamp())
    why = f" ({_NOT_ALLOWED.sub('_', ends.words)[:60]})" if ends is not None else ""
    text = f"Session Warden: this session ends at {_NOT_ALLOWED.sub('_', when)}{why}. Save your work."
    return text[:MESSAGE_LIMIT]
