"""`warden org deploy`: the member stack in every account of some OUs, through a service-managed StackSet.

The StackSet (``<stack>-members``) deploys org/member.yaml with automatic deployment, so an account created in or
moved into those OUs gets the member stack with no operator action; its parameters all come from the central stack.
The central account's other guarded regions get a relay stack (``<stack>-relay``, the same template). Exit 0 when
every stack instance and relay succeeded, 1 when one did not (each on its own line), 2 for input that cannot work.

This module is the command: its arguments, the flow of one deploy, the regions and OUs it targets. The StackSet
calls and their waiting are in `warden_cli.org_deploy_stackset`; the relay stacks and the printed report in
`warden_cli.org_deploy_relay`.
"""

from __future__ import annotations

import argparse
import contextlib
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from warden_cli.aws import Aws, aws_errors
from warden_cli.errors import EXIT_BAD_INPUT, EXIT_DENIED, EXIT_OK, CliError
from warden_cli.options import add_aws_options
from warden_cli.org_deploy_relay import _as_json, _print, _start_relays, _wait_relays
from warden_cli.org_deploy_stackset import (
    REGISTER,
    AwsClients,
    Clients,
    Outcome,
    Report,
    Waiting,
    _add_instances,
    _code,
    _create_or_update,
    _operation_results,
    _paged,
    _stack_set_errors,
    _wait_operation,
)
from warden_cli.org_stack import OrgOutputs, read_org_outputs
from warden_cli.output import print_json

MEMBER_TEMPLATE = Path(__file__).resolve().parents[2] / "org" / "member.yaml"
OU_ID = re.compile(r"^(ou-[0-9a-z]{4,32}-[0-9a-z]{8,32}|r-[0-9a-z]{4,32})$")
REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-[0-9]+$")


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "deploy",
        help="deploy the member stack to every account of some OUs (service-managed StackSet, new accounts too)",
        description="Create or update the service-managed StackSet <stack>-members (automatic deployment: accounts "
        "added to the OUs later get the stack by themselves), add stack instances for the OUs in the regions, deploy "
        "the relay stack in the central account's other regions, wait, and print one line per account and region. "
        "Run it in the central (delegated administrator) account, in the central stack's region. Exit 0 all "
        "succeeded, 1 something failed (each named), 2 input that cannot work.",
    )
    parser.add_argument(
        "--ou",
        dest="ous",
        action="extend",
        nargs="+",
        required=True,
        metavar="OU",
        help="OU ids (ou-..., or the root r-...) or OU paths from the root down (Production/Web)",
    )
    parser.add_argument(
        "--regions",
        action="extend",
        nargs="+",
        metavar="R",
        help="regions of the stack instances (default: the central stack's GuardedRegions; the home region always)",
    )
    parser.add_argument(
        "--timeout", type=float, default=1800.0, metavar="SECONDS", help="give up waiting after this long (1800)"
    )
    parser.add_argument("--template", type=Path, default=MEMBER_TEMPLATE, help=argparse.SUPPRESS)
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    add_aws_options(parser)
    parser.set_defaults(handler=deploy_command)


def clients_for(aws: Aws) -> Clients:
    return AwsClients(aws)


def deploy_command(args: argparse.Namespace) -> int:
    aws = Aws.from_args(args)
    template = _read_template(args.template)
    poll = 1.0 if aws.endpoint_url else 5.0
    with aws_errors(aws.endpoint_url):
        org = read_org_outputs(aws)
        if aws.region_name != org.home_region:
            raise CliError(f"--region: the central stack is in {org.home_region}; run this there (--region)")
        report = deploy(
            org,
            args.ous,
            args.regions or [],
            template,
            clients_for(aws),
            Waiting(timeout=args.timeout, poll=poll),
        )
    if args.json:
        print_json(_as_json(report))
    else:
        _print(report)
    return EXIT_DENIED if report.failed else EXIT_OK


def deploy(
    org: OrgOutputs, ous: Sequence[str], regions: Sequence[str], template: str, clients: Clients, waiting: Waiting
) -> Report:
    """Create or update the StackSet, add the OUs' instances, deploy the relays, wait; what each account got."""
    stack_regions, notes = plan_regions(org, regions)
    ou_ids = resolve_ous(clients.organizations(), ous, account=org.central_account)
    report = Report(stack_set=f"{org.stack}-members", ous=ou_ids, regions=stack_regions, notes=notes)
    for note in notes:
        waiting.progress(note)
    # The relays first: they deploy while the StackSet operations run.
    relays = _start_relays(clients, org, [r for r in stack_regions if r != org.home_region], template, waiting)
    cfn = clients.cloudformation(org.home_region)
    results: dict[tuple[str, str], Outcome] = {}
    with _stack_set_errors(report.stack_set, org):
        # One operation at a time on a StackSet: the update (of every instance) ends before instances are added.
        steps: list[Callable[[], str | None]] = [
            lambda: _create_or_update(cfn, report.stack_set, org, template, waiting),
            lambda: _add_instances(cfn, report.stack_set, ou_ids, stack_regions, waiting),
        ]
        for step in steps:
            operation = step()
            if operation is None:
                continue
            report.operations.append(operation)
            _wait_operation(cfn, report.stack_set, operation, waiting)
            for outcome in _operation_results(cfn, report.stack_set, operation):
                results[(outcome.account, outcome.region)] = outcome  # the later operation's word is the last
    order = {region: index for index, region in enumerate(stack_regions)}
    report.outcomes = sorted(results.values(), key=lambda o: (o.account, order.get(o.region, len(order)), o.region))
    report.outcomes.extend(_wait_relays(clients, org, relays, waiting))
    if not results:
        report.notes.append(
            "no account got a stack instance: the OUs hold no account (the management account is never a target)"
        )
    return report


def plan_regions(org: OrgOutputs, requested: Sequence[str]) -> tuple[list[str], list[str]]:
    """The StackSet's regions: those asked for (default: the guarded ones), each guarded, the home region included."""
    regions = list(dict.fromkeys(region.strip() for region in requested if region.strip())) or list(org.guarded_regions)
    for region in regions:
        if not REGION.match(region):
            raise CliError(f"--regions: {region!r} is not a region name (like eu-west-1)")
    unguarded = [region for region in regions if region not in org.guarded_regions]
    if unguarded:
        raise CliError(
            f"--regions: {', '.join(unguarded)} not guarded by stack {org.stack!r} (it guards "
            f"{', '.join(org.guarded_regions)}); add to the central stack's GuardedRegions first (sam deploy)"
        )
    notes = []
    if org.home_region not in regions:
        regions.insert(0, org.home_region)
        notes.append(f"the home region {org.home_region} is added: the member role is created there")
    return regions, notes


def resolve_ous(organizations: Any, specs: Iterable[str], *, account: str) -> list[str]:
    """OU ids for ``ou-...``/``r-...`` ids and OU paths (names from the root down, joined by ``/``)."""
    from warden.policy import join_ou_path, split_ou_path

    resolved: list[str] = []
    root: str | None = None
    for spec in specs:
        text = spec.strip()
        if OU_ID.match(text):
            resolved.append(text)
            continue
        # OU names from the root down; a '/' or '\' inside a name is escaped (\/, \\), as in the policy's ou: paths.
        names = [name for name in split_ou_path(text) or () if name]
        if not names:
            raise CliError(f"--ou: {spec!r} is neither an OU id (ou-...) nor an OU path (Production/Web)")
        with _organizations_errors(account):
            if root is None:
                roots = organizations.list_roots().get("Roots") or []
                if not roots:
                    raise CliError("--ou: the organization has no root (is this account in an organization?)")
                root = str(roots[0]["Id"])
            parent, walked = root, list[str]()
            for name in names:
                children = _paged(
                    organizations.list_organizational_units_for_parent, "OrganizationalUnits", ParentId=parent
                )
                match = [child for child in children if child.get("Name") == name]
                if not match:
                    where = join_ou_path(walked) or "the root"
                    raise CliError(
                        f"--ou: no OU named {name!r} under {where} (OU paths are OU names from the root down)"
                    )
                parent = str(match[0]["Id"])
                walked.append(name)
        resolved.append(parent)
    return list(dict.fromkeys(resolved))


@contextlib.contextmanager
def _organizations_errors(account: str) -> Iterator[None]:
    from botocore.exceptions import ClientError

    try:
        yield
    except ClientError as error:
        code = _code(error)
        if code == "AWSOrganizationsNotInUseException":
            raise CliError("--ou: this account is not in an organization (AWS Organizations)") from None
        if code in ("AccessDeniedException", "AccessDenied"):
            raise CliError(
                f"cannot read the organization's OUs (Organizations refused: {code}): the account {account} must be a "
                f"delegated administrator; {REGISTER.format(account=account)} (or pass OU ids, ou-..., not paths)",
                code=EXIT_DENIED,
            ) from None
        if code == "ParentNotFoundException":
            raise CliError("--ou: an OU on that path was not found (moved or deleted meanwhile?)") from None
        raise


def _read_template(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as error:
        raise CliError(
            f"--template: cannot read the member template {path} ({error.strerror}); run `warden org deploy` from "
            "a Session Warden checkout, or pass --template org/member.yaml",
            code=EXIT_BAD_INPUT,
        ) from None
