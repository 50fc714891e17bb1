"""`warden grant create`: check a grant against the CLI's rules and the policy in force, store it, announce it."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from warden_cli.aws import Aws, aws_errors, connection_of
from warden_cli.clock import now
from warden_cli.errors import EXIT_DENIED, EXIT_OK, CliError
from warden_cli.grant_common import _publish, new_grant_id
from warden_cli.inputs import parse_span, parse_time
from warden_cli.output import grant_json, grant_targets, iso_or_none, print_json, short_time, time_zone
from warden_cli.stored_policy import stack_policy_in_force

if TYPE_CHECKING:
    from warden.policy import Grant


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
