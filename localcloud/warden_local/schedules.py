"""EventBridge schedule expressions (``rate(...)``, ``cron(...)``) evaluated at minute granularity."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from warden.timefmt import to_utc

_RATE = re.compile(r"rate\(\s*(\d+)\s+(minute|minutes|hour|hours|day|days)\s*\)")
_CRON = re.compile(r"cron\((.*)\)")
_UNIT_MINUTES = {"minute": 1, "hour": 60, "day": 1440}
_MONTHS = {
    name: index
    for index, name in enumerate(
        ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"], 1
    )
}
_DAYS = {name: index for index, name in enumerate(["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"], 1)}


class ScheduleError(ValueError):
    """A schedule expression the local cloud cannot evaluate (named in the message)."""


@dataclass(frozen=True)
class Schedule:
    """When a scheduled rule fires. ``is_due`` is asked once per emulated minute."""

    expression: str
    every_minutes: int | None = None
    minutes: frozenset[int] = frozenset()
    hours: frozenset[int] = frozenset()
    days_of_month: frozenset[int] | None = None
    months: frozenset[int] = frozenset()
    days_of_week: frozenset[int] | None = None
    years: frozenset[int] | None = None

    def is_due(self, moment: datetime) -> bool:
        """Whether an occurrence falls on the minute that starts at ``moment`` (seconds are ignored)."""
        moment = to_utc(moment)
        if self.every_minutes is not None:
            # AWS counts rate() from the rule's creation; aligning to the epoch gives the same one run per
            # interval and makes "advance 10m" fire a predictable number of runs.
            return (int(moment.timestamp()) // 60) % self.every_minutes == 0
        if moment.minute not in self.minutes or moment.hour not in self.hours or moment.month not in self.months:
            return False
        if self.years is not None and moment.year not in self.years:
            return False
        if self.days_of_month is not None and moment.day not in self.days_of_month:
            return False
        # cron day-of-week: 1 = Sunday ... 7 = Saturday; Python: Monday = 0.
        return self.days_of_week is None or (moment.weekday() + 1) % 7 + 1 in self.days_of_week


def parse_schedule(expression: str) -> Schedule:
    """Parse ``rate(5 minutes)`` or ``cron(0/15 8-18 ? * MON-FRI *)``; raise ``ScheduleError`` otherwise."""
    text = expression.strip()
    if rate := _RATE.fullmatch(text):
        value, unit = int(rate.group(1)), rate.group(2).rstrip("s")
        if value < 1:
            raise ScheduleError(f"invalid schedule {expression!r}: the rate must be at least 1")
        return Schedule(expression=text, every_minutes=value * _UNIT_MINUTES[unit])
    cron = _CRON.fullmatch(text)
    if cron is None:
        raise ScheduleError(f"invalid schedule {expression!r}: expected rate(N unit) or cron(6 fields)")
    fields = cron.group(1).split()
    if len(fields) != 6:
        raise ScheduleError(f"invalid schedule {expression!r}: cron() takes 6 fields, got {len(fields)}")
    minute, hour, day_of_month, month, day_of_week, year = fields
    if (day_of_month == "?") == (day_of_week == "?"):
        raise ScheduleError(f"invalid schedule {expression!r}: exactly one of day-of-month and day-of-week must be ?")
    return Schedule(
        expression=text,
        minutes=_field(minute, 0, 59, {}, expression),
        hours=_field(hour, 0, 23, {}, expression),
        days_of_month=None if day_of_month == "?" else _field(day_of_month, 1, 31, {}, expression),
        months=_field(month, 1, 12, _MONTHS, expression),
        days_of_week=None if day_of_week == "?" else _field(day_of_week, 1, 7, _DAYS, expression),
        years=None if year == "*" else _field(year, 1970, 2199, {}, expression),
    )


def _field(text: str, low: int, high: int, names: dict[str, int], expression: str) -> frozenset[int]:
    values: set[int] = set()
    for part in text.split(","):
        values.update(_part(part, low, high, names, expression))
    return frozenset(values)


def _part(part: str, low: int, high: int, names: dict[str, int], expression: str) -> range:
    def number(token: str) -> int:
        token = token.upper()
        if token in names:
            return names[token]
        if not token.isdigit():
            # L, W and # need calendar arithmetic no schedule of ours uses; refuse rather than guess.
            raise ScheduleError(f"unsupported cron token {token!r} in {expression!r}")
        value = int(token)
        if not low <= value <= high:
            raise ScheduleError(f"cron value {value} out of range {low}-{high} in {expression!r}")
        return value

    base, _, step_text = part.partition("/")
    step = number(step_text) if step_text else 1
    if step < 1:
        raise ScheduleError(f"invalid cron step in {expression!r}")
    if base == "*":
        start, end = low, high
    elif "-" in base:
        first, _, last = base.partition("-")
        start, end = number(first), number(last)
    else:
        start = number(base)
        end = high if step_text else start
    if start > end:
        raise ScheduleError(f"invalid cron range {base!r} in {expression!r}")
    return range(start, end + 1, step)
