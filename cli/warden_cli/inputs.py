"""What the user types or points at: text and JSON files, ``K=V`` tags, ISO 8601 times and durations."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from warden_cli.errors import CliError


def read_text(path: str, *, what: str = "file") -> str:
    """A UTF-8 text file, or a CLI error naming it."""
    try:
        data = Path(path).read_bytes()
    except IsADirectoryError:
        raise CliError(f"{path}: is a directory, expected a {what}") from None
    except OSError as error:
        raise CliError(f"{path}: cannot read {what}: {error.strerror or error}") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise CliError(f"{path}: not UTF-8 text (byte {error.start})") from None


def read_json(path: str, *, what: str = "JSON file") -> Any:
    text = read_text(path, what=what)
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise CliError(f"{path}: line {error.lineno}, column {error.colno}: invalid JSON: {error.msg}") from None


def parse_tags(values: Sequence[str] | None, *, option: str = "--tag") -> dict[str, str]:
    """``K=V`` pairs; the value may be empty or contain ``=``, the key may not be empty."""
    tags: dict[str, str] = {}
    for value in values or ():
        key, sep, tag_value = value.partition("=")
        if not sep or not key.strip():
            raise CliError(f"{option} {value!r}: expected KEY=VALUE, e.g. {option} Environment=prod")
        if key in tags and tags[key] != tag_value:
            raise CliError(f"{option} {value!r}: tag {key!r} given twice")
        tags[key] = tag_value
    return tags


TIME_EXAMPLE = "write it like 2026-11-24T10:00:00Z or 2026-11-24T11:00:00+01:00"


def parse_time(text: str, *, option: str) -> datetime:
    """ISO 8601 with a UTC offset (``Z`` or ``+01:00``), returned in UTC; every command words a bad time this way."""
    from warden.timefmt import parse_iso

    try:
        return parse_iso(text.strip())
    except ValueError as error:
        # parse_iso names a missing offset; anything else did not parse at all.
        why = "no UTC offset" if "offset" in str(error) else "not ISO 8601"
        raise CliError(f"{option}: invalid time {text!r}: {why}; {TIME_EXAMPLE}") from None


def parse_span(text: str, *, option: str) -> timedelta:
    from warden.policy import parse_duration

    try:
        return parse_duration(text)
    except ValueError as error:
        raise CliError(f"{option}: {error}") from None


def parse_account(text: str, *, option: str = "--account") -> str:
    """One account id (12 digits), as a flag names the account a session runs in."""
    account = text.strip()
    if len(account) != 12 or not account.isdigit():
        raise CliError(f"{option}: {text!r} is not an account id: an account id has exactly 12 digits")
    return account


def parse_region(text: str, *, option: str = "--region") -> str:
    """One region name (no glob), as a flag names the region a session runs in."""
    from warden.policy import region_entry_problem

    region = text.strip()
    problem = region_entry_problem(region)
    if problem is None and ("*" in region or "?" in region):
        problem = f"{region!r} is a glob: name one region"
    if problem is not None:
        raise CliError(f"{option}: {problem}")
    return region
