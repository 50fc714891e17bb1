"""The StackSet model of the local cloud's service-managed StackSets: a StackSet, its stack instances and its
operations; CloudFormation's errors for them; the checks CloudFormation makes of a template before any instance
runs; and DescribeStackSet/ListStackInstances/DescribeStackSetOperation's shapes of them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from moto.cloudformation.exceptions import CloudFormationError, ValidationError

__all__ = [
    "InstanceRequest",
    "InsufficientCapabilities",
    "NameAlreadyExists",
    "OperationIdAlreadyExists",
    "OperationNotFound",
    "ServiceManagedStackSet",
    "StackInstanceNotFound",
    "StackInstanceRecord",
    "StackSetNotEmpty",
    "StackSetOperation",
    "auto_deployment_settings",
    "check_template",
    "describe",
    "finish_operation",
    "instance",
    "is_true",
    "operation_shape",
    "parse_template",
    "required_capability",
    "summary",
]

# IAM resource types and the property that gives one a custom name (which needs CAPABILITY_NAMED_IAM).
_IAM_TYPES: dict[str, str | None] = {
    "AWS::IAM::AccessKey": None,
    "AWS::IAM::Group": "GroupName",
    "AWS::IAM::InstanceProfile": "InstanceProfileName",
    "AWS::IAM::ManagedPolicy": "ManagedPolicyName",
    "AWS::IAM::Policy": None,
    "AWS::IAM::Role": "RoleName",
    "AWS::IAM::User": "UserName",
    "AWS::IAM::UserToGroupAddition": None,
}


class InsufficientCapabilities(CloudFormationError):
    code = "InsufficientCapabilitiesException"


class NameAlreadyExists(CloudFormationError):
    code = "NameAlreadyExistsException"


class OperationNotFound(CloudFormationError):
    code = "OperationNotFoundException"


class OperationIdAlreadyExists(CloudFormationError):
    code = "OperationIdAlreadyExistsException"


class StackInstanceNotFound(CloudFormationError):
    code = "StackInstanceNotFoundException"


class StackSetNotEmpty(CloudFormationError):
    code = "StackSetNotEmptyException"


@dataclass(frozen=True)
class InstanceRequest:
    """What Create/Update/DeleteStackInstances name: the OUs and regions, the parameter overrides, the operation's id
    (the caller's, else one is made) and its preferences."""

    ou_ids: list[str]
    regions: list[str]
    overrides: dict[str, str]
    operation_id: str | None
    preferences: dict[str, Any]


@dataclass
class StackInstanceRecord:
    """One stack instance: where, for which OU, its stack, and the result of the last operation on it."""

    account: str
    region: str
    ou_id: str
    overrides: dict[str, str] = field(default_factory=dict)
    stack_id: str | None = None
    status: str = "CURRENT"  # CURRENT | OUTDATED | INOPERABLE
    detailed_status: str = "SUCCEEDED"  # SUCCEEDED | FAILED | ...
    reason: str | None = None
    last_operation_id: str | None = None


@dataclass
class StackSetOperation:
    operation_id: str
    action: str  # CREATE | UPDATE | DELETE
    created: datetime
    ended: datetime
    ou_ids: list[str]
    retain_stacks: bool | None = None
    preferences: dict[str, Any] = field(default_factory=dict)
    results: list[dict[str, Any]] = field(default_factory=list)
    status: str = "SUCCEEDED"

    @property
    def failed(self) -> int:
        return sum(1 for result in self.results if result["Status"] == "FAILED")


@dataclass
class ServiceManagedStackSet:
    name: str
    uid: str
    management_account: str
    region: str
    template: str
    parameters: dict[str, str]
    capabilities: list[str]
    description: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    auto_deployment: bool = False
    retain_on_removal: bool = False
    managed_execution: bool = False
    # OU id -> the regions the StackSet deploys to for it (what automatic deployment follows).
    targets: dict[str, list[str]] = field(default_factory=dict)
    instances: dict[tuple[str, str], StackInstanceRecord] = field(default_factory=dict)
    operations: list[StackSetOperation] = field(default_factory=list)
    status: str = "ACTIVE"

    @property
    def stack_set_id(self) -> str:
        return f"{self.name}:{self.uid}"

    @property
    def arn(self) -> str:
        return f"arn:aws:cloudformation:{self.region}:{self.management_account}:stackset/{self.stack_set_id}"

    @property
    def stack_name(self) -> str:
        return f"StackSet-{self.name}-{self.uid}"

    @property
    def regions(self) -> list[str]:
        seen: list[str] = []
        for regions in self.targets.values():
            seen.extend(region for region in regions if region not in seen)
        return seen

    def operation(self, operation_id: str) -> StackSetOperation:
        for operation in self.operations:
            if operation.operation_id == operation_id:
                return operation
        raise OperationNotFound(f"Operation {operation_id} not found")


def finish_operation(stack_set: ServiceManagedStackSet, operation: StackSetOperation) -> StackSetOperation:
    """The operation FAILED when more instances failed than its failure tolerance allows, else SUCCEEDED."""
    tolerance = _int(operation.preferences.get("FailureToleranceCount"), 0)
    percentage = operation.preferences.get("FailureTolerancePercentage")
    if percentage is not None and operation.results:
        tolerance = max(tolerance, len(operation.results) * _int(percentage, 0) // 100)
    operation.status = "FAILED" if operation.failed > tolerance else "SUCCEEDED"
    return operation


def parse_template(body: str) -> dict[str, Any]:
    from moto.cloudformation.models import Stack

    try:
        document = Stack.parse_template(body)
    except Exception as error:
        raise ValidationError(message=f"Template format error: {error}") from None
    if not isinstance(document, dict) or not isinstance(document.get("Resources"), dict):
        raise ValidationError(message="Template format error: At least one Resources member must be defined.")
    return document


def required_capability(template: dict[str, Any]) -> str | None:
    """The capability CloudFormation requires to deploy ``template``: ``CAPABILITY_NAMED_IAM`` when an IAM resource
    has a custom name, ``CAPABILITY_IAM`` for other IAM resources, ``CAPABILITY_AUTO_EXPAND`` for a transform."""
    needed: str | None = None
    for resource in template.get("Resources", {}).values():
        kind = resource.get("Type") if isinstance(resource, dict) else None
        if kind not in _IAM_TYPES:
            continue
        name_property = _IAM_TYPES[kind]
        if name_property and name_property in (resource.get("Properties") or {}):
            return "CAPABILITY_NAMED_IAM"
        needed = "CAPABILITY_IAM"
    if needed is None and template.get("Transform"):
        return "CAPABILITY_AUTO_EXPAND"
    return needed


def check_template(template: dict[str, Any], parameters: dict[str, str], capabilities: list[str]) -> None:
    """Refuse what CloudFormation refuses before any stack instance runs: undeclared or missing parameters, and a
    template whose IAM resources need a capability not acknowledged."""
    declared = template.get("Parameters") or {}
    unknown = [key for key in parameters if key not in declared]
    if unknown:
        raise ValidationError(message=f"Parameters: [{', '.join(unknown)}] do not exist in the template")
    missing = [key for key, spec in declared.items() if key not in parameters and "Default" not in (spec or {})]
    if missing:
        raise ValidationError(message=f"Parameters: [{', '.join(missing)}] must have values")
    needed = required_capability(template)
    if needed is None:
        return
    if needed == "CAPABILITY_IAM" and "CAPABILITY_NAMED_IAM" in capabilities:
        return
    if needed not in capabilities:
        raise InsufficientCapabilities(f"Requires capabilities : [{needed}]")


# -- AWS shapes ---------------------------------------------------------------------------------------


def describe(stack_set: ServiceManagedStackSet) -> dict[str, Any]:
    """DescribeStackSet's StackSet (Parameters and Tags as dicts: moto's response turns them into lists)."""
    return {
        "StackSetName": stack_set.name,
        "StackSetId": stack_set.stack_set_id,
        "Description": stack_set.description,
        "Status": stack_set.status,
        "TemplateBody": stack_set.template,
        "Parameters": dict(stack_set.parameters),
        "Capabilities": list(stack_set.capabilities),
        "Tags": dict(stack_set.tags),
        "StackSetARN": stack_set.arn,
        "AutoDeployment": {
            "Enabled": stack_set.auto_deployment,
            "RetainStacksOnAccountRemoval": stack_set.retain_on_removal,
        },
        "PermissionModel": "SERVICE_MANAGED",
        "OrganizationalUnitIds": list(stack_set.targets),
        "ManagedExecution": {"Active": stack_set.managed_execution},
        "Regions": stack_set.regions,
    }


def summary(stack_set: ServiceManagedStackSet) -> dict[str, Any]:
    return {
        "StackSetName": stack_set.name,
        "StackSetId": stack_set.stack_set_id,
        "Description": stack_set.description,
        "Status": stack_set.status,
        "AutoDeployment": {
            "Enabled": stack_set.auto_deployment,
            "RetainStacksOnAccountRemoval": stack_set.retain_on_removal,
        },
        "PermissionModel": "SERVICE_MANAGED",
        "DriftStatus": "NOT_CHECKED",
        "ManagedExecution": {"Active": stack_set.managed_execution},
    }


def instance(stack_set: ServiceManagedStackSet, record: StackInstanceRecord, *, full: bool) -> dict[str, Any]:
    shape: dict[str, Any] = {
        "StackSetId": stack_set.stack_set_id,
        "Region": record.region,
        "Account": record.account,
        "StackId": record.stack_id,
        "Status": record.status,
        "StackInstanceStatus": {"DetailedStatus": record.detailed_status},
        "OrganizationalUnitId": record.ou_id,
        "DriftStatus": "NOT_CHECKED",
        "LastOperationId": record.last_operation_id,
    }
    if record.reason:
        shape["StatusReason"] = record.reason
    if full:
        shape["ParameterOverrides"] = [
            {"ParameterKey": key, "ParameterValue": value} for key, value in record.overrides.items()
        ]
    return {key: value for key, value in shape.items() if value is not None}


def operation_shape(stack_set: ServiceManagedStackSet, operation: StackSetOperation, *, full: bool) -> dict[str, Any]:
    shape: dict[str, Any] = {
        "OperationId": operation.operation_id,
        "Action": operation.action,
        "Status": operation.status,
        "CreationTimestamp": operation.created,
        "EndTimestamp": operation.ended,
        "StatusDetails": {"FailedStackInstancesCount": operation.failed},
        "OperationPreferences": _preferences(operation.preferences),
    }
    if full:
        shape["StackSetId"] = stack_set.stack_set_id
        shape["DeploymentTargets"] = {"OrganizationalUnitIds": list(operation.ou_ids)}
        if operation.retain_stacks is not None:
            shape["RetainStacks"] = operation.retain_stacks
    return shape


def _preferences(preferences: dict[str, Any]) -> dict[str, Any]:
    shape: dict[str, Any] = {"RegionConcurrencyType": preferences.get("RegionConcurrencyType", "SEQUENTIAL")}
    for key in (
        "RegionOrder",
        "FailureToleranceCount",
        "FailureTolerancePercentage",
        "MaxConcurrentCount",
        "MaxConcurrentPercentage",
        "ConcurrencyMode",
    ):
        if key in preferences:
            shape[key] = preferences[key]
    return shape


def is_true(value: Any) -> bool:
    return value is True or str(value).lower() == "true"


def _int(value: Any, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def auto_deployment_settings(value: dict[str, Any] | None, previous: tuple[bool, bool]) -> tuple[bool, bool]:
    if not value:
        return previous
    enabled = is_true(value["Enabled"]) if "Enabled" in value else previous[0]
    retain = is_true(value["RetainStacksOnAccountRemoval"]) if "RetainStacksOnAccountRemoval" in value else previous[1]
    return enabled, retain
