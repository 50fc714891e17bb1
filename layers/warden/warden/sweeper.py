"""The sweeper: every minute, re-decide every open session; expire grants; adopt missed sessions; close ended rows."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING

from warden.alerts.defence import stale_lease_alert
from warden.alerts.lifecycle import grant_alert
from warden.alerts.session import unjudged_session_alert
from warden.alerts.text import AlertContext
from warden.causes import explain, grant_to_look_up
from warden.enforcer import Denial, Enforcer
from warden.errors import AwsCallFailed, IdentityUnresolved, SweepIncomplete, describe
from warden.expiry import ExpiryWarnings
from warden.facts import (
    denies_everyone,
    keep_record,
    live_request,
    open_session,
    owner_principal,
    recorded_host,
    recorded_principal,
)
from warden.notifier import Notifier
from warden.observability import count, logger
from warden.outcomes import SweepReport, decided_entry, log_fields
from warden.policy import Grant, OpenSession, Policy, Principal, decide, principal_from_arn
from warden.ports import (
    Clock,
    GrantStore,
    IssuerRoles,
    Ledger,
    Liveness,
    OnceStore,
    Organization,
    PolicySource,
    SessionDocuments,
    Sessions,
    TargetTags,
)
from warden.records import LedgerEntry, LiveSession, TargetInfo

if TYPE_CHECKING:
    from warden.canary import Canary

SWEEP_LEASE = "sweeper-lease"
# A lease never outlives one sweep: under the sweeper function's Timeout in template.yaml (120 s).
LEASE_SECONDS = 115
# A session the sweeper cannot judge (its target's tags unreadable) is alerted once when it lasts this long.
UNJUDGED_ALERT_AFTER = timedelta(minutes=5)
# A ledger row whose session DescribeSessions no longer lists at all is closed once it is this old
# (DescribeSessions is eventually consistent right after StartSession).
_UNLISTED_GRACE = timedelta(minutes=5)
# A session with no ledger row is left to its start event for this long: CloudTrail events usually arrive
# within seconds, and the event carries the remote host of a tunnel, which DescribeSessions does not list.
# After it, the session is adopted (its event was lost) and judged on what AWS says of it.
ADOPTION_GRACE = timedelta(minutes=3)
# Once every session is judged, how long one sweep watches the sessions it ended leave the Active list (all at once,
# never one after another); what is still Terminating then is looked at again by the next sweep.
ENDING_WATCH_SECONDS = 10.0


@dataclass
class Sweeper:
    """Re-checks what the event path decided, against the policy, tags, grants and clock as they are now."""

    clock: Clock
    tags: TargetTags
    policies: PolicySource
    grants: GrantStore
    ledger: Ledger
    sessions: Sessions
    once: OnceStore
    notifier: Notifier
    context: AlertContext
    enforcer: Enforcer
    roles: IssuerRoles
    documents: SessionDocuments
    liveness: Liveness | None = None
    warnings: ExpiryWarnings | None = None
    canary: Canary | None = None
    # Organization mode: the OU path of the scope's account (``context.account``), read once per sweep.
    organization: Organization | None = None

    def sweep(self, owner: str) -> SweepReport:
        """Re-decide every open session; expire grants; adopt missed sessions; close rows of ended ones.

        Single-account mode: the organization-wide part (:meth:`sweep_org`) and the per-scope part
        (:meth:`sweep_scope`) in one sweep, under one lease. Sends the alerts the outbox keeps once every session
        is judged. A session whose target's tags cannot be read is left for the next sweep (alerted once when that
        lasts :data:`UNJUDGED_ALERT_AFTER`); every other one is judged. A sweep that settled everything records a
        heartbeat. Raises :class:`SweepIncomplete` once every session was looked at, when some could not be
        settled.
        """
        return self._leased(owner, org_wide=True, scoped=True)

    def sweep_org(self, owner: str) -> SweepReport:
        """Organization mode, the scheduled sweep's own part: expire grants, send the kept alerts, read the policy
        (so that a rejected or missing one is alerted even when no scope is swept). Sessions are swept per scope
        by the sweep workers (:meth:`sweep_scope`).

        Records no heartbeat: the dispatcher's completed sweep is this part *and* every order sent and every scope's
        sweeps judged (:class:`~warden.org_round.OrgRound` calls :meth:`heartbeat` then)."""
        return self._leased(owner, org_wide=True, scoped=False)

    def sweep_scope(self, owner: str) -> SweepReport:
        """Organization mode, one account and region: its sessions, adoption, closing rows, warnings, canary and
        heartbeat, under that scope's own lease (the storage of a scoped warden keys lease and heartbeat by it)."""
        return self._leased(owner, org_wide=False, scoped=True)

    def _leased(self, owner: str, *, org_wide: bool, scoped: bool) -> SweepReport:
        report = SweepReport()
        if not self._take_lease(owner):
            count("SweepSkipped")
            logger.warning("another sweep holds the lease; skipping this one")
            return SweepReport(skipped=True)
        failures: list[str] = []
        try:
            now = self.clock.now()
            if org_wide:
                report.grants_expired = self._expire_grants(now, failures)
            if scoped:
                self._sweep_sessions(now, report, failures)
            else:
                self.policies.current()  # a rejected or missing policy is alerted by reading it
            if org_wide:
                # Kept alerts go out once every session is judged: a backlog must never delay enforcement.
                self._flush_outbox(failures)
            if scoped and self.canary is not None:
                self.canary.run()  # never raises for AWS: a blind path is alerted, it does not fail the sweep
        finally:
            self.once.release(SWEEP_LEASE, owner)
        logger.info("sweep done", extra=report.to_dict())
        if failures:
            count("SweepFailed")
            raise SweepIncomplete(f"{len(failures)} session(s) not settled this sweep; first: {failures[0]}")
        if scoped:
            self._heartbeat(org_wide)
        return report

    def _sweep_sessions(self, now: datetime, report: SweepReport, failures: list[str]) -> None:
        """Judge every session AWS lists now, adopt the ones the event path missed, close rows of ended ones."""
        self.roles.forget()  # issuer role paths are resolved afresh each sweep, then once per role
        self.documents.forget_preferences(now)  # so are logging settings (preferences change while sessions run)
        account_path = self._account_path()
        live = self.sessions.active()
        report.active = len(live)
        open_rows = {entry.session_id: entry for entry in self.ledger.open_entries()}
        policy = self.policies.current()
        grants = self.grants.active(now)
        infos, unreadable = self.tags.lookup_each({session.target for session in live})
        marked = self.liveness.unjudged() if self.liveness else {}
        open_sessions: list[OpenSession] = []
        if policy.compiled.limited:
            # What the limits count is what AWS lists now. Newest first: among sessions over a limit, the
            # newest go first and the oldest stay (each counts only the sessions older than itself).
            open_sessions = [open_session(s, infos[s.target].tags if s.target in infos else {}) for s in live]
            live = sorted(live, key=lambda s: (s.started_at.timestamp(), s.session_id), reverse=True)
        ended: list[str] = []  # ended by this sweep; their leaving the Active list is watched at the end
        for session in live:
            if session.target in unreadable:
                self._unjudged(session, unreadable[session.target], now, report, failures)
                continue
            # A bulkhead: one session's failure of whatever kind (a termination that keeps failing, a
            # throttled ledger write, a record the warden cannot read) must not stop the enforcement of
            # the others. Note it, go on, and fail the sweep at the end.
            try:
                row = open_rows.get(session.session_id)
                if self._resweep(session, row, infos, policy, grants, now, report, open_sessions, account_path):
                    ended.append(session.session_id)
            except Exception as error:  # reported below, and raised once all are done
                count("SweepSessionFailed")
                logger.exception("could not re-check a session", extra={"session_id": session.session_id})
                failures.append(f"{session.session_id}: {describe(error)}")
        self._watch_endings(ended)
        self._clear_judged(marked, {s.session_id for s in live if s.target in unreadable}, failures)
        live_ids = {session.session_id for session in live}
        report.ended_without_event = self._close_unlisted(
            [row for session_id, row in open_rows.items() if session_id not in live_ids], now
        )

    def _account_path(self) -> str | None:
        """The OU path of the account swept (organization mode), None in single-account mode.

        Raises AwsCallFailed when Organizations cannot say: the sweep fails (the alarm fires) rather than judge every
        session without it, where an ``ou:`` allow rule would end sessions it allows and an ``ou:`` deny would miss.
        """
        if self.organization is None or self.context.account is None:
            return None
        return self.organization.path_of(self.context.account)

    def _take_lease(self, owner: str) -> bool:
        """The sweep lease; one whose stored expiry no sweep can have written is taken over and alerted."""
        if self.once.acquire(SWEEP_LEASE, owner, seconds=LEASE_SECONDS):
            return True
        found = self.once.take_over_stale(SWEEP_LEASE, owner, seconds=LEASE_SECONDS)
        if found is None:
            return False
        count("StaleLeaseTakenOver")
        logger.error("took over a sweeper lease held far beyond one sweep", extra={"held_until": found})
        try:
            self.notifier.send_once(
                f"stale-lease#{found}",
                lambda: stale_lease_alert(
                    self.context, key=f"warden#{SWEEP_LEASE}", held_until=found, limit_seconds=LEASE_SECONDS
                ),
                ttl_seconds=24 * 3600,
            )
        except AwsCallFailed:
            logger.exception("stale lease alert could not be sent")
        return True

    def _watch_endings(self, ended: list[str]) -> None:
        still = self.enforcer.await_endings(ended, budget_seconds=ENDING_WATCH_SECONDS)
        if still:
            count("SessionStillTerminating", len(still))
            logger.warning("sessions still Terminating: the next sweep looks again", extra={"session_ids": still})

    def _flush_outbox(self, failures: list[str]) -> None:
        try:
            self.notifier.flush()
        except AwsCallFailed as error:
            failures.append(f"alert outbox: {describe(error)}")

    def _unjudged(
        self, session: LiveSession, problem: str, now: datetime, report: SweepReport, failures: list[str]
    ) -> None:
        """A session whose target cannot be read now: left open, re-checked next minute, alerted once if it lasts."""
        report.unjudged += 1
        count("SessionUnjudged")
        logger.warning("could not judge a session", extra={"session_id": session.session_id, "problem": problem})
        if self.liveness is None:
            return
        try:
            since = self.liveness.unjudged_since(session.session_id, now, problem)
            if now - since < UNJUDGED_ALERT_AFTER:
                return
            self.notifier.send_once(
                f"unjudged#{session.session_id}#{int(since.timestamp())}",
                lambda: unjudged_session_alert(
                    self.context,
                    session_id=session.session_id,
                    target=session.target,
                    owner=session.owner,
                    since=since,
                    problem=problem,
                ),
                ttl_seconds=7 * 24 * 3600,
            )
        except AwsCallFailed as error:
            failures.append(f"{session.session_id} (unjudged): {describe(error)}")

    def _clear_judged(self, marked: dict[str, datetime], still_unjudged: set[str], failures: list[str]) -> None:
        """Forget the unjudged marks of sessions judged this sweep, or no longer open."""
        if self.liveness is None:
            return
        try:
            self.liveness.judged([session_id for session_id in marked if session_id not in still_unjudged])
        except AwsCallFailed as error:
            failures.append(f"unjudged marks: {describe(error)}")

    def heartbeat(self) -> None:
        """Organization mode: the dispatcher's sweep completed (its own part, every order sent, every scope judged)."""
        self._heartbeat(org_wide=True)

    def _heartbeat(self, org_wide: bool) -> None:
        # SweepCompleted is the liveness alarm's: the scheduled sweeper's alone. A sweep worker's completed scope
        # counts ScopeSweepCompleted, so that workers sweeping on cannot hide a sweeper that stopped (nor the reverse:
        # the dispatcher's per-scope check alerts on each scope whose sweeps stopped).
        count("SweepCompleted" if org_wide else "ScopeSweepCompleted")
        if self.liveness is not None:
            try:
                self.liveness.heartbeat(self.clock.now())
            except AwsCallFailed:
                # The SweepCompleted metric is what the alarm watches; the item is what `warden status` reads.
                logger.exception("could not record the sweep heartbeat")

    def _resweep(
        self,
        session: LiveSession,
        row: LedgerEntry | None,
        infos: dict[str, TargetInfo],
        policy: Policy,
        grants: list[Grant],
        now: datetime,
        report: SweepReport,
        open_sessions: list[OpenSession],
        account_path: str | None = None,
    ) -> bool:
        """Re-decide one session; True when this sweep ended it (its ending may still be under way)."""
        if row is None and now - session.started_at < ADOPTION_GRACE:
            report.awaiting_event += 1
            return False
        info = infos.get(session.target) or TargetInfo(target=session.target, tags={}, exists=False)
        # AWS's facts only: DescribeSessions (owner, target, document, reason, start), IAM (the issuer role's
        # path), GetDocument (what the document does). The row is a record; someone with access to the table
        # could have edited it. The host is the exception: only the StartSession event names it (recorded_host).
        unresolved: IdentityUnresolved | None = None
        recorded = False
        try:
            principal = owner_principal(session.owner, self.roles, account=self.context.account)
        except IdentityUnresolved as error:
            unresolved = error
            found = recorded_principal(session.owner, row)
            recorded = found is not None
            principal = found or _pathless(session.owner)
        request = live_request(
            session,
            principal,
            dict(info.tags),
            documents=self.documents,
            account=self.context.account,
            host=recorded_host(row),
            region=self.context.region,
            account_path=account_path,
        )
        decision = decide(policy, request, grants, now, open_sessions)
        if unresolved is not None and (decision.allowed or not (recorded or denies_everyone(policy, decision))):
            # Without the role's path an IAM Identity Center user looks like an ordinary role session (no
            # user:/permission-set: match) and an arn: pattern spelling the path does not match: the decision
            # could go either way. Leave the session as it is and fail this sweep for it; the next one retries.
            # Only a deny rule that names no principal decides regardless of who it is, and a denial on the role
            # path the ledger recorded from the session's verified StartSession: the ledger may only ever end a
            # session this way, never keep one (an edited path that allows is not acted on).
            raise unresolved
        entry = keep_record(
            decided_entry(
                session.session_id, request, info, decision, policy, now, event_id=None, region=self.context.region
            ),
            row,
        )
        entry.adopted = row is None or row.adopted
        if decision.allowed:
            report.allowed += 1
            if row is None:
                self.ledger.record_start(entry)
                report.adopted += 1
                count("SessionAdopted")
                logger.info("adopted a session the event path never saw", extra=log_fields(entry))
            elif _changed(row, entry):
                self.ledger.update_decision(entry)
            if self.warnings is not None:
                report.warnings_sent += self.warnings.check(entry, row, decision, policy, now)
            return False
        grant_id = grant_to_look_up(row, decision)
        stored = self.grants.get(grant_id) if grant_id else None
        cause, details = explain(row, decision, info, policy, stored_grant=stored, now=self.clock.now())
        if row is not None and row.grant and cause in ("grant revoked", "grant expired"):
            # The row of a session ended because its grant lapsed still names the grant that had allowed it.
            entry.grant = row.grant
        denied = Denial(entry, decision, cause, details)
        if policy.mode == "monitor":
            report.violations += 1
            if row is None:
                report.adopted += 1
            self.enforcer.report_violation(denied)
            return False
        # No waiting here for a session that stays Terminating: the others are judged first (see _watch_endings).
        self.enforcer.enforce(denied, key=None, wait=False)
        report.terminated += 1
        return True

    def _expire_grants(self, now: datetime, failures: list[str]) -> int:
        expired = 0
        for grant in self.grants.due_for_expiry(now):
            if not self.grants.mark_expired(grant, now):
                continue
            try:
                # Not sent: the mark is undone so the next sweep sends it; the sessions are re-checked
                # regardless (an expired grant no longer counts, whatever its state says).
                self.notifier.send_claimed(
                    grant_alert("grant-expired", self.context, grant),
                    release=partial(self.grants.unmark_expired, grant),
                    key=f"grant-expired#{grant.id}",
                )
            except AwsCallFailed as error:
                failures.append(f"grant {grant.id}: {describe(error)}")
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


def _pathless(owner: str) -> Principal:
    """The owner without its role path: only ever used to see whether a deny rule that names no one applies."""
    try:
        return principal_from_arn(owner)
    except ValueError:
        return Principal(arn=owner, kind="Unknown")


def _changed(row: LedgerEntry, entry: LedgerEntry) -> bool:
    """Write a re-decision only when something an operator sees changed (keeps sweeps cheap)."""
    return (row.deadline, row.rule, row.grant, row.decision, dict(row.tags), row.transcript) != (
        entry.deadline,
        entry.rule,
        entry.grant,
        entry.decision,
        dict(entry.tags),
        entry.transcript,
    )
