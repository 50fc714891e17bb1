"""SQS event source mappings: a message sent to a mapped queue runs the function, concurrently, with Lambda's event
shape; what it reports failed comes back and ends in the dead-letter queue after the redrive policy's receives."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from warden_local import Fidelity, LocalCloud
from warden_local.pytest_plugin import START

SQS_APP = Path(__file__).parent / "sqs_app" / "template.yaml"


@pytest.fixture
def sqs_cloud() -> Iterator[LocalCloud]:
    fidelity = Fidelity(workers=4, retry_delays=(0.1,))
    with LocalCloud(template=SQS_APP, start_at=START, stack_name="sqs-test", fidelity=fidelity) as cloud:
        yield cloud


def _drain(cloud: LocalCloud, url: str) -> list[Any]:
    sqs = cloud.client("sqs")
    found: list[Any] = []
    while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        for message in messages:
            found.append(message["Body"])
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return found


def _left(cloud: LocalCloud, url: str) -> int:
    attributes = cloud.client("sqs").get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"])


def test_a_message_sent_to_a_mapped_queue_runs_the_function_with_lambdas_event_and_is_deleted(
    sqs_cloud: LocalCloud,
) -> None:
    outputs = sqs_cloud.stack_outputs()
    # WHEN someone sends a message to the queue
    sent = sqs_cloud.client("sqs").send_message(QueueUrl=outputs["WorkQueueUrl"], MessageBody='{"job": 1}')
    sqs_cloud.settle()
    # THEN the worker ran once with the record Lambda builds from it
    [report] = [json.loads(body) for body in _drain(sqs_cloud, outputs["SeenQueueUrl"])]
    record = report["record"]
    assert record["messageId"] == sent["MessageId"]
    assert record["body"] == '{"job": 1}'
    assert (record["eventSource"], record["awsRegion"]) == ("aws:sqs", "us-east-1")
    assert record["eventSourceARN"].startswith("arn:aws:sqs:us-east-1:123456789012:sqs-test-WorkQueue")
    assert record["attributes"]["ApproximateReceiveCount"] == "1"
    [run] = [i for i in sqs_cloud.invocations if "Worker" in i.function_name]
    assert run.ok
    # AND the message is gone from the queue, and the dead-letter queue is empty
    assert _left(sqs_cloud, outputs["WorkQueueUrl"]) == 0
    assert _left(sqs_cloud, outputs["WorkDeadLetterQueueUrl"]) == 0


def test_a_reported_batch_item_failure_is_retried_then_moved_to_the_dead_letter_queue(sqs_cloud: LocalCloud) -> None:
    outputs = sqs_cloud.stack_outputs()
    sqs = sqs_cloud.client("sqs")
    # WHEN one message fails each time it is processed, and another fails by raising
    sqs.send_message(QueueUrl=outputs["WorkQueueUrl"], MessageBody="fail")
    sqs.send_message(QueueUrl=outputs["WorkQueueUrl"], MessageBody="raise")
    sqs.send_message(QueueUrl=outputs["WorkQueueUrl"], MessageBody="fine")
    sqs_cloud.settle()
    # Redrive happens on the receive after the last allowed one (as SQS does): one more poll moves them.
    sqs.send_message(QueueUrl=outputs["WorkQueueUrl"], MessageBody="fine again")
    sqs_cloud.settle()
    # THEN the failing ones were received twice each (maxReceiveCount 2), then moved to the dead-letter queue
    reports = [json.loads(body)["record"] for body in _drain(sqs_cloud, outputs["SeenQueueUrl"])]
    counts = sorted((r["body"], r["attributes"]["ApproximateReceiveCount"]) for r in reports)
    assert counts == [("fail", "1"), ("fail", "2"), ("fine", "1"), ("fine again", "1")]
    raised = [i for i in sqs_cloud.invocations if "Worker" in i.function_name and not i.ok]
    assert len(raised) == 2 and all(i.error_type == "RuntimeError" for i in raised)
    assert sorted(_drain(sqs_cloud, outputs["WorkDeadLetterQueueUrl"])) == ["fail", "raise"]
    assert _left(sqs_cloud, outputs["WorkQueueUrl"]) == 0


def test_messages_sent_together_are_processed_by_concurrent_workers(sqs_cloud: LocalCloud) -> None:
    outputs = sqs_cloud.stack_outputs()
    sqs = sqs_cloud.client("sqs")
    sqs.send_message(QueueUrl=outputs["WorkQueueUrl"], MessageBody="warm")  # the module loads once
    sqs_cloud.settle()
    # WHEN eight slow messages are sent at once
    sqs.send_message_batch(
        QueueUrl=outputs["WorkQueueUrl"], Entries=[{"Id": str(n), "MessageBody": "slow"} for n in range(8)]
    )
    sqs_cloud.settle()
    # THEN all eight ran, and some of those runs overlapped in time (four pollers; a run overlaps itself)
    runs = [i for i in sqs_cloud.invocations if "Worker" in i.function_name][1:]
    assert len(runs) == 8 and all(run.ok for run in runs)
    overlapping = max(
        sum(1 for other in runs if other.wall_started < run.wall_ended <= other.wall_ended) for run in runs
    )
    assert overlapping >= 2
    assert _left(sqs_cloud, outputs["WorkQueueUrl"]) == 0
