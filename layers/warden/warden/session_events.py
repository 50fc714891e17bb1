"""The event path: decide each StartSession / ResumeSession as it arrives, close rows on TerminateSession."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from warden.causes import denial
from warden.enforcer import Denial, Enforcer
from warden.errors import AwsCallFailed, ForgedEvent, MissingSessionId, SessionNotListed, TargetUnknown
from warden.events import SessionApiCall
from warden.facts import keep_record, live_request, recorded_host
from warden.observability import count, logger
from warden.outcomes import Outcome, decided_entry, log_fields, outcome
from warden.policy import Decision, Policy, SessionRequest, decide
from warden.ports import Clock, GrantStore, Ledger, PolicySource, SessionDocuments, Sessions, TargetTags
from warden.records import LedgerEntry, LiveSession


@dataclass
class SessionEvents:
    """Handles one CloudTrail session event at a time; denials go to the shared :class:`Enforcer`."""

    clock: Clock
    tags: TargetTags
    policies: PolicySource
    grants: GrantStore
    ledger: Ledger
    sessions: Sessions
    enforcer: Enforcer
    documents: SessionDocuments

    def on_session_started(self, call: SessionApiCall) -> Outcome:
        """Decide a StartSession / ResumeSession; terminate and alert when it breaks the policy."""
        if call.failed:
            return self._record_failed_call(call)
        session_id = _require_session_id(call)
        now = self.clock.now()
        row: LedgerEntry | None = None
        if call.event_name == "ResumeSession":
            # A resume continues the session it names: its own target, document, reason and start, from
            # DescribeSessions (the ledger is a record, not an authority), never a new shell.
            row = self.ledger.get(session_id)
            live = self._resumed(call, session_id)
            info = self.tags.lookup([live.target])[live.target]
            request = live_request(
                live,
                call.principal,
                dict(info.tags),
                documents=self.documents,
                account=call.account,
                host=recorded_host(row),
            )
        else:
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
            )
        policy = self.policies.current()
        decision = self._decide(policy, request, now)
        entry = decided_entry(session_id, request, info, decision, policy, now, event_id=call.event_id)
        keep_record(entry, row)
        if decision.allowed:
            if row is not None:
                self.ledger.update_decision(entry)  # a resume never rewrites what the session is
            else:
                self.ledger.record_start(entry)
            count("SessionAllowed")
            logger.info("session allowed", extra=log_fields(entry))
            return outcome(entry, decision, "none")
        if row is None:
            self._confirm_with_aws(call, session_id, request.target)
        denied = Denial(entry, decision, denial(decision))
        if policy.mode == "monitor":
            return self.enforcer.report_violation(denied)
        return self.enforcer.enforce(denied, key=call.event_id)

    def _confirm_with_aws(self, call: SessionApiCall, session_id: str, target: str) -> None:
        """Before a StartSession denial ends anything: does AWS know this session, of this owner, on this target?

        The rules deliver only CloudTrail's events, but whoever may invoke the function directly can hand it any
        event: without this look, a forged StartSession naming someone else's session would end it. When
        DescribeSessions cannot answer (throttled past retries), the event is acted on: failing closed.
        """
        try:
            live = self.sessions.find(session_id)
        except AwsCallFailed as error:
            logger.warning(
                "could not confirm the event with DescribeSessions; acting on it", extra={"problem": str(error)}
            )
            return
        if live is None:
            raise SessionNotListed(f"{call.event_name} of {session_id}: DescribeSessions does not list it yet")
        if live.owner != call.principal.arn or (target and live.target != target):
            count("EventForged")
            logger.error(
                "event contradicts DescribeSessions: not acted on",
                extra={"session_id": session_id, "event_id": call.event_id},
            )
            raise ForgedEvent(
                f"{call.event_name} event {call.event_id} names session {session_id} of {call.principal.arn} on "
                f"{target}; DescribeSessions says {live.owner} on {live.target}"
            )

    def on_session_ended(self, call: SessionApiCall) -> Outcome:
        """Close the ledger row of a session ended with TerminateSession (it may arrive before its start)."""
        if call.failed:
            count("TerminateSessionFailed")
            return Outcome(call.session_id, decision="none", action=f"ignored failed call: {call.error_code}")
        session_id = _require_session_id(call)
        entry = self.ledger.get(session_id)
        closed = self.ledger.close(
            session_id,
            ended_at=call.event_time,
            ended_by=call.principal.display,
            reason=f"terminated by {call.principal.display}",
            started_at=entry.started_at if entry else None,
        )
        count("SessionEnded")
        return Outcome(session_id, decision="none", action="ledger closed" if closed else "already closed")

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

    def _decide(self, policy: Policy, request: SessionRequest, now: datetime) -> Decision:
        """Decide without grants first: a deny rule, or an allow rule with no end, is final without a grants read."""
        decision = decide(policy, request, (), now)
        if decision.basis == "deny-rule" or (decision.basis == "allow-rule" and decision.deadline is None):
            return decision
        return decide(policy, request, self.grants.active(now), now)

    def _resumed(self, call: SessionApiCall, session_id: str) -> LiveSession:
        live = self.sessions.find(session_id)
        if live is None or not live.target:
            raise TargetUnknown(f"{call.event_name} of {session_id}: DescribeSessions does not know it yet")
        return live


def _require_session_id(call: SessionApiCall) -> str:
    """The event's session id; raises :class:`MissingSessionId` when a successful call names none."""
    if not call.session_id:
        raise MissingSessionId(f"{call.event_name} event {call.event_id} carries no session id")
    return call.session_id
