"""The composition root: builds the warden once per container (clients, caches and idempotency reused)."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import TYPE_CHECKING, Any

from warden.settings import Settings

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer, IdempotencyConfig
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from warden.policy import PolicyError
    from warden.service import Warden

# A processed event is remembered for a day: CloudTrail re-deliveries and EventBridge retries arrive well within it.
IDEMPOTENCY_SECONDS = 24 * 3600


@cache
def build_warden() -> Warden:
    """The service with its AWS adapters. Nothing touches AWS at import time; boto3 loads here, on first use."""
    from warden.adapters import aws
    from warden.adapters.alerts import SnsAlerts
    from warden.adapters.clock import HttpClock, SystemClock
    from warden.adapters.grants import DynamoGrantStore
    from warden.adapters.ledger import DynamoLedger
    from warden.adapters.once import DynamoOnceStore
    from warden.adapters.policy_source import ParameterPolicySource
    from warden.adapters.sessions import SsmSessions
    from warden.adapters.tags import AwsTargetTags
    from warden.alerts import AlertContext, policy_rejected_alert
    from warden.observability import count, logger
    from warden.service import Warden

    settings = Settings.from_env()
    session = aws.new_session(region=settings.region)
    ssm, dynamodb = aws.lazy_client(session, "ssm"), aws.lazy_client(session, "dynamodb")
    clock = HttpClock(settings.clock_url) if settings.clock_url else SystemClock()
    context = AlertContext(stack=settings.stack_name, region=settings.region, account=_account(settings))
    alerts = SnsAlerts(aws.lazy_client(session, "sns"), settings.alerts_topic_arn)
    once = DynamoOnceStore(dynamodb, settings.idempotency_table, clock)

    def on_reject(digest: str, error: PolicyError, in_force: str) -> None:
        count("PolicyRejected")
        logger.error("stored policy rejected", extra={"problem": str(error), "in_force": in_force})
        key = f"policy-rejected#{digest}"
        if once.first(key, ttl_seconds=7 * 24 * 3600):
            try:
                alerts.publish(
                    policy_rejected_alert(
                        context, parameter=settings.policy_parameter, error=str(error), in_force=in_force
                    )
                )
            except Exception:
                # Enforcement goes on with the last valid policy; the next invocation that reads the bad
                # document sends the alert again.
                once.release(key, "-")
                count("AlertFailed")
                logger.exception("policy rejected alert could not be sent")

    persistence: list[DynamoDBPersistenceLayer] = []

    def run_once(key: str, action: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        # Powertools Idempotency loads on the first enforcement: the allowed path never needs it.
        from aws_lambda_powertools.utilities.idempotency import (
            DynamoDBPersistenceLayer,
            IdempotencyConfig,
            idempotent_function,
        )

        if not persistence:
            persistence.append(DynamoDBPersistenceLayer(table_name=settings.idempotency_table, boto3_client=dynamodb))
        config = _idempotency_config(IdempotencyConfig)
        if _invocation:
            config.register_lambda_context(_invocation[0])

        def enforce(request: dict[str, str]) -> dict[str, Any]:
            return action()

        guarded = idempotent_function(
            enforce, data_keyword_argument="request", persistence_store=persistence[0], config=config
        )
        result: dict[str, Any] = guarded(request={"event_id": key})
        return result

    return Warden(
        clock=clock,
        tags=AwsTargetTags(aws.lazy_client(session, "ec2"), ssm),
        policies=ParameterPolicySource(
            ssm, settings.policy_parameter, max_age=settings.policy_cache_seconds, on_reject=on_reject
        ),
        grants=DynamoGrantStore(dynamodb, settings.grants_table),
        ledger=DynamoLedger(dynamodb, settings.ledger_table, retention_days=settings.ledger_retention_days),
        # Termination has its own retry-and-confirm loop with a time budget: botocore retries less under it.
        sessions=SsmSessions(aws.lazy_client(session, "ssm", max_attempts=3)),
        alerts=alerts,
        once=once,
        context=context,
        run_once=run_once,
    )


@cache
def _idempotency_config(factory: type[IdempotencyConfig]) -> IdempotencyConfig:
    return factory(event_key_jmespath="event_id", expires_after_seconds=IDEMPOTENCY_SECONDS)


_invocation: list[LambdaContext] = []


def register_context(context: LambdaContext) -> None:
    """Remember this invocation, so Idempotency can expire an in-progress record if it times out."""
    _invocation[:] = [context]


def reset() -> None:
    """Forget the built warden (tests and the local cloud change the environment between invocations)."""
    build_warden.cache_clear()
    _idempotency_config.cache_clear()
    _invocation.clear()


def _account(settings: Settings) -> str | None:
    parts = settings.alerts_topic_arn.split(":")
    return parts[4] if len(parts) > 4 and parts[4] else None
