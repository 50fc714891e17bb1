"""The composition root's shared parts: settings, the boto3 session and DynamoDB client, and what every scope shares
(the central account's clock, alerts, policy source, grants, once-markers, state and idempotency guard).

Built once per container, on first use: nothing touches AWS at import time.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

from warden.settings import Settings

if TYPE_CHECKING:
    import boto3
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_ssm import SSMClient

    from warden.adapters.idempotency import PowertoolsIdempotency
    from warden.adapters.state import DynamoState
    from warden.alerts.text import AlertContext
    from warden.notifier import Notifier
    from warden.ports import Alerts, Clock, GrantStore, OnceStore, PolicySource

# A processed event is remembered for a day: CloudTrail re-deliveries and EventBridge retries arrive well within it.
IDEMPOTENCY_SECONDS = 24 * 3600


@dataclass(frozen=True)
class _Aws:
    settings: Settings
    session: boto3.session.Session
    dynamodb: DynamoDBClient


@dataclass(frozen=True)
class _Central:
    """What every scope shares: the central account's clock, alerts, policy and grants, and the organization-wide
    once-markers and state (policy alerts are sent once for the organization, not once per account and region)."""

    clock: Clock
    context: AlertContext
    alerts: Alerts
    once: OnceStore
    state: DynamoState
    policies: PolicySource
    grants: GrantStore


@cache
def shared_central() -> _Central:
    """The central account's parts every scope shares, built once per container."""
    from warden.adapters import aws
    from warden.adapters.alerts import SnsAlerts
    from warden.adapters.clock import HttpClock, SystemClock
    from warden.adapters.grants import DynamoGrantStore
    from warden.adapters.once import DynamoOnceStore
    from warden.adapters.state import DynamoState
    from warden.alerts.text import AlertContext
    from warden.notifier import Notifier

    shared = shared_aws()
    settings, session, dynamodb = shared.settings, shared.session, shared.dynamodb
    clock = HttpClock(settings.clock_url) if settings.clock_url else SystemClock()
    context = AlertContext(stack=settings.stack_name, region=settings.region, account=topic_account(settings))
    alerts = SnsAlerts(aws.lazy_client(session, "sns"), settings.alerts_topic_arn)
    once = DynamoOnceStore(dynamodb, settings.idempotency_table, clock)
    state = DynamoState(dynamodb, settings.state_table, clock)
    policy_notifier = Notifier(alerts, once, state)
    ssm = aws.lazy_client(session, "ssm")
    return _Central(
        clock=clock,
        context=context,
        alerts=alerts,
        once=once,
        state=state,
        policies=_policy_source(settings, session, ssm, state, PolicySourceParts(policy_notifier, context, clock)),
        grants=DynamoGrantStore(dynamodb, settings.grants_table),
    )


def build_settings() -> Settings:
    """The settings read once per container (what the handlers need to scope an event)."""
    return shared_aws().settings


@dataclass(frozen=True)
class PolicySourceParts:
    """What a policy source's alerts need: where they go, the stack they name, the clock of its cache."""

    notifier: Notifier
    context: AlertContext
    clock: Clock


def _policy_source(
    settings: Settings, session: boto3.session.Session, ssm: SSMClient, state: DynamoState, parts: PolicySourceParts
) -> PolicySource:
    """The organization's AppConfig profile when the settings name one, else the stack's policy parameter; either
    keeps the last valid policy in force the same way (one PolicyKeeper)."""
    from warden.adapters import aws
    from warden.adapters.policy_source import ParameterPolicySource, PolicyKeeper
    from warden.notifier import PolicyMissingAlerts, PolicyRejectedAlerts

    if not settings.policy_in_appconfig:
        return ParameterPolicySource(
            ssm,
            settings.policy_parameter,
            max_age=settings.policy_cache_seconds,
            on_reject=PolicyRejectedAlerts(parts.notifier, parts.context, settings.policy_parameter),
            on_missing=PolicyMissingAlerts(parts.notifier, parts.context, settings.policy_parameter),
            copy=state,
            clock=parts.clock,
        )
    from warden.adapters.appconfig_source import AppConfigPolicySource

    application, environment, profile = (
        str(settings.policy_application),
        str(settings.policy_environment),
        str(settings.policy_profile),
    )
    where = f"AppConfig application {application}, environment {environment}, profile {profile}"
    keeper = PolicyKeeper(
        where,
        on_reject=PolicyRejectedAlerts(parts.notifier, parts.context, where, appconfig=True),
        on_missing=PolicyMissingAlerts(parts.notifier, parts.context, where, appconfig=True),
        copy=state,
        clock=parts.clock,
    )
    return AppConfigPolicySource(
        aws.client(session, "appconfigdata"),
        application=application,
        environment=environment,
        profile=profile,
        max_age=settings.policy_cache_seconds,
        keeper=keeper,
        clock=parts.clock,
    )


@cache
def build_idempotency() -> PowertoolsIdempotency:
    """The event path's "once per event" guard; the session-start handler registers its Lambda context on it."""
    from warden.adapters.idempotency import PowertoolsIdempotency

    shared = shared_aws()
    return PowertoolsIdempotency(
        shared.dynamodb, shared.settings.idempotency_table, expires_after_seconds=IDEMPOTENCY_SECONDS
    )


@cache
def shared_aws() -> _Aws:
    """The settings, the boto3 session and the DynamoDB client, built once per container (boto3 loads here)."""
    from warden.adapters import aws

    settings = Settings.from_env()
    session = aws.new_session(region=settings.region)
    return _Aws(settings=settings, session=session, dynamodb=aws.lazy_client(session, "dynamodb"))


def topic_account(settings: Settings) -> str | None:
    """The central account: the one the alerts topic is in (None when its ARN names none)."""
    parts = settings.alerts_topic_arn.split(":")
    return parts[4] if len(parts) > 4 and parts[4] else None
