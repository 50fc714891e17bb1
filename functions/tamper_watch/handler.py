"""tamper-watch function: alert on each change to what the warden depends on; note the canary's round trips."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from warden.observability import logger, metrics, tracer
from warden.wiring import build_tamper_watch


@logger.inject_lambda_context(correlation_id_path="detail.eventID")
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return build_tamper_watch().handle(event)
