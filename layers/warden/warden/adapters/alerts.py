"""Alerts published to the SNS topic (one message each, attributes for subscription filters)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from warden.adapters.aws import aws_call
from warden.chat_cards import sns_message
from warden.records import Alert

if TYPE_CHECKING:
    from mypy_boto3_sns import SNSClient


class SnsAlerts:
    def __init__(self, sns: SNSClient, topic_arn: str) -> None:
        self._sns = sns
        self._topic_arn = topic_arn

    def publish(self, alert: Alert) -> None:
        with aws_call("Publish"):
            self._sns.publish(
                TopicArn=self._topic_arn,
                Subject=alert.subject,
                # One message, a body per protocol: e-mail (and SQS, via "default") the text, HTTPS the chat card.
                Message=sns_message(alert),
                MessageStructure="json",
                MessageAttributes={
                    name: {"DataType": "String", "StringValue": value} for name, value in alert.attributes.items()
                },
            )
