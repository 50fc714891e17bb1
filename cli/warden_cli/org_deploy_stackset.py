"""The StackSet side of `warden org deploy`: create or update ``<stack>-members``, add its instances, wait.

Also the types the deploy passes around (the AWS clients, how to wait, each stack's outcome, the report) and the
StackSet errors that have one fix, said as that fix.
"""

from __future__ import annotations

import contextlib
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from warden_cli.aws import Aws
from warden_cli.errors import EXIT_DENIED, CliError
from warden_cli.org_stack import OrgOutputs, member_parameters

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
REGISTER = (
    "from the management account run `aws organizations register-delegated-administrator --account-id {account} "
    "--service-principal member.org.stacksets.cloudformation.amazonaws.com`"
)
TRUSTED_ACCESS = (
    "Organizations trusted access for CloudFormation StackSets is off: from the management account run "
    "`aws cloudformation activate-organizations-access` (or CloudFormation console, StackSets, Activate trusted access)"
)


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
    operation = _start_operation(
        cfn.update_stack_set,
        StackSetName=name,
        TemplateBody=template,
        Parameters=parameters,
        Capabilities=CAPABILITIES,
        AutoDeployment=AUTO_DEPLOYMENT,
        OperationPreferences=OPERATION_PREFERENCES,
        CallAs=CALL_AS,
        ManagedExecution={"Active": True},
    )
    waiting.progress(f"StackSet {name}: updating its stack instances (operation {operation})")
    return operation


def _add_instances(cfn: Any, name: str, ou_ids: list[str], regions: list[str], waiting: Waiting) -> str:
    operation = _start_operation(
        cfn.create_stack_instances,
        StackSetName=name,
        DeploymentTargets={"OrganizationalUnitIds": ou_ids},
        Regions=regions,
        OperationPreferences=OPERATION_PREFERENCES,
        CallAs=CALL_AS,
    )
    waiting.progress(f"StackSet {name}: adding stack instances in {', '.join(regions)} (operation {operation})")
    return operation


def _start_operation(call: Callable[..., Any], **params: Any) -> str:
    """Start a StackSet operation under an id of ours. botocore resends the same id when an answer is lost (a read
    timeout), and CloudFormation then answers OperationIdAlreadyExistsException: the operation is ours and has
    started, so it is waited for like any other."""
    from botocore.exceptions import ClientError

    operation = str(uuid.uuid4())
    try:
        return str(call(OperationId=operation, **params)["OperationId"])
    except ClientError as error:
        if _code(error) != "OperationIdAlreadyExistsException":
            raise
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


def _code(error: Any) -> str | None:
    from warden.adapters.aws import error_code

    return error_code(error)
