"""Every time format the warden writes or reads, named once: tables, alerts, events, the CLI and the local cloud.

Pure (the standard library only: no AWS SDK, no environment), so the policy core may use it too.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, tzinfo

_SECONDS_Z = "%Y-%m-%dT%H:%M:%SZ"


def to_utc(moment: datetime) -> datetime:
    """``moment`` in UTC; a naive datetime is taken to be UTC already (the local cloud's and CloudTrail's rule)."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


# --- written ---------------------------------------------------------------------------------------------------


def iso(moment: datetime) -> str:
    """``2026-11-24T10:00:00Z``: fixed width, so string order is time order (DynamoDB sort keys)."""
    if moment.tzinfo is None:
        raise ValueError(f"naive datetime {moment!r}: an offset is required")
    return moment.astimezone(UTC).strftime(_SECONDS_Z)


def cloudtrail_time(moment: datetime) -> str:
    """CloudTrail's ``eventTime`` (and STS's ``Expiration``): ``2026-11-24T10:00:00Z``, whole seconds; naive is UTC."""
    return to_utc(moment).strftime(_SECONDS_Z)


def iso_z(moment: datetime) -> str:
    """``2026-11-24T10:00:00Z``, or ``2026-11-24T10:00:00.250000Z`` when there are fractions of a second."""
    moment = to_utc(moment)
    if moment.microsecond:
        return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return moment.strftime(_SECONDS_Z)


def iso_millis(moment: datetime) -> str:
    """``2026-11-24T10:00:00.250Z``: milliseconds, as EventBridge and CloudWatch Logs write timestamps."""
    moment = to_utc(moment)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def iso_offset(moment: datetime) -> str:
    """``2026-11-24T10:00:00+00:00``: ISO-8601 with the moment's own offset (Python's ``isoformat``)."""
    return moment.isoformat()


def utc_seconds(moment: datetime) -> str:
    """``2026-11-24 10:00:00 UTC``: an instant in an alert or a log line, to the second."""
    return to_utc(moment).strftime("%Y-%m-%d %H:%M:%S UTC")


def table_time(moment: datetime) -> str:
    """``2026-11-24 10:00Z``: UTC to the minute, for tables."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M") + "Z"


def local_minute(moment: datetime, zone: tzinfo | None) -> str:
    """``2026-11-24 11:00 CET``: the time in ``zone`` (the host's when None) to the minute, with the zone's name."""
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")


def wall_clock(moment: datetime, zone: tzinfo) -> str:
    """``15:40``: the time of day in ``zone``, to the minute."""
    return moment.astimezone(zone).strftime("%H:%M")


def time_of_day(moment: datetime) -> str:
    """``18:00``, or ``18:00:30`` when the seconds are not zero: the time of day as the moment gives it."""
    # Formatted by hand: strftime costs more than the rest of a decision's reason text (it is on every allowance).
    clock = f"{moment.hour:02d}:{moment.minute:02d}"
    return clock if moment.second == 0 else f"{clock}:{moment.second:02d}"


def iso_day(moment: date) -> str:
    """``2026-11-24``: a calendar day (of a date, or of a datetime as it is given)."""
    return (moment.date() if isinstance(moment, datetime) else moment).isoformat()


def log_stream_day(moment: datetime) -> str:
    """``2026/11/24``: the date part of a Lambda log stream's name."""
    return moment.strftime("%Y/%m/%d")


def mail_date(moment: datetime, zone: tzinfo) -> str:
    """``Tue, 24 Nov 2026 14:35:00 +0100``: an e-mail's ``Date:`` header (RFC 5322) in ``zone``."""
    from email.utils import format_datetime

    return format_datetime(moment.astimezone(zone))


# --- read ------------------------------------------------------------------------------------------------------


def parse_iso(text: str) -> datetime:
    """Parse ISO-8601 with an offset (``Z`` accepted); naive input is rejected."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00") if text.endswith("Z") else text)
    if moment.tzinfo is None:
        raise ValueError(f"{text!r} has no UTC offset; write it like 2026-11-24T10:00:00Z or with +01:00")
    return moment.astimezone(UTC)


def parse_utc(text: str) -> datetime:
    """Parse ISO-8601 exactly as written; without an offset it is UTC (CloudTrail times are UTC by definition).

    Raises ``ValueError`` for text that is not ISO-8601.
    """
    return to_utc(datetime.fromisoformat(text))


def parse_instant(text: str) -> datetime:
    """Parse what a person types: ISO-8601 with ``Z`` or an offset; a bare date or a naive time is taken as UTC."""
    raw = text.strip()
    if raw.endswith(("Z", "z")):
        raw = raw[:-1] + "+00:00"
    try:
        return parse_utc(raw)
    except ValueError:
        raise ValueError(f"invalid time {text!r}: expected ISO-8601, e.g. 2026-11-24T08:00:00Z") from None


def parse_day(text: str) -> date:
    """Parse ``2026-11-24`` (ISO-8601 calendar date); raises ``ValueError`` otherwise."""
    return date.fromisoformat(text)
