"""The composition root: builds the warden once per container (clients, caches and idempotency reused).

This module builds the deciding service for a scope, the tamper watch and the sweep worker, and forgets them all
(reset). The shared parts are in wiring_shared, organization mode's builders in wiring_org, the tamper watch's list
of what the warden owns in wiring_owned; their names are re-exported here, where the handlers import them.
"""

from __future__ import annotations

from functools import cache, lru_cache
from typing import TYPE_CHECKING

from warden.scope import Scope
from warden.settings import SettingsError
from warden.wiring_org import (
    build_central_rules,
    build_coverage,
    build_dispatcher,
    build_members,
    build_organization,
    build_scope_watch,
    scoped_canary,
)
from warden.wiring_owned import owned_resources
from warden.wiring_shared import (
    IDEMPOTENCY_SECONDS,
    PolicySourceParts,
    build_idempotency,
    build_settings,
    shared_aws,
    shared_central,
    topic_account,
)

if TYPE_CHECKING:
    from warden.fanout import SweepWorker
    from warden.org_round import OrgRound
    from warden.ports import Organization
    from warden.service import Warden
    from warden.watch import TamperWatch

__all__ = [
    "IDEMPOTENCY_SECONDS",
    "PolicySourceParts",
    "build_coverage",
    "build_dispatcher",
    "build_idempotency",
    "build_members",
    "build_org_round",
    "build_organization",
    "build_scope_watch",
    "build_settings",
    "build_sweep_worker",
    "build_tamper_watch",
    "build_warden",
    "owned_resources",
    "reset",
]


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
    from warden.adapters.notices import SsmSessionNotices, member_document
    from warden.adapters.once import DynamoOnceStore
    from warden.adapters.roles import IamIssuerRoles
    from warden.adapters.sessions import SsmSessions
    from warden.adapters.state import DynamoState
    from warden.adapters.tags import AwsTargetTags
    from warden.alerts.text import AlertContext
    from warden.notifier import Notifier
    from warden.service import assemble

    shared, central = shared_aws(), shared_central()
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
        from warden.canary import Canary

        canary = Canary(
            clock=clock,
            parameter=settings.canary_parameter,
            writer=SsmCanaryWriter(ssm),
            records=state,
            notifier=Notifier(central.alerts, once, state),
            context=context,
            report=None if scope is None else build_coverage(scope),
        )
    # The stack's own warning document in its home region; the member stack's (or the relay stack's) elsewhere.
    document = settings.warning_document if home else member_document(settings.stack_name)
    notices = SsmSessionNotices(ssm, document) if document else None
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
        notices_missing="the function has no warning document (WARDEN_WARNING_DOCUMENT is not set)",
        warning_records=ledger,
        canary=canary,
        organization=organization,
        warden_callers=callers,
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

    shared = shared_aws()
    settings, session, dynamodb = shared.settings, shared.session, shared.dynamodb
    clock = HttpClock(settings.clock_url) if settings.clock_url else SystemClock()
    context = AlertContext(stack=settings.stack_name, region=settings.region, account=topic_account(settings))
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
        scoped=scoped_canary if settings.org else None,
    )


@cache
def build_sweep_worker() -> SweepWorker:
    """Organization mode, the sweep worker: one scope swept per order; unreadable orders to the sweep DLQ."""
    from warden.adapters import aws
    from warden.adapters.sweep_queue import ManagementAccount, SqsDeadLetters
    from warden.fanout import SweepWorker, refusal

    shared = shared_aws()
    settings = shared.settings
    if not settings.sweep_dead_letter_url:
        raise SettingsError("WARDEN_SWEEP_DLQ_URL is not set (where the sweep worker keeps unreadable orders)")
    central, management = topic_account(settings) or "", ManagementAccount(aws.client(shared.session, "organizations"))
    return SweepWorker(
        sweeper_of=lambda scope: build_warden(scope).sweeper,
        coverage_of=build_coverage,
        dead_letters=SqsDeadLetters(aws.client(shared.session, "sqs"), settings.sweep_dead_letter_url),
        regions=settings.guarded_regions or (settings.region,),
        refuses=lambda account: refusal(
            account, directory=build_organization(), central=central, management=management
        ),
    )


@cache
def build_org_round() -> OrgRound:
    """Organization mode, the scheduled sweeper's minute: the organization's part, the orders, every scope judged."""
    from warden.org_round import OrgRound

    return OrgRound(sweeper=build_warden().sweeper, dispatcher=build_dispatcher(), watch=build_scope_watch())


def reset() -> None:
    """Forget the built warden (tests and the local cloud change the environment between invocations)."""
    _build_warden.cache_clear()
    shared_central.cache_clear()
    build_members.cache_clear()
    build_organization.cache_clear()
    build_idempotency.cache_clear()
    build_tamper_watch.cache_clear()
    build_coverage.cache_clear()
    build_central_rules.cache_clear()
    build_dispatcher.cache_clear()
    build_scope_watch.cache_clear()
    build_org_round.cache_clear()
    build_sweep_worker.cache_clear()
    shared_aws.cache_clear()
