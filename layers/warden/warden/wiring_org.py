"""The composition root, organization mode: sessions in member accounts, the organization's directory, the coverage
of one account and region (and of the account and region a canary event came from), and the sweeper's dispatcher.

The sweep worker is built in warden.wiring, beside the per-scope warden it sweeps with.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache, lru_cache
from typing import TYPE_CHECKING, Any

from warden.scope import Scope
from warden.settings import SettingsError
from warden.wiring_shared import build_settings, shared_aws, shared_central, topic_account

if TYPE_CHECKING:
    from warden.adapters.forward_rules import CentralRules
    from warden.adapters.member import MemberSessions
    from warden.adapters.organization import OrgDirectory
    from warden.coverage import Coverage
    from warden.fanout import Dispatcher
    from warden.scope_liveness import ScopeWatch


@cache
def build_members() -> MemberSessions:
    """Sessions in the organization's accounts (organization mode): the member role, assumed and renewed."""
    from warden.adapters.member import MemberSessions

    shared = shared_aws()
    settings = shared.settings
    return MemberSessions(
        shared.session,
        settings.member_role_name,
        shared_central().clock,
        central_account=topic_account(settings),
        endpoint_url=settings.endpoint_url,
    )


@cache
def build_organization() -> OrgDirectory:
    """The organization's accounts and OU paths (AWS Organizations, read by the central account, cached)."""
    from warden.adapters import aws
    from warden.adapters.organization import OrgDirectory

    return OrgDirectory(aws.LazyClient(shared_aws().session, "organizations", None), shared_central().clock)


def scoped_canary(event: Mapping[str, Any]) -> Coverage | None:
    """The coverage of the account and region a canary event came from; None when the warden does not cover it."""
    from warden.errors import RejectedEvent
    from warden.event_scope import scope_of

    try:
        scope = scope_of(event, build_settings(), build_organization())
    except RejectedEvent:
        return None
    return None if scope is None else build_coverage(scope)


@cache
def build_central_rules() -> CentralRules:
    """The central bus's rules (``<stack>-org-*``): what every member's forward rule must carry; read and kept."""
    from warden.adapters import aws
    from warden.adapters.forward_rules import CentralRules
    from warden.wiring_owned import owned_resources

    shared = shared_aws()
    stack = shared.settings.stack_name
    prefix = f"{stack}-org-"
    owned = frozenset(name for name in owned_resources(shared.settings).rules if name.startswith(prefix))
    return CentralRules(
        aws.client(shared.session, "events"), f"{stack}-central", prefix, shared_central().clock, names=owned or None
    )


@lru_cache(maxsize=512)
def build_coverage(scope: Scope) -> Coverage:
    """Organization mode: the coverage of one account and region (its canary item, alerts, member-role reads)."""
    from warden.adapters import aws
    from warden.adapters.forward_rules import EventsForwardRule
    from warden.adapters.member import partition
    from warden.adapters.once import DynamoOnceStore
    from warden.adapters.state import DynamoState
    from warden.adapters.trails import TrailStatus
    from warden.adapters.watch import SsmWatchReads
    from warden.alerts.text import AlertContext
    from warden.coverage import Coverage, Forwarding
    from warden.notifier import Notifier

    shared, central, members = shared_aws(), shared_central(), build_members()
    settings, dynamodb, clock = shared.settings, shared.dynamodb, central.clock
    stack, central_account = settings.stack_name, topic_account(settings) or ""
    rule_name = f"{stack}-forward"
    # Members forward straight to the central bus in the home region; the central account's home region has no
    # forward rule (the central stack's own rules watch it).
    forwarding = (
        None
        if members.is_central(scope) and scope.region == settings.region
        else Forwarding(
            rule_name=rule_name,
            central_bus_arn=f"arn:{partition(settings.region)}:events:{settings.region}:{central_account}:"
            f"event-bus/{stack}-central",
            needed=build_central_rules(),
            reader=lambda: EventsForwardRule(aws.client(members.session(scope), "events"), rule_name),
            central_only=_central_only(settings.warning_document, settings.region, central_account),
        )
    )
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
        forwarding=forwarding,
    )


def _central_only(document: str | None, region: str, account: str) -> frozenset[str]:
    """The central stack's warning document (its name and ARN), which the central tamper rule names: only the
    central account has it, so no member's forward rule need carry its events."""
    from warden.adapters.member import partition

    if not document:
        return frozenset()
    return frozenset({document, f"arn:{partition(region)}:ssm:{region}:{account}:document/{document}"})


@cache
def build_dispatcher() -> Dispatcher:
    """Organization mode, the scheduled sweeper: sweep orders for every account and region to the sweep queue."""
    import time

    from warden.adapters import aws
    from warden.adapters.sweep_queue import ManagementAccount, SqsSweepQueue
    from warden.fanout import Dispatcher

    shared = shared_aws()
    settings = shared.settings
    if not settings.sweep_queue_url:
        raise SettingsError("organization mode: WARDEN_SWEEP_QUEUE_URL is not set (the sweeper's queue of sweeps)")
    central = topic_account(settings)
    if central is None:
        raise SettingsError("WARDEN_ALERTS_TOPIC_ARN names no account: the central account is unknown")
    return Dispatcher(
        clock=shared_central().clock,
        directory=build_organization(),
        queue=SqsSweepQueue(aws.client(shared.session, "sqs"), settings.sweep_queue_url),
        central_account=central,
        regions=settings.guarded_regions or (settings.region,),
        management_account=ManagementAccount(aws.client(shared.session, "organizations")),
        sleep=time.sleep,
    )


@cache
def build_scope_watch() -> ScopeWatch:
    """Organization mode, the scheduled sweeper: every scope's sweeps judged each minute, alerted once when stopped."""
    from warden.adapters.scope_beats import DynamoScopeBeats
    from warden.alerts.text import AlertContext
    from warden.notifier import Notifier
    from warden.scope_liveness import ScopeWatch

    shared, central = shared_aws(), shared_central()
    settings = shared.settings
    return ScopeWatch(
        clock=central.clock,
        beats=DynamoScopeBeats(shared.dynamodb, settings.state_table),
        notifier=Notifier(central.alerts, central.once, central.state),
        directory=build_organization(),
        context_of=lambda scope: AlertContext(stack=settings.stack_name, region=scope.region, account=scope.account),
        stack=settings.stack_name,
    )
