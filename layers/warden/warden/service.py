"""Orchestration through ports only: event -> decision -> actions (ledger, termination, alerts)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from warden.alerts import AlertContext, SessionAlertKind, grant_alert, session_alert
from warden.events import SessionApiCall
from warden.observability import count, logger
from warden.policy import (
    Decision,
    Grant,
    Policy,
    Principal,
    SessionRequest,
    decide,
    normalise_document,
    principal_from_arn,
)
from warden.ports import (
    Alerts,
    Clock,
    GrantStore,
    Ledger,
    LedgerEntry,
    LiveSession,
    OnceStore,
    PolicySource,
    SessionAlreadyEnded,
    Sessions,
    TargetInfo,
    TargetTags,
    TerminationError,
)
from warden.timefmt import iso

WARDEN = "session-warden"
SWEEP_LEASE = "sweeper-lease"
# A ledger row whose session DescribeSessions no longer lists at all is closed once it is this old
# (DescribeSessions is eventually consistent right after StartSession).
_UNLISTED_GRACE = timedelta(minutes=5)
# A session with no ledger row is left to its start event for this long: CloudTrail events usually arrive
# within seconds, and the sweeper judges a row-less session on DescribeSessions' Owner ARN, which lacks the
# issuer role's path that the event carries. After it, the session is adopted (its event was lost).
ADOPTION_GRACE = timedelta(minutes=3)

# Runs the enforcement action at most once per key (Powertools Idempotency keyed on the CloudTrail eventID).
OnceRunner = Callable[[str, Callable[[], dict[str, Any]]], dict[str, Any]]


class SweepIncomplete(RuntimeError):
    """Some sessions could not be re-checked or ended this sweep; the others were. Raised to fire the alarm."""


class TargetUnknown(RuntimeError):
    """A ResumeSession whose session neither the ledger nor DescribeSessions knows yet: retried."""


@dataclass
class Outcome:
    """What the warden did with one event (the handler's return value, logged and kept by Lambda)."""

    session_id: str | None
    decision: str
    action: str
    rule: str | None = None
    grant: str | None = None
    reasons: list[str] = field(default_factory=list)
    deadline: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class SweepReport:
    skipped: bool = False
    active: int = 0
    allowed: int = 0
    adopted: int = 0
    awaiting_event: int = 0
    terminated: int = 0
    violations: int = 0
    termination_failures: int = 0
    ended_without_event: int = 0
    grants_expired: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Warden:
    """The enforcer. Every side effect goes through a port, so tests swap in fakes and the local cloud."""

    clock: Clock
    tags: TargetTags
    policies: PolicySource
    grants: GrantStore
    ledger: Ledger
    sessions: Sessions
    alerts: Alerts
    once: OnceStore
    context: AlertContext
    run_once: OnceRunner | None = None
    sleep: Callable[[float], None] = time.sleep
    termination_attempts: int = 4
    backoff_seconds: float = 0.2
    # Give up (alert, raise for a retry) well inside the function's timeout, not at it.
    termination_budget_seconds: float = 25.0
    elapsed: Callable[[], float] = time.monotonic

    # ------------------------------------------------------------------ event path
    def on_session_started(self, call: SessionApiCall) -> Outcome:
        """Decide a StartSession / ResumeSession; terminate and alert when it breaks the policy."""
        if call.failed:
            return self._record_failed_call(call)
        session_id = _require_session_id(call)
        now = self.clock.now()
        target, started = self._target_and_start(call, session_id)
        info = self.tags.lookup([target])[target]
        policy = self.policies.current()
        request = SessionRequest(
            principal=call.principal,
            target=target,
            tags=info.tags,
            document=call.document,
            reason=call.reason,
            started=started,
        )
        decision = self._decide(policy, request, now)
        entry = _entry(session_id, request, info, decision, policy, now, event_id=call.event_id)
        if decision.allowed:
            self.ledger.record_start(entry)
            count("SessionAllowed")
            logger.info("session allowed", extra=_log(entry))
            return _outcome(entry, decision, "none")
        cause = _denial(decision)
        if policy.mode == "monitor":
            return self._report_violation(entry, decision, cause, [])
        return self._enforce(entry, decision, cause, [], key=call.event_id)

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

    # ------------------------------------------------------------------ sweeper
    def sweep(self, owner: str) -> SweepReport:
        """Re-decide every open session; expire grants; adopt missed sessions; close rows of ended ones."""
        report = SweepReport()
        if not self.once.acquire(SWEEP_LEASE, owner, seconds=115):
            count("SweepSkipped")
            logger.warning("another sweep holds the lease; skipping this one")
            return SweepReport(skipped=True)
        failures: list[str] = []
        try:
            now = self.clock.now()
            report.grants_expired = self._expire_grants(now, failures)
            live = self.sessions.active()
            report.active = len(live)
            open_rows = {entry.session_id: entry for entry in self.ledger.open_entries()}
            policy = self.policies.current()
            grants = self.grants.active(now)
            infos = self.tags.lookup({session.target for session in live})
            for session in live:
                # One session's failure (a termination that keeps failing, a throttled write) must not stop
                # the enforcement of the others: note it, go on, and fail the sweep at the end.
                try:
                    self._resweep(session, open_rows.get(session.session_id), infos, policy, grants, now, report)
                except Exception as error:  # reported below, and raised once all are done
                    count("SweepSessionFailed")
                    logger.exception("could not re-check a session", extra={"session_id": session.session_id})
                    failures.append(f"{session.session_id}: {type(error).__name__}: {error}")
            live_ids = {session.session_id for session in live}
            report.ended_without_event = self._close_unlisted(
                [row for session_id, row in open_rows.items() if session_id not in live_ids], now
            )
        finally:
            self.once.release(SWEEP_LEASE, owner)
        count("SweepCompleted")
        logger.info("sweep done", extra=report.to_dict())
        if failures:
            raise SweepIncomplete(f"{len(failures)} session(s) not settled this sweep; first: {failures[0]}")
        return report

    def _resweep(
        self,
        session: LiveSession,
        row: LedgerEntry | None,
        infos: dict[str, TargetInfo],
        policy: Policy,
        grants: list[Grant],
        now: datetime,
        report: SweepReport,
    ) -> None:
        if row is None and now - session.started_at < ADOPTION_GRACE:
            report.awaiting_event += 1
            return
        info = infos.get(session.target) or TargetInfo(target=session.target, tags={}, exists=False)
        principal = _principal(row, session)
        request = SessionRequest(
            principal=principal,
            target=session.target,
            tags=info.tags,
            document=normalise_document(row.document if row and row.document else session.document),
            reason=row.reason if row and row.reason is not None else session.reason,
            started=session.started_at,
        )
        decision = decide(policy, request, grants, now)
        entry = _entry(session.session_id, request, info, decision, policy, now, event_id=None)
        entry.adopted = row is None or row.adopted
        if decision.allowed:
            report.allowed += 1
            if row is None:
                self.ledger.record_start(entry)
                report.adopted += 1
                count("SessionAdopted")
                logger.info("adopted a session the event path never saw", extra=_log(entry))
            elif _changed(row, entry):
                self.ledger.update_decision(entry)
            return
        cause, details = self._cause(row, decision, info, policy)
        if policy.mode == "monitor":
            report.violations += 1
            if row is None:
                report.adopted += 1
            self._report_violation(entry, decision, cause, details)
            return
        self._enforce(entry, decision, cause, details, key=None)
        report.terminated += 1

    def _expire_grants(self, now: datetime, failures: list[str]) -> int:
        expired = 0
        for grant in self.grants.due_for_expiry(now):
            if not self.grants.mark_expired(grant, now):
                continue
            try:
                self.alerts.publish(grant_alert("grant-expired", self.context, grant))
            except Exception as error:
                # Not sent: undo the mark so the next sweep sends it; the sessions are re-checked regardless
                # (an expired grant no longer counts, whatever its state says).
                self.grants.unmark_expired(grant)
                count("AlertFailed")
                failures.append(f"grant {grant.id}: {type(error).__name__}: {error}")
                continue
            expired += 1
            count("GrantExpired")
        return expired

    def _close_unlisted(self, rows: Iterable[LedgerEntry], now: datetime) -> int:
        closed = 0
        for row in rows:
            ended = self.sessions.history(row.session_id)
            if ended is None and row.started_at and now - row.started_at < _UNLISTED_GRACE:
                continue  # too fresh: DescribeSessions may not list it yet
            ended_at = (ended.ended_at if ended else None) or now
            if self.ledger.close(
                row.session_id,
                ended_at=ended_at,
                ended_by=None,
                reason="ended without event",
                started_at=row.started_at,
            ):
                closed += 1
                count("SessionEndedWithoutEvent")
        return closed

    def _cause(
        self, row: LedgerEntry | None, decision: Decision, info: TargetInfo, policy: Policy
    ) -> tuple[str, list[str]]:
        """Why a session that was allowed no longer is, in an operator's words, with the specifics first."""
        retagged = row is not None and row.decision == "allow" and dict(row.tags) != dict(info.tags)
        change = [f"target tags changed: {_tag_change(row.tags, info.tags)}"] if row and retagged else []
        if decision.basis == "deny-rule":
            return ("target re-tagged" if retagged else _denial(decision)), change
        if row is None:
            return "no rule or grant allows it", [
                "its StartSession event never reached Session Warden; the sweeper found the session open"
            ]
        if row.decision != "allow":
            return "no rule or grant allows it", []
        lapses = {(lapse.kind, lapse.name): lapse for lapse in decision.lapsed}
        if row.grant:
            lapse = lapses.get(("grant", row.grant))
            if lapse and lapse.why in ("grant-expired", "grant-revoked"):
                return lapse.why.replace("-", " "), [lapse.detail]
            stored = self.grants.get(row.grant)
            if stored is None:
                return "grant revoked", [f"grant {row.grant} no longer exists"]
            if stored.state == "revoked":
                when = f" at {stored.revoked_at:%Y-%m-%d %H:%M:%S} UTC" if stored.revoked_at else ""
                return "grant revoked", [f"grant {row.grant} was revoked{when} by {stored.revoked_by or 'an operator'}"]
            if stored.expires_at <= self.clock.now() or stored.state == "expired":
                return "grant expired", [f"grant {row.grant} expired at {stored.expires_at:%Y-%m-%d %H:%M:%S} UTC"]
        if row.rule:
            lapse = lapses.get(("rule", row.rule))
            # Same sentence as the decision's reason for this rule, so it leads the list once.
            if lapse and lapse.why == "outside-window":
                return "window closed", [f"rule {row.rule}: {lapse.detail}"]
            if lapse and lapse.why == "max-duration":
                return "maximum duration reached", [f"rule {row.rule}: {lapse.detail}"]
        if retagged:
            return "target re-tagged", change
        gone = row.rule and not any(rule.name == row.rule for rule in policy.rules)
        what = f"rule {row.rule} is no longer in the policy" if gone else f"rule {row.rule} no longer allows it"
        return "policy changed", [what] if row.rule else []

    # ------------------------------------------------------------------ actions
    def _enforce(
        self, entry: LedgerEntry, decision: Decision, cause: str, details: list[str], *, key: str | None
    ) -> Outcome:
        def act() -> dict[str, Any]:
            return self._terminate_and_record(entry, decision, cause, details).to_dict()

        result = self.run_once(key, act) if key and self.run_once else act()
        return Outcome(**result)

    def _terminate_and_record(self, entry: LedgerEntry, decision: Decision, cause: str, details: list[str]) -> Outcome:
        session_id = entry.session_id
        try:
            ours = self._terminate_confirmed(session_id)
        except TerminationError as error:
            entry.action = "termination-failed"
            self.ledger.record_start(entry)
            count("TerminationFailed")
            if self.ledger.claim(session_id, "alert:termination-failed"):
                self._alert(
                    "termination-failed",
                    entry,
                    decision,
                    cause,
                    details,
                    f"none: {error}. Retrying.",
                    marker="alert:termination-failed",
                )
            raise
        if not ours:
            recorded = self.ledger.get(session_id)
            if recorded and recorded.ended_by == WARDEN and recorded.ended_at:
                # The warden ended it on an earlier attempt whose alert was not sent: send that alert now.
                entry.action = "terminated"
                if self.ledger.claim(session_id, "alert:terminated"):
                    self._alert(
                        "session-terminated",
                        entry,
                        decision,
                        cause,
                        details,
                        f"terminated at {recorded.ended_at:%Y-%m-%d %H:%M:%S} UTC; "
                        "DescribeSessions confirms it is no longer active.",
                        marker="alert:terminated",
                    )
                return _outcome(entry, decision, "terminated")
            # The session was over before the warden acted (its owner ended it, or it exited): record the
            # decision, leave the end to its own event or the sweeper, and say so rather than claim a kill.
            entry.action = "already-ended"
            self.ledger.record_start(entry)
            count("SessionDeniedAlreadyEnded")
            if self.ledger.claim(session_id, "alert:terminated"):
                self._alert(
                    "session-denied",
                    entry,
                    decision,
                    cause,
                    details,
                    "none needed: the session had already ended when Session Warden acted.",
                    marker="alert:terminated",
                )
            return _outcome(entry, decision, "already-ended")
        ended_at = self.clock.now()
        entry.action = "terminated"
        claimed = self.ledger.record_terminated(
            entry, ended_at=ended_at, reason=f"terminated by Session Warden: {cause}", marker="alert:terminated"
        )
        count("SessionTerminated")
        logger.warning("session terminated", extra=_log(entry, cause=cause))
        if claimed:
            self._alert(
                "session-terminated",
                entry,
                decision,
                cause,
                details,
                f"terminated at {ended_at:%Y-%m-%d %H:%M:%S} UTC; DescribeSessions confirms it is no longer active.",
                marker="alert:terminated",
            )
        return _outcome(entry, decision, "terminated")

    def _terminate_confirmed(self, session_id: str) -> bool:
        """TerminateSession until DescribeSessions no longer lists the session as Active.

        Returns True when the warden's call ended it, False when it had already ended. Retries with backoff
        within ``termination_budget_seconds``, then raises :class:`TerminationError`.
        """
        began = self.elapsed()
        last_error: BaseException | None = None
        ours = False
        attempts = 0
        while attempts < self.termination_attempts:
            attempts += 1
            try:
                self.sessions.terminate(session_id)
                ours = True
            except SessionAlreadyEnded:
                pass
            except Exception as error:  # AWS errors after botocore's own retries; confirm below
                last_error = error
            try:
                if not self.sessions.is_active(session_id):
                    return ours
            except Exception as error:  # cannot confirm: try again
                last_error = error
            if self.elapsed() - began > self.termination_budget_seconds:
                break
            if attempts < self.termination_attempts:
                self.sleep(self.backoff_seconds * 2 ** (attempts - 1))
        detail = f": {type(last_error).__name__}: {last_error}" if last_error else ""
        raise TerminationError(f"{session_id} still active after {attempts} TerminateSession attempts{detail}")

    def _report_violation(self, entry: LedgerEntry, decision: Decision, cause: str, details: list[str]) -> Outcome:
        entry.action = "would-terminate"
        self.ledger.record_start(entry)
        count("SessionViolation")
        if self.ledger.claim(entry.session_id, "alert:would-terminate"):
            self._alert(
                "would-terminate",
                entry,
                decision,
                cause,
                details,
                "none: the policy is in monitor mode.",
                marker="alert:would-terminate",
            )
        return _outcome(entry, decision, "would-terminate")

    def _alert(
        self,
        kind: SessionAlertKind,
        entry: LedgerEntry,
        decision: Decision,
        cause: str,
        details: list[str],
        action: str,
        *,
        marker: str,
    ) -> None:
        """Publish an alert whose one-time marker this caller holds; if it cannot be sent, free the marker."""
        why = list(dict.fromkeys([*details, *decision.reasons]))  # specifics first, each sentence once
        try:
            self.alerts.publish(session_alert(kind, self.context, entry, cause=cause, why=why, action=action))
        except Exception:
            self.ledger.release(entry.session_id, marker)  # the retry of this event sends it
            count("AlertFailed")
            raise

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

    def _target_and_start(self, call: SessionApiCall, session_id: str) -> tuple[str, datetime]:
        if call.target:
            return call.target, call.event_time
        # ResumeSession names no target: the ledger (or DescribeSessions) knows the session's target and start.
        known = self.ledger.get(session_id)
        if known and known.target:
            return known.target, known.started_at or call.event_time
        live = self.sessions.find(session_id)
        if live and live.target:
            return live.target, live.started_at
        raise TargetUnknown(f"{call.event_name} of {session_id}: neither the ledger nor DescribeSessions knows it")


def _denial(decision: Decision) -> str:
    """The short cause on the alert's Decision line; the full sentences follow as bullets."""
    return f"denied by rule {decision.rule}" if decision.basis == "deny-rule" else "no rule or grant allows it"


def _tag_change(before: dict[str, str], after: Mapping[str, str]) -> str:
    changes = []
    for key in sorted(set(before) | set(after)):
        old, new = before.get(key), after.get(key)
        if old == new:
            continue
        if old is None:
            changes.append(f"{key}={new} added")
        elif new is None:
            changes.append(f"{key}={old} removed")
        else:
            changes.append(f"{key}={old} -> {key}={new}")
    return ", ".join(changes)


def _require_session_id(call: SessionApiCall) -> str:
    if not call.session_id:
        raise ValueError(f"{call.event_name} event {call.event_id} carries no session id")
    return call.session_id


def _principal(row: LedgerEntry | None, session: LiveSession) -> Principal:
    """The caller as the start event saw it (issuer role path included), else from DescribeSessions' Owner."""
    if row and row.identity:
        try:
            return Principal(**row.identity)
        except TypeError:
            pass
    return principal_from_arn(session.owner)


def _entry(
    session_id: str,
    request: SessionRequest,
    info: TargetInfo,
    decision: Decision,
    policy: Policy,
    now: datetime,
    *,
    event_id: str | None,
) -> LedgerEntry:
    principal = request.principal
    return LedgerEntry(
        session_id=session_id,
        principal_arn=principal.arn,
        principal=principal.display,
        identity={
            "arn": principal.arn,
            "account": principal.account,
            "kind": principal.kind,
            "user": principal.user,
            "role": principal.role,
            "role_arn": principal.role_arn,
        },
        target=request.target,
        target_name=info.name,
        tags=dict(info.tags),
        document=request.document,
        reason=request.reason,
        started_at=request.started,
        decision=decision.decision,
        basis=decision.basis,
        rule=decision.rule,
        grant=decision.grant,
        deadline=decision.deadline,
        why=list(decision.reasons),
        mode=policy.mode,
        action="none",
        decided_at=now,
        event_id=event_id,
    )


def _changed(row: LedgerEntry, entry: LedgerEntry) -> bool:
    """Write a re-decision only when something an operator sees changed (keeps sweeps cheap)."""
    return (row.deadline, row.rule, row.grant, row.decision, dict(row.tags)) != (
        entry.deadline,
        entry.rule,
        entry.grant,
        entry.decision,
        dict(entry.tags),
    )


def _outcome(entry: LedgerEntry, decision: Decision, action: str) -> Outcome:
    return Outcome(
        session_id=entry.session_id,
        decision=decision.decision,
        action=action,
        rule=decision.rule,
        grant=decision.grant,
        reasons=list(decision.reasons),
        deadline=iso(decision.deadline) if decision.deadline else None,
    )


def _log(entry: LedgerEntry, **extra: Any) -> dict[str, Any]:
    return {
        "session_id": entry.session_id,
        "principal": entry.principal,
        "target": entry.target,
        "decision": entry.decision,
        "rule": entry.rule,
        "grant": entry.grant,
        **extra,
    }
