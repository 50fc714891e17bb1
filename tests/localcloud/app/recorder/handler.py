"""Test function: reports what it received, and what its environment looks like, to an SQS queue."""

from __future__ import annotations

import json
import os
import urllib.request
from typing import Any

import boto3
from shape import describe  # a sibling module: the function's directory is on sys.path, as in Lambda


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    print(f"recorder got {describe(event)}")
    reason = (event.get("detail") or {}).get("requestParameters", {}).get("reason")
    if reason == "please fail":
        raise RuntimeError("asked to fail")
    with urllib.request.urlopen(os.environ["WARDEN_CLOCK_URL"]) as response:
        clock = json.loads(response.read())["now"]
    identity = boto3.client("sts").get_caller_identity()["Arn"]
    report = {
        "event": event,
        "clock": clock,
        "identity": identity,
        "function_name": context.function_name,
        "request_id": context.aws_request_id,
        "remaining_ms": context.get_remaining_time_in_millis(),
        "greeting": os.environ.get("GREETING"),
        "cache_seconds": os.environ.get("WARDEN_POLICY_CACHE_SECONDS"),
        "tracing_disabled": os.environ.get("POWERTOOLS_TRACE_DISABLED"),
    }
    boto3.client("sqs").send_message(QueueUrl=os.environ["SEEN_QUEUE_URL"], MessageBody=json.dumps(report))
    return {"ok": True}
