"""Where moto's CloudFormation template handling differs from CloudFormation's, put right: a placeholder that records
every resource type neither moto nor the local cloud emulates (never silently skipped), YAML ``!Condition`` short
form, resources whose Condition is false left out of the stack's resource lists, and a resource the service refuses
failing the stack as CloudFormation fails it."""

from __future__ import annotations

import uuid
import warnings
from collections.abc import Callable
from typing import Any


def install_unemulated_placeholder(active_hooks: Callable[[], Any]) -> None:
    """While a stack is being created (``active_hooks()`` is not None), a type moto does not know is the placeholder."""
    from moto.cloudformation import parsing
    from moto.core.common_models import CloudFormationModel

    class UnemulatedResource(CloudFormationModel):
        """A type neither moto nor the local cloud emulates: recorded (and reported), never silently skipped."""

        def __init__(self, resource_type: str) -> None:
            self.resource_type = resource_type
            self.id = f"warden-local-unemulated-{uuid.uuid4().hex[:12]}"

        @property
        def physical_resource_id(self) -> str:
            return self.id

        @staticmethod
        def cloudformation_name_type() -> str:
            return ""

        @staticmethod
        def cloudformation_type() -> str:
            return "WardenLocal::Unemulated"

        @classmethod
        def has_cfn_attr(cls, attr: str) -> bool:
            return True

        def get_cfn_attribute(self, attribute_name: str) -> str:
            return f"{self.id}.{attribute_name}"

        @classmethod
        def create_from_cloudformation_json(
            cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
        ) -> UnemulatedResource:
            resource_type = str(kwargs.get("ResourceType", cloudformation_json.get("Type")))
            hooks = active_hooks()
            if hooks is not None:
                hooks.record_unemulated(
                    str(kwargs.get("LogicalId", resource_name)), resource_type, cloudformation_json["Properties"]
                )
            return cls(resource_type)

        def delete(self, account_id: str, region_name: str) -> None:
            pass

    original_class_from_type = parsing.resource_class_from_type

    def resource_class_from_type(resource_type: str) -> Any:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            found = original_class_from_type(resource_type)
        if found is None and resource_type not in parsing.NULL_MODELS and active_hooks() is not None:
            return UnemulatedResource
        return found

    parsing.resource_class_from_type = resource_class_from_type


def condition_short_form() -> None:
    """YAML ``!Condition X`` is ``{"Condition": X}`` in CloudFormation; moto's loader wrote ``{"Fn::Condition": X}``,
    which its condition evaluator does not know, so ``!Not [!Condition X]`` was always false."""
    from moto.cloudformation import models, responses, utils

    original = utils.yaml_tag_constructor
    if getattr(original, "warden_local", False):
        return

    def yaml_tag_constructor(loader: Any, tag: Any, node: Any) -> Any:
        if tag == "!Condition":
            return {"Condition": loader.construct_scalar(node)}
        return original(loader, tag, node)

    setattr(yaml_tag_constructor, "warden_local", True)  # noqa: B010
    for module in (utils, models, responses):
        setattr(module, "yaml_tag_constructor", yaml_tag_constructor)  # noqa: B010


def skipped_resources_not_listed() -> None:
    """A resource whose Condition is false does not exist; moto listed it as an empty entry in
    DescribeStackResources and ListStackResources (stacks created by CreateStack, the relay stacks for instance)."""
    from moto.cloudformation.models import Stack

    if getattr(vars(Stack)["stack_resources"].fget, "warden_local", False):
        return

    def stack_resources(self: Any) -> list[Any]:
        return [resource for resource in self.resource_map.values() if resource is not None]

    resources = property(stack_resources)
    setattr(resources.fget, "warden_local", True)  # noqa: B010
    setattr(Stack, "stack_resources", resources)  # noqa: B010


def failed_resources_fail_the_stack() -> None:
    """A resource that raises :class:`~warden_local.cfn_base.ResourceFailed` leaves the stack ``ROLLBACK_COMPLETE``
    with a ``CREATE_FAILED`` event naming it and why, as CloudFormation does; moto would fail the request."""
    from moto.cloudformation.models import Stack

    from .cfn_base import ResourceFailed

    original = Stack.create_resources
    if getattr(original, "_warden_local", False):
        return

    def create_resources(self: Any) -> None:
        try:
            original(self)
        except ResourceFailed as failed:
            self.status = "ROLLBACK_COMPLETE"
            self._add_stack_event("CREATE_FAILED", resource_status_reason=str(failed))
            self._add_stack_event("ROLLBACK_COMPLETE")

    create_resources._warden_local = True  # type: ignore[attr-defined]
    setattr(Stack, "create_resources", create_resources)  # noqa: B010
