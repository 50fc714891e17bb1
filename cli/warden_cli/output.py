"""What the CLI prints: JSON, aligned tables, CSV, times for tables and grants as data."""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta, tzinfo
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from warden.policy import Grant, Policy


def iso_or_none(moment: datetime | None) -> str | None:
    from warden.timefmt import iso

    return None if moment is None else iso(moment)


def short_time(moment: datetime | None, zone: tzinfo | None = None) -> str:
    """``2026-11-24 10:00Z`` for tables (UTC, minutes), or ``2026-11-24 11:00 CET`` in ``zone``."""
    from warden.timefmt import local_minute, table_time

    if moment is None:
        return "-"
    if zone is None:
        return table_time(moment)
    return local_minute(moment, zone)


def time_zone(name: str | None, *, option: str = "--tz") -> tzinfo | None:
    """The IANA zone ``name`` names (None for none given), or a CliError naming ``option``."""
    if name is None:
        return None
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    from warden_cli.errors import CliError

    try:
        return ZoneInfo(name.strip())
    except (ZoneInfoNotFoundError, ValueError):
        raise CliError(f"{option}: unknown time zone {name!r}; use an IANA name such as Europe/Berlin or UTC") from None


def relative(moment: datetime, reference: datetime) -> str:
    """``in 1h20m`` / ``3m ago`` / ``now``, at minute resolution (seconds only below a minute)."""
    from warden.policy import format_duration

    delta = moment - reference
    span = abs(delta)
    if span < timedelta(seconds=1):
        return "now"
    if span >= timedelta(minutes=1):
        span = timedelta(minutes=int(span.total_seconds() // 60))
    text = format_duration(span)
    return f"in {text}" if delta > timedelta(0) else f"{text} ago"


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def policy_summary(policy: Policy) -> str:
    """``5 rules, 2 windows, mode enforce, default deny``."""
    return (
        f"{plural(len(policy.rules), 'rule')}, {plural(len(policy.windows), 'window')}, "
        f"mode {policy.mode}, default {policy.default}"
    )


def print_json(data: Any, *, stream: TextIO | None = None) -> None:
    print(json.dumps(data, indent=2, ensure_ascii=False, default=str), file=stream or sys.stdout)


def print_table(
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    *,
    widths: Mapping[str, int] | None = None,
    max_width: int | None = None,
) -> None:
    """A plain aligned table; cells longer than their column's cap are cut with an ellipsis.

    With ``max_width`` (a terminal's width), the widest columns are cut further until a line fits.
    """
    caps = dict(widths or {})
    cells = [[_cell(value, caps.get(header)) for header, value in zip(headers, row, strict=True)] for row in rows]
    sizes = [max([len(header), *(len(row[index]) for row in cells)]) for index, header in enumerate(headers)]
    if max_width is not None:
        sizes = _fit(sizes, [len(header) for header in headers], max_width)
        cells = [[_cell(value, size) for value, size in zip(row, sizes, strict=True)] for row in cells]
    for row in (list(headers), *cells):
        print("  ".join(value.ljust(size) for value, size in zip(row, sizes, strict=True)).rstrip())


def _fit(sizes: list[int], floors: list[int], max_width: int) -> list[int]:
    """Column sizes whose line (two spaces between columns) fits ``max_width``: the widest column gives way first,
    none below its header (or 4)."""
    sizes = list(sizes)
    minimum = [max(floor, 4) for floor in floors]
    while sum(sizes) + 2 * (len(sizes) - 1) > max_width:
        widest = max(range(len(sizes)), key=lambda index: sizes[index] - minimum[index])
        if sizes[widest] <= minimum[widest]:
            break
        sizes[widest] -= 1
    return sizes


def terminal_width() -> int | None:
    """How wide a table may be: ``COLUMNS`` if set, else the terminal's width; None (no limit) when piped."""
    import os
    import shutil

    text = os.environ.get("COLUMNS", "").strip()
    if text.isdigit() and int(text) > 0:
        return int(text)
    if not sys.stdout.isatty():
        return None
    return shutil.get_terminal_size().columns


def _cell(value: str, cap: int | None) -> str:
    flat = " ".join(value.split()) or "-"
    if cap is not None and len(flat) > cap:
        return flat[: cap - 1] + "…"
    return flat


def print_csv(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(headers)
    writer.writerows(["" if value is None else value for value in row] for row in rows)


def grant_json(grant: Grant) -> dict[str, Any]:
    """A grant as the CLI prints it and ``explain --grants`` reads it back: ISO times in UTC with ``Z``."""
    data: dict[str, Any] = {
        "id": grant.id,
        "principal": grant.principal,
        "targets": grant.targets.to_document(),
        "starts_at": iso_or_none(grant.starts_at),
        "expires_at": iso_or_none(grant.expires_at),
        "reason": grant.reason,
        "created_by": grant.created_by,
        "created_at": iso_or_none(grant.created_at),
        "state": grant.state,
        "revoked_at": iso_or_none(grant.revoked_at),
        "revoked_by": grant.revoked_by,
        "accounts": list(grant.accounts) if grant.accounts is not None else None,
        "regions": list(grant.regions) if grant.regions is not None else None,
    }
    return {key: value for key, value in data.items() if value is not None}


def grant_targets(grant: Grant) -> str:
    from warden.alerts.lifecycle import grant_scope

    return grant_scope(grant)
