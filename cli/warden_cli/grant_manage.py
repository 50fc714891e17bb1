"""`warden grant list` and `warden grant revoke`: the stored grants as they stand now, and ending one early."""

from __future__ import annotations

import argparse
from datetime import datetime
from typing import TYPE_CHECKING

from warden_cli.aws import Aws, aws_errors, connection_of
from warden_cli.clock import now
from warden_cli.errors import EXIT_DENIED, EXIT_OK, CliError
from warden_cli.grant_common import _grant_id, _publish
from warden_cli.inputs import parse_account
from warden_cli.output import grant_json, grant_targets, iso_or_none, print_json, print_table, short_time, time_zone

if TYPE_CHECKING:
    from warden.policy import Grant


# --- list ----------------------------------------------------------------------------------------------------------


def list_command(args: argparse.Namespace) -> int:
    from warden.adapters.grants import DynamoGrantStore

    zone = time_zone(args.tz)
    with aws_errors(connection_of(args).endpoint_url):
        aws = Aws.central(args, args.region)
        outputs = aws.outputs
        moment = now(aws.endpoint_url)
        grants = DynamoGrantStore(aws.client("dynamodb"), outputs.grants_table).all()
    if args.active:
        grants = [grant for grant in grants if grant.active_at(moment)]
    grants = _in_place(grants, args.account, args.region)
    if args.json:
        # The state now, as the table says it ("scheduled" reads back into explain --grants as a stored "active").
        print_json([{**grant_json(grant), "state": state_at(grant, moment)} for grant in grants])
        return EXIT_OK
    if not grants:
        print("no active grants" if args.active else "no grants")
        return EXIT_OK
    print_table(
        ("ID", "PRINCIPAL", "TARGETS", "FROM", "UNTIL", "STATE", "REASON"),
        [
            (
                grant.id,
                grant.principal,
                grant_targets(grant),
                short_time(grant.starts_at, zone),
                short_time(grant.expires_at, zone),
                state_at(grant, moment),
                grant.reason,
            )
            for grant in grants
        ],
        widths={"PRINCIPAL": 40, "TARGETS": 40, "REASON": 50},
    )
    return EXIT_OK


def _in_place(grants: list[Grant], account: str | None, region: str | None) -> list[Grant]:
    """The grants that may apply in ``account`` and ``region`` (either ``None``: not filtered on it).

    An account's OU path is not looked up: a grant naming OUs may apply to any account, so it is kept unless it also
    names accounts by id only.
    """
    from warden.policy import PlaceMatcher

    if account is None and region is None:
        return grants
    wanted = parse_account(account) if account is not None else None
    where = region.strip() if region is not None else None
    kept = []
    for grant in grants:
        # Fail open for a listing: an unknown OU path may be any of the grant's OUs.
        matcher = PlaceMatcher(grant.accounts, grant.regions, fail_closed=True)
        if wanted is not None and not matcher.account_holds(wanted, None):
            continue
        if where is not None and not matcher.region_holds(where):
            continue
        kept.append(grant)
    return kept


def state_at(grant: Grant, moment: datetime) -> str:
    """The state as it is now: a grant still marked active may have run out or not have started yet."""
    if grant.state != "active":
        return grant.state
    if moment >= grant.expires_at:
        return "expired"
    if moment < grant.starts_at:
        return "scheduled"
    return "active"


# --- revoke --------------------------------------------------------------------------------------------------------


def revoke_command(args: argparse.Namespace) -> int:
    from warden.adapters.alerts import SnsAlerts
    from warden.adapters.grants import DynamoGrantStore
    from warden.alerts.lifecycle import grant_alert
    from warden.alerts.text import AlertContext
    from warden.errors import GrantConflict

    grant_id = _grant_id(args.grant_id)
    aws = Aws.from_args(args)
    with aws_errors(aws.endpoint_url):
        outputs = aws.outputs
        store = DynamoGrantStore(aws.client("dynamodb"), outputs.grants_table)
        moment = now(aws.endpoint_url)
        current = store.get(grant_id)
        if current is None:
            raise CliError(f"no grant {grant_id} in {outputs.grants_table}", code=EXIT_DENIED)
        if current.state == "active" and moment >= current.expires_at:
            raise CliError(
                f"grant {grant_id} already expired at {iso_or_none(current.expires_at)}: nothing to revoke",
                code=EXIT_DENIED,
            )
        if current.state != "active":
            when = current.revoked_at if current.state == "revoked" else current.expires_at
            by = f" by {current.revoked_by}" if current.state == "revoked" and current.revoked_by else ""
            raise CliError(
                f"grant {grant_id} is already {current.state} (since {iso_or_none(when)}{by}): nothing to revoke",
                code=EXIT_DENIED,
            )
        caller = aws.caller
        try:
            revoked = store.revoke(grant_id, by=caller.arn, now=moment)
        except GrantConflict as error:
            raise CliError(f"{error}: nothing to revoke", code=EXIT_DENIED) from None

    _publish(
        lambda: SnsAlerts(aws.client("sns"), outputs.alerts_topic_arn).publish(
            grant_alert(
                "grant-revoked", AlertContext(outputs.stack, outputs.region, caller.account), revoked, by=caller.arn
            )
        ),
        revoked.id,
    )
    print(f"revoked {revoked.id} ({revoked.principal} on {grant_targets(revoked)})")
    print("open sessions it allowed are re-checked and ended at the next sweep, within a minute")
    return EXIT_OK
