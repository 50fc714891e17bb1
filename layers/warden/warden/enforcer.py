"""Ending a denied session: terminate, confirm with DescribeSessions, record in the ledger, alert once."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from warden.alerts.session import SessionAlertKind, session_alert
from warden.alerts.text import AlertContext
from warden.errors import AwsCallFailed, SessionAlreadyEnded, TerminationError, describe
from warden.notifier import Notifier
from warden.observability import count, logger
from warden.outcomes import Outcome, log_fields, outcome
from warden.policy import Decision
from warden.ports import Clock, Ledger, Sessions
from warden.records import WARDEN_ACTOR, AlertMarker, LedgerEntry
from warden.timefmt import utc_seconds

# Runs the enforcement action at most once per key (Powertools Idempotency keyed on the CloudTrail eventID).
OnceRunner = Callable[[str, Callable[[], dict[str, Any]]], dict[str, Any]]


# Statuses in which TerminateSession is not called again: the ending is under way (or it cannot be seen).
_UNKNOWN = "unknown"
_ENDING = frozenset({"Terminating", "Terminated", _UNKNOWN})
_CONFIRMED = "DescribeSessions confirms it is no longer active"
_MAX_PAUSE_SECONDS = 2.0


@dataclass(frozen=True)
class Ended:
    """How a termination ended: by the warden's call (*ours*) or before it, and what confirms it."""

    ours: bool
    confirmation: str


@dataclass(frozen=True)
class Denial:
    """A decided session the policy does not allow, and why in an operator's words (specifics first)."""

    entry: LedgerEntry
    decision: Decision
    cause: str
    details: list[str] = field(default_factory=list)


@dataclass
class Enforcer:
    """Acts on a denial for both the event path and the sweeper, so a session is ended and alerted once."""

    clock: Clock
    ledger: Ledger
    sessions: Sessions
    notifier: Notifier
    context: AlertContext
    run_once: OnceRunner | None = None
    sleep: Callable[[float], None] = time.sleep
    backoff_seconds: float = 0.2
    # Give up (alert, raise for a retry) well inside the function's timeout, not at it.
    termination_budget_seconds: float = 25.0
    elapsed: Callable[[], float] = time.monotonic

    def enforce(self, denial: Denial, *, key: str | None, wait: bool = True) -> Outcome:
        """End the session, record it and alert once; with *key*, at most once per key (the event's id).

        With ``wait=False`` (the sweeper, which ends many sessions in one run) a session DescribeSessions shows
        ``Terminating`` is not watched until it leaves the list: the ending is recorded as under way and the next
        sweep looks again, so one slow termination never spends the time the others need.

        Raises :class:`TerminationError` (after a termination-failed alert) when the session stays active.
        """

        def act() -> dict[str, Any]:
            count("SessionDenied")
            return self._terminate_and_record(denial, wait=wait).to_dict()

        result = self.run_once(key, act) if key and self.run_once else act()
        return Outcome(**result)

    def report_violation(self, denial: Denial) -> Outcome:
        """Monitor mode: record the violation and alert once, leaving the session open."""
        entry = denial.entry
        entry.action = "would-terminate"
        self.ledger.record_start(entry)
        count("SessionDenied")
        count("SessionViolation")
        self._alert_once(
            AlertMarker.WOULD_TERMINATE,
            "would-terminate",
            denial,
            "none: the policy is in monitor mode.",
        )
        return outcome(entry, denial.decision, "would-terminate")

    def _terminate_and_record(self, denial: Denial, *, wait: bool) -> Outcome:
        entry, decision, session_id = denial.entry, denial.decision, denial.entry.session_id
        try:
            ended = self._terminate_confirmed(session_id, wait=wait)
        except TerminationError as error:
            entry.action = "termination-failed"
            self.ledger.record_start(entry)
            count("TerminationFailed")
            self._alert_once(
                AlertMarker.TERMINATION_FAILED,
                "termination-failed",
                denial,
                f"none: {error}. Retrying.",
            )
            raise
        if not ended.ours:
            recorded = self.ledger.get(session_id)
            if recorded and recorded.ended_by == WARDEN_ACTOR and recorded.ended_at:
                # The warden ended it on an earlier attempt whose alert was not sent: send that alert now.
                entry.action = "terminated"
                self._alert_once(
                    AlertMarker.ENDED,
                    "session-terminated",
                    denial,
                    f"terminated at {utc_seconds(recorded.ended_at)}; "
                    "DescribeSessions confirms it is no longer active.",
                )
                return outcome(entry, decision, "terminated")
            # The session was over before the warden acted (its owner ended it, or it exited): record the
            # decision, leave the end to its own event or the sweeper, and say so rather than claim a kill.
            entry.action = "already-ended"
            self.ledger.record_start(entry)
            count("SessionDeniedAlreadyEnded")
            self._alert_once(
                AlertMarker.ENDED,
                "session-denied",
                denial,
                "none needed: the session had already ended when Session Warden acted.",
            )
            return outcome(entry, decision, "already-ended")
        ended_at = self.clock.now()
        entry.action = "terminated"
        claimed = self.ledger.record_terminated(
            entry, ended_at=ended_at, reason=f"terminated by Session Warden: {denial.cause}", marker=AlertMarker.ENDED
        )
        count("SessionTerminated")
        logger.warning("session terminated", extra=log_fields(entry, cause=denial.cause, confirmed=ended.confirmation))
        if claimed:
            self._send(
                AlertMarker.ENDED,
                "session-terminated",
                denial,
                f"terminated at {utc_seconds(ended_at)}; {ended.confirmation}.",
            )
        return outcome(entry, decision, "terminated")

    def _terminate_confirmed(self, session_id: str, *, wait: bool = True) -> Ended:
        """TerminateSession, then watch DescribeSessions until the session is no longer Connected.

        The confirmation is bounded by ``termination_budget_seconds``, not by a number of attempts: on AWS an
        ended session stays ``Terminating`` (in the Active list) for a while, which is an ending in progress,
        so TerminateSession is not called again for it. Raises :class:`TerminationError` only when the session
        still runs (or TerminateSession never succeeded) when the budget is spent. Without *wait*, a session seen
        ``Terminating`` ends the watch at once (its ending is under way; the next sweep sees it leave the list).
        """
        began = self.elapsed()
        waited = 0.0
        last_error: AwsCallFailed | None = None
        accepted = False  # TerminateSession answered success at least once: the warden ended it
        attempts = looks = 0
        # Look first: a session already Terminating (its owner ended it) or gone is not the warden's to end.
        try:
            status = self.sessions.status(session_id)
        except AwsCallFailed as error:
            last_error, status = error, "Connected"
        if status is None:
            return Ended(ours=False, confirmation=_CONFIRMED)
        while True:
            if status not in _ENDING:
                attempts += 1
                try:
                    self.sessions.terminate(session_id)
                    accepted = True
                except SessionAlreadyEnded:
                    pass
                except AwsCallFailed as error:  # after botocore's own retries; confirm below
                    last_error = error
            try:
                status = self.sessions.status(session_id)
            except AwsCallFailed as error:  # cannot confirm now: look again within the budget
                last_error = error
                status = _UNKNOWN if accepted else status
            if status is None:
                return Ended(ours=accepted, confirmation=_CONFIRMED)
            if not wait and status == "Terminating":
                break
            spent = max(self.elapsed() - began, waited)  # a test's sleep does not pass time
            looks += 1
            pause = min(self.backoff_seconds * 2 ** (looks - 1), _MAX_PAUSE_SECONDS)
            if spent + pause > self.termination_budget_seconds:
                break
            self.sleep(pause)
            waited += pause
        if status in _ENDING and (accepted or status == "Terminating"):
            # The session is Terminating, or TerminateSession succeeded and DescribeSessions could not say within
            # the budget: an ending in progress. Report who ended it; the next sweep sees it leave the list.
            if status == "Terminating":
                seen = "DescribeSessions shows it Terminating"
            else:
                seen = (
                    f"DescribeSessions could not confirm it yet ({describe(last_error) if last_error else 'no answer'})"
                )
            return Ended(ours=accepted, confirmation=f"TerminateSession succeeded; {seen}; the sweeper re-checks it")
        detail = f": {describe(last_error)}" if last_error else ""
        state = f" ({status})" if status and status != _UNKNOWN else ""
        raise TerminationError(
            f"{session_id} still active{state} after {attempts} TerminateSession attempt(s) in "
            f"{self.termination_budget_seconds:g} s{detail}"
        )

    def await_endings(self, session_ids: list[str], *, budget_seconds: float) -> list[str]:
        """Watch sessions whose ending is under way until DescribeSessions no longer lists them: one shared wait.

        Each look checks every session still listed; the wait between looks backs off as in a termination, and the
        whole watch stops at *budget_seconds*. Returns the sessions still listed (the next sweep looks again).
        """
        pending = list(session_ids)
        began, waited, looks = self.elapsed(), 0.0, 0
        while pending:
            still = []
            for session_id in pending:
                try:
                    if self.sessions.status(session_id) is not None:
                        still.append(session_id)
                except AwsCallFailed:
                    still.append(session_id)  # cannot tell now: looked at again, or left to the next sweep
            pending = still
            looks += 1
            pause = min(self.backoff_seconds * 2 ** (looks - 1), _MAX_PAUSE_SECONDS)
            if not pending or max(self.elapsed() - began, waited) + pause > budget_seconds:
                break
            self.sleep(pause)
            waited += pause
        return pending

    def _alert_once(self, marker: AlertMarker, kind: SessionAlertKind, denial: Denial, action: str) -> None:
        if self.ledger.claim(denial.entry.session_id, marker):
            self._send(marker, kind, denial, action)

    def _send(self, marker: AlertMarker, kind: SessionAlertKind, denial: Denial, action: str) -> None:
        """Publish an alert whose *marker* this caller holds; if it cannot be sent, the retry sends it."""
        entry = denial.entry
        why = list(dict.fromkeys([*denial.details, *denial.decision.reasons]))  # specifics first, each once
        self.notifier.send_claimed(
            session_alert(kind, self.context, entry, cause=denial.cause, why=why, action=action),
            release=lambda: self.ledger.release(entry.session_id, marker),
            key=f"{entry.session_id}#{marker.value}",
        )
