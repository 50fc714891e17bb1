"""sweeper function: every minute, re-decide every open session against the policy, tags, grants and clock."""

from __future__ import annotations

import time
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from warden.observability import logger, metrics, milliseconds, tracer
from warden.wiring import build_warden


@logger.inject_lambda_context(correlation_id_path="id")
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    sweeper = build_warden().sweeper
    started = time.monotonic()  # wall time, not the clock port: this measures the sweep, it decides nothing
    # The lease owner is this invocation: a retry of the same scheduled event may take its own lease over.
    report = sweeper.sweep(owner=str(event.get("id") or context.aws_request_id))
    if not report.skipped:
        milliseconds("SweepDuration", (time.monotonic() - started) * 1000)
    return report.to_dict()
