"""The composition root: builds the warden once per container (clients, caches and idempotency reused)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

from warden.settings import Settings

if TYPE_CHECKING:
    import boto3
    from mypy_boto3_dynamodb import DynamoDBClient

    from warden.adapters.idempotency import PowertoolsIdempotency
    from warden.service import Warden

# A processed event is remembered for a day: CloudTrail re-deliveries and EventBridge retries arrive well within it.
IDEMPOTENCY_SECONDS = 24 * 3600


@dataclass(frozen=True)
class _Aws:
    settings: Settings
    session: boto3.session.Session
    dynamodb: DynamoDBClient


@cache
def build_warden() -> Warden:
    """The service with its AWS adapters. Nothing touches AWS at import time; boto3 loads here, on first use."""
    from warden.adapters import aws
    from warden.adapters.alerts import SnsAlerts
    from warden.adapters.clock import HttpClock, SystemClock
    from warden.adapters.documents import SsmSessionDocuments
    from warden.adapters.grants import DynamoGrantStore
    from warden.adapters.ledger import DynamoLedger
    from warden.adapters.notices import SsmSessionNotices
    from warden.adapters.once import DynamoOnceStore
    from warden.adapters.policy_source import ParameterPolicySource
    from warden.adapters.roles import IamIssuerRoles
    from warden.adapters.sessions import SsmSessions
    from warden.adapters.state import DynamoState
    from warden.adapters.tags import AwsTargetTags
    from warden.alerts import AlertContext
    from warden.notifier import Notifier, PolicyMissingAlerts, PolicyRejectedAlerts
    from warden.service import assemble

    shared = _aws()
    settings, session, dynamodb = shared.settings, shared.session, shared.dynamodb
    ssm = aws.lazy_client(session, "ssm")
    clock = HttpClock(settings.clock_url) if settings.clock_url else SystemClock()
    context = AlertContext(stack=settings.stack_name, region=settings.region, account=_account(settings))
    alerts = SnsAlerts(aws.lazy_client(session, "sns"), settings.alerts_topic_arn)
    once = DynamoOnceStore(dynamodb, settings.idempotency_table, clock)
    state = DynamoState(dynamodb, settings.state_table, clock)
    policy_notifier = Notifier(alerts, once, state)
    ledger = DynamoLedger(dynamodb, settings.ledger_table, retention_days=settings.ledger_retention_days)
    on_reject = PolicyRejectedAlerts(policy_notifier, context, settings.policy_parameter)
    on_missing = PolicyMissingAlerts(policy_notifier, context, settings.policy_parameter)
    return assemble(
        clock=clock,
        tags=AwsTargetTags(aws.lazy_client(session, "ec2"), ssm),
        policies=ParameterPolicySource(
            ssm,
            settings.policy_parameter,
            max_age=settings.policy_cache_seconds,
            on_reject=on_reject,
            on_missing=on_missing,
            copy=state,
            clock=clock,
        ),
        grants=DynamoGrantStore(dynamodb, settings.grants_table),
        ledger=ledger,
        # Termination has its own retry-and-confirm loop with a time budget: botocore retries less under it.
        sessions=SsmSessions(aws.lazy_client(session, "ssm", max_attempts=3)),
        alerts=alerts,
        once=once,
        context=context,
        roles=IamIssuerRoles(aws.lazy_client(session, "iam")),
        documents=SsmSessionDocuments(ssm, account=context.account, clock=clock),
        run_once=build_idempotency(),
        outbox=state,
        liveness=state,
        notices=SsmSessionNotices(ssm, settings.warning_document) if settings.warning_document else None,
        warning_records=ledger,
    )


@cache
def build_idempotency() -> PowertoolsIdempotency:
    """The event path's "once per event" guard; the session-start handler registers its Lambda context on it."""
    from warden.adapters.idempotency import PowertoolsIdempotency

    shared = _aws()
    return PowertoolsIdempotency(
        shared.dynamodb, shared.settings.idempotency_table, expires_after_seconds=IDEMPOTENCY_SECONDS
    )


@cache
def _aws() -> _Aws:
    from warden.adapters import aws

    settings = Settings.from_env()
    session = aws.new_session(region=settings.region)
    return _Aws(settings=settings, session=session, dynamodb=aws.lazy_client(session, "dynamodb"))


def reset() -> None:
    """Forget the built warden (tests and the local cloud change the environment between invocations)."""
    build_warden.cache_clear()
    build_idempotency.cache_clear()
    _aws.cache_clear()


def _account(settings: Settings) -> str | None:
    parts = settings.alerts_topic_arn.split(":")
    return parts[4] if len(parts) > 4 and parts[4] else None
