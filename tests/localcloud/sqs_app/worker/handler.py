"""Test worker: reports each SQS record it got to a queue; a body "fail" is reported back as a batch item failure,
a body "raise" makes the whole invocation fail; a body "slow" takes a quarter of a second."""

from __future__ import annotations

import json
import os
import time
from typing import Any

import boto3


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    failures = []
    for record in event["Records"]:
        body = record["body"]
        if body == "raise":
            raise RuntimeError("asked to raise")
        if body == "slow":
            time.sleep(0.25)
        report = {"record": record, "started": time.monotonic()}
        boto3.client("sqs").send_message(QueueUrl=os.environ["SEEN_QUEUE_URL"], MessageBody=json.dumps(report))
        if body == "fail":
            failures.append({"itemIdentifier": record["messageId"]})
    return {"batchItemFailures": failures}
