"""Named recurring time windows and the concrete occurrences they open, DST and midnight included."""

from __future__ import annotations

import functools
import math
import re
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator

from warden.timefmt import iso_day, parse_day, time_of_day

__all__ = ["DAYS", "Schedule", "WeeklyEntry", "Window", "WindowGroup", "check_time_zone", "merged_close", "time_zone"]

Day = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
DAYS: tuple[Day, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

_MINUTES_PER_DAY = 24 * 60
_TIME = re.compile(r"(\d{1,2}):(\d{2})")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
# A window occurrence lasts at most a day, so bounded look-ups are exact; the horizon only limits
# how far a deadline or an opening is searched for (a window open around the clock "never" closes).
HORIZON = timedelta(days=14)
_LOOKBACK_DAYS = 8
_CACHE_LIMIT = 512
_FOUND_LIMIT = 64


@functools.lru_cache(maxsize=256)
def time_zone(name: str) -> ZoneInfo:
    """Return the :class:`~zoneinfo.ZoneInfo` for an IANA name, built once per process."""
    return ZoneInfo(name)


def check_time_zone(name: object) -> str:
    """Validate an IANA time zone name and return it.

    Raises
    ------
    ValueError
        ``unknown time zone 'Europe/Berln'`` for anything zoneinfo cannot load.
    """
    if not isinstance(name, str) or not name:
        raise ValueError(f"unknown time zone {name!r}: expected an IANA name such as Europe/Berlin")
    try:
        time_zone(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ValueError(f"unknown time zone {name!r}: expected an IANA name such as Europe/Berlin") from None
    return name


def _parse_day(value: object) -> str:
    if isinstance(value, str) and value.strip().lower() in DAYS:
        return value.strip().lower()
    raise ValueError(f"unknown day {value!r}: expected one of {', '.join(DAYS)}")


def _time_minutes(value: object) -> int | None:
    if not isinstance(value, str):
        return None
    match = _TIME.fullmatch(value.strip())
    if match is None:
        return None
    hours, minutes = int(match.group(1)), int(match.group(2))
    if minutes > 59 or hours > 24 or (hours == 24 and minutes):
        return None
    return hours * 60 + minutes


def _format_minutes(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _parse_date(value: object) -> date:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str) and _DATE.fullmatch(value.strip()):
        try:
            return parse_day(value.strip())
        except ValueError:
            pass
    raise ValueError(f"invalid date {value!r}: expected YYYY-MM-DD")


class WeeklyEntry(BaseModel):
    """One weekly line of a window: the days it opens on and its wall-clock times.

    Attributes
    ----------
    days : tuple of {"mon", ..., "sun"}
        The local days on which the window opens (names are read case-insensitively).
    from_ : str
        Opening time ``HH:MM`` (YAML key ``from``), inclusive.
    to : str
        Closing time ``HH:MM`` (``24:00`` is the end of the day), exclusive. When ``to`` is not
        after ``from``, the window closes on the next day (``from == to`` is a full 24 hours).
    """

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    days: Annotated[tuple[Annotated[Day, BeforeValidator(_parse_day)], ...], Field(min_length=1)]
    from_: str = Field(alias="from")
    to: str

    @field_validator("from_", mode="before")
    @classmethod
    def _check_from(cls, value: object) -> str:
        minutes = _time_minutes(value)
        if minutes is None:
            raise ValueError(f"invalid time {value!r}: expected HH:MM (24-hour)")
        if minutes == _MINUTES_PER_DAY:
            raise ValueError(f"invalid time {value!r}: a window must open before 24:00")
        return _format_minutes(minutes)

    @field_validator("to", mode="before")
    @classmethod
    def _check_to(cls, value: object) -> str:
        minutes = _time_minutes(value)
        if minutes is None:
            raise ValueError(f"invalid time {value!r}: expected HH:MM (24-hour, 24:00 for the end of the day)")
        return _format_minutes(minutes)

    @property
    def start_minute(self) -> int:
        """Minutes after local midnight at which the window opens."""
        return int(self.from_[:2]) * 60 + int(self.from_[3:])

    @property
    def end_minute(self) -> int:
        """Minutes after the opening day's local midnight at which it closes (up to 48 hours)."""
        end = int(self.to[:2]) * 60 + int(self.to[3:])
        return end + _MINUTES_PER_DAY if end <= self.start_minute else end


class Window(BaseModel):
    """A named recurring window.

    Attributes
    ----------
    timezone : str or None
        IANA time zone of the wall-clock times; ``None`` uses the policy's ``timezone``.
    weekly : tuple[WeeklyEntry, ...]
        At least one weekly entry.
    except_ : tuple[date, ...]
        Local dates (YAML key ``except``, ``YYYY-MM-DD``) on which the window does not open.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    timezone: str | None = None
    weekly: Annotated[tuple[WeeklyEntry, ...], Field(min_length=1)]
    except_: tuple[Annotated[date, BeforeValidator(_parse_date)], ...] = Field(default=(), alias="except")

    @field_validator("timezone", mode="before")
    @classmethod
    def _check_timezone(cls, value: object) -> object:
        return None if value is None else check_time_zone(value)

    def to_document(self) -> dict[str, object]:
        """Return the window as plain, JSON-ready data with the document's keys."""
        document: dict[str, object] = {}
        if self.timezone is not None:
            document["timezone"] = self.timezone
        document["weekly"] = [{"days": list(entry.days), "from": entry.from_, "to": entry.to} for entry in self.weekly]
        if self.except_:
            document["except"] = [iso_day(when) for when in self.except_]
        return document


Occurrence = tuple[float, float]
"""An opening as ``(open, close)`` POSIX timestamps, ``open`` inclusive and ``close`` exclusive."""


class Schedule:
    """A window bound to its time zone, producing concrete occurrences.

    Occurrences are generated per local opening date and cached, because every decision and every
    sweep asks about the same few days. Times are POSIX timestamps so that comparisons are cheap
    and unambiguous; wall times map to instants with ``fold=0``, so a time in a spring-forward gap
    lands after the gap and an ambiguous fall-back time is its first occurrence.

    Parameters
    ----------
    name : str
        The window's name, for explanations.
    window : Window
        The window definition.
    default_zone : str
        The policy time zone, used when the window names none.
    """

    __slots__ = ("_by_weekday", "_cache", "_except", "_found", "name", "zone", "zone_name")

    def __init__(self, name: str, window: Window, default_zone: str) -> None:
        self.name = name
        self.zone_name = window.timezone or default_zone
        self.zone = time_zone(self.zone_name)
        by_weekday: list[list[tuple[int, int]]] = [[] for _ in DAYS]
        for entry in window.weekly:
            for day in set(entry.days):
                by_weekday[DAYS.index(day)].append((entry.start_minute, entry.end_minute))
        self._by_weekday = tuple(tuple(sorted(entries)) for entries in by_weekday)
        self._except = frozenset(day.toordinal() for day in window.except_)
        self._cache: dict[int, tuple[Occurrence, ...]] = {}
        # One decision asks about the same instants several times (open now? open at the close?),
        # and rules share windows: remember recent answers.
        self._found: dict[float, Occurrence | None] = {}

    def local_ordinal(self, timestamp: float) -> int:
        """Return the proleptic ordinal of the local date at ``timestamp``."""
        return datetime.fromtimestamp(timestamp, self.zone).toordinal()

    def occurrences(self, ordinal: int) -> tuple[Occurrence, ...]:
        """Return the occurrences that open on the local date with this ordinal, by opening time."""
        cached = self._cache.get(ordinal)
        if cached is not None:
            return cached
        occurrences: tuple[Occurrence, ...] = ()
        if ordinal not in self._except:
            day = date.fromordinal(ordinal)
            occurrences = tuple(
                (self._instant(day, start), self._instant(day, end)) for start, end in self._by_weekday[day.weekday()]
            )
        if len(self._cache) >= _CACHE_LIMIT:
            self._cache.clear()
        self._cache[ordinal] = occurrences
        return occurrences

    def _instant(self, day: date, minutes: int) -> float:
        days, minutes = divmod(minutes, _MINUTES_PER_DAY)
        if days:
            day += timedelta(days=days)
        return datetime(day.year, day.month, day.day, minutes // 60, minutes % 60, tzinfo=self.zone).timestamp()

    def containing(self, timestamp: float) -> Occurrence | None:
        """Return the occurrence open at ``timestamp`` that closes last, or ``None``."""
        if timestamp in self._found:
            return self._found[timestamp]
        # An occurrence lasts at most 24 wall-clock hours, so only today's and yesterday's can be open.
        today = self.local_ordinal(timestamp)
        found: Occurrence | None = None
        for ordinal in (today - 1, today):
            for opens, closes in self.occurrences(ordinal):
                if opens <= timestamp < closes and (found is None or closes > found[1]):
                    found = (opens, closes)
        if len(self._found) >= _FOUND_LIMIT:
            self._found.clear()
        self._found[timestamp] = found
        return found

    def next_opening(self, timestamp: float, until: float) -> float | None:
        """Return the first opening strictly after ``timestamp`` and before ``until``, if any."""
        first = self.local_ordinal(timestamp)
        last = self.local_ordinal(until)
        for ordinal in range(first, last + 1):
            openings = [opens for opens, _ in self.occurrences(ordinal) if timestamp < opens < until]
            if openings:
                return min(openings)
        return None

    def last_close(self, timestamp: float) -> float | None:
        """Return the latest close at or before ``timestamp`` within the last week or so, if any."""
        today = self.local_ordinal(timestamp)
        best: float | None = None
        found_on: int | None = None
        for ordinal in range(today, today - _LOOKBACK_DAYS, -1):
            # An occurrence closes by the end of the day after it opens, so once a close is found
            # only the previous day can still hold a later one.
            if found_on is not None and ordinal < found_on - 1:
                break
            for _, closes in self.occurrences(ordinal):
                if closes <= timestamp and (best is None or closes > best):
                    best = closes
                    found_on = ordinal if found_on is None else found_on
        return best


def merged_close(schedules: tuple[Schedule, ...], timestamp: float) -> tuple[float, Schedule] | None:
    """Return when the union of the schedules' occurrences that contains ``timestamp`` ends.

    Contiguous and overlapping occurrences count as one (08:00-12:00 then 12:00-18:00 close at
    18:00). Returns the closing instant and the schedule whose occurrence closes then; ``None``
    when nothing is open, or when the union reaches beyond :data:`HORIZON` (open indefinitely).
    """
    end: float | None = None
    closer: Schedule | None = None
    for schedule in schedules:
        found = schedule.containing(timestamp)
        if found is not None and (end is None or found[1] > end):
            end, closer = found[1], schedule
    if end is None or closer is None:
        return None
    horizon = timestamp + HORIZON.total_seconds()
    while end < horizon:
        extended = end
        for schedule in schedules:
            # An occurrence opening exactly at ``end`` is contiguous and counts (open is inclusive).
            found = schedule.containing(end)
            if found is not None and found[1] > extended:
                extended, closer = found[1], schedule
        if extended == end:
            return end, closer
        end = extended
    return None


class WindowGroup:
    """The windows one or more rules name, answering "open now?" and "until when?" once per instant.

    Rules that name the same windows share a group, so at 100 rules the same question is not
    worked out 100 times.

    Parameters
    ----------
    schedules : tuple[Schedule, ...]
        The windows.
    """

    __slots__ = ("_closing", "_open", "schedules")

    def __init__(self, schedules: tuple[Schedule, ...]) -> None:
        self.schedules = schedules
        self._open: tuple[float, bool] = (math.nan, False)
        self._closing: tuple[float, tuple[float, Schedule] | None] = (math.nan, None)

    def open_at(self, timestamp: float) -> bool:
        """Tell whether one of the windows is open at a POSIX timestamp."""
        asked, answer = self._open
        if asked != timestamp:
            answer = any(schedule.containing(timestamp) is not None for schedule in self.schedules)
            self._open = (timestamp, answer)
        return answer

    def closing(self, timestamp: float) -> tuple[float, Schedule] | None:
        """Return :func:`merged_close` of the windows at a POSIX timestamp."""
        asked, answer = self._closing
        if asked != timestamp:
            answer = merged_close(self.schedules, timestamp)
            self._closing = (timestamp, answer)
        return answer


def format_instant(timestamp: float, zone_name: str, now: float) -> str:
    """Render an instant for people: ``18:00 Europe/Berlin``, with the date when it is not today's."""
    zone = time_zone(zone_name)
    moment = datetime.fromtimestamp(timestamp, zone)
    clock = time_of_day(moment)
    if moment.date() != datetime.fromtimestamp(now, zone).date():
        clock = f"{iso_day(moment)} {clock}"
    return f"{clock} {zone_name}"


def utc_datetime(timestamp: float) -> datetime:
    """Return the aware UTC datetime of a POSIX timestamp."""
    return datetime.fromtimestamp(timestamp, UTC)
