"""`warden sessions`: the session ledger, newest first, as a table, JSON or CSV."""

from __future__ import annotations

import argparse
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from warden_cli.aws import Aws, aws_errors, connection_of
from warden_cli.clock import now
from warden_cli.errors import EXIT_OK, CliError
from warden_cli.inputs import parse_account, parse_span
from warden_cli.options import add_aws_options
from warden_cli.output import iso_or_none, print_csv, print_json, print_table, short_time, terminal_width, time_zone

if TYPE_CHECKING:
    from warden.records import LedgerEntry
    from warden_cli.aws import StackOutputs

DEFAULT_SINCE = "7d"
MAX_DAYS = 400  # the ledger's retention: older rows are gone anyway
TABLE_COLUMNS = (
    "SESSION", "WHO", "TARGET", "NAME", "DOCUMENT", "STARTED", "DEADLINE", "ENDED", "DECISION", "RULE/GRANT",
    "ACTION", "END", "REASON",
)  # fmt: skip
CSV_COLUMNS = (
    "session_id", "status", "principal", "principal_arn", "target", "target_name", "document", "reason",
    "started_at", "ended_at", "duration_seconds", "decision", "basis", "rule", "grant", "deadline", "mode", "action",
    "ended_by", "end_reason", "error_code", "error_message", "transcript",
)  # fmt: skip


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "sessions",
        help="the session ledger: who, where, what was decided and done, newest first",
        description="The ledger, day by day through its by-day index (no table scan).",
    )
    parser.add_argument("--active", action="store_true", help="only the sessions still open (any age)")
    parser.add_argument(
        "--since",
        metavar="DURATION",
        help=f"sessions started within this long (default: {DEFAULT_SINCE}; with --active: any age)",
    )
    parser.add_argument(
        "--tz", metavar="ZONE", help="show the table's times in this IANA time zone, e.g. Europe/Berlin (default: UTC)"
    )
    parser.add_argument(
        "--account",
        metavar="A",
        help="organization mode: only sessions in this account (rows that name none are the stack's own account's)",
    )
    output = parser.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="print a JSON array of ledger rows")
    output.add_argument("--csv", action="store_true", help="print CSV with a header")
    add_aws_options(
        parser,
        region_help="; also lists only the sessions in that region (organization mode: the central stack is read in "
        "the default region when it is not in this one)",
    )
    parser.set_defaults(handler=sessions_command)


def sessions_command(args: argparse.Namespace) -> int:
    from warden.adapters.ledger import DAY_INDEX, OPEN_INDEX, DynamoLedger

    zone = time_zone(args.tz)
    account = parse_account(args.account) if args.account is not None else None
    region = args.region.strip() if args.region is not None else None
    window = parse_span(args.since or DEFAULT_SINCE, option="--since")
    window = min(window, timedelta(days=MAX_DAYS))
    with aws_errors(connection_of(args).endpoint_url):
        aws = Aws.central(args, args.region)
        outputs = aws.outputs
        ledger = DynamoLedger(aws.client("dynamodb"), outputs.ledger_table)
        moment = now(aws.endpoint_url)
        cutoff = moment - window
        if args.active:
            entries = ledger.open_entries()
            if account is not None or region is not None:
                # Organization-mode rows are indexed as open per account and region: read those asked for too.
                for label in _open_labels(outputs, account, region):
                    entries.extend(ledger.query_index(OPEN_INDEX, "open", label))
            if args.since:
                entries = [entry for entry in entries if entry.started_at is None or entry.started_at >= cutoff]
        else:
            entries = []
            for day in days_between(cutoff, moment):
                entries.extend(ledger.query_index(DAY_INDEX, "day", day, since=cutoff))
    if account is not None or region is not None:
        entries = [entry for entry in entries if _in_place(entry, outputs, account, region)]
    entries = newest_first(entries)

    if args.json:
        print_json([entry_json(entry) for entry in entries])
    elif args.csv:
        print_csv(CSV_COLUMNS, [[entry_json(entry).get(column) for column in CSV_COLUMNS] for entry in entries])
    elif not entries:
        print("no open sessions" if args.active else f"no sessions since {short_time(cutoff)}")
    else:
        print_table(
            TABLE_COLUMNS,
            [table_row(entry, zone) for entry in entries],
            widths={"WHO": 32, "DOCUMENT": 32, "RULE/GRANT": 32, "END": 60, "REASON": 40},
            max_width=terminal_width(),
        )
    return EXIT_OK


def _open_labels(outputs: StackOutputs, account: str | None, region: str | None) -> list[str]:
    """The open-sessions index values (``ACCOUNT/REGION``) of the accounts and regions asked for.

    Without --account, the stack's own account; without --region, every region the stack guards.
    """
    from warden.scope import Scope

    regions = [region] if region is not None else list(dict.fromkeys((outputs.region, *outputs.guarded_regions)))
    try:
        return [Scope(account or outputs.account, name, org=True).label for name in regions]
    except ValueError as error:
        raise CliError(f"--account/--region: {error}") from None


def _in_place(entry: LedgerEntry, outputs: StackOutputs, account: str | None, region: str | None) -> bool:
    """Whether the row is of that account and region; a row naming none is the stack's own account and region's."""
    row_account = entry.account or outputs.account
    row_region = entry.region or outputs.region
    return (account is None or row_account == account) and (region is None or row_region == region)


def days_between(start: datetime, end: datetime) -> list[str]:
    """UTC days ``YYYY-MM-DD`` from ``start``'s to ``end``'s, newest first (the by-day index's partition keys)."""
    first, last = start.date(), end.date()
    count = (last - first).days
    from warden.timefmt import iso_day

    return [iso_day(last - timedelta(days=offset)) for offset in range(count + 1)]


def newest_first(entries: list[LedgerEntry]) -> list[LedgerEntry]:
    unique = {entry.session_id: entry for entry in entries}
    return sorted(
        unique.values(),
        key=lambda entry: (entry.started_at.timestamp() if entry.started_at else float("-inf"), entry.session_id),
        reverse=True,
    )


def entry_json(entry: LedgerEntry) -> dict[str, Any]:
    """A ledger row as plain data: times in ISO 8601, every field present (null where the ledger has none)."""
    from dataclasses import fields

    data: dict[str, Any] = {}
    for item in fields(entry):
        value = getattr(entry, item.name)
        data[item.name] = iso_or_none(value) if isinstance(value, datetime) else value
    return data


def table_row(entry: LedgerEntry, zone: Any = None) -> tuple[str, ...]:
    if entry.status == "failed-call":
        # No session came of the call: its error code is the outcome.
        decision, basis, action, ended = "failed", "-", entry.error_code or "failed", "-"
    else:
        decision, basis, action = entry.decision or "-", decided_by(entry), entry.action or "-"
        ended = short_time(entry.ended_at, zone) if entry.ended_at else ("open" if entry.status == "open" else "-")
    end = entry.end_reason or (f"by {entry.ended_by}" if entry.ended_by else "-")
    return (
        entry.session_id,
        entry.principal or entry.principal_arn or "-",
        entry.target or "-",
        entry.target_name or "-",
        entry.document or "-",
        short_time(entry.started_at, zone),
        short_time(entry.deadline, zone),
        ended,
        decision,
        basis,
        action,
        end,
        entry.reason or "-",
    )


def decided_by(entry: LedgerEntry) -> str:
    """The rule or grant behind the latest decision; ``default`` when the policy's default decided."""
    if entry.basis == "session-limit":
        return f"limit of {entry.rule}" if entry.rule else "limit per target"
    if entry.basis in ("deny-rule", "allow-rule") and entry.rule:
        return entry.rule
    if entry.basis == "grant" and entry.grant:
        return f"grant {entry.grant}"
    if entry.basis in ("default-deny", "default-allow"):
        return "default"
    if entry.basis == "require-logging":
        return "require_logging"
    if entry.rule:
        return entry.rule
    return f"grant {entry.grant}" if entry.grant else "-"
