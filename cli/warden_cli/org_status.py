"""`warden org status`: every account and guarded region of the organization, covered or not.

One row per account x guarded region (ACTIVE accounts, the management account excepted, and the central account):
account, name, OU path, region, covered (yes, or no and why), the last canary round trip, open sessions, the last
completed sweep of that scope. Read-only: Organizations List/Describe, DynamoDB GetItem/Query, CloudFormation
Describe. Exit 0 every scope covered; 1 some not, each on its own line with what to do; 2 the stack cannot be read.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from warden_cli.aws import Aws
from warden_cli.clock import now
from warden_cli.errors import EXIT_DENIED, EXIT_OK
from warden_cli.options import add_aws_options
from warden_cli.org_sweeps import FixedClock, organization_scopes
from warden_cli.output import iso_or_none, plural, print_json, print_table, relative, short_time
from warden_cli.status import _unreachable_is_bad_input
from warden_cli.status_report import clean, epoch_time

if TYPE_CHECKING:
    from warden.scope_liveness import ScopeBeat

CANARY_LIMIT = timedelta(minutes=10)  # SPEC 7: no round trip within 10 minutes is not covered
# A canary is written every 5 minutes: the last round trip may be that old, plus the 10 minutes a new one may take.
SEEN_LIMIT = timedelta(minutes=15)


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "status",
        help="every account and region of the organization: covered or not, last canary, open sessions, last sweep",
        description="Read-only. Exit 0 when every account and region is covered, 1 with each one that is not on "
        "its own line saying what to do, 2 when the stack cannot be read.",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object: `scopes` and `problems`")
    add_aws_options(parser)
    parser.set_defaults(handler=org_status_command)


@dataclass
class Row:
    account: str
    name: str
    ou_path: str
    region: str
    covered: bool = False
    why: str = ""
    round_trip_ms: int | None = None
    canary_seen_at: datetime | None = None
    open_sessions: int = 0
    last_sweep_at: datetime | None = None
    sweeps_stopped_since: datetime | None = None  # the sweeper's own judgement (warden.scope_liveness.stale_since)
    forward_rule_problem: str | None = None  # what the forward check found wrong with the member's forward rule
    problems: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "account": self.account,
            "name": self.name,
            "ou_path": self.ou_path,
            "region": self.region,
            "covered": self.covered,
            "why": self.why or None,
            "canary_seen_at": iso_or_none(self.canary_seen_at),
            "round_trip_ms": self.round_trip_ms,
            "open_sessions": self.open_sessions,
            "last_sweep_at": iso_or_none(self.last_sweep_at),
            "sweeps_stopped_since": iso_or_none(self.sweeps_stopped_since),
            "forward_rule_problem": self.forward_rule_problem,
        }


def org_status_command(args: argparse.Namespace) -> int:
    aws = Aws.from_args(args)
    with _unreachable_is_bad_input(aws.endpoint_url):
        rows = gather(aws)
    problems = [problem for row in rows for problem in row.problems]
    if args.json:
        print_json({"scopes": [row.to_json() for row in rows], "covered": not problems, "problems": problems})
    else:
        _print_text(rows, problems)
    return EXIT_DENIED if problems else EXIT_OK


def gather(aws: Aws) -> list[Row]:
    """One row per scope the sweeper sends orders for, as its state table items say."""
    from warden.adapters.ledger import DynamoLedger
    from warden.adapters.scope_beats import DynamoScopeBeats
    from warden.adapters.state import DynamoState

    standard = aws.outputs
    moment = now(aws.endpoint_url)
    clock = FixedClock(moment)
    org, accounts, scopes = organization_scopes(aws, clock)
    dynamodb = aws.client("dynamodb")
    state_table = standard.state_table or ""
    beats = DynamoScopeBeats(dynamodb, state_table)
    rows: list[Row] = []
    for scope in scopes:
        listed = accounts.get(scope.account)
        row = Row(
            account=scope.account,
            name=clean(listed.name) if listed else "",
            ou_path=clean(listed.ou_path) if listed else "",
            region=scope.region,
        )
        state = DynamoState(dynamodb, state_table, clock, scope=scope)
        _canary(row, state.canary(), moment, org.stack)
        _sweep(row, beats.beat(scope), moment)
        row.open_sessions = len(DynamoLedger(dynamodb, standard.ledger_table, scope=scope).open_entries())
        rows.append(row)
    return rows


def _canary(row: Row, item: dict[str, Any] | None, moment: datetime, stack: str) -> None:
    where = f"account {row.account}{f' ({row.name})' if row.name else ''} in {row.region}"
    deploy = f"`warden org deploy --ou {row.ou_path or 'OU'} --regions {row.region}`"
    if item is None:
        row.why = "no canary sent yet"
        row.problems.append(
            f"{where}: no canary has been sent there yet: the sweep worker has not swept it; check the sweep queue's "
            f"dead-letter queue and the sweep worker's errors ({stack}-sweep-worker-errors)"
        )
        return
    seen_at = epoch_time(item.get("seen_at"))
    round_trip = item.get("round_trip_ms")
    row.canary_seen_at = seen_at
    if isinstance(round_trip, (int, float)) and not isinstance(round_trip, bool):
        row.round_trip_ms = int(round_trip)
    waiting = epoch_time(item.get("waiting_since"))
    if item.get("unreachable"):
        row.why = "member role not assumable"
        row.problems.append(
            f"{where}: the member role cannot be assumed ({clean(item['unreachable'])[:200]}): the member stack is "
            f"missing there or its role was changed; deploy it with {deploy}"
        )
    elif item.get("rule_problem"):
        # Found by the forward check of a coverage round: the rule was narrowed, disabled, retargeted or deleted.
        problem = clean(item["rule_problem"])[:600]
        row.forward_rule_problem = problem
        prefix = f"forward rule {stack}-forward in account {row.account} region {row.region} "
        row.why = f"forward rule {problem.removeprefix(prefix)}"[:160]
        row.problems.append(
            f"{where}: {problem}; restore the rule as the member stack defines it (StackSet drift detection shows "
            f"what changed, CloudTrail there who changed it) or repair the member stack with {deploy}"
        )
    elif waiting is not None and moment - waiting >= CANARY_LIMIT:
        row.why = f"canary not back since {short_time(waiting)}"
        row.problems.append(
            f"{where}: the canary has not come back since {short_time(waiting)} ({relative(waiting, moment)}): the "
            f"member stack's forwarding rule ({stack}-forward) is missing or disabled, or its trail is off; repair "
            f"the member stack with {deploy} and check the trail (the account-not-covered alert names the cause)"
        )
    elif seen_at is None and waiting is None:
        row.why = "canary never seen"
        row.problems.append(f"{where}: no canary has come back yet; repair the member stack with {deploy}")
    elif seen_at is not None and waiting is None and moment - seen_at > SEEN_LIMIT:
        row.why = f"last canary {relative(seen_at, moment)}"
        row.problems.append(
            f"{where}: the last canary came back {relative(seen_at, moment)} and none has been sent since: the "
            f"sweep worker is not sweeping it; check the sweep queue's dead-letter queue and the worker's errors"
        )
    else:
        row.covered = True


def _sweep(row: Row, beat: ScopeBeat | None, moment: datetime) -> None:
    """The scope's last completed sweep, judged as the sweeper judges it (one function: ``stale_since``)."""
    from warden.scope_liveness import stale_since

    row.last_sweep_at = beat.last_sweep if beat else None
    row.sweeps_stopped_since = since = stale_since(beat, moment)
    if since is None:
        return
    at = row.last_sweep_at
    when = "never" if at is None else relative(at, moment)
    row.covered = False
    row.why = row.why or f"sweeps stopped (last {when})"
    if row.problems:
        return  # one line per scope: the coverage problem already says what to look at
    row.problems.append(
        f"account {row.account} in {row.region}: its sweeps have stopped (last completed sweep {when}, more than 3 "
        "minutes ago): open sessions there are not re-checked; check the sweep worker's event source mapping is "
        "enabled, read the sweep worker's logs and the sweep dead-letter queue"
    )


def _print_text(rows: list[Row], problems: list[str]) -> None:
    headers = ["ACCOUNT", "NAME", "OU PATH", "REGION", "COVERED", "LAST CANARY", "OPEN", "LAST SWEEP"]
    table = [
        [
            row.account,
            row.name or "-",
            row.ou_path or "(root)",
            row.region,
            "yes" if row.covered else f"no: {row.why}",
            "-"
            if row.canary_seen_at is None
            else f"{short_time(row.canary_seen_at)}"
            + (f" ({row.round_trip_ms} ms)" if row.round_trip_ms is not None else ""),
            str(row.open_sessions),
            ("-" if row.last_sweep_at is None else short_time(row.last_sweep_at))
            + (" (stopped)" if row.sweeps_stopped_since is not None else ""),
        ]
        for row in rows
    ]
    print_table(headers, table)
    print()
    covered = sum(row.covered for row in rows)
    if not problems:
        print(f"covered: all {plural(len(rows), 'account-region')}")
        return
    print(f"{covered} of {plural(len(rows), 'account-region')} covered; {plural(len(problems), 'problem')}:")
    for problem in problems:
        print(f"- {problem}")
