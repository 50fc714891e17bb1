"""The security team's mailbox on the local cloud: an SQS queue subscribed to the alerts topic, read in order."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from warden_local.cloud import LocalCloud


@dataclass(frozen=True)
class Mail:
    """One alert as a subscriber receives it: the SNS envelope's subject, message and message attributes."""

    subject: str
    body: str
    attributes: dict[str, str] = field(default_factory=dict)

    @property
    def severity(self) -> str:
        return self.attributes.get("severity", "")

    @property
    def kind(self) -> str:
        return self.attributes.get("kind", "")

    @classmethod
    def from_envelope(cls, envelope: dict[str, Any]) -> Mail:
        """An SNS notification as an SQS subscription without raw delivery carries it.

        Alerts are published with a message per protocol (``MessageStructure=json``); SQS has no key of its own, so
        ``Message`` is the ``default`` one: the e-mail text, exactly as an e-mail subscriber reads it.
        """
        attributes = envelope.get("MessageAttributes") or {}
        return cls(
            subject=str(envelope.get("Subject") or ""),
            body=str(envelope.get("Message") or ""),
            attributes={str(name): str(value.get("Value", "")) for name, value in attributes.items()},
        )


class Inbox:
    """An SQS queue subscribed to the stack's alerts topic (or ``topic_arn``), as an e-mail subscriber would be."""

    def __init__(self, cloud: LocalCloud, topic_arn: str | None = None, *, queue_name: str | None = None) -> None:
        self._cloud = cloud
        self._sqs = cloud.client("sqs")
        name = queue_name or f"inbox-{uuid.uuid4().hex[:12]}"
        self._url = str(self._sqs.create_queue(QueueName=name)["QueueUrl"])
        queue_arn = self._sqs.get_queue_attributes(QueueUrl=self._url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        topic = topic_arn or cloud.stack_outputs()["AlertsTopicArn"]
        cloud.client("sns").subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
        self.received: list[Mail] = []

    def receive(self) -> list[Mail]:
        """The alerts that arrived since the last call, oldest first (they stay in ``received`` too)."""
        new: list[Mail] = []
        while messages := self._sqs.receive_message(QueueUrl=self._url, MaxNumberOfMessages=10).get("Messages", []):
            for message in messages:
                new.append(Mail.from_envelope(json.loads(message["Body"])))
                self._sqs.delete_message(QueueUrl=self._url, ReceiptHandle=message["ReceiptHandle"])
        self.received.extend(new)
        return new

    def mails(self) -> list[Mail]:
        """Every alert so far, oldest first, once the handlers running now have finished."""
        self._cloud.settle()
        self.receive()
        return list(self.received)

    def kinds(self) -> list[str]:
        return [mail.kind for mail in self.mails()]

    def about(self, text: str) -> list[Mail]:
        """The alerts so far whose subject or body mentions ``text``."""
        return [mail for mail in self.mails() if text in mail.body or text in mail.subject]
