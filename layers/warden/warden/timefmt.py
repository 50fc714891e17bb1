"""UTC instants as the ISO-8601 strings the tables, alerts and CLI share."""

from __future__ import annotations

from datetime import UTC, datetime


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
