"""CloudFormation resource types moto lacks (subscriptions, queue, topic and event bus policies, event invoke configs,
alarms, dashboards), and a placeholder that records every type neither moto nor the local cloud emulates.

The types are grouped in :mod:`warden_local.cfn_messaging` (SNS, SQS, EventBridge, Lambda) and
:mod:`warden_local.cfn_monitoring` (CloudWatch), sharing :mod:`warden_local.cfn_base`; the placeholder and moto's
template-parsing fixes are in :mod:`warden_local.cfn_parsing`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .cfn_messaging import messaging_models
from .cfn_monitoring import monitoring_models
from .cfn_parsing import (
    condition_short_form,
    failed_resources_fail_the_stack,
    install_unemulated_placeholder,
    skipped_resources_not_listed,
)

# -- CloudFormation resource types moto lacks ---------------------------------------------------------------

EMULATED_TYPES = (
    "AWS::SNS::Subscription",
    "AWS::SNS::TopicPolicy",
    "AWS::SQS::QueuePolicy",
    "AWS::Events::EventBusPolicy",
    "AWS::Lambda::EventInvokeConfig",
    "AWS::CloudWatch::Alarm",
    "AWS::CloudWatch::Dashboard",
)


def install_cloudformation_models(active_hooks: Callable[[], Any]) -> None:
    """Register the resource types above with moto's CloudFormation (once per process)."""
    from moto.cloudformation import parsing
    from moto.events.models import EventBus

    # Ref of an AWS::Events::EventBus is its name; moto has no physical id for it and hands the object over instead.
    if not hasattr(EventBus, "physical_resource_id"):
        setattr(EventBus, "physical_resource_id", property(lambda self: self.name))  # noqa: B010
    models = messaging_models() + monitoring_models()
    install_unemulated_placeholder(active_hooks)
    condition_short_form()
    skipped_resources_not_listed()
    failed_resources_fail_the_stack()
    # moto caches its type map on first use; our subclasses must be in it.
    parsing.get_model_list.cache_clear()
    parsing.get_model_map.cache_clear()
    parsing.get_name_type_map.cache_clear()
    for model in models:
        assert parsing.get_model_map()[model.cloudformation_type()] is model  # type: ignore[attr-defined]
