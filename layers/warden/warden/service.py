"""The service assembled from its ports: one Enforcer shared by the event path and the sweeper."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypedDict

from warden.alerts.text import AlertContext
from warden.canary import Canary
from warden.enforcer import Enforcer, OnceRunner
from warden.expiry import ExpiryWarnings
from warden.notifier import Notifier
from warden.ports import (
    Alerts,
    Clock,
    GrantStore,
    IssuerRoles,
    Ledger,
    Liveness,
    OnceStore,
    Organization,
    Outbox,
    PolicySource,
    SessionDocuments,
    SessionNotices,
    Sessions,
    TargetTags,
    WarningRecords,
)
from warden.session_events import SessionEvents
from warden.sweeper import Sweeper


class _Shared(TypedDict):
    """What the event path and the sweeper both read and act through."""

    clock: Clock
    tags: TargetTags
    policies: PolicySource
    grants: GrantStore
    ledger: Ledger
    sessions: Sessions
    enforcer: Enforcer
    documents: SessionDocuments
    roles: IssuerRoles


@dataclass(frozen=True)
class Warden:
    """The three parts a function uses: ``events`` (session-start / -end), ``sweeper``, and their enforcer."""

    events: SessionEvents
    sweeper: Sweeper
    enforcer: Enforcer


def assemble(
    *,
    clock: Clock,
    tags: TargetTags,
    policies: PolicySource,
    grants: GrantStore,
    ledger: Ledger,
    sessions: Sessions,
    alerts: Alerts,
    once: OnceStore,
    context: AlertContext,
    roles: IssuerRoles,
    documents: SessionDocuments,
    run_once: OnceRunner | None = None,
    sleep: Callable[[float], None] = time.sleep,
    outbox: Outbox | None = None,
    liveness: Liveness | None = None,
    notices: SessionNotices | None = None,
    notices_missing: str | None = None,
    warning_records: WarningRecords | None = None,
    canary: Canary | None = None,
    organization: Organization | None = None,
    warden_callers: frozenset[str] = frozenset(),
) -> Warden:
    """Wire the service to its ports (AWS adapters in Lambda, fakes in tests, the local cloud in between).

    Parameters
    ----------
    roles
        The issuer role's path of an assumed-role session owner (IAM GetRole), for the sweeper.
    documents
        What a session's document does (GetDocument), for both paths.
    run_once
        Runs an event's enforcement at most once per CloudTrail event id (Powertools Idempotency); None runs
        it every time.
    sleep
        Waits between termination attempts.
    outbox
        Keeps alerts SNS refused until a sweep sends them; None sends directly (a failed send is retried by
        the caller's retry).
    liveness
        Where the sweeper records its heartbeat and the sessions it cannot judge.
    notices, warning_records
        Where the sweeper sends the warnings before a session's deadline (SSM SendCommand) and notes them (the
        ledger); None sends none.
    notices_missing
        Why no terminal notice can be written here, when ``notices`` is None: the sweeper still alerts before each
        deadline and notes in the ledger, with this reason, that the notice was not written.
    canary
        The sweeper's canary through the event path (None: no canary).
    organization
        Organization mode: where the OU path of the scope's account comes from (for ``ou:`` rules); None in
        single-account mode.
    warden_callers
        The ARNs the warden's own calls show in the scope's account (the member role's ``session-warden``
        session): their TerminateSession events are not acted on.
    """
    notifier = Notifier(alerts, once, outbox)
    enforcer = Enforcer(
        clock=clock,
        ledger=ledger,
        sessions=sessions,
        notifier=notifier,
        context=context,
        run_once=run_once,
        sleep=sleep,
    )
    shared = _Shared(
        clock=clock,
        tags=tags,
        policies=policies,
        grants=grants,
        ledger=ledger,
        sessions=sessions,
        enforcer=enforcer,
        documents=documents,
        roles=roles,
    )
    events = SessionEvents(**shared, organization=organization, warden_callers=warden_callers)
    warnings = (
        ExpiryWarnings(notices, warning_records, once, notifier, context, unavailable=notices_missing or "")
        if warning_records is not None and (notices is not None or notices_missing)
        else None
    )
    sweeper = Sweeper(
        **shared,
        once=once,
        notifier=notifier,
        context=context,
        liveness=liveness,
        warnings=warnings,
        canary=canary,
        organization=organization,
    )
    return Warden(events=events, sweeper=sweeper, enforcer=enforcer)
