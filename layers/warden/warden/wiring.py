"""The composition root: builds the warden once per container (clients, caches and idempotency reused)."""

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
    from warden.ports import Clock, PolicySource
    from warden.service import Warden
    from warden.tamper import Owned
    from warden.watch import TamperWatch

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
    from warden.adapters.roles import IamIssuerRoles
    from warden.adapters.sessions import SsmSessions
    from warden.adapters.state import DynamoState
    from warden.adapters.tags import AwsTargetTags
    from warden.alerts.text import AlertContext
    from warden.notifier import Notifier
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
    policies = _policy_source(settings, session, ssm, state, PolicySourceParts(policy_notifier, context, clock))
    canary = None
    if settings.canary_parameter:
        from warden.adapters.watch import SsmCanaryWriter
        from warden.watch import Canary

        canary = Canary(
            clock=clock,
            parameter=settings.canary_parameter,
            writer=SsmCanaryWriter(ssm),
            records=state,
            notifier=policy_notifier,
            context=context,
        )
    return assemble(
        clock=clock,
        tags=AwsTargetTags(aws.lazy_client(session, "ec2"), ssm),
        policies=policies,
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
        canary=canary,
    )


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
def build_tamper_watch() -> TamperWatch:
    """The tamper-watch function's service: its own reads, the state table, alerts once per CloudTrail event."""
    from warden.adapters import aws
    from warden.adapters.alerts import SnsAlerts
    from warden.adapters.clock import HttpClock, SystemClock
    from warden.adapters.once import DynamoOnceStore
    from warden.adapters.state import DynamoState
    from warden.adapters.watch import SsmWatchReads
    from warden.alerts.text import AlertContext
    from warden.notifier import Notifier
    from warden.watch import TamperWatch

    shared = _aws()
    settings, session, dynamodb = shared.settings, shared.session, shared.dynamodb
    clock = HttpClock(settings.clock_url) if settings.clock_url else SystemClock()
    context = AlertContext(stack=settings.stack_name, region=settings.region, account=_account(settings))
    state = DynamoState(dynamodb, settings.state_table, clock)
    notifier = Notifier(
        SnsAlerts(aws.lazy_client(session, "sns"), settings.alerts_topic_arn),
        DynamoOnceStore(dynamodb, settings.idempotency_table, clock),
        state,
    )
    return TamperWatch(
        clock=clock,
        owned=owned_resources(settings),
        reads=SsmWatchReads(
            aws.lazy_client(session, "ssm"),
            aws.client(session, "appconfig") if settings.policy_in_appconfig else None,
        ),
        records=state,
        notifier=notifier,
        context=context,
    )


def owned_resources(settings: Settings) -> Owned:
    """The warden's rules (their names are fixed in template.yaml), functions, tables and parameters."""
    from warden.tamper import Owned

    stack = settings.stack_name
    late = "new sessions are checked only by the sweeper, up to a minute late"
    ended = "sessions ended with TerminateSession stay open in the ledger until the sweeper closes them"
    unswept = (
        "open sessions are no longer re-checked, grants do not expire and the canary stops "
        "(the heartbeat alarm fires within 3 minutes)"
    )
    unwatched = "changes to the warden go unreported and the canary never comes back"
    rules = {
        f"{stack}-session-started": ("session-start rule", late),
        f"{stack}-session-ended-by-user": ("session-end rule (users)", ended),
        f"{stack}-session-ended-by-role": ("session-end rule (roles)", ended),
        f"{stack}-sweep-every-minute": ("sweep schedule", unswept),
        f"{stack}-tamper-watch": ("tamper-watch rule", "changes to the warden go unreported (the canary still runs)"),
        f"{stack}-canary": ("canary rule", "the event path is no longer tested: event path blind within 10 minutes"),
    }
    roles = {
        "session-start": ("session-start function", late),
        "session-end": ("session-end function", ended),
        "sweeper": ("sweeper function", unswept),
        "tamper-watch": ("tamper-watch function", unwatched),
    }
    functions: dict[str, tuple[str, str]] = {}
    named = [pair.split("=", 1) for pair in settings.watched_functions.split(",") if "=" in pair]
    if settings.function_name:
        named.append(["tamper-watch", settings.function_name])
    for role, name in named:
        if role.strip() in roles and name.strip():
            functions[name.strip()] = roles[role.strip()]
    tables = {
        settings.grants_table: "grants",
        settings.ledger_table: "session ledger",
        settings.idempotency_table: "idempotency and sweeper lease",
        settings.state_table: "warden state (policy copy, alert outbox, heartbeat, canary)",
    }
    return Owned(
        stack=stack,
        rules={name: what for name, (what, _) in rules.items()},
        functions={name: what for name, (what, _) in functions.items()},
        tables=tables,
        policy_parameter=settings.policy_parameter,
        canary_parameter=settings.canary_parameter,
        warning_document=settings.warning_document,
        region=settings.region,
        account=_account(settings),
        consequences={name: then for name, (_, then) in [*rules.items(), *functions.items()]},
        policy_application=settings.policy_application,
        policy_profile=settings.policy_profile,
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
    build_tamper_watch.cache_clear()
    _aws.cache_clear()


def _account(settings: Settings) -> str | None:
    parts = settings.alerts_topic_arn.split(":")
    return parts[4] if len(parts) > 4 and parts[4] else None
