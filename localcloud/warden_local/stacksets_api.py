"""The CloudFormation StackSet actions in front of moto's: service-managed StackSets (and ``CallAs``) go to
:mod:`warden_local.stacksets`, self-managed ones stay moto's. Also ActivateOrganizationsAccess and
DescribeOrganizationsAccess, which moto lacks."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from . import stacksets_model
from .organizations_ext import STACKSETS_PRINCIPAL, OrganizationMembership, management_backend, on_membership_change
from .organizations_ext import install as install_organizations
from .stacksets import StackSets
from .stacksets_model import InstanceRequest

__all__ = ["install", "service"]

_INSTALL_LOCK = threading.Lock()
_SERVICE: StackSets | None = None

# Actions on one StackSet, by name: routed to the service-managed store when the caller reaches it.
_BY_NAME = (
    "update_stack_set",
    "describe_stack_set",
    "delete_stack_set",
    "create_stack_instances",
    "update_stack_instances",
    "delete_stack_instances",
    "list_stack_instances",
    "describe_stack_instance",
    "describe_stack_set_operation",
    "list_stack_set_operations",
    "list_stack_set_operation_results",
    "stop_stack_set_operation",
)


def service() -> StackSets:
    if _SERVICE is None:
        raise RuntimeError("warden_local.stacksets_api.install() was not called")
    return _SERVICE


def install(now_epoch: Callable[[], float | None]) -> None:
    """Patch moto's CloudFormation and Organizations (idempotent); ``now_epoch`` is the emulated clock (None: none
    running, the wall clock then)."""
    global _SERVICE
    with _INSTALL_LOCK:
        if _SERVICE is not None:
            return
        from moto.cloudformation.responses import CloudFormationResponse

        install_organizations()

        def now() -> datetime:
            epoch = now_epoch()
            return datetime.now(UTC) if epoch is None else datetime.fromtimestamp(epoch, tz=UTC)

        stack_sets = StackSets(now)
        on_membership_change(stack_sets.membership_changed)
        originals = {name: getattr(CloudFormationResponse, name) for name in (*_BY_NAME, "create_stack_set")}
        original_list = CloudFormationResponse.list_stack_sets

        def create_stack_set(self: Any) -> Any:
            if (
                self._get_param("PermissionModel") != "SERVICE_MANAGED"
                and self._get_param("CallAs") != "DELEGATED_ADMIN"
            ):
                return originals["create_stack_set"](self)
            with stack_sets.lock:
                return _Call(self, stack_sets).create_stack_set()

        def by_name(name: str) -> Callable[[Any], Any]:
            def action(self: Any) -> Any:
                if not _reaches_service_managed(self, stack_sets):
                    return originals[name](self)
                # One at a time: moto's server is threaded, and automatic deployment runs in Organizations' calls.
                with stack_sets.lock:
                    return getattr(_Call(self, stack_sets), name)()

            return action

        def list_stack_sets(self: Any) -> Any:
            from moto.core.responses import ActionResult

            if self._get_param("CallAs") == "DELEGATED_ADMIN":
                own: list[Any] = []
                org = _Call(self, stack_sets).org()
            else:
                own = list(original_list(self).result["Summaries"])  # type: ignore[index]
                backend = management_backend(self.current_account)
                if backend is None or backend.org.master_account_id != self.current_account:
                    return ActionResult({"Summaries": own})
                org = OrganizationMembership(backend)
            status = self._get_param("Status")
            with stack_sets.lock:
                mine = [stacksets_model.summary(s) for s in stack_sets.all_sets(org, self.region)]
            return ActionResult({"Summaries": own + [s for s in mine if status is None or s["Status"] == status]})

        setattr(CloudFormationResponse, "create_stack_set", create_stack_set)  # noqa: B010
        setattr(CloudFormationResponse, "list_stack_sets", list_stack_sets)  # noqa: B010
        for name in _BY_NAME:
            setattr(CloudFormationResponse, name, by_name(name))
        setattr(CloudFormationResponse, "activate_organizations_access", _activate_organizations_access)  # noqa: B010
        setattr(CloudFormationResponse, "describe_organizations_access", _describe_organizations_access)  # noqa: B010
        _SERVICE = stack_sets


def _reaches_service_managed(response: Any, stack_sets: StackSets) -> bool:
    if response._get_param("CallAs") == "DELEGATED_ADMIN":
        return True
    backend = management_backend(response.current_account)
    if backend is None or backend.org.master_account_id != response.current_account:
        return False
    return stack_sets.has(response.current_account, response.region, str(response._get_param("StackSetName")))


def _activate_organizations_access(self: Any) -> Any:
    from moto.cloudformation.exceptions import ValidationError
    from moto.core.responses import EmptyResult

    backend = management_backend(self.current_account)
    if backend is None or backend.org.master_account_id != self.current_account:
        raise ValidationError(message="Only the management account of an organization can activate trusted access")
    backend.enable_aws_service_access(ServicePrincipal=STACKSETS_PRINCIPAL)
    return EmptyResult()


def _describe_organizations_access(self: Any) -> Any:
    from moto.cloudformation.exceptions import ValidationError
    from moto.core.responses import ActionResult

    backend = management_backend(self.current_account)
    if backend is None:
        raise ValidationError(message="The account is not in an organization")
    enabled = any(service["ServicePrincipal"] == STACKSETS_PRINCIPAL for service in backend.services)
    return ActionResult({"Status": "ENABLED" if enabled else "DISABLED"})


class _Call:
    """One StackSet request of a caller, answered from the service-managed store."""

    def __init__(self, response: Any, stack_sets: StackSets) -> None:
        self._r = response
        self._s = stack_sets

    def _param(self, name: str, default: Any = None) -> Any:
        value = self._r._get_param(name)
        return default if value is None else value

    def org(self) -> OrganizationMembership:
        return self._s.authorize(self._r.current_account, self._param("CallAs"))

    def _stack_set(self) -> tuple[Any, Any]:
        org = self.org()
        return org, self._s.find(org, self._r.region, str(self._param("StackSetName")))

    def _template(self) -> str | None:
        body = self._param("TemplateBody")
        url = self._param("TemplateURL")
        if url:
            body = self._r._get_stack_from_s3_url(url)
        return None if body is None else str(body)

    def _ou_ids(self) -> list[str]:
        from moto.cloudformation.exceptions import ValidationError

        targets = self._param("DeploymentTargets", {}) or {}
        if self._param("Accounts") or targets.get("Accounts"):
            raise ValidationError(
                message="StackSets with SERVICE_MANAGED permission model can only have OrganizationalUnit as target"
            )
        return [str(ou) for ou in targets.get("OrganizationalUnitIds", []) or []]

    def _instance_request(self) -> InstanceRequest:
        """The OUs, regions, overrides, operation id and preferences of a Create/Update/DeleteStackInstances call."""
        return InstanceRequest(
            ou_ids=self._ou_ids(),
            regions=[str(r) for r in self._param("Regions", [])],
            overrides=self._overrides(),
            operation_id=self._param("OperationId"),
            preferences=self._param("OperationPreferences", {}),
        )

    def _overrides(self) -> dict[str, str]:
        return {str(p["ParameterKey"]): str(p.get("ParameterValue", "")) for p in self._param("ParameterOverrides", [])}

    def _result(self, result: dict[str, Any]) -> Any:
        from moto.core.responses import ActionResult

        return ActionResult(result)

    # -- actions -------------------------------------------------------------------------------------

    def create_stack_set(self) -> Any:
        from moto.cloudformation.exceptions import ValidationError

        if self._param("PermissionModel") != "SERVICE_MANAGED":
            raise ValidationError(message="CallAs is valid only for StackSets with SERVICE_MANAGED permission model")
        org = self.org()
        template = self._template()
        if template is None:
            raise ValidationError(message="Either TemplateBody or TemplateURL must be specified")
        auto = self._param("AutoDeployment")
        stack_set = self._s.create_stack_set(
            org,
            self._r.region,
            name=str(self._param("StackSetName")),
            template=template,
            parameters={
                str(p["ParameterKey"]): str(p.get("ParameterValue", "")) for p in self._param("Parameters", [])
            },
            capabilities=[str(c) for c in self._param("Capabilities", [])],
            description=self._param("Description"),
            tags={str(t["Key"]): str(t["Value"]) for t in self._param("Tags", [])},
            auto_deployment=auto,
            managed_execution=self._param("ManagedExecution"),
        )
        return self._result({"StackSetId": stack_set.stack_set_id})

    def update_stack_set(self) -> Any:
        from moto.cloudformation.exceptions import ValidationError

        org, stack_set = self._stack_set()
        template = self._template()
        if template is None and str(self._param("UsePreviousTemplate", "")).lower() != "true":
            raise ValidationError(message="Either TemplateBody, TemplateURL or UsePreviousTemplate must be specified")
        tags = self._param("Tags")
        ou_ids = self._ou_ids() or None
        regions = self._param("Regions") or None
        operation = self._s.update_stack_set(
            org,
            stack_set,
            template=template,
            parameters=list(self._param("Parameters", [])),
            capabilities=[str(c) for c in self._param("Capabilities", [])],
            description=self._param("Description"),
            tags=None if tags is None else {str(t["Key"]): str(t["Value"]) for t in tags},
            auto_deployment=self._param("AutoDeployment"),
            managed_execution=self._param("ManagedExecution"),
            ou_ids=ou_ids,
            regions=regions,
            operation_id=self._param("OperationId"),
            preferences=self._param("OperationPreferences", {}),
        )
        return self._result({"OperationId": operation.operation_id})

    def describe_stack_set(self) -> Any:
        _, stack_set = self._stack_set()
        return self._result({"StackSet": stacksets_model.describe(stack_set)})

    def delete_stack_set(self) -> Any:
        from moto.core.responses import EmptyResult

        _, stack_set = self._stack_set()
        self._s.delete_stack_set(stack_set)
        return EmptyResult()

    def create_stack_instances(self) -> Any:
        org, stack_set = self._stack_set()
        operation = self._s.create_stack_instances(org, stack_set, self._instance_request())
        return self._result({"OperationId": operation.operation_id})

    def update_stack_instances(self) -> Any:
        org, stack_set = self._stack_set()
        operation = self._s.update_stack_instances(org, stack_set, self._instance_request())
        return self._result({"OperationId": operation.operation_id})

    def delete_stack_instances(self) -> Any:
        from moto.cloudformation.exceptions import ValidationError

        org, stack_set = self._stack_set()
        retain = self._param("RetainStacks")
        if retain is None:
            raise ValidationError(
                message="1 validation error detected: Value null at 'retainStacks' failed to satisfy "
                "constraint: Member must not be null"
            )
        operation = self._s.delete_stack_instances(
            org, stack_set, self._instance_request(), retain_stacks=str(retain).lower() == "true"
        )
        return self._result({"OperationId": operation.operation_id})

    def list_stack_instances(self) -> Any:
        _, stack_set = self._stack_set()
        account = self._param("StackInstanceAccount")
        region = self._param("StackInstanceRegion")
        filters = {str(f["Name"]): str(f["Values"]) for f in self._param("Filters", [])}
        summaries = []
        for record in stack_set.instances.values():
            if (account and record.account != account) or (region and record.region != region):
                continue
            if "DETAILED_STATUS" in filters and record.detailed_status != filters["DETAILED_STATUS"]:
                continue
            if "LAST_OPERATION_ID" in filters and record.last_operation_id != filters["LAST_OPERATION_ID"]:
                continue
            summaries.append(stacksets_model.instance(stack_set, record, full=False))
        return self._result(_page(summaries, self._param("MaxResults"), self._param("NextToken")))

    def describe_stack_instance(self) -> Any:
        _, stack_set = self._stack_set()
        key = (str(self._param("StackInstanceAccount")), str(self._param("StackInstanceRegion")))
        record = stack_set.instances.get(key)
        if record is None:
            raise stacksets_model.StackInstanceNotFound(
                f"Stack instance in account {key[0]} and region {key[1]} of StackSet {stack_set.name} not found"
            )
        return self._result({"StackInstance": stacksets_model.instance(stack_set, record, full=True)})

    def describe_stack_set_operation(self) -> Any:
        _, stack_set = self._stack_set()
        operation = stack_set.operation(str(self._param("OperationId")))
        return self._result({"StackSetOperation": stacksets_model.operation_shape(stack_set, operation, full=True)})

    def list_stack_set_operations(self) -> Any:
        _, stack_set = self._stack_set()
        summaries = [
            stacksets_model.operation_shape(stack_set, op, full=False) for op in reversed(stack_set.operations)
        ]
        return self._result(_page(summaries, self._param("MaxResults"), self._param("NextToken")))

    def list_stack_set_operation_results(self) -> Any:
        _, stack_set = self._stack_set()
        operation = stack_set.operation(str(self._param("OperationId")))
        return self._result(_page(list(operation.results), self._param("MaxResults"), self._param("NextToken")))

    def stop_stack_set_operation(self) -> Any:
        from moto.cloudformation.exceptions import CloudFormationError

        _, stack_set = self._stack_set()
        operation = stack_set.operation(str(self._param("OperationId")))
        # Operations here finish inside the call that starts them: there is never one left to stop.
        raise CloudFormationError(
            "InvalidOperationException", f"Operation {operation.operation_id} is {operation.status}"
        )


def _page(items: list[dict[str, Any]], max_results: Any, token: Any) -> dict[str, Any]:
    start = int(token) if token and str(token).isdigit() else 0
    size = int(max_results) if max_results else 100
    page: dict[str, Any] = {"Summaries": items[start : start + size]}
    if start + size < len(items):
        page["NextToken"] = str(start + size)
    return page
