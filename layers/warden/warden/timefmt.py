"""UTC instants as the ISO-8601 strings the tables, alerts and CLI share."""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo


def iso(moment: datetime) -> str:
    """``2026-11-24T10:00:00Z``: fixed width, so string order is time order (DynamoDB sort keys)."""
    if moment.tzinfo is None:
        raise ValueError(f"naive datetime {moment!r}: an offset is required")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(text: str) -> datetime:
    """Parse ISO-8601 with an offset (``Z`` accepted); naive input is rejected."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00") if text.endswith("Z") else text)
    if moment.tzinfo is None:
        raise ValueError(f"{text!r} has no UTC offset; write it like 2026-11-24T10:00:00Z or with +01:00")
    return moment.astimezone(UTC)


def table_time(moment: datetime) -> str:
    """``2026-11-24 10:00Z``: UTC to the minute, for tables."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M") + "Z"


def wall_clock(moment: datetime, zone: tzinfo) -> str:
    """``15:40``: the time of day in ``zone``, to the minute."""
    return moment.astimezone(zone).strftime("%H:%M")


def mail_date(moment: datetime, zone: tzinfo) -> str:
    """``Tue, 24 Nov 2026 14:35:00 +0100``: an e-mail's ``Date:`` header (RFC 5322) in ``zone``."""
    from email.utils import format_datetime

    return format_datetime(moment.astimezone(zone))
