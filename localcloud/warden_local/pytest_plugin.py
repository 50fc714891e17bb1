"""pytest fixtures for functional tests: ``local_cloud`` (the real stack, frozen clock, AWS's timing) and ``EventTap``.

Functional tests run with :func:`functional_fidelity`: AWS's behaviour (sessions that take time to terminate,
concurrent delivery with delayed retries, IAM enforced on the handlers' calls), which the ``WARDEN_LOCAL_*``
environment variables of :meth:`Fidelity.from_env` change for one run.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from .cloud import LocalCloud
from .fidelity import Fidelity

# A Tuesday: 09:00 in Berlin, inside the example policy's business hours.
START = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)


class EventTap:
    """An SQS queue behind an EventBridge rule on the default bus: what any real subscriber would receive."""

    def __init__(self, cloud: LocalCloud, pattern: dict[str, Any] | None = None) -> None:
        self._cloud = cloud
        name = f"tap-{uuid.uuid4().hex[:8]}"
        sqs = cloud.client("sqs")
        self.queue_url: str = sqs.create_queue(QueueName=name)["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        events = cloud.client("events")
        events.put_rule(Name=name, EventPattern=json.dumps(pattern or {"source": ["aws.ssm"]}))
        events.put_targets(Rule=name, Targets=[{"Id": "tap", "Arn": queue_arn}])
        self.rule_name = name

    def events(self, *, settle: bool = True) -> list[dict[str, Any]]:
        """Every event delivered since the last call, oldest first."""
        if settle:
            self._cloud.settle()
        sqs = self._cloud.client("sqs")
        received: list[dict[str, Any]] = []
        while True:
            messages = sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10).get("Messages", [])
            if not messages:
                return received
            for message in messages:
                received.append(json.loads(message["Body"]))
                sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])


def functional_fidelity() -> Fidelity:
    """What functional tests run with: :meth:`Fidelity.aws`, changed by ``WARDEN_LOCAL_*`` variables."""
    return Fidelity.from_env(Fidelity.aws())


@pytest.fixture
def local_cloud() -> Iterator[LocalCloud]:
    """The local cloud with the stack from ``template.yaml``, its clock frozen at :data:`START`."""
    with LocalCloud(start_at=START, fidelity=functional_fidelity()) as cloud:
        yield cloud
