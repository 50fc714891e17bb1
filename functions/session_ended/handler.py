"""session-end function: close the ledger row of a session ended with TerminateSession."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from warden.event_scope import scope_of
from warden.handling import SESSION_ID_PATH, parse_event
from warden.observability import logger, metrics, tracer
from warden.wiring import build_organization, build_settings, build_warden


@logger.inject_lambda_context(correlation_id_path=SESSION_ID_PATH)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    call = parse_event(event, expected=("TerminateSession",))
    scope = scope_of(event, build_settings(), build_organization())
    return build_warden(scope).events.on_session_ended(call).to_dict()
