"""session-start function: decide every StartSession / ResumeSession CloudTrail event."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from warden.handling import SESSION_ID_PATH, parse_event
from warden.observability import logger, metrics, tracer
from warden.wiring import build_warden, register_context


@logger.inject_lambda_context(correlation_id_path=SESSION_ID_PATH)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    call = parse_event(event, expected=("StartSession", "ResumeSession"))
    register_context(context)
    return build_warden().on_session_started(call).to_dict()
