"""CloudFormation resource types moto lacks (subscriptions, queue, topic and event bus policies, event invoke configs,
alarms, dashboards), and a placeholder that records every type neither moto nor the local cloud emulates."""

from __future__ import annotations

import contextlib
import json
import logging
import uuid
import warnings
from collections.abc import Callable
from typing import Any

logger = logging.getLogger("warden_local")

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
    from moto.core.common_models import CloudFormationModel
    from moto.events.models import EventBus

    # Ref of an AWS::Events::EventBus is its name; moto has no physical id for it and hands the object over instead.
    if not hasattr(EventBus, "physical_resource_id"):
        setattr(EventBus, "physical_resource_id", property(lambda self: self.name))  # noqa: B010

    def queue_name(url_or_arn: str) -> str:
        return url_or_arn.rstrip("/").rsplit("/", 1)[-1].rsplit(":", 1)[-1]

    class _LocalModel:
        """What the resource types the local cloud creates share: a physical id, a type, the attributes it has.

        A mixin, not a base: moto registers only direct subclasses of ``CloudFormationModel``.
        """

        CFN_TYPE = ""
        NAME_PROPERTY = ""
        ATTRIBUTES: tuple[str, ...] = ()
        physical_id: str

        @property
        def physical_resource_id(self) -> str:
            return self.physical_id

        @classmethod
        def cloudformation_name_type(cls) -> str:
            return cls.NAME_PROPERTY

        @classmethod
        def cloudformation_type(cls) -> str:
            return cls.CFN_TYPE

        @classmethod
        def has_cfn_attr(cls, attr: str) -> bool:
            return attr in cls.ATTRIBUTES

        def delete(self, account_id: str, region_name: str) -> None:
            pass

    class SnsSubscription(_LocalModel, CloudFormationModel):
        CFN_TYPE = "AWS::SNS::Subscription"
        ATTRIBUTES = ("Arn",)

        def __init__(self, arn: str) -> None:
            self.arn = arn
            self.physical_id = arn

        def get_cfn_attribute(self, attribute_name: str) -> str:
            return self.arn

        @classmethod
        def create_from_cloudformation_json(
            cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
        ) -> SnsSubscription:
            from moto.sns.models import sns_backends

            properties = cloudformation_json["Properties"]
            backend = sns_backends[account_id][region_name]
            subscription = backend.subscribe(properties["TopicArn"], properties["Endpoint"], properties["Protocol"])
            for name in ("RawMessageDelivery", "FilterPolicy", "FilterPolicyScope", "RedrivePolicy", "DeliveryPolicy"):
                if name in properties:
                    value = properties[name]
                    if isinstance(value, (dict, list)):
                        value = json.dumps(value)
                    elif isinstance(value, bool):
                        value = "true" if value else "false"
                    backend.set_subscription_attributes(subscription.arn, name, str(value))
            return cls(subscription.arn)

        def delete(self, account_id: str, region_name: str) -> None:
            from moto.sns.models import sns_backends

            sns_backends[account_id][region_name].unsubscribe(self.arn)

    class _ResourcePolicy(_LocalModel):
        """A policy document set as the ``Policy`` attribute of each resource a property lists (a mixin too)."""

        RESOURCES = ""  # the property that lists the resources
        KIND = ""  # in the physical id

        def __init__(self, resources: list[str]) -> None:
            self.resources = resources
            self.physical_id = f"warden-local-{self.KIND}-policy-{uuid.uuid4().hex[:12]}"

        @classmethod
        def create_from_cloudformation_json(
            cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
        ) -> _ResourcePolicy:
            properties = cloudformation_json["Properties"]
            for resource in properties[cls.RESOURCES]:
                cls.set_policy(account_id, region_name, resource, json.dumps(properties["PolicyDocument"]))
            return cls(list(properties[cls.RESOURCES]))

        @staticmethod
        def set_policy(account_id: str, region_name: str, resource: str, document: str) -> None:
            raise NotImplementedError

    class SnsTopicPolicy(_ResourcePolicy, CloudFormationModel):
        CFN_TYPE = "AWS::SNS::TopicPolicy"
        RESOURCES = "Topics"
        KIND = "topic"

        @staticmethod
        def set_policy(account_id: str, region_name: str, resource: str, document: str) -> None:
            from moto.sns.models import sns_backends

            sns_backends[account_id][region_name].set_topic_attribute(resource, "Policy", document)

    class SqsQueuePolicy(_ResourcePolicy, CloudFormationModel):
        CFN_TYPE = "AWS::SQS::QueuePolicy"
        RESOURCES = "Queues"
        KIND = "queue"

        @staticmethod
        def set_policy(account_id: str, region_name: str, resource: str, document: str) -> None:
            from moto.sqs.models import sqs_backends

            sqs_backends[account_id][region_name].set_queue_attributes(queue_name(resource), {"Policy": document})

        def delete(self, account_id: str, region_name: str) -> None:
            for queue in self.resources:
                try:
                    self.set_policy(account_id, region_name, queue, "")
                except Exception:  # noqa: S112 - the queue went first
                    continue

    class EventBusPolicy(_LocalModel, CloudFormationModel):
        """One statement of an event bus's resource policy (``StatementId`` + ``Statement``), as PutPermission."""

        CFN_TYPE = "AWS::Events::EventBusPolicy"

        def __init__(self, bus: str, statement_id: str) -> None:
            self.bus = bus
            self.statement_id = statement_id
            self.physical_id = f"{bus}|{statement_id}"

        @classmethod
        def create_from_cloudformation_json(
            cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
        ) -> EventBusPolicy:
            from moto.events.models import events_backends

            properties = cloudformation_json["Properties"]
            bus = str(properties.get("EventBusName") or "default")
            statement_id = str(properties["StatementId"])
            if "Statement" not in properties:
                raise ValueError(f"{resource_name}: only the Statement form of AWS::Events::EventBusPolicy is emulated")
            statement = {"Sid": statement_id, **properties["Statement"]}
            policy = json.dumps({"Version": "2012-10-17", "Statement": [statement]})
            events_backends[account_id][region_name].put_permission(bus, "", "", statement_id, {}, policy)
            return cls(bus, statement_id)

        def delete(self, account_id: str, region_name: str) -> None:
            from moto.events.models import events_backends

            with contextlib.suppress(Exception):  # the bus went first
                events_backends[account_id][region_name].remove_permission(self.bus, self.statement_id, False)

    class LambdaEventInvokeConfig(_LocalModel, CloudFormationModel):
        CFN_TYPE = "AWS::Lambda::EventInvokeConfig"

        def __init__(self, function_name: str, qualifier: str) -> None:
            self.function_name = function_name
            self.qualifier = qualifier
            self.physical_id = f"{function_name}:{qualifier}"

        @classmethod
        def create_from_cloudformation_json(
            cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
        ) -> LambdaEventInvokeConfig:
            from moto.awslambda.models import lambda_backends

            properties = cloudformation_json["Properties"]
            config = {
                key: properties[key]
                for key in ("MaximumRetryAttempts", "MaximumEventAgeInSeconds", "DestinationConfig")
                if key in properties
            }
            if "MaximumRetryAttempts" in config:
                config["MaximumRetryAttempts"] = int(config["MaximumRetryAttempts"])
            if "MaximumEventAgeInSeconds" in config:
                config["MaximumEventAgeInSeconds"] = int(config["MaximumEventAgeInSeconds"])
            name = properties["FunctionName"]
            lambda_backends[account_id][region_name].put_function_event_invoke_config(name, config)
            return cls(name, str(properties.get("Qualifier", "$LATEST")))

        def delete(self, account_id: str, region_name: str) -> None:
            from moto.awslambda.models import lambda_backends

            try:
                lambda_backends[account_id][region_name].delete_function_event_invoke_config(self.function_name)
            except Exception:
                logger.debug("event invoke config of %s already gone", self.function_name)

    class CloudWatchAlarm(_LocalModel, CloudFormationModel):
        CFN_TYPE = "AWS::CloudWatch::Alarm"
        NAME_PROPERTY = "AlarmName"
        ATTRIBUTES = ("Arn",)

        def __init__(self, name: str, arn: str) -> None:
            self.name = name
            self.arn = arn
            self.physical_id = name

        def get_cfn_attribute(self, attribute_name: str) -> str:
            return self.arn

        @classmethod
        def create_from_cloudformation_json(
            cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
        ) -> CloudWatchAlarm:
            from moto.cloudwatch.models import cloudwatch_backends

            properties = cloudformation_json["Properties"]
            alarm = cloudwatch_backends[account_id][region_name].put_metric_alarm(
                name=resource_name,
                namespace=properties.get("Namespace"),
                metric_name=properties.get("MetricName"),
                comparison_operator=properties.get("ComparisonOperator"),
                evaluation_periods=properties.get("EvaluationPeriods"),
                period=properties.get("Period"),
                threshold=properties.get("Threshold"),
                statistic=properties.get("Statistic"),
                description=properties.get("AlarmDescription"),
                dimensions=properties.get("Dimensions", []),
                alarm_actions=properties.get("AlarmActions", []),
                metric_data_queries=_metric_data_queries(properties.get("Metrics")),
                datapoints_to_alarm=properties.get("DatapointsToAlarm"),
                extended_statistic=properties.get("ExtendedStatistic"),
                ok_actions=properties.get("OKActions", []),
                insufficient_data_actions=properties.get("InsufficientDataActions", []),
                unit=properties.get("Unit"),
                actions_enabled=properties.get("ActionsEnabled", True) not in (False, "false"),
                treat_missing_data=properties.get("TreatMissingData"),
                evaluate_low_sample_count_percentile=properties.get("EvaluateLowSampleCountPercentile"),
                threshold_metric_id=properties.get("ThresholdMetricId"),
            )
            return cls(resource_name, alarm.alarm_arn)

        def delete(self, account_id: str, region_name: str) -> None:
            from moto.cloudwatch.models import cloudwatch_backends

            cloudwatch_backends[account_id][region_name].delete_alarms([self.name])

    class CloudWatchDashboard(_LocalModel, CloudFormationModel):
        CFN_TYPE = "AWS::CloudWatch::Dashboard"
        NAME_PROPERTY = "DashboardName"

        def __init__(self, name: str) -> None:
            self.name = name
            self.physical_id = name

        @classmethod
        def create_from_cloudformation_json(
            cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
        ) -> CloudWatchDashboard:
            from moto.cloudwatch.models import cloudwatch_backends

            properties = cloudformation_json["Properties"]
            name = str(properties.get("DashboardName") or resource_name)
            body = properties["DashboardBody"]
            if not isinstance(body, str):
                body = json.dumps(body)
            # PutDashboard rejects a body that is not a JSON object (InvalidParameterInput), and so the stack fails.
            if not isinstance(json.loads(body), dict):
                raise ValueError(f"dashboard {name}: DashboardBody is not a JSON object")
            cloudwatch_backends[account_id][region_name].put_dashboard(name, body)
            return cls(name)

        def delete(self, account_id: str, region_name: str) -> None:
            from moto.cloudwatch.models import cloudwatch_backends

            cloudwatch_backends[account_id][region_name].delete_dashboards([self.name])

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
    _condition_short_form()
    _skipped_resources_not_listed()
    # moto caches its type map on first use; our subclasses must be in it.
    parsing.get_model_list.cache_clear()
    parsing.get_model_map.cache_clear()
    parsing.get_name_type_map.cache_clear()
    for model in (
        SnsSubscription,
        SnsTopicPolicy,
        SqsQueuePolicy,
        EventBusPolicy,
        LambdaEventInvokeConfig,
        CloudWatchAlarm,
        CloudWatchDashboard,
    ):
        assert parsing.get_model_map()[model.cloudformation_type()] is model


def _condition_short_form() -> None:
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


def _skipped_resources_not_listed() -> None:
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


def _metric_data_queries(metrics: list[dict[str, Any]] | None) -> list[Any] | None:
    if not metrics:
        return None
    from moto.cloudwatch import models as cloudwatch

    # The same conversion moto's PutMetricAlarm response does; moto's constructors are typed str, values may be None.
    queries = []
    for metric in metrics:
        stat: dict[str, Any] = metric.get("MetricStat") or {}
        stat_metric: dict[str, Any] = stat.get("Metric") or {}
        metric_stat: Any = None
        if stat_metric.get("MetricName"):
            dimensions = [
                cloudwatch.Dimension(name=item.get("Name"), value=item.get("Value"))
                for item in stat_metric.get("Dimensions", [])
            ]
            measured: dict[str, Any] = {
                "metric_name": stat_metric["MetricName"],
                "namespace": stat_metric.get("Namespace"),
                "dimensions": dimensions,
            }
            stat_args: dict[str, Any] = {
                "period": stat.get("Period"),
                "stat": stat.get("Stat"),
                "unit": stat.get("Unit"),
            }
            metric_stat = cloudwatch.MetricStat(metric=cloudwatch.Metric(**measured), **stat_args)
        query: dict[str, Any] = {
            "query_id": metric.get("Id"),
            "label": metric.get("Label"),
            "period": metric.get("Period"),
            "return_data": metric.get("ReturnData"),
            "expression": metric.get("Expression"),
            "metric_stat": metric_stat,
        }
        queries.append(cloudwatch.MetricDataQuery(**query))
    return queries
