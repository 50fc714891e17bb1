"""What `warden status` found, and the helpers every check shares: reading the state table, turning an AWS
refusal into a problem line, and making other people's text and times safe to show."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from warden_cli.aws import Aws
from warden_cli.output import short_time

CLOCK_SKEW = timedelta(minutes=2)  # a time this far ahead of now may be another clock's; further is a forgery
_TEXT_LIMIT = 300


@dataclass
class Report:
    """What `warden status` found: the fields in display order, and the problems, each saying what to do."""

    moment: datetime
    fields: dict[str, Any] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    lines: list[tuple[str, str]] = field(default_factory=list)

    def problem(self, text: str) -> None:
        self.problems.append(text)

    def line(self, label: str, text: str) -> None:
        self.lines.append((label, text))


@dataclass(frozen=True)
class Stack:
    name: str
    region: str
    outputs: dict[str, str]
    status: str
    created_at: datetime | None
    resources: dict[str, str]  # logical id -> physical id


def state_item(aws: Aws, stack: Stack, pk: str, sk: str) -> dict[str, Any] | None:
    from warden.adapters.dynamo import from_item, to_value

    table = stack.outputs.get("StateTableName")
    if not table:
        raise MissingOutput("StateTableName")
    response = aws.client("dynamodb").get_item(
        TableName=table, Key={"pk": to_value(pk), "sk": to_value(sk)}, ConsistentRead=True
    )
    return from_item(response["Item"]) if "Item" in response else None


class MissingOutput(Exception):
    """The stack lacks an output a check needs (deployed from an older template)."""


def checked(report: Report, what: str, check: Callable[[], None]) -> None:
    """Run one check; an AWS refusal (AccessDenied, a missing resource) becomes a problem line, the rest go on.

    Connection failures are not caught: the next call would fail the same way, so status stops (exit 2).
    """
    from botocore.exceptions import ClientError

    from warden.errors import AwsCallFailed

    try:
        check()
    except MissingOutput as missing:
        report.problem(f"cannot check {what}: the stack has no {missing} output; deploy the current template")
    except AwsCallFailed as error:
        if not isinstance(error.__cause__, ClientError):
            raise error.__cause__ or error from None
        report.problem(f"cannot check {what}: {client_error(error.__cause__)}")
    except ClientError as error:
        report.problem(f"cannot check {what}: {client_error(error)}")


def client_error(error: Any) -> str:
    details = error.response.get("Error", {})
    message = " ".join(str(details.get("Message") or "").split())
    operation = getattr(error, "operation_name", "AWS call")
    code = details.get("Code") or "error"
    hint = "; give your role read access to it" if "denied" in code.lower() or "unauthorized" in code.lower() else ""
    return f"{operation} failed: {code}: {clean(message)}{hint}"


def in_the_future(report: Report, at: datetime, item: str, trust: str) -> bool:
    """A time ahead of now in the warden's own table: not something the warden writes; a problem if so."""
    if at - report.moment <= CLOCK_SKEW:
        return False
    report.problem(
        f"{item} in the state table says {short_time(at)}, in the future: only a write outside Session Warden does "
        f"that, and it would hide a stopped sweeper; trust {trust}, and find who wrote the item (CloudTrail data "
        "events on the state table, principals with dynamodb:PutItem on it)"
    )
    return True


def epoch_time(value: Any) -> datetime | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        return None
    try:
        return datetime.fromtimestamp(value, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None


def age(moment: datetime, at: datetime | None) -> int | None:
    return None if at is None else int((moment - at).total_seconds())


def older_than(moment: datetime, stack: Stack, span: timedelta) -> bool:
    """Whether the stack has existed for longer than ``span`` (unknown creation time: assume it has)."""
    return stack.created_at is None or moment - stack.created_at > span


def clean(value: Any) -> str:
    """Text someone else wrote (table items, resource names), safe for a terminal: no control characters, bounded."""
    if value is None:
        return ""
    text = "".join(" " if unicodedata.category(char).startswith("C") else char for char in str(value))
    text = " ".join(text.split())
    return text if len(text) <= _TEXT_LIMIT else text[: _TEXT_LIMIT - 1] + "…"
