"""sweeper function: every minute, re-decide every open session against the policy, tags, grants and clock.

In organization mode it does the organization's own part (grant expiry, the alert outbox, the policy), sends
one sweep order per account and region to the sweep queue (see :mod:`warden.fanout`), which the sweep workers sweep,
and alerts each account and region whose sweeps have stopped (:mod:`warden.scope_liveness`). A scope that could not
be sent fails this invocation, so the schedule's failure alarm and DLQ see it.
"""

from __future__ import annotations

import time
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from warden.observability import logger, metrics, milliseconds, tracer
from warden.wiring import build_org_round, build_settings, build_warden


@logger.inject_lambda_context(correlation_id_path="id")
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    started = time.monotonic()  # wall time, not the clock port: this measures the sweep, it decides nothing
    # The lease owner is this invocation: a retry of the same scheduled event may take its own lease over.
    owner = str(event.get("id") or context.aws_request_id)
    if not build_settings().org:
        report = build_warden().sweeper.sweep(owner=owner)
        if not report.skipped:
            milliseconds("SweepDuration", (time.monotonic() - started) * 1000)
        return report.to_dict()
    # The orders go out whatever the organization-wide part found, and every scope's sweeps are judged (see OrgRound).
    return build_org_round().run(owner=owner)
