"""Service-managed StackSets as CloudFormation runs them for an organization, on moto's backends.

moto 5.2.5 keeps a service-managed stack instance as a hidden stack, never redeploys on UpdateStackSet, has no
automatic deployment, CallAs, Capabilities or trusted-access check, and answers every operation SUCCEEDED
whatever happened. Here:

- A service-managed StackSet lives in the management account (also when a delegated administrator creates it,
  as on AWS) and is reached with ``CallAs=DELEGATED_ADMIN`` from a registered delegated administrator of
  ``member.org.stacksets.cloudformation.amazonaws.com`` (or ``SELF`` from the management account), once trusted
  access for that principal is enabled.
- Each stack instance is a real stack in its target account and region (:mod:`warden_local.stacksets_deploy`).
  The operation FAILED beyond its failure tolerance.
- Targets are every ACTIVE account in the OUs named and in every OU below them, never the management account.
- Automatic deployment: an account created in, or moved into, a target OU gets an instance in every region the
  StackSet deploys to that OU; one moved out or removed from the organization loses its instances (its stacks too
  unless RetainStacksOnAccountRemoval); a closed (suspended) account keeps them and operations skip it.
- Operations complete synchronously, inside the call that starts them: CreationTimestamp and EndTimestamp are the
  emulated clock's instant of the call, and DescribeStackSetOperation already reports SUCCEEDED or FAILED (with
  the failed-instance count) when the call returns. The emulated clock is frozen in tests, so an operation that
  took time would only make every caller poll.

The StackSet, instance and operation model, its errors and its AWS shapes are :mod:`warden_local.stacksets_model`.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from moto.cloudformation.exceptions import StackSetNotFoundException, ValidationError

from .organizations_ext import STACKSETS_PRINCIPAL, OrganizationMembership, accounts_under, management_backend
from .stacksets_deploy import apply_instance, remove_instance
from .stacksets_model import (
    InstanceRequest,
    InsufficientCapabilities,
    NameAlreadyExists,
    OperationIdAlreadyExists,
    ServiceManagedStackSet,
    StackInstanceNotFound,
    StackInstanceRecord,
    StackSetNotEmpty,
    StackSetOperation,
    auto_deployment_settings,
    check_template,
    finish_operation,
    is_true,
    parse_template,
    required_capability,
)

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
            enabled, retain = auto_deployment_settings(auto_deployment, (False, False))
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
                managed_execution=is_true((managed_execution or {}).get("Active")),
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
                if is_true(parameter.get("UsePreviousValue")):
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
                stack_set.managed_execution = is_true(managed_execution["Active"])
            stack_set.auto_deployment, stack_set.retain_on_removal = auto_deployment_settings(
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
                apply_instance(stack_set, record, operation)
            return finish_operation(stack_set, operation)

    def delete_stack_set(self, stack_set: ServiceManagedStackSet) -> None:
        with self.lock:
            if stack_set.instances:
                raise StackSetNotEmpty(f"StackSet {stack_set.name} is not empty")
            stack_set.status = "DELETED"

    # -- stack instances ---------------------------------------------------------------------------------

    def create_stack_instances(
        self, org: OrganizationMembership, stack_set: ServiceManagedStackSet, request: InstanceRequest
    ) -> StackSetOperation:
        with self.lock:
            # A template check only when overrides change the parameters the StackSet was created with.
            self._prepare(org, stack_set, request, check=bool(request.overrides))
            operation = self._operation(stack_set, "CREATE", request.operation_id, request.ou_ids, request.preferences)
            for ou_id in request.ou_ids:
                known = stack_set.targets.setdefault(ou_id, [])
                known.extend(region for region in request.regions if region not in known)
            for region in request.regions:
                for account, ou_id in accounts_under(org.backend, request.ou_ids):
                    record = stack_set.instances.get((account, region))
                    if record is None:
                        record = StackInstanceRecord(account=account, region=region, ou_id=ou_id)
                        stack_set.instances[(account, region)] = record
                    record.overrides.update(request.overrides)
                    apply_instance(stack_set, record, operation)
            return finish_operation(stack_set, operation)

    def update_stack_instances(
        self, org: OrganizationMembership, stack_set: ServiceManagedStackSet, request: InstanceRequest
    ) -> StackSetOperation:
        with self.lock:
            self._prepare(org, stack_set, request, check=True)
            records = [
                stack_set.instances[(account, region)]
                for region in request.regions
                for account, _ in accounts_under(org.backend, request.ou_ids)
                if (account, region) in stack_set.instances
            ]
            if not records:
                raise StackInstanceNotFound("The specified stack instance doesn't exist.")
            operation = self._operation(stack_set, "UPDATE", request.operation_id, request.ou_ids, request.preferences)
            for record in records:
                record.overrides = dict(request.overrides)
                apply_instance(stack_set, record, operation)
            return finish_operation(stack_set, operation)

    def delete_stack_instances(
        self,
        org: OrganizationMembership,
        stack_set: ServiceManagedStackSet,
        request: InstanceRequest,
        *,
        retain_stacks: bool,
    ) -> StackSetOperation:
        with self.lock:
            self._prepare(org, stack_set, request, check=False)
            operation = self._operation(stack_set, "DELETE", request.operation_id, request.ou_ids, request.preferences)
            operation.retain_stacks = retain_stacks
            for ou_id in request.ou_ids:
                left = [region for region in stack_set.targets.get(ou_id, []) if region not in request.regions]
                if left:
                    stack_set.targets[ou_id] = left
                else:
                    stack_set.targets.pop(ou_id, None)
            for record in list(stack_set.instances.values()):
                if record.region in request.regions and self._in_ous(org, record.account, request.ou_ids):
                    remove_instance(stack_set, record, operation, retain=retain_stacks)
            return finish_operation(stack_set, operation)

    def _prepare(
        self, org: OrganizationMembership, stack_set: ServiceManagedStackSet, request: InstanceRequest, *, check: bool
    ) -> None:
        """What every stack-instance operation checks first: its OUs and regions, a new operation id and (``check``)
        the template with the parameters it would deploy."""
        self._check_targets(org, request.ou_ids, request.regions)
        self._new_operation_id(stack_set, request.operation_id)
        if check:
            parameters = {**stack_set.parameters, **request.overrides}
            check_template(parse_template(stack_set.template), parameters, stack_set.capabilities)

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
                apply_instance(stack_set, record, operation)
            finish_operation(stack_set, operation)
        if to_delete:
            ou_ids = sorted({stack_set.instances[key].ou_id for key in to_delete})
            operation = self._operation(stack_set, "DELETE", None, ou_ids, {})
            operation.retain_stacks = stack_set.retain_on_removal
            for key in to_delete:
                remove_instance(stack_set, stack_set.instances[key], operation, retain=stack_set.retain_on_removal)
            finish_operation(stack_set, operation)

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
