"""`warden org deploy`: the member stack in every account of some OUs, through a service-managed StackSet.

The StackSet (``<stack>-members``) deploys org/member.yaml with automatic deployment, so an account created in or
moved into those OUs gets the member stack with no operator action; its parameters all come from the central stack.
The central account's other guarded regions get a relay stack (``<stack>-relay``, the same template). Exit 0 when
every stack instance and relay succeeded, 1 when one did not (each on its own line), 2 for input that cannot work.
"""

from __future__ import annotations

import argparse
import contextlib
import re
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from warden_cli.aws import Aws, aws_errors
from warden_cli.errors import EXIT_BAD_INPUT, EXIT_DENIED, EXIT_OK, CliError
from warden_cli.options import add_aws_options
from warden_cli.org_stack import OrgOutputs, member_parameters, read_org_outputs
from warden_cli.output import print_json, print_table

MEMBER_TEMPLATE = Path(__file__).resolve().parents[2] / "org" / "member.yaml"
CALL_AS = "DELEGATED_ADMIN"
CAPABILITIES = ["CAPABILITY_NAMED_IAM"]
AUTO_DEPLOYMENT = {"Enabled": True, "RetainStacksOnAccountRemoval": False}
# Every account and region at once, and one account's failure stops no other (each is reported).
OPERATION_PREFERENCES = {
    "RegionConcurrencyType": "PARALLEL",
    "MaxConcurrentPercentage": 100,
    "FailureTolerancePercentage": 100,
}
DONE_OPERATION = ("SUCCEEDED", "FAILED", "STOPPED")
FAILED_RESULTS = ("FAILED", "CANCELLED")
GOOD_STACK = ("CREATE_COMPLETE", "UPDATE_COMPLETE")
OU_ID = re.compile(r"^(ou-[0-9a-z]{4,32}-[0-9a-z]{8,32}|r-[0-9a-z]{4,32})$")
REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-[0-9]+$")
REGISTER = (
    "from the management account run `aws organizations register-delegated-administrator --account-id {account} "
    "--service-principal member.org.stacksets.cloudformation.amazonaws.com`"
)
TRUSTED_ACCESS = (
    "Organizations trusted access for CloudFormation StackSets is off: from the management account run "
    "`aws cloudformation activate-organizations-access` (or CloudFormation console, StackSets, Activate trusted access)"
)


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


class Clients(Protocol):
    """The AWS clients the deploy uses: CloudFormation per region, Organizations."""

    def cloudformation(self, region: str) -> Any: ...

    def organizations(self) -> Any: ...


@dataclass
class AwsClients:
    aws: Aws
    _regional: dict[str, Any] = field(default_factory=dict)

    def cloudformation(self, region: str) -> Any:
        if region == self.aws.region_name:
            return self.aws.client("cloudformation")
        if region not in self._regional:
            from warden.adapters.aws import RETRY_CONFIG

            connection = self.aws.connection
            endpoint = {"endpoint_url": connection.endpoint_url} if connection.explicit else {}
            self._regional[region] = self.aws.session.client(
                "cloudformation",  # type: ignore[call-overload]
                region_name=region,
                config=RETRY_CONFIG,
                **endpoint,
            )
        return self._regional[region]

    def organizations(self) -> Any:
        return self.aws.client("organizations")


@dataclass(frozen=True)
class Outcome:
    account: str
    region: str
    stack: str  # "member" (a StackSet instance) or "relay"
    status: str
    reason: str = ""

    @property
    def failed(self) -> bool:
        return self.status in FAILED_RESULTS or (self.stack == "relay" and self.status not in GOOD_STACK)


@dataclass
class Report:
    stack_set: str
    ous: list[str]
    regions: list[str]
    notes: list[str] = field(default_factory=list)
    operations: list[str] = field(default_factory=list)
    outcomes: list[Outcome] = field(default_factory=list)

    @property
    def failed(self) -> list[Outcome]:
        return [outcome for outcome in self.outcomes if outcome.failed]


@dataclass(frozen=True)
class Waiting:
    """How long to wait, and how (a fake clock in tests)."""

    timeout: float = 1800.0
    poll: float = 5.0
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    progress: Callable[[str], None] = field(default=lambda line: print(line, file=sys.stderr, flush=True))


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
    resolved: list[str] = []
    root: str | None = None
    for spec in specs:
        text = spec.strip()
        if OU_ID.match(text):
            resolved.append(text)
            continue
        names = [name for name in text.strip("/").split("/") if name]
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
                    where = "/".join(walked) or "the root"
                    raise CliError(
                        f"--ou: no OU named {name!r} under {where} (OU paths are OU names from the root down)"
                    )
                parent = str(match[0]["Id"])
                walked.append(name)
        resolved.append(parent)
    return list(dict.fromkeys(resolved))


def _create_or_update(cfn: Any, name: str, org: OrgOutputs, template: str, waiting: Waiting) -> str | None:
    """Create the StackSet, or update it when its template or parameters differ; the update's operation id."""
    from botocore.exceptions import ClientError

    parameters = [{"ParameterKey": key, "ParameterValue": value} for key, value in member_parameters(org).items()]
    try:
        existing = cfn.describe_stack_set(StackSetName=name, CallAs=CALL_AS)["StackSet"]
    except ClientError as error:
        if _code(error) != "StackSetNotFoundException":
            raise
        existing = None
    if existing is None:
        cfn.create_stack_set(
            StackSetName=name,
            Description=f"Session Warden member stacks of the central stack {org.stack} ({org.central_account})",
            TemplateBody=template,
            Parameters=parameters,
            Capabilities=CAPABILITIES,
            PermissionModel="SERVICE_MANAGED",
            AutoDeployment=AUTO_DEPLOYMENT,
            CallAs=CALL_AS,
            ManagedExecution={"Active": True},
        )
        waiting.progress(f"StackSet {name}: created (service-managed, automatic deployment)")
        return None
    if existing.get("PermissionModel") != "SERVICE_MANAGED":
        raise CliError(
            f"StackSet {name} exists but is self-managed; delete it (aws cloudformation delete-stack-set "
            f"--stack-set-name {name}) and run `warden org deploy` again",
            code=EXIT_DENIED,
        )
    current = {p.get("ParameterKey"): p.get("ParameterValue") for p in existing.get("Parameters") or []}
    wanted = {p["ParameterKey"]: p["ParameterValue"] for p in parameters}
    automatic = existing.get("AutoDeployment") or {}
    if (
        existing.get("TemplateBody") == template
        and current == wanted
        and automatic.get("Enabled") is True
        and automatic.get("RetainStacksOnAccountRemoval") is False
        and "CAPABILITY_NAMED_IAM" in (existing.get("Capabilities") or [])
    ):
        waiting.progress(f"StackSet {name}: template and parameters up to date")
        return None
    operation = str(
        cfn.update_stack_set(
            StackSetName=name,
            TemplateBody=template,
            Parameters=parameters,
            Capabilities=CAPABILITIES,
            AutoDeployment=AUTO_DEPLOYMENT,
            OperationPreferences=OPERATION_PREFERENCES,
            CallAs=CALL_AS,
            ManagedExecution={"Active": True},
        )["OperationId"]
    )
    waiting.progress(f"StackSet {name}: updating its stack instances (operation {operation})")
    return operation


def _add_instances(cfn: Any, name: str, ou_ids: list[str], regions: list[str], waiting: Waiting) -> str:
    operation = str(
        cfn.create_stack_instances(
            StackSetName=name,
            DeploymentTargets={"OrganizationalUnitIds": ou_ids},
            Regions=regions,
            OperationPreferences=OPERATION_PREFERENCES,
            CallAs=CALL_AS,
        )["OperationId"]
    )
    waiting.progress(f"StackSet {name}: adding stack instances in {', '.join(regions)} (operation {operation})")
    return operation


def _wait_operation(cfn: Any, name: str, operation: str, waiting: Waiting) -> str:
    started = waiting.clock()
    shown: tuple[str, int] | None = None
    while True:
        status = str(
            cfn.describe_stack_set_operation(StackSetName=name, OperationId=operation, CallAs=CALL_AS)[
                "StackSetOperation"
            ]["Status"]
        )
        if status in DONE_OPERATION:
            waiting.progress(f"StackSet {name}: operation {operation} {status}")
            return status
        elapsed = waiting.clock() - started
        if elapsed >= waiting.timeout:
            raise CliError(
                f"StackSet {name}: operation {operation} still {status} after {elapsed:.0f}s; follow it with "
                f"`aws cloudformation describe-stack-set-operation --stack-set-name {name} --operation-id "
                f"{operation} --call-as {CALL_AS}` or wait longer (--timeout)",
                code=EXIT_DENIED,
            )
        if shown is None or shown[0] != status or int(elapsed) // 30 != shown[1]:
            waiting.progress(f"StackSet {name}: operation {operation} {status} ({elapsed:.0f}s)")
            shown = (status, int(elapsed) // 30)
        waiting.sleep(waiting.poll)


def _operation_results(cfn: Any, name: str, operation: str) -> list[Outcome]:
    summaries = _paged(
        cfn.list_stack_set_operation_results, "Summaries", StackSetName=name, OperationId=operation, CallAs=CALL_AS
    )
    outcomes = []
    for summary in summaries:
        gate = summary.get("AccountGateResult") or {}
        reason = summary.get("StatusReason") or gate.get("StatusReason") or ""
        outcomes.append(
            Outcome(str(summary["Account"]), str(summary["Region"]), "member", str(summary["Status"]), str(reason))
        )
    return outcomes


def _start_relays(
    clients: Clients, org: OrgOutputs, regions: list[str], template: str, waiting: Waiting
) -> dict[str, Outcome | None]:
    """Create or update ``<stack>-relay`` in each region: region -> None (started), or its outcome already."""
    from botocore.exceptions import ClientError

    name = f"{org.stack}-relay"
    parameters = [
        {"ParameterKey": key, "ParameterValue": value} for key, value in member_parameters(org, relay=True).items()
    ]
    started: dict[str, Outcome | None] = {}
    for region in regions:
        cfn = clients.cloudformation(region)
        request = {"StackName": name, "TemplateBody": template, "Parameters": parameters, "Capabilities": CAPABILITIES}
        status = _stack_status(cfn, name)
        if status is not None and status.endswith(("_IN_PROGRESS", "ROLLBACK_COMPLETE", "_FAILED")):
            fix = (
                "wait for it"
                if status.endswith("_IN_PROGRESS")
                else f"delete it (aws cloudformation delete-stack --stack-name {name} --region {region})"
            )
            reason = f"the stack is {status}: {fix} and run `warden org deploy` again"
            started[region] = Outcome(org.central_account, region, "relay", status, reason)
            continue
        try:
            if status is None:
                cfn.create_stack(**request)
            else:
                cfn.update_stack(**request)
        except ClientError as error:
            if _code(error) == "ValidationError" and "No updates are to be performed" in str(error):
                started[region] = Outcome(org.central_account, region, "relay", "UPDATE_COMPLETE", "up to date")
                continue
            raise
        waiting.progress(f"relay stack {name} in {region}: {'creating' if status is None else 'updating'}")
        started[region] = None
    return started


def _wait_relays(
    clients: Clients, org: OrgOutputs, relays: dict[str, Outcome | None], waiting: Waiting
) -> list[Outcome]:
    name = f"{org.stack}-relay"
    outcomes = []
    for region, known in relays.items():
        if known is not None:
            outcomes.append(known)
            continue
        cfn = clients.cloudformation(region)
        started = waiting.clock()
        while True:
            stack = cfn.describe_stacks(StackName=name)["Stacks"][0]
            status = str(stack["StackStatus"])
            if not status.endswith("_IN_PROGRESS"):
                outcomes.append(
                    Outcome(org.central_account, region, "relay", status, str(stack.get("StackStatusReason") or ""))
                )
                break
            if waiting.clock() - started >= waiting.timeout:
                outcomes.append(
                    Outcome(
                        org.central_account, region, "relay", status, f"still {status} after {waiting.timeout:.0f}s"
                    )
                )
                break
            waiting.sleep(waiting.poll)
    return outcomes


def _stack_status(cfn: Any, name: str) -> str | None:
    from botocore.exceptions import ClientError

    try:
        stacks = cfn.describe_stacks(StackName=name).get("Stacks") or []
    except ClientError as error:
        if _code(error) == "ValidationError" and "does not exist" in str(error):
            return None
        raise
    return str(stacks[0]["StackStatus"]) if stacks else None


def _paged(call: Callable[..., Any], key: str, **request: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    while True:
        response = call(**request)
        items.extend(response.get(key) or [])
        token = response.get("NextToken")
        if not token:
            return items
        request["NextToken"] = token


@contextlib.contextmanager
def _stack_set_errors(name: str, org: OrgOutputs) -> Iterator[None]:
    """StackSet failures that have one fix, said as that fix; the rest go to the CLI's usual AWS errors."""
    from botocore.exceptions import ClientError

    try:
        yield
    except ClientError as error:
        code = _code(error) or ""
        message = " ".join(str(error.response.get("Error", {}).get("Message") or "").split())
        lowered = message.lower()
        if "organizations access" in lowered or "trusted access" in lowered:
            raise CliError(TRUSTED_ACCESS, code=EXIT_DENIED) from None
        if code in ("AccessDenied", "AccessDeniedException") or "delegated admin" in lowered:
            raise CliError(
                f"{getattr(error, 'operation_name', 'the call')} was refused ({code}: {message}): the account "
                f"{org.central_account} must be a delegated administrator for CloudFormation StackSets; "
                f"{REGISTER.format(account=org.central_account)}; trusted access must be on too",
                code=EXIT_DENIED,
            ) from None
        if code == "StackSetNotFoundException":
            raise CliError(
                f"StackSet {name} is gone (deleted while this ran?); run `warden org deploy` again", code=EXIT_DENIED
            ) from None
        if code == "OperationInProgressException":
            raise CliError(
                f"another operation on StackSet {name} is running; wait for it to end (aws cloudformation "
                f"list-stack-set-operations --stack-set-name {name} --call-as {CALL_AS}) and run this again",
                code=EXIT_DENIED,
            ) from None
        raise


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


def _code(error: Any) -> str | None:
    from warden.adapters.aws import error_code

    return error_code(error)


def _read_template(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as error:
        raise CliError(
            f"--template: cannot read the member template {path} ({error.strerror}); run `warden org deploy` from "
            "a Session Warden checkout, or pass --template org/member.yaml",
            code=EXIT_BAD_INPUT,
        ) from None


def _print(report: Report) -> None:
    for note in report.notes:
        print(f"note: {note}")
    if report.outcomes:
        rows = [[o.account, o.region, o.stack, o.status, o.reason] for o in report.outcomes]
        print_table(["ACCOUNT", "REGION", "STACK", "OUTCOME", "REASON"], rows)
    failed = report.failed
    print(
        f"StackSet {report.stack_set}: {len(report.outcomes) - len(failed)} of {len(report.outcomes)} stacks "
        f"succeeded; OUs {', '.join(report.ous)}; regions {', '.join(report.regions)}"
    )
    for outcome in failed:
        print(
            f"FAILED {outcome.account} {outcome.region} ({outcome.stack}): {outcome.reason or outcome.status}",
            file=sys.stderr,
        )


def _as_json(report: Report) -> dict[str, Any]:
    return {
        "stack_set": report.stack_set,
        "organizational_units": report.ous,
        "regions": report.regions,
        "operations": report.operations,
        "notes": report.notes,
        "stacks": [
            {
                "account": o.account,
                "region": o.region,
                "stack": o.stack,
                "status": o.status,
                "reason": o.reason,
                "failed": o.failed,
            }
            for o in report.outcomes
        ],
        "failed": len(report.failed),
    }
