"""The composition root: builds the warden once per container (clients, caches and idempotency reused)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import TYPE_CHECKING, Any

from warden.scope import Scope
from warden.settings import Settings, SettingsError

if TYPE_CHECKING:
    import boto3
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_ssm import SSMClient

    from warden.adapters.idempotency import PowertoolsIdempotency
    from warden.adapters.member import MemberSessions
    from warden.adapters.organization import OrgDirectory
    from warden.adapters.state import DynamoState
    from warden.alerts.text import AlertContext
    from warden.coverage import Coverage
    from warden.fanout import Dispatcher, SweepWorker
    from warden.notifier import Notifier
    from warden.ports import Alerts, Clock, GrantStore, OnceStore, Organization, PolicySource
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


def build_warden(scope: Scope | None = None) -> Warden:
    """The service with its AWS adapters for *scope*; built once per scope and container.

    None (or a scope that is not an organization's): the function's own account and region, exactly as in
    single-account mode. An organization scope decides in that account and region: tags, sessions, IAM paths,
    documents, termination and the canary through the member role there (the function's own credentials in the
    central account); the policy, grants, alerts, outbox and idempotency are the central account's, shared by
    every scope. Nothing touches AWS at import time; boto3 loads here, on first use.
    """
    return _build_warden(scope if scope is not None and scope.org else None)


@lru_cache(maxsize=512)  # one per account and region: 512 is far more than one container ever serves
def _build_warden(scope: Scope | None) -> Warden:
    from warden.adapters import aws
    from warden.adapters.documents import SsmSessionDocuments
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

    shared, central = _aws(), _central()
    settings, dynamodb, clock = shared.settings, shared.dynamodb, central.clock
    if scope is None:
        session, context, once, state = shared.session, central.context, central.once, central.state
        home = True
        organization: Organization | None = None
        callers: frozenset[str] = frozenset()
    else:
        members = build_members()
        session = members.session(scope)  # MemberUnreachable: the event is retried, the sweep of this scope fails
        context = AlertContext(stack=settings.stack_name, region=scope.region, account=scope.account)
        once = DynamoOnceStore(dynamodb, settings.idempotency_table, clock, scope=scope)
        state = DynamoState(dynamodb, settings.state_table, clock, scope=scope)
        # The warning document is the stack's: it exists in the central account's home region only.
        home = members.is_central(scope) and scope.region == settings.region
        organization = build_organization()
        callers = (
            frozenset() if members.is_central(scope) else frozenset({members.caller_arn(scope.account, scope.region)})
        )
    ssm = aws.lazy_client(session, "ssm")
    ledger = DynamoLedger(dynamodb, settings.ledger_table, retention_days=settings.ledger_retention_days, scope=scope)
    canary = None
    if settings.canary_parameter:
        from warden.adapters.watch import SsmCanaryWriter
        from warden.watch import Canary

        canary = Canary(
            clock=clock,
            parameter=settings.canary_parameter,
            writer=SsmCanaryWriter(ssm),
            records=state,
            notifier=Notifier(central.alerts, once, state),
            context=context,
            report=None if scope is None else build_coverage(scope),
        )
    notices = SsmSessionNotices(ssm, settings.warning_document) if settings.warning_document and home else None
    return assemble(
        clock=clock,
        tags=AwsTargetTags(aws.lazy_client(session, "ec2"), ssm),
        policies=central.policies,
        grants=central.grants,
        ledger=ledger,
        # Termination has its own retry-and-confirm loop with a time budget: botocore retries less under it.
        sessions=SsmSessions(aws.lazy_client(session, "ssm", max_attempts=3)),
        alerts=central.alerts,
        once=once,
        context=context,
        roles=IamIssuerRoles(aws.lazy_client(session, "iam")),
        documents=SsmSessionDocuments(ssm, account=context.account, clock=clock),
        run_once=build_idempotency(),
        outbox=state,
        liveness=state,
        notices=notices,
        warning_records=ledger,
        canary=canary,
        organization=organization,
        warden_callers=callers,
    )


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
def _central() -> _Central:
    from warden.adapters import aws
    from warden.adapters.alerts import SnsAlerts
    from warden.adapters.clock import HttpClock, SystemClock
    from warden.adapters.grants import DynamoGrantStore
    from warden.adapters.once import DynamoOnceStore
    from warden.adapters.state import DynamoState
    from warden.alerts.text import AlertContext
    from warden.notifier import Notifier

    shared = _aws()
    settings, session, dynamodb = shared.settings, shared.session, shared.dynamodb
    clock = HttpClock(settings.clock_url) if settings.clock_url else SystemClock()
    context = AlertContext(stack=settings.stack_name, region=settings.region, account=_account(settings))
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


@cache
def build_members() -> MemberSessions:
    """Sessions in the organization's accounts (organization mode): the member role, assumed and renewed."""
    from warden.adapters.member import MemberSessions

    shared = _aws()
    settings = shared.settings
    return MemberSessions(
        shared.session,
        settings.member_role_name,
        _central().clock,
        central_account=_account(settings),
        endpoint_url=settings.endpoint_url,
    )


@cache
def build_organization() -> OrgDirectory:
    """The organization's accounts and OU paths (AWS Organizations, read by the central account, cached)."""
    from warden.adapters import aws
    from warden.adapters.organization import OrgDirectory

    return OrgDirectory(aws.LazyClient(_aws().session, "organizations", None), _central().clock)


def build_settings() -> Settings:
    """The settings read once per container (what the handlers need to scope an event)."""
    return _aws().settings


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
        scoped=_scoped_canary if settings.org else None,
    )


def _scoped_canary(event: Mapping[str, Any]) -> Coverage | None:
    """The coverage of the account and region a canary event came from; None when the warden does not cover it."""
    from warden.errors import RejectedEvent
    from warden.event_scope import scope_of

    try:
        scope = scope_of(event, build_settings(), build_organization())
    except RejectedEvent:
        return None
    return None if scope is None else build_coverage(scope)


@lru_cache(maxsize=512)
def build_coverage(scope: Scope) -> Coverage:
    """Organization mode: the coverage of one account and region (its canary item, alerts, member-role reads)."""
    from warden.adapters import aws
    from warden.adapters.once import DynamoOnceStore
    from warden.adapters.state import DynamoState
    from warden.adapters.trails import TrailStatus
    from warden.adapters.watch import SsmWatchReads
    from warden.alerts.text import AlertContext
    from warden.coverage import Coverage
    from warden.notifier import Notifier

    shared, central, members = _aws(), _central(), build_members()
    settings, dynamodb, clock = shared.settings, shared.dynamodb, central.clock
    state = DynamoState(dynamodb, settings.state_table, clock, scope=scope)
    once = DynamoOnceStore(dynamodb, settings.idempotency_table, clock, scope=scope)
    return Coverage(
        scope=scope,
        stack=settings.stack_name,
        role_arn=members.role_arn(scope.account, scope.region),
        clock=clock,
        directory=build_organization(),
        records=state,
        notifier=Notifier(central.alerts, once, state),
        context=AlertContext(stack=settings.stack_name, region=scope.region, account=scope.account),
        parameter=settings.canary_parameter or f"/session-warden/{settings.stack_name}/canary",
        trails=lambda: TrailStatus(aws.client(members.session(scope), "cloudtrail"), scope.region),
        member_reads=lambda: SsmWatchReads(aws.client(members.session(scope), "ssm")),
    )


@cache
def build_dispatcher() -> Dispatcher:
    """Organization mode, the scheduled sweeper: sweep orders for every account and region to the sweep queue."""
    import time

    from warden.adapters import aws
    from warden.adapters.sweep_queue import ManagementAccount, SqsSweepQueue
    from warden.fanout import Dispatcher

    shared = _aws()
    settings = shared.settings
    if not settings.sweep_queue_url:
        raise SettingsError("organization mode: WARDEN_SWEEP_QUEUE_URL is not set (the sweeper's queue of sweeps)")
    central = _account(settings)
    if central is None:
        raise SettingsError("WARDEN_ALERTS_TOPIC_ARN names no account: the central account is unknown")
    return Dispatcher(
        clock=_central().clock,
        directory=build_organization(),
        queue=SqsSweepQueue(aws.client(shared.session, "sqs"), settings.sweep_queue_url),
        central_account=central,
        regions=settings.guarded_regions or (settings.region,),
        management_account=ManagementAccount(aws.client(shared.session, "organizations")),
        sleep=time.sleep,
    )


@cache
def build_sweep_worker() -> SweepWorker:
    """Organization mode, the sweep worker: one scope swept per order; unreadable orders to the sweep DLQ."""
    from warden.adapters import aws
    from warden.adapters.sweep_queue import ManagementAccount, SqsDeadLetters
    from warden.fanout import SweepWorker, refusal

    shared = _aws()
    settings = shared.settings
    if not settings.sweep_dead_letter_url:
        raise SettingsError("WARDEN_SWEEP_DLQ_URL is not set (where the sweep worker keeps unreadable orders)")
    central, management = _account(settings) or "", ManagementAccount(aws.client(shared.session, "organizations"))
    return SweepWorker(
        sweeper_of=lambda scope: build_warden(scope).sweeper,
        coverage_of=build_coverage,
        dead_letters=SqsDeadLetters(aws.client(shared.session, "sqs"), settings.sweep_dead_letter_url),
        regions=settings.guarded_regions or (settings.region,),
        refuses=lambda account: refusal(
            account, directory=build_organization(), central=central, management=management
        ),
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
    if settings.org:
        members = "for every member account"
        rules |= {
            f"{stack}-org-session-started": (f"central session-start rule ({members})", late),
            f"{stack}-org-session-ended-by-user": (f"central session-end rule, users ({members})", ended),
            f"{stack}-org-session-ended-by-role": (f"central session-end rule, roles ({members})", ended),
            f"{stack}-org-tamper-watch": (
                f"central tamper-watch rule ({members})",
                "changes in member accounts go unreported (their canaries still run)",
            ),
            f"{stack}-org-canary": (
                f"central canary rule ({members})",
                "no member's canary comes back: every member account is reported not covered within 10 minutes",
            ),
            f"{stack}-forward": (
                "member forward rule",
                "that account's session calls and tamper events no longer reach the central warden: its sessions "
                "are judged by the sweeper only, up to 3 minutes late, and its canary stops (account not covered "
                "within 10 minutes)",
            ),
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
    _build_warden.cache_clear()
    _central.cache_clear()
    build_members.cache_clear()
    build_organization.cache_clear()
    build_idempotency.cache_clear()
    build_tamper_watch.cache_clear()
    build_coverage.cache_clear()
    build_dispatcher.cache_clear()
    build_sweep_worker.cache_clear()
    _aws.cache_clear()


def _account(settings: Settings) -> str | None:
    parts = settings.alerts_topic_arn.split(":")
    return parts[4] if len(parts) > 4 and parts[4] else None
