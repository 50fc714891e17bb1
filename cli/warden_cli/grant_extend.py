"""`warden grant extend`: give a grant more time, within the policy's cap, announced by a grant-extended alert."""

from __future__ import annotations

import argparse
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from warden_cli.aws import Aws, aws_errors
from warden_cli.clock import now
from warden_cli.errors import EXIT_DENIED, EXIT_OK, CliError
from warden_cli.grant_common import _grant_id, _publish
from warden_cli.inputs import parse_span
from warden_cli.options import add_aws_options
from warden_cli.output import grant_json, iso_or_none, print_json, short_time
from warden_cli.stored_policy import stack_policy_in_force

if TYPE_CHECKING:
    from warden.adapters.grants import GrantExtension
    from warden.policy import Grant


def register(commands: Any) -> None:
    extend = commands.add_parser(
        "extend",
        help="give a grant more time (within the policy's grants.max_duration)",
        description=(
            "Move a grant's expiry later by DURATION (conditional write: a revoke or another extension that lands "
            "first is never overwritten) and publish the grant-extended alert. Open sessions the grant allows get "
            "the new end at the next sweep. A revoked or expired grant cannot be extended: create a new one."
        ),
    )
    extend.add_argument("grant_id", metavar="ID", help="the grant's id (g-...)")
    extend.add_argument("--for", dest="duration", required=True, metavar="DURATION", help="how much more: 30m, 1h")
    extend.add_argument("--reason", required=True, metavar="R", help="why it needs more time")
    extend.add_argument("--json", action="store_true", help="print the stored grant as JSON, with its extensions")
    add_aws_options(extend)
    extend.set_defaults(handler=extend_command)


def extend_command(args: argparse.Namespace) -> int:
    from warden.adapters.alerts import SnsAlerts
    from warden.adapters.grants import DynamoGrantStore
    from warden.alerts.lifecycle import grant_alert
    from warden.alerts.text import AlertContext
    from warden.errors import GrantConflict

    grant_id = _grant_id(args.grant_id)
    more = parse_span(args.duration, option="--for")
    if more <= timedelta(0):
        raise CliError(f"--for {args.duration}: an extension must be longer than zero")
    reason = " ".join(args.reason.split())
    if not reason:
        raise CliError("--reason: must not be empty (say why the grant needs more time)")

    aws = Aws.from_args(args)
    with aws_errors(aws.endpoint_url):
        outputs = aws.outputs
        store = DynamoGrantStore(aws.client("dynamodb"), outputs.grants_table)
        moment = now(aws.endpoint_url).replace(microsecond=0)
        current = store.get(grant_id)
        if current is None:
            raise CliError(f"no grant {grant_id} in {outputs.grants_table}", code=EXIT_DENIED)
        _refuse_ended(current, moment)
        until = current.expires_at + more
        _check_cap(aws, current, until, args.duration)
        caller = aws.caller
        try:
            extended, history = store.extend(current, until=until, by=caller.arn, reason=reason, now=moment)
        except GrantConflict as error:
            raise CliError(f"{error}: not extended", code=EXIT_DENIED) from None

    _publish(
        lambda: SnsAlerts(aws.client("sns"), outputs.alerts_topic_arn).publish(
            grant_alert(
                "grant-extended",
                AlertContext(outputs.stack, outputs.region, caller.account),
                extended,
                by=caller.arn,
                previous_until=current.expires_at,
                why=reason,
            )
        ),
        extended.id,
    )
    if args.json:
        print_json({**grant_json(extended), "extensions": [_extension_json(entry) for entry in history]})
    else:
        print(
            f"extended {extended.id} until {short_time(extended.expires_at)} "
            f"(was {short_time(current.expires_at)}; {_duration(extended.expires_at - extended.starts_at)} in all)"
        )
        print("open sessions it allows get the new end at the next sweep, within a minute")
    return EXIT_OK


def _refuse_ended(grant: Grant, moment: datetime) -> None:
    """A revoked or expired grant stays ended: extending it would reopen access someone ended or let lapse."""
    if grant.state == "revoked":
        by = f" by {grant.revoked_by}" if grant.revoked_by else ""
        raise CliError(
            f"grant {grant.id} was revoked at {iso_or_none(grant.revoked_at)}{by}: a revoked grant cannot be "
            "extended (create a new one with `warden grant create`)",
            code=EXIT_DENIED,
        )
    if grant.state == "expired" or moment >= grant.expires_at:
        raise CliError(
            f"grant {grant.id} expired at {iso_or_none(grant.expires_at)}: an expired grant cannot be extended "
            "(create a new one with `warden grant create`)",
            code=EXIT_DENIED,
        )


def _check_cap(aws: Aws, grant: Grant, until: datetime, text: str) -> None:
    """Refuse an expiry past ``grants.max_duration`` counted from the grant's start, and say how much is left."""
    in_force = stack_policy_in_force(aws)
    if in_force is None or in_force.policy is None or in_force.policy.grants is None:
        return
    cap = in_force.policy.grants.max_duration
    if cap is None or until - grant.starts_at <= cap:
        return
    left = grant.starts_at + cap - grant.expires_at
    room = f"it can be extended by at most {_duration(left)}" if left > timedelta(0) else "it is at the cap already"
    raise CliError(
        f"--for {text}: the grant would last {_duration(until - grant.starts_at)} from its start "
        f"({short_time(grant.starts_at)}), past the policy's grants.max_duration of {_duration(cap)} "
        f"({in_force.parameter}, version {in_force.version}); {room}",
        code=EXIT_DENIED,
    )


def _duration(span: timedelta) -> str:
    from warden.policy import format_duration

    return format_duration(span)


def _extension_json(entry: GrantExtension) -> dict[str, str | None]:
    return {
        "by": entry.by,
        "at": iso_or_none(entry.at),
        "reason": entry.reason,
        "previous_expires_at": iso_or_none(entry.previous_expires_at),
        "expires_at": iso_or_none(entry.expires_at),
    }
