"""CloudFormation types moto lacks for messaging and delivery: SNS subscriptions, SNS topic, SQS queue and EventBridge
event bus policies, and Lambda event invoke configs (retries, maximum event age, destinations)."""

from __future__ import annotations

import contextlib
import json
import logging
import uuid
from typing import Any

from .cfn_base import LocalModel

logger = logging.getLogger("warden_local")


def messaging_models() -> tuple[type, ...]:
    """Define the types (so moto's CloudFormation registers them) and return them."""
    from moto.core.common_models import CloudFormationModel

    def queue_name(url_or_arn: str) -> str:
        return url_or_arn.rstrip("/").rsplit("/", 1)[-1].rsplit(":", 1)[-1]

    class SnsSubscription(LocalModel, CloudFormationModel):
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

    class _ResourcePolicy(LocalModel):
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

    class EventBusPolicy(LocalModel, CloudFormationModel):
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

    class LambdaEventInvokeConfig(LocalModel, CloudFormationModel):
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

    return SnsSubscription, SnsTopicPolicy, SqsQueuePolicy, EventBusPolicy, LambdaEventInvokeConfig
