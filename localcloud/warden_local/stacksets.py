"""Service-managed StackSets as CloudFormation runs them for an organization, on moto's backends.

moto 5.2.5 keeps a service-managed stack instance as a hidden stack, never redeploys on UpdateStackSet, has no
automatic deployment, CallAs, Capabilities or trusted-access check, and answers every operation SUCCEEDED
whatever happened. Here:

- A service-managed StackSet lives in the management account (also when a delegated administrator creates it,
  as on AWS) and is reached with ``CallAs=DELEGATED_ADMIN`` from a registered delegated administrator of
  ``member.org.stacksets.cloudformation.amazonaws.com`` (or ``SELF`` from the management account), once trusted
  access for that principal is enabled.
- Each stack instance is a real stack ``StackSet-<name>-<uuid>`` in moto's CloudFormation backend of the target
  account and region, so its resources (rules, roles, parameters) exist in THAT account; it is visible there
  through DescribeStacks, as on AWS.
- Its conditions are decided for that account and region first (a false-condition resource is absent, not an
  empty entry); UpdateStackSet replaces each instance's resources with the new template's (see ``_update``).
- A stack that fails leaves the instance OUTDATED, DetailedStatus FAILED, with the reason (and the stack
  ROLLBACK_COMPLETE); a delete that fails leaves it INOPERABLE. The operation FAILED beyond its failure tolerance.
- Targets are every ACTIVE account in the OUs named and in every OU below them, never the management account.
- Automatic deployment: an account created in, or moved into, a target OU gets an instance in every region the
  StackSet deploys to that OU; one moved out or removed from the organization loses its instances (its stacks too
  unless RetainStacksOnAccountRemoval); a closed (suspended) account keeps them and operations skip it.
- Operations complete synchronously, inside the call that starts them: CreationTimestamp and EndTimestamp are the
  emulated clock's instant of the call, and DescribeStackSetOperation already reports SUCCEEDED or FAILED (with
  the failed-instance count) when the call returns. The emulated clock is frozen in tests, so an operation that
  took time would only make every caller poll.
"""

from __future__ import annotations

import contextlib
import json
import threading
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from moto.cloudformation.exceptions import CloudFormationError, StackSetNotFoundException, ValidationError

from .organizations_ext import STACKSETS_PRINCIPAL, OrganizationMembership, accounts_under, management_backend

__all__ = [
    "InsufficientCapabilities",
    "ServiceManagedStackSet",
    "StackInstanceRecord",
    "StackSetOperation",
    "StackSets",
    "required_capability",
]

NOT_AN_ORG_MANAGER = (
    "You must be the master or delegated admin account of an organization before operating a SERVICE_MANAGED stack set"
)
NOT_DELEGATED = "Account used is not a delegated administrator"
NO_TRUSTED_ACCESS = "You must enable organizations access to operate a service managed stack set"

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


class StackSets:
    """The service-managed StackSets of every organization in the process, kept in moto's CloudFormation backend
    of each management account and region (so moto's reset clears them with everything else)."""

    def __init__(self, now: Callable[[], datetime]) -> None:
        self._now = now
        self.lock = threading.RLock()

    # -- who may call ----------------------------------------------------------------------------------

    def authorize(self, caller: str, call_as: str | None) -> OrganizationMembership:
        """The organization ``caller`` administers StackSets of, as ``call_as``; raise AWS's ValidationError."""
        if call_as not in (None, "SELF", "DELEGATED_ADMIN"):
            raise ValidationError(
                message=f"1 validation error detected: Value '{call_as}' at 'callAs' failed to satisfy constraint: "
                "Member must satisfy enum value set: [SELF, DELEGATED_ADMIN]"
            )
        backend = management_backend(caller)
        if backend is None:
            raise ValidationError(message=NOT_AN_ORG_MANAGER)
        org = OrganizationMembership(backend)
        if call_as == "DELEGATED_ADMIN":
            if caller != org.management_account and not org.is_delegated_admin(caller, STACKSETS_PRINCIPAL):
                raise ValidationError(message=NOT_DELEGATED)
        elif caller != org.management_account:
            raise ValidationError(message=NOT_AN_ORG_MANAGER)
        if not org.trusted_access(STACKSETS_PRINCIPAL):
            raise ValidationError(message=NO_TRUSTED_ACCESS)
        return org

    # -- the store ---------------------------------------------------------------------------------------

    @staticmethod
    def store(management: str, region: str) -> dict[str, ServiceManagedStackSet]:
        from moto.cloudformation.models import cloudformation_backends

        backend = cloudformation_backends[management][region]
        sets: dict[str, ServiceManagedStackSet] | None = getattr(backend, "warden_service_managed", None)
        if sets is None:
            sets = {}
            setattr(backend, "warden_service_managed", sets)  # noqa: B010 - kept with moto's state, reset with it
        return sets

    def find(self, org: OrganizationMembership, region: str, name_or_id: str) -> ServiceManagedStackSet:
        for stack_set in self.store(org.management_account, region).values():
            if stack_set.status == "ACTIVE" and name_or_id in (stack_set.name, stack_set.stack_set_id):
                return stack_set
        raise StackSetNotFoundException(name_or_id)

    def has(self, management: str, region: str, name_or_id: str) -> bool:
        return any(
            s.status == "ACTIVE" and name_or_id in (s.name, s.stack_set_id)
            for s in self.store(management, region).values()
        )

    def all_sets(self, org: OrganizationMembership, region: str) -> list[ServiceManagedStackSet]:
        return list(self.store(org.management_account, region).values())

    # -- StackSets -----------------------------------------------------------------------------------------

    def create_stack_set(
        self,
        org: OrganizationMembership,
        region: str,
        *,
        name: str,
        template: str,
        parameters: dict[str, str],
        capabilities: list[str],
        description: str | None,
        tags: dict[str, str],
        auto_deployment: dict[str, Any] | None,
        managed_execution: dict[str, Any] | None = None,
    ) -> ServiceManagedStackSet:
        with self.lock:
            check_template(parse_template(template), parameters, capabilities)
            sets = self.store(org.management_account, region)
            if any(s.name == name and s.status == "ACTIVE" for s in sets.values()):
                raise NameAlreadyExists(f"StackSet {name} already exists")
            enabled, retain = _auto_deployment(auto_deployment, (False, False))
            stack_set = ServiceManagedStackSet(
                name=name,
                uid=str(uuid.uuid4()),
                management_account=org.management_account,
                region=region,
                template=template,
                parameters=dict(parameters),
                capabilities=list(capabilities),
                description=description,
                tags=dict(tags),
                auto_deployment=enabled,
                retain_on_removal=retain,
                managed_execution=_true((managed_execution or {}).get("Active")),
            )
            sets[stack_set.stack_set_id] = stack_set
            return stack_set

    def update_stack_set(
        self,
        org: OrganizationMembership,
        stack_set: ServiceManagedStackSet,
        *,
        template: str | None,
        parameters: list[dict[str, Any]],
        capabilities: list[str],
        description: str | None,
        tags: dict[str, str] | None,
        auto_deployment: dict[str, Any] | None,
        managed_execution: dict[str, Any] | None,
        ou_ids: list[str] | None,
        regions: list[str] | None,
        operation_id: str | None,
        preferences: dict[str, Any],
    ) -> StackSetOperation:
        """New template/parameters/settings, then every instance (or those of ``ou_ids`` x ``regions``) updated."""
        with self.lock:
            body = template if template is not None else stack_set.template
            resolved: dict[str, str] = {}
            for parameter in parameters:
                key = parameter["ParameterKey"]
                if _true(parameter.get("UsePreviousValue")):
                    if key in stack_set.parameters:
                        resolved[key] = stack_set.parameters[key]
                else:
                    resolved[key] = str(parameter.get("ParameterValue", ""))
            check_template(parse_template(body), resolved, capabilities)
            self._new_operation_id(stack_set, operation_id)
            stack_set.template = body
            stack_set.parameters = resolved
            stack_set.capabilities = list(capabilities)
            if description is not None:
                stack_set.description = description
            if tags is not None:
                stack_set.tags = dict(tags)
            if managed_execution is not None and "Active" in managed_execution:
                stack_set.managed_execution = _true(managed_execution["Active"])
            stack_set.auto_deployment, stack_set.retain_on_removal = _auto_deployment(
                auto_deployment, (stack_set.auto_deployment, stack_set.retain_on_removal)
            )
            selected = [
                record
                for record in stack_set.instances.values()
                if (regions is None or record.region in regions)
                and (ou_ids is None or self._in_ous(org, record.account, ou_ids))
            ]
            operation = self._operation(
                stack_set, "UPDATE", operation_id, ou_ids or list(stack_set.targets), preferences
            )
            for record in selected:
                self._apply(stack_set, record, operation)
            return self._finish(stack_set, operation)

    def delete_stack_set(self, stack_set: ServiceManagedStackSet) -> None:
        with self.lock:
            if stack_set.instances:
                raise StackSetNotEmpty(f"StackSet {stack_set.name} is not empty")
            stack_set.status = "DELETED"

    # -- stack instances ---------------------------------------------------------------------------------

    def create_stack_instances(
        self,
        org: OrganizationMembership,
        stack_set: ServiceManagedStackSet,
        *,
        ou_ids: list[str],
        regions: list[str],
        overrides: dict[str, str],
        operation_id: str | None,
        preferences: dict[str, Any],
    ) -> StackSetOperation:
        with self.lock:
            self._check_targets(org, ou_ids, regions)
            self._new_operation_id(stack_set, operation_id)
            if overrides:
                check_template(
                    parse_template(stack_set.template), {**stack_set.parameters, **overrides}, stack_set.capabilities
                )
            operation = self._operation(stack_set, "CREATE", operation_id, ou_ids, preferences)
            for ou_id in ou_ids:
                known = stack_set.targets.setdefault(ou_id, [])
                known.extend(region for region in regions if region not in known)
            for region in regions:
                for account, ou_id in accounts_under(org.backend, ou_ids):
                    record = stack_set.instances.get((account, region))
                    if record is None:
                        record = StackInstanceRecord(account=account, region=region, ou_id=ou_id)
                        stack_set.instances[(account, region)] = record
                    record.overrides.update(overrides)
                    self._apply(stack_set, record, operation)
            return self._finish(stack_set, operation)

    def update_stack_instances(
        self,
        org: OrganizationMembership,
        stack_set: ServiceManagedStackSet,
        *,
        ou_ids: list[str],
        regions: list[str],
        overrides: dict[str, str],
        operation_id: str | None,
        preferences: dict[str, Any],
    ) -> StackSetOperation:
        with self.lock:
            self._check_targets(org, ou_ids, regions)
            self._new_operation_id(stack_set, operation_id)
            check_template(
                parse_template(stack_set.template), {**stack_set.parameters, **overrides}, stack_set.capabilities
            )
            records = [
                stack_set.instances[(account, region)]
                for region in regions
                for account, _ in accounts_under(org.backend, ou_ids)
                if (account, region) in stack_set.instances
            ]
            if not records:
                raise StackInstanceNotFound("The specified stack instance doesn't exist.")
            operation = self._operation(stack_set, "UPDATE", operation_id, ou_ids, preferences)
            for record in records:
                record.overrides = dict(overrides)
                self._apply(stack_set, record, operation)
            return self._finish(stack_set, operation)

    def delete_stack_instances(
        self,
        org: OrganizationMembership,
        stack_set: ServiceManagedStackSet,
        *,
        ou_ids: list[str],
        regions: list[str],
        retain_stacks: bool,
        operation_id: str | None,
        preferences: dict[str, Any],
    ) -> StackSetOperation:
        with self.lock:
            self._check_targets(org, ou_ids, regions)
            self._new_operation_id(stack_set, operation_id)
            operation = self._operation(stack_set, "DELETE", operation_id, ou_ids, preferences)
            operation.retain_stacks = retain_stacks
            for ou_id in ou_ids:
                left = [region for region in stack_set.targets.get(ou_id, []) if region not in regions]
                if left:
                    stack_set.targets[ou_id] = left
                else:
                    stack_set.targets.pop(ou_id, None)
            for record in list(stack_set.instances.values()):
                if record.region in regions and self._in_ous(org, record.account, ou_ids):
                    self._remove(stack_set, record, operation, retain=retain_stacks)
            return self._finish(stack_set, operation)

    # -- automatic deployment ----------------------------------------------------------------------------

    def membership_changed(self, management: str, account_id: str) -> None:
        """An account joined, moved, closed or left: give it (or take away) the instances automatic deployment
        says it should have, in every StackSet of that organization, in every region."""
        from moto.cloudformation.models import cloudformation_backends

        backend = management_backend(management)
        if backend is None:
            return
        org = OrganizationMembership(backend)
        with self.lock:
            for region in list(dict.keys(cloudformation_backends[management])):
                for stack_set in self.all_sets(org, region):
                    if stack_set.status == "ACTIVE" and stack_set.auto_deployment:
                        self._reconcile(org, stack_set, account_id)

    def _reconcile(self, org: OrganizationMembership, stack_set: ServiceManagedStackSet, account_id: str) -> None:
        member = org.account(account_id)
        if member is not None and member.status != "ACTIVE":
            # A closed account stays in its OU (suspended) until AWS removes it: its instances stay, and
            # operations skip it (only ACTIVE accounts are targets).
            return
        target = dict(accounts_under(org.backend, list(stack_set.targets))).get(account_id)
        wanted = {(account_id, region) for ou_id in ([target] if target else []) for region in stack_set.targets[ou_id]}
        current = {key for key in stack_set.instances if key[0] == account_id}
        to_create = sorted(wanted - current, key=lambda key: stack_set.regions.index(key[1]))
        to_delete = sorted(current - wanted)
        if to_create and target is not None:
            operation = self._operation(stack_set, "CREATE", None, [target], {})
            for account, region in to_create:
                record = StackInstanceRecord(account=account, region=region, ou_id=target)
                stack_set.instances[(account, region)] = record
                self._apply(stack_set, record, operation)
            self._finish(stack_set, operation)
        if to_delete:
            ou_ids = sorted({stack_set.instances[key].ou_id for key in to_delete})
            operation = self._operation(stack_set, "DELETE", None, ou_ids, {})
            operation.retain_stacks = stack_set.retain_on_removal
            for key in to_delete:
                self._remove(stack_set, stack_set.instances[key], operation, retain=stack_set.retain_on_removal)
            self._finish(stack_set, operation)

    # -- operations and stacks -----------------------------------------------------------------------------

    def _check_targets(self, org: OrganizationMembership, ou_ids: list[str], regions: list[str]) -> None:
        if not ou_ids:
            raise ValidationError(
                message="StackSets with SERVICE_MANAGED permission model can only have OrganizationalUnit as target"
            )
        if not regions:
            raise ValidationError(message="Regions should not be empty")
        for ou_id in ou_ids:
            if not org.ou_exists(ou_id):
                raise ValidationError(message=f"OrganizationalUnitIds [{ou_id}] are not found in the organization")

    @staticmethod
    def _in_ous(org: OrganizationMembership, account: str, ou_ids: Iterable[str]) -> bool:
        return account in dict(accounts_under(org.backend, list(ou_ids)))

    @staticmethod
    def _new_operation_id(stack_set: ServiceManagedStackSet, operation_id: str | None) -> None:
        if operation_id and any(op.operation_id == operation_id for op in stack_set.operations):
            raise OperationIdAlreadyExists(f"Operation {operation_id} already exists")

    def _operation(
        self,
        stack_set: ServiceManagedStackSet,
        action: str,
        operation_id: str | None,
        ou_ids: list[str],
        preferences: dict[str, Any],
    ) -> StackSetOperation:
        now = self._now()
        operation = StackSetOperation(
            operation_id=operation_id or str(uuid.uuid4()),
            action=action,
            created=now,
            ended=now,
            ou_ids=list(ou_ids),
            preferences=dict(preferences),
        )
        stack_set.operations.append(operation)
        return operation

    @staticmethod
    def _finish(stack_set: ServiceManagedStackSet, operation: StackSetOperation) -> StackSetOperation:
        tolerance = _int(operation.preferences.get("FailureToleranceCount"), 0)
        percentage = operation.preferences.get("FailureTolerancePercentage")
        if percentage is not None and operation.results:
            tolerance = max(tolerance, len(operation.results) * _int(percentage, 0) // 100)
        operation.status = "FAILED" if operation.failed > tolerance else "SUCCEEDED"
        return operation

    def _result(self, record: StackInstanceRecord, operation: StackSetOperation, ok: bool) -> None:
        record.last_operation_id = operation.operation_id
        result: dict[str, Any] = {
            "Account": record.account,
            "Region": record.region,
            "Status": "SUCCEEDED" if ok else "FAILED",
            "AccountGateResult": {
                "Status": "SKIPPED",
                "StatusReason": f"Function not found: arn:aws:lambda:{record.region}:{record.account}:function:"
                "AWSCloudFormationStackSetAccountGate",
            },
            "OrganizationalUnitId": record.ou_id,
        }
        if not ok and record.reason:
            result["StatusReason"] = record.reason
        operation.results.append(result)

    def _apply(
        self, stack_set: ServiceManagedStackSet, record: StackInstanceRecord, operation: StackSetOperation
    ) -> None:
        """Create or update the instance's stack in its account and region; record CURRENT or OUTDATED + why."""
        from moto.cloudformation.models import cloudformation_backends

        backend = cloudformation_backends[record.account][record.region]
        parameters = {**stack_set.parameters, **record.overrides}
        existing = _stack_named(backend, stack_set.stack_name)
        try:
            template = _for_instance(stack_set, record, parameters)
            if existing is not None and existing.status in ("CREATE_COMPLETE", "UPDATE_COMPLETE"):
                stack = existing
                _update(stack, template, parameters)
            else:
                if existing is not None:
                    backend.delete_stack(existing.stack_id)
                stack = backend.create_stack(name=stack_set.stack_name, template=template, parameters=dict(parameters))
            # The values given, to tell a later update that changes nothing (moto may turn a list value into a list).
            stack.parameters = dict(parameters)
            record.stack_id = stack.stack_id
            if stack.status not in ("CREATE_COMPLETE", "UPDATE_COMPLETE"):
                raise RuntimeError(f"the stack is {stack.status}")
        except Exception as error:  # any failure of the stack is the instance's status reason
            failed = _stack_named(backend, stack_set.stack_name)
            if failed is not None and failed.status.endswith("IN_PROGRESS"):
                _roll_back(failed)
                record.stack_id = failed.stack_id
            record.status = "OUTDATED"
            record.detailed_status = "FAILED"
            record.reason = f"ResourceStatusReason:{_message(error)}"
            self._result(record, operation, ok=False)
            return
        record.status = "CURRENT"
        record.detailed_status = "SUCCEEDED"
        record.reason = None
        self._result(record, operation, ok=True)

    def _remove(
        self,
        stack_set: ServiceManagedStackSet,
        record: StackInstanceRecord,
        operation: StackSetOperation,
        *,
        retain: bool,
    ) -> None:
        from moto.cloudformation.models import cloudformation_backends

        if not retain:
            backend = cloudformation_backends[record.account][record.region]
            stack = _stack_named(backend, stack_set.stack_name)
            try:
                if stack is not None:
                    backend.delete_stack(stack.stack_id)
            except Exception as error:  # a failed delete leaves the instance INOPERABLE, as on AWS
                record.status = "INOPERABLE"
                record.detailed_status = "FAILED"
                record.reason = f"ResourceStatusReason:{_message(error)}"
                self._result(record, operation, ok=False)
                return
        stack_set.instances.pop((record.account, record.region), None)
        self._result(record, operation, ok=True)

    # -- AWS shapes ---------------------------------------------------------------------------------------

    @staticmethod
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

    @staticmethod
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

    @staticmethod
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

    @staticmethod
    def operation_shape(
        stack_set: ServiceManagedStackSet, operation: StackSetOperation, *, full: bool
    ) -> dict[str, Any]:
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


def _stack_named(backend: Any, name: str) -> Any | None:
    return next((stack for stack in backend.stacks.values() if stack.name == name), None)


def _for_instance(stack_set: ServiceManagedStackSet, record: StackInstanceRecord, parameters: dict[str, str]) -> str:
    """The template with its conditions decided for this account and region (false-condition resources and
    outputs gone, ``Fn::If`` and ``AWS::NoValue`` resolved), as the local cloud's own stack does it: moto would
    list a skipped resource as an empty entry and keep ``AWS::NoValue`` as a null."""
    from .stack import TemplateError, _parameter_defaults, apply_conditions

    template = parse_template(stack_set.template)
    if not template.get("Conditions"):
        return stack_set.template
    values = {
        **_parameter_defaults(template),
        "AWS::Region": record.region,
        "AWS::AccountId": record.account,
        "AWS::StackName": stack_set.stack_name,
        "AWS::Partition": "aws",
        "AWS::URLSuffix": "amazonaws.com",
        **parameters,
    }
    try:
        apply_conditions(template, values)
    except TemplateError:
        # A condition the local cloud cannot decide beforehand: moto decides it itself.
        return stack_set.template
    # What is left is there: moto need not (and, for a Condition inside Fn::Not, cannot) decide it again.
    for section in ("Resources", "Outputs"):
        for entry in (template.get(section) or {}).values():
            if isinstance(entry, dict):
                entry.pop("Condition", None)
    template.pop("Conditions", None)
    return json.dumps(template)


def _update(stack: Any, template: str, parameters: dict[str, str]) -> None:
    """UpdateStack for a stack instance: every resource replaced by the new template's, the stack id kept.

    moto's own update modifies only resources whose JSON changed or that ``Ref`` a changed parameter: a value
    reaching a resource through ``Fn::Sub`` or a ``GetAtt`` of a replaced resource stays stale. Replacing all of
    them gives every resource the new values (physical names generated by CloudFormation change; named ones
    keep their names). An update that changes neither template nor parameters changes nothing, as on AWS.
    """
    if stack.template == template and stack.parameters == parameters:
        return
    stack._add_stack_event("UPDATE_IN_PROGRESS", resource_status_reason="User Initiated")
    stack.resource_map.delete()
    stack.template = template
    stack.parameters = dict(parameters)
    stack._parse_template()
    stack.resource_map = stack._create_resource_map()
    stack.resource_map.create(stack.template_dict)
    stack.output_map = stack._create_output_map()
    stack.status = "UPDATE_COMPLETE"
    stack._add_stack_event("UPDATE_COMPLETE")


def _roll_back(stack: Any) -> None:
    """What CloudFormation does with a stack whose creation failed: delete what was created, ROLLBACK_COMPLETE."""
    from moto.cloudformation.parsing import OutputMap

    # Rolling back what moto half-created is best effort.
    with contextlib.suppress(Exception):
        stack.resource_map.delete()
    # A rolled-back stack has no outputs (moto would evaluate them against resources that are not there).
    stack.output_map = OutputMap(stack.resource_map, {}, stack.stack_id)
    stack.status = "ROLLBACK_COMPLETE"
    stack._add_stack_event("ROLLBACK_COMPLETE")


def _message(error: BaseException) -> str:
    message = getattr(error, "message", None) or str(error) or type(error).__name__
    return str(message)


def _true(value: Any) -> bool:
    return value is True or str(value).lower() == "true"


def _int(value: Any, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _auto_deployment(value: dict[str, Any] | None, previous: tuple[bool, bool]) -> tuple[bool, bool]:
    if not value:
        return previous
    enabled = _true(value["Enabled"]) if "Enabled" in value else previous[0]
    retain = _true(value["RetainStacksOnAccountRemoval"]) if "RetainStacksOnAccountRemoval" in value else previous[1]
    return enabled, retain


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
