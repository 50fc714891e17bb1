"""Deploying one stack instance of a service-managed StackSet into its account and region, on moto's backends.

- Each stack instance is a real stack ``StackSet-<name>-<uuid>`` in moto's CloudFormation backend of the target
  account and region, so its resources (rules, roles, parameters) exist in THAT account; it is visible there
  through DescribeStacks, as on AWS.
- Its conditions are decided for that account and region first (a false-condition resource is absent, not an
  empty entry); UpdateStackSet replaces each instance's resources with the new template's (see ``_update``).
- A stack that fails leaves the instance OUTDATED, DetailedStatus FAILED, with the reason (and the stack
  ROLLBACK_COMPLETE); a delete that fails leaves it INOPERABLE. Each outcome is one result of the operation.
"""

from __future__ import annotations

import contextlib
import json
from typing import Any

from .stacksets_model import ServiceManagedStackSet, StackInstanceRecord, StackSetOperation, parse_template

__all__ = ["apply_instance", "remove_instance"]


def _result(record: StackInstanceRecord, operation: StackSetOperation, ok: bool) -> None:
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


def apply_instance(
    stack_set: ServiceManagedStackSet, record: StackInstanceRecord, operation: StackSetOperation
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
        _result(record, operation, ok=False)
        return
    record.status = "CURRENT"
    record.detailed_status = "SUCCEEDED"
    record.reason = None
    _result(record, operation, ok=True)


def remove_instance(
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
            _result(record, operation, ok=False)
            return
    stack_set.instances.pop((record.account, record.region), None)
    _result(record, operation, ok=True)


def _stack_named(backend: Any, name: str) -> Any | None:
    return next((stack for stack in backend.stacks.values() if stack.name == name), None)


def _for_instance(stack_set: ServiceManagedStackSet, record: StackInstanceRecord, parameters: dict[str, str]) -> str:
    """The template with its conditions decided for this account and region (false-condition resources and
    outputs gone, ``Fn::If`` and ``AWS::NoValue`` resolved), as the local cloud's own stack does it: moto would
    list a skipped resource as an empty entry and keep ``AWS::NoValue`` as a null."""
    from .conditions import TemplateError, apply_conditions, parameter_defaults

    template = parse_template(stack_set.template)
    if not template.get("Conditions"):
        return stack_set.template
    values = {
        **parameter_defaults(template),
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
