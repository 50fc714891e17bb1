"""sweeper function: every minute, re-decide every open session against the policy, tags, grants and clock."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from warden.observability import logger, metrics, tracer
from warden.wiring import build_warden


@logger.inject_lambda_context(correlation_id_path="id")
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    # The lease owner is this invocation: a retry of the same scheduled event may take its own lease over.
    return build_warden().sweeper.sweep(owner=str(event.get("id") or context.aws_request_id)).to_dict()
