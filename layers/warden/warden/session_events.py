"""The event path: decide each StartSession / ResumeSession as it arrives, close rows on TerminateSession."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from warden.causes import denial
from warden.enforcer import Denial, Enforcer
from warden.errors import (
    AwsCallFailed,
    ForgedEvent,
    MissingSessionId,
    SessionNotListed,
    TargetUnknown,
)
from warden.events import SessionApiCall
from warden.facts import (
    START_SKEW,
    keep_record,
    live_request,
    open_session,
    owner_principal,
    recorded_host,
    same_document,
)
from warden.observability import count, logger
from warden.outcomes import Outcome, decided_entry, log_fields, outcome
from warden.policy import Decision, Grant, LimitScope, OpenSession, Policy, SessionRequest, decide
from warden.ports import (
    Clock,
    GrantStore,
    IssuerRoles,
    Ledger,
    Organization,
    PolicySource,
    SessionDocuments,
    Sessions,
    TargetTags,
)
from warden.records import WARDEN_ACTOR, LedgerEntry, LiveSession


@dataclass
class SessionEvents:
    """Handles one CloudTrail session event at a time; denials go to the shared :class:`Enforcer`.

    In organization mode *organization* gives the OU path of the account a session runs in (for rules naming
    ``ou:`` paths), and *warden_callers* are the ARNs the warden's own calls show in this account
    (``assumed-role/<member role>/session-warden``): their TerminateSession events are the warden's, never acted on.
    """

    clock: Clock
    tags: TargetTags
    policies: PolicySource
    grants: GrantStore
    ledger: Ledger
    sessions: Sessions
    enforcer: Enforcer
    documents: SessionDocuments
    roles: IssuerRoles
    organization: Organization | None = None
    warden_callers: frozenset[str] = frozenset()

    def on_session_started(self, call: SessionApiCall) -> Outcome:
        """Decide a StartSession / ResumeSession; terminate and alert when it breaks the policy."""
        if call.failed:
            return self._record_failed_call(call)
        session_id = _require_session_id(call)
        now = self.clock.now()
        self.documents.forget_preferences(now)  # logging settings are read afresh for each session
        row = self.ledger.get(session_id)
        if call.event_name == "ResumeSession":
            return self._on_resumed(call, session_id, row, now)
        target = call.target or ""
        info = self.tags.lookup([target])[target]
        # The host is the one the agent dials (the document's properties.host), not a parameter named host.
        session_type, host = self.documents.session_target(
            call.document,
            call.document_parameters,
            parameters_hidden=call.parameters_hidden,
            named_host=call.remote_host,
        )
        request = SessionRequest(
            principal=call.principal,
            target=target,
            tags=info.tags,
            document=call.document,
            reason=call.reason,
            started=call.event_time,
            session_type=session_type,
            host=host,
            account=call.account,
            session_id=session_id,
            logging=self.documents.session_logging(call.document),
            region=call.region,
            account_path=self._account_path(call.account),
        )
        # The first verified record of a session wins: another event naming a session the ledger already recorded
        # from its StartSession (a forged one, handed to the function directly) rewrites nothing. It is still
        # decided, on its own host and on the host first recorded (only the event names one, and either may be the
        # forged one): a denial on either ends the session.
        recorded = row is not None and row.started_at is not None and row.event_id not in (None, call.event_id)
        policy = self.policies.current()
        decision = self._decide(policy, request, now)
        if recorded and row is not None and row.host != request.host:
            kept = replace(request, host=row.host)
            on_kept = self._decide(policy, kept, now)
            if _stricter(decision, on_kept) is on_kept:
                request, decision = kept, on_kept
        entry = decided_entry(
            session_id, request, info, decision, policy, now, event_id=call.event_id, region=call.region
        )
        if decision.allowed:
            # An allowed start is recorded only once DescribeSessions confirms its owner, target, document and
            # reason (retried while it cannot: the session is allowed either way, and the sweeper adopts it if
            # the retries run out). A start already recorded from another event is left as it is.
            self._confirm_with_aws(call, session_id, target, act_unconfirmed=False)
            if recorded:
                count("SessionAllowed")
                logger.info("start already recorded from another event: unchanged", extra=log_fields(entry))
                return outcome(entry, decision, "none")
            stored = self.ledger.record_start(entry, first=True)
            if stored.event_id != entry.event_id:
                logger.warning("another event recorded this start first: unchanged", extra=log_fields(entry))
            count("SessionAllowed")
            logger.info("session allowed", extra=log_fields(entry))
            return outcome(entry, decision, "none")
        self._confirm_with_aws(call, session_id, request.target, act_unconfirmed=True)
        return self._act(policy, Denial(entry, decision, denial(decision)), key=call.event_id)

    def _act(self, policy: Policy, denied: Denial, *, key: str) -> Outcome:
        if policy.mode == "monitor":
            return self.enforcer.report_violation(denied)
        return self.enforcer.enforce(denied, key=key)

    def _on_resumed(self, call: SessionApiCall, session_id: str, row: LedgerEntry | None, now: datetime) -> Outcome:
        """A resume continues the session it names: its own target, document, reason and start, from DescribeSessions
        (the ledger is a record, not an authority), never a new shell.

        Resumed by someone other than its owner (DescribeSessions' ``Owner``), the session is decided for both: it
        continues only if the policy allows the owner and the resumer, and the earlier deadline holds (the sweeper
        re-checks the owner only). An owner whose identity IAM cannot give is not guessed: the event is retried.
        """
        live = self._resumed(call, session_id)
        info = self.tags.lookup([live.target])[live.target]
        request = live_request(
            live,
            call.principal,
            dict(info.tags),
            documents=self.documents,
            account=call.account,
            host=recorded_host(row),
            region=call.region,
            account_path=self._account_path(call.account),
        )
        policy = self.policies.current()
        decision = self._decide(policy, request, now)
        if live.owner and live.owner != call.principal.arn:
            self.roles.forget()  # a role can be deleted and re-created at another path: asked afresh
            owner = owner_principal(live.owner, self.roles, account=call.account)
            owners = self._decide(policy, replace(request, principal=owner), now)
            decision = _stricter(decision, owners)
            count("SessionResumedByOther")
            logger.warning(
                "session resumed by someone other than its owner: decided for both",
                extra={"session_id": session_id, "owner": live.owner, "resumer": call.principal.arn},
            )
        entry = decided_entry(
            session_id, request, info, decision, policy, now, event_id=call.event_id, region=call.region
        )
        keep_record(entry, row)
        if decision.allowed:
            if row is not None:
                self.ledger.update_decision(entry)  # a resume never rewrites what the session is
            else:
                self.ledger.record_start(entry)
            count("SessionAllowed")
            logger.info("session allowed", extra=log_fields(entry))
            return outcome(entry, decision, "none")
        return self._act(policy, Denial(entry, decision, denial(decision)), key=call.event_id)

    def _confirm_with_aws(
        self, call: SessionApiCall, session_id: str, target: str, *, act_unconfirmed: bool
    ) -> LiveSession | None:
        """Before a StartSession is acted on or recorded: does AWS know this session, of this owner, on this target,
        with this document and reason?

        The rules deliver only CloudTrail's events, but whoever may invoke the function directly can hand it any
        event: without this look, a forged StartSession naming someone else's session would end it, or rewrite its
        row. When DescribeSessions cannot answer (throttled past retries), a denial is acted on (failing closed,
        *act_unconfirmed*, returns None); an allowance is retried (its error is raised), since recording it
        unverified would let a forged event be the first record.
        """
        try:
            live = self.sessions.find(session_id)
        except AwsCallFailed as error:
            if not act_unconfirmed:
                raise
            logger.warning(
                "could not confirm the event with DescribeSessions; acting on it", extra={"problem": str(error)}
            )
            return None
        if live is None:
            raise SessionNotListed(f"{call.event_name} of {session_id}: DescribeSessions does not list it yet")
        contradicted = _contradiction(call, live, target)
        if contradicted:
            count("EventForged")
            logger.error(
                "event contradicts DescribeSessions: not acted on",
                extra={"session_id": session_id, "event_id": call.event_id, "field": contradicted},
            )
            raise ForgedEvent(
                f"{call.event_name} event {call.event_id} names session {session_id} of {call.principal.arn} on "
                f"{target}; DescribeSessions says {live.owner} on {live.target} ({contradicted} differs)"
            )
        return live

    def on_session_ended(self, call: SessionApiCall) -> Outcome:
        """Close the ledger row of a session ended with TerminateSession (it may arrive before its start).

        The row is closed only once DescribeSessions shows the session ending (``Terminating``) or ended (History):
        whoever may invoke the function directly could otherwise close the row of a live session, which the sweeper
        would then treat as a session whose start it never saw. A session DescribeSessions does not list yet is
        retried; one it lists as running is a forged event (rejected to the dead-letter queue).
        """
        if call.failed:
            count("TerminateSessionFailed")
            return Outcome(call.session_id, decision="none", action=f"ignored failed call: {call.error_code}")
        if call.principal.arn in self.warden_callers:
            # The warden's own TerminateSession in a member account (its rule cannot tell the member role apart):
            # the enforcer that made the call records the end; acting on it again would only race that record.
            count("OwnTerminationIgnored")
            return Outcome(call.session_id, decision="none", action=f"ignored: ended by {WARDEN_ACTOR}")
        session_id = _require_session_id(call)
        ended_at = self._confirm_ended(call, session_id)
        entry = self.ledger.get(session_id)
        closed = self.ledger.close(
            session_id,
            ended_at=ended_at or call.event_time,
            ended_by=call.principal.display,
            reason=f"terminated by {call.principal.display}",
            started_at=entry.started_at if entry else None,
        )
        count("SessionEnded")
        return Outcome(session_id, decision="none", action="ledger closed" if closed else "already closed")

    def _confirm_ended(self, call: SessionApiCall, session_id: str) -> datetime | None:
        """When DescribeSessions says the session ended (None while it is Terminating); raises otherwise.

        A TerminateSession leaves the session Terminating at once, which nobody can fake: the ending is under way.
        """
        status = self.sessions.status(session_id)  # AwsCallFailed: the event is retried
        if status == "Terminating":
            return None
        if status is None:
            ended = self.sessions.history(session_id)
            if ended is None:
                raise SessionNotListed(f"TerminateSession of {session_id}: DescribeSessions does not list it yet")
            return ended.ended_at
        count("EventForged")
        logger.error(
            "end event contradicts DescribeSessions: the session runs; row left open",
            extra={"session_id": session_id, "event_id": call.event_id, "status": status},
        )
        raise ForgedEvent(
            f"TerminateSession event {call.event_id} names session {session_id}; DescribeSessions says it is {status}"
        )

    def _record_failed_call(self, call: SessionApiCall) -> Outcome:
        self.ledger.record_failed_call(
            LedgerEntry(
                session_id=f"failed:{call.event_id}",
                status="failed-call",
                principal_arn=call.principal.arn,
                principal=call.principal.display,
                target=call.target,
                document=call.document,
                reason=call.reason,
                started_at=call.event_time,
                event_id=call.event_id,
                error_code=call.error_code,
                error_message=call.error_message,
            )
        )
        count("StartSessionFailed")
        return Outcome(None, decision="none", action=f"recorded failed call: {call.error_code}")

    def _account_path(self, account: str | None) -> str | None:
        """The OU path of *account* (organization mode); None in single-account mode. Raises AwsCallFailed when
        Organizations cannot say (the event is retried): an unknown path could let an ``ou:`` deny rule miss."""
        if self.organization is None or account is None:
            return None
        return self.organization.path_of(account)

    def _decide(self, policy: Policy, request: SessionRequest, now: datetime) -> Decision:
        """Decide without grants first: a deny rule, or an allow rule with no end, is final without a grants read.

        Then, only when a session limit applies to an allowed session, once more with the open sessions AWS lists.
        """
        decision = decide(policy, request, (), now)
        grants: list[Grant] | tuple[()] = ()
        if not (
            decision.basis in ("deny-rule", "require-logging")
            or (decision.basis == "allow-rule" and decision.deadline is None)
        ):
            grants = self.grants.active(now)
            decision = decide(policy, request, grants, now)
        if decision.allowed and decision.limits:
            decision = decide(policy, request, grants, now, self._open_sessions(request, decision.limits))
        return decision

    def _open_sessions(self, request: SessionRequest, limits: tuple[LimitScope, ...]) -> list[OpenSession]:
        """The sessions a limit counts, from DescribeSessions (never the ledger: a stale row must not count).

        A rule's limit counts the principal's sessions anywhere (Owner filter; their targets' tags tell which the
        rule matches), the per-target limit everyone's on this target (Target filter).
        """
        found: dict[str, LiveSession] = {}
        if "principal" in limits:
            found.update((live.session_id, live) for live in self.sessions.active(owner=request.principal.arn))
        if "target" in limits:
            found.update((live.session_id, live) for live in self.sessions.active(target=request.target))
        others = {live.target for live in found.values() if live.target and live.target != request.target}
        tags = {target: info.tags for target, info in self.tags.lookup(others).items()} if others else {}
        tags[request.target] = request.tags
        return [open_session(live, tags.get(live.target, {})) for live in found.values()]

    def _resumed(self, call: SessionApiCall, session_id: str) -> LiveSession:
        live = self.sessions.find(session_id)
        if live is None or not live.target:
            raise TargetUnknown(f"{call.event_name} of {session_id}: DescribeSessions does not know it yet")
        return live


def _contradiction(call: SessionApiCall, live: LiveSession, target: str) -> str | None:
    """What of a StartSession event DescribeSessions contradicts (``owner``, ``target``, ...), None when nothing.

    The event's time is the StartSession call's, within a minute of DescribeSessions' StartDate."""
    if live.owner != call.principal.arn:
        return "owner"
    if target and live.target != target:
        return "target"
    if live.document and not same_document(call.document, live.document):
        return "document"
    if (live.reason or None) != (call.reason or None):
        return "reason"
    if abs(call.event_time - live.started_at) > START_SKEW:
        return "start"
    return None


def _stricter(first: Decision, second: Decision) -> Decision:
    """Of two decisions on one session, the one that holds less: a denial, else the earlier deadline."""
    if not first.allowed:
        return first
    if not second.allowed:
        return second
    if second.deadline is not None and (first.deadline is None or second.deadline < first.deadline):
        return second
    return first


def _require_session_id(call: SessionApiCall) -> str:
    """The event's session id; raises :class:`MissingSessionId` when a successful call names none."""
    if not call.session_id:
        raise MissingSessionId(f"{call.event_name} event {call.event_id} carries no session id")
    return call.session_id
