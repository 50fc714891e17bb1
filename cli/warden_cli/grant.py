"""`warden grant create|list|revoke`: just-in-time grants in the stack's grants table, each announced by an alert."""

from __future__ import annotations

import argparse
import re
import secrets
import string
import sys
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from warden_cli.aws import Aws, aws_errors, connection_of
from warden_cli.clock import now
from warden_cli.errors import EXIT_DENIED, EXIT_OK, CliError
from warden_cli.inputs import parse_account, parse_span, parse_time
from warden_cli.options import add_aws_options
from warden_cli.output import grant_json, grant_targets, iso_or_none, print_json, print_table, short_time, time_zone
from warden_cli.stored_policy import stack_policy_in_force

if TYPE_CHECKING:
    from warden.policy import Grant

ID_PREFIX = "g-"
ID_ALPHABET = string.ascii_lowercase + string.digits
ID_LENGTH = 12
GRANT_ID = re.compile(rf"{re.escape(ID_PREFIX)}[a-z0-9]{{{ID_LENGTH}}}")


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("grant", help="create, list, revoke and extend just-in-time grants")
    commands = parser.add_subparsers(dest="grant_command", metavar="COMMAND", required=True)

    create = commands.add_parser(
        "create",
        help="grant a principal access to targets for a while",
        description="Write a just-in-time grant (conditional put) and publish the grant-created alert.",
    )
    create.add_argument(
        "--principal",
        required=True,
        metavar="P",
        help="principal pattern: user:NAME, permission-set:NAME, role:NAME, account:ID, arn:...",
    )
    which = create.add_mutually_exclusive_group(required=True)
    which.add_argument("--target", action="extend", nargs="+", metavar="ID", help="instance/managed-node ids or globs")
    which.add_argument(
        "--tag", action="extend", nargs="+", metavar="K=V", help="target tags (every key must match; value globs)"
    )
    create.add_argument("--for", dest="duration", required=True, metavar="DURATION", help="how long: 30m, 2h, 1d")
    create.add_argument("--starts", metavar="ISO", help="when it starts, with an offset (default: now)")
    create.add_argument("--reason", required=True, metavar="R", help="why (a ticket, an incident)")
    create.add_argument(
        "--yes", action="store_true", help="confirm a grant for every principal (`*`) or on every target"
    )
    create.add_argument("--tz", metavar="ZONE", help="say the grant's times in this IANA time zone (default: UTC)")
    create.add_argument("--json", action="store_true", help="print the stored grant as JSON")
    create.add_argument(
        "--account",
        dest="accounts",
        action="extend",
        nargs="+",
        metavar="A",
        help="organization mode: only in these accounts (12-digit ids, ou:PATH, ou:PATH/*), repeatable "
        "(default: every account)",
    )
    create.add_argument(
        "--region",
        dest="regions",
        action="extend",
        nargs="+",
        metavar="R",
        help="organization mode: only in these regions (names or globs such as eu-*), repeatable (default: every "
        "region). The stack is read in the one region named, else (or when it is not there) in AWS_REGION, "
        "AWS_DEFAULT_REGION or the profile's region. With a single-account stack, --region is only the stack's "
        "region, as for every command",
    )
    add_aws_options(create, region=False)
    create.set_defaults(handler=create_command)

    listing = commands.add_parser("list", help="the grants, oldest first")
    listing.add_argument("--active", action="store_true", help="only grants in force now")
    listing.add_argument(
        "--account",
        metavar="A",
        help="only grants that may apply in this account: those naming it or no accounts, and those naming OUs "
        "(OU paths are not looked up)",
    )
    listing.add_argument("--tz", metavar="ZONE", help="show the times in this IANA time zone (default: UTC)")
    listing.add_argument("--json", action="store_true", help="print a JSON list (what explain --grants reads)")
    add_aws_options(
        listing,
        region_help="; also lists only the grants that apply in that region (those naming no regions apply in all; "
        "organization mode: the central stack is read in the default region when it is not in this one)",
    )
    listing.set_defaults(handler=list_command)

    revoke = commands.add_parser(
        "revoke", help="end a grant now; open sessions it allowed end at the next sweep, within a minute"
    )
    revoke.add_argument("grant_id", metavar="ID", help="the grant's id (g-...)")
    add_aws_options(revoke)
    revoke.set_defaults(handler=revoke_command)

    from warden_cli import grant_extend

    grant_extend.register(commands)


# --- create --------------------------------------------------------------------------------------------------------


def create_command(args: argparse.Namespace) -> int:
    from warden.adapters.alerts import SnsAlerts
    from warden.adapters.grants import DynamoGrantStore
    from warden.alerts.lifecycle import grant_alert
    from warden.alerts.text import AlertContext
    from warden.errors import GrantConflict
    from warden.policy import format_duration

    principal = _principal_pattern(args.principal)
    targets = _targets(args.target, args.tag)
    places = _places(args.accounts, args.regions)
    duration = parse_span(args.duration, option="--for")
    starts = parse_time(args.starts, option="--starts") if args.starts else None
    zone = time_zone(args.tz)
    reason = " ".join(args.reason.split())
    if not reason:
        raise CliError("--reason: must not be empty (say why: a ticket, an incident)")
    _check_breadth(principal, targets, confirmed=args.yes)

    # One region named (not a glob) may be where the stack is, as --region always said; else the default region.
    regions = places.get("regions", [])
    stack_region = regions[0] if len(regions) == 1 and "*" not in regions[0] and "?" not in regions[0] else None
    with aws_errors(connection_of(args).endpoint_url):
        aws = Aws.central(args, stack_region)
        outputs = aws.outputs
        if regions and outputs.organization_id is None:
            places.pop("regions")
            if regions != [aws.region_name]:
                # A single-account warden knows no other region: a grant limited to one would never allow anything.
                raise CliError(
                    f"--region: {', '.join(regions)}: a grant names regions in organization mode only; stack "
                    f"{outputs.stack!r} guards one account in {aws.region_name}"
                )
        moment = now(aws.endpoint_url).replace(microsecond=0)
        starts_at = starts or moment
        expires_at = starts_at + duration
        if expires_at <= moment:
            raise CliError(
                f"--starts/--for: the grant would end at {iso_or_none(expires_at)}, which is already past "
                f"(now is {iso_or_none(moment)})"
            )
        _check_policy_limits(aws, duration, args.duration, principal, targets, reason)
        caller = aws.caller
        grant = _build_grant(
            principal=principal,
            targets=targets,
            starts_at=starts_at,
            expires_at=expires_at,
            reason=reason,
            created_by=caller.arn,
            created_at=moment,
            **places,
        )
        store = DynamoGrantStore(aws.client("dynamodb"), outputs.grants_table)
        try:
            store.create(grant)
        except GrantConflict as error:
            raise CliError(f"{error}; run the command again", code=EXIT_DENIED) from None
        stored = store.get(grant.id) or grant

    _publish(
        lambda: SnsAlerts(aws.client("sns"), outputs.alerts_topic_arn).publish(
            grant_alert(
                "grant-created",
                AlertContext(outputs.stack, outputs.region, caller.account),
                stored,
                by=caller.arn,
            )
        ),
        stored.id,
    )
    if args.json:
        print_json(grant_json(stored))
    else:
        print(stored.id)
        length = format_duration(stored.expires_at - stored.starts_at)
        print(
            f"granted {stored.principal} on {grant_targets(stored)} from {short_time(stored.starts_at, zone)} "
            f"until {short_time(stored.expires_at, zone)} ({length})",
            file=sys.stderr,
        )
    return EXIT_OK


def _principal_pattern(value: str) -> str:
    from warden.policy import pattern_warnings, validate_principal_pattern

    pattern = value.strip()
    try:
        validate_principal_pattern(pattern)
    except ValueError as error:
        raise CliError(f"--principal: {error}") from None
    for warning in pattern_warnings(pattern):
        print(f"warden: warning: --principal: {warning}", file=sys.stderr)
    return pattern


def _targets(ids: Sequence[str] | None, tags: Sequence[str] | None) -> dict[str, Any]:
    if ids:
        cleaned = [value.strip() for value in ids]
        if any(not value for value in cleaned):
            raise CliError("--target: an empty id")
        return {"ids": list(dict.fromkeys(cleaned))}
    by_key: dict[str, list[str]] = {}
    for value in tags or ():
        key, sep, tag_value = value.partition("=")
        if not sep or not key.strip() or not tag_value:
            raise CliError(f"--tag {value!r}: expected KEY=VALUE, e.g. --tag Environment=prod")
        values = by_key.setdefault(key, [])
        if tag_value not in values:
            values.append(tag_value)
    return {"tags": {key: values[0] if len(values) == 1 else values for key, values in by_key.items()}}


def _places(accounts: Sequence[str] | None, regions: Sequence[str] | None) -> dict[str, list[str]]:
    """The grant's ``accounts`` and ``regions`` from --account and --region (none given: everywhere)."""
    from warden.policy import account_entry_problem, region_entry_problem

    places: dict[str, list[str]] = {}
    for option, field, values, problem_of in (
        ("--account", "accounts", accounts, account_entry_problem),
        ("--region", "regions", regions, region_entry_problem),
    ):
        if not values:
            continue
        cleaned = list(dict.fromkeys(value.strip() for value in values))
        for value in cleaned:
            problem = problem_of(value)
            if problem is not None:
                raise CliError(f"{option}: {problem}")
        places[field] = cleaned
    return places


def _check_breadth(principal: str, targets: dict[str, Any], *, confirmed: bool) -> None:
    """A grant for anyone, or on every target, is made only when the operator says so with ``--yes``."""
    broad = []
    if principal == "*":
        broad.append("--principal '*' covers every principal")
    if any(value.endswith("*") and value.rstrip("*") in ("", "i-", "mi-") for value in targets.get("ids", ())):
        broad.append("--target '*' covers every target")
    if broad and not confirmed:
        raise CliError(f"{' and '.join(broad)}; add --yes if that is what you mean")


def _check_policy_limits(
    aws: Aws,
    duration: timedelta,
    text: str,
    principal: str,
    targets: dict[str, Any],
    reason: str,
) -> None:
    """The policy in force's ``grants`` settings: ``max_duration``, ``require_reason`` and ``forbid``."""
    from warden.policy import Targets, format_duration

    in_force = stack_policy_in_force(aws)
    if in_force is None or in_force.policy is None or in_force.policy.grants is None:
        return
    settings = in_force.policy.grants
    source = f"({in_force.parameter}, version {in_force.version})"
    cap = settings.max_duration
    if cap is not None and duration > cap:
        raise CliError(f"--for {text}: longer than the policy's grants.max_duration of {format_duration(cap)} {source}")
    refusal = settings.refusal(principal, Targets.model_validate(targets), reason)
    if refusal is not None:
        raise CliError(f"the policy refuses this grant: {refusal} {source}")


def _build_grant(**fields: Any) -> Grant:
    from pydantic import ValidationError

    from warden.policy import Grant

    try:
        return Grant.model_validate({"id": new_grant_id(), "state": "active", **fields})
    except ValidationError as error:
        first = error.errors(include_url=False)[0]
        field = ".".join(str(part) for part in first["loc"]) or "grant"
        raise CliError(f"{field}: {str(first['msg']).removeprefix('Value error, ')}") from None
    except ValueError as error:
        raise CliError(f"grant: {error}") from None


def _grant_id(value: str) -> str:
    grant_id = value.strip()
    if not GRANT_ID.fullmatch(grant_id):
        raise CliError(
            f"ID: {value!r} is not a grant id: ids are {ID_PREFIX} and {ID_LENGTH} lowercase letters or digits, "
            "as `warden grant list` shows them"
        )
    return grant_id


def new_grant_id() -> str:
    return ID_PREFIX + "".join(secrets.choice(ID_ALPHABET) for _ in range(ID_LENGTH))


def _publish(send: Callable[[], None], grant_id: str) -> None:
    """Publish an alert; a failure is reported loudly but does not undo the grant change, which has been made."""
    from warden.errors import AwsCallFailed

    try:
        send()
    except AwsCallFailed as error:  # the alerts adapter raises only this for a failed Publish
        print(
            f"warden: warning: {grant_id} was changed, but its alert could not be published: {error}",
            file=sys.stderr,
        )


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
