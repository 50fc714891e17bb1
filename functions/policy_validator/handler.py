"""policy-validator function: AppConfig runs it before a policy version is deployed; raising refuses the version."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from warden.observability import logger
from warden.validator import validate_version


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    summary = validate_version(event)  # PolicyRefused propagates: AppConfig shows its message and deploys nothing
    logger.info("policy version validated", extra={"summary": summary})
    return {"valid": True, "summary": summary}
