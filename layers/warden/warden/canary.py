"""The canary, the sweeper's side: write one cheap CloudTrail-recorded call every few minutes and alert once when it
has not come back through the trail, the rule, its target and the function's permission in time. The ports the
tamper watch (:mod:`warden.watch`) and the canary share live here too."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from warden.alerts import AlertContext, canary_blind_alert
from warden.errors import AwsCallFailed, describe
from warden.notifier import Notifier
from warden.observability import count, logger
from warden.ports import Clock
from warden.records import Alert

# A canary is written every CANARY_EVERY; no round trip CANARY_BLIND_AFTER after the first unanswered one is blind.
CANARY_EVERY = timedelta(minutes=5)
CANARY_BLIND_AFTER = timedelta(minutes=10)
ALERT_TTL_SECONDS = 7 * 24 * 3600
BLIND_CAUSES = (
    "a trail stopped logging, was deleted, or its event selectors exclude write management events",
    "the canary rule was disabled, deleted or redefined",
    "the canary rule's target (the tamper-watch function) was removed",
    "EventBridge's permission to invoke the tamper-watch function was removed, or the function fails or is throttled",
    "the sweeper cannot write the canary parameter (its last error, if any, is shown above)",
)


class WatchReads(Protocol):
    """What the watch reads from AWS to tell a change apart."""

    def document_content(self, name: str, version: str) -> str | None:
        """The content of one version of an SSM document (None when that version does not exist)."""
        ...

    def parameter_value(self, name: str, version: int) -> str | None:
        """The value of one version of a parameter (None when it does not exist)."""
        ...

    def hosted_version(self, application: str, profile: str, version: int) -> str | None:
        """The content of one hosted AppConfig version of the policy (None when it does not exist)."""
        ...


class WatchRecords(Protocol):
    """The StateTable items of the watch and the canary (see contract: pk ``tamper``, ``canary``, ``policy-push``)."""

    def record_tamper(self, sk: str, item: Mapping[str, Any]) -> bool: ...

    def policy_push(self, digest: str) -> Mapping[str, Any] | None: ...

    def canary(self) -> Mapping[str, Any] | None: ...

    def claim_canary_send(self, nonce: str, now: float, every_seconds: float) -> bool: ...

    def canary_send_failed(self, nonce: str, problem: str) -> None: ...

    def canary_seen(self, nonce: str, now: float) -> Mapping[str, Any] | None: ...

    def mark_blind(self, waiting_since: float, now: float) -> bool: ...


class BlindReport(Protocol):
    """Organization mode: what an account and region whose canary is not back is alerted as (account not covered)."""

    def blind_key(self, waiting_since: float) -> str:
        """The once-key of the alert of the outage that began at *waiting_since*."""
        ...

    def blind_alert(self, state: Mapping[str, Any], since: datetime, now: datetime) -> Alert: ...

    def check_forwarding(self) -> None:
        """Once per coverage round (each canary sent): check what forwards the scope's events, alerting its outage."""
        ...

    def alerted_elsewhere(self, state: Mapping[str, Any]) -> bool:
        """Whether the scope's outage was alerted otherwise than by the canary (no second alert, no early RESTORED)."""
        ...


class ScopedCanary(Protocol):
    """Organization mode: the canary of the account and region an event came from (its reads, records, alert)."""

    @property
    def reads(self) -> WatchReads: ...

    @property
    def records(self) -> WatchRecords: ...

    def restored_key(self, blind_since: float) -> str: ...

    def alerted_elsewhere(self, state: Mapping[str, Any]) -> bool: ...

    def restored_alert(self, since: datetime, seen_at: datetime, round_trip_ms: int) -> Alert: ...


class CanaryWriter(Protocol):
    def put(self, name: str, value: str) -> int:
        """Write the canary parameter; its new version."""
        ...


@dataclass(frozen=True)
class Canary:
    """The sweeper's side: write the canary every few minutes, alert once when none came back in time."""

    clock: Clock
    parameter: str
    writer: CanaryWriter
    records: WatchRecords
    notifier: Notifier
    context: AlertContext
    # Organization mode: a scope whose canary is not back is an `account-not-covered` alert (None: event path blind).
    report: BlindReport | None = None

    def run(self) -> None:
        """One sweep's share: send a canary when one is due, and alert when the path went blind. Never raises for
        an AWS failure (the sweep goes on; the blind alert reports a canary that cannot be sent)."""
        try:
            self._check_blind(self._send_if_due())
        except Exception:  # whatever fails here must not fail the sweep: counted, logged, re-tried next sweep
            count("CanaryFailed")
            logger.exception("canary step failed")

    def _send_if_due(self) -> Mapping[str, Any] | None:
        """Send a canary when one is due; the canary's state as it is after this sweep's share.

        One read when no send is due (most sweeps); only then the conditional claim, so that two overlapping
        sweeps still send one canary, and a read after it for the state the send left."""
        now = self.clock.now().timestamp()
        state = self.records.canary()
        sent_at = state.get("sent_at") if state else None
        if isinstance(sent_at, int | float) and now - float(sent_at) < CANARY_EVERY.total_seconds():
            return state  # sent recently: the claim's condition would fail too
        nonce = secrets.token_hex(16)
        if self.records.claim_canary_send(nonce, now, CANARY_EVERY.total_seconds()):
            try:
                self.writer.put(self.parameter, nonce)
            except AwsCallFailed as error:
                count("CanarySendFailed")
                logger.exception("could not write the canary parameter")
                self.records.canary_send_failed(nonce, describe(error))
            else:
                count("CanarySent")
            if self.report is not None:
                self.report.check_forwarding()  # once per coverage round, as the canary
        return self.records.canary()

    def _check_blind(self, state: Mapping[str, Any] | None) -> None:
        if not state or state.get("blind_since") is not None or state.get("waiting_since") is None:
            return
        waiting_since = float(state["waiting_since"])
        now = self.clock.now()
        if now.timestamp() - waiting_since < CANARY_BLIND_AFTER.total_seconds():
            return
        if not self.records.mark_blind(waiting_since, now.timestamp()):
            return  # seen meanwhile, or another sweep marked it
        since = datetime.fromtimestamp(waiting_since, tz=now.tzinfo)
        if self.report is not None:
            report = self.report
            if report.alerted_elsewhere(state):
                return  # the forward check alerted this outage already
            count("AccountNotCovered")
            self.notifier.send_once(
                report.blind_key(waiting_since),
                lambda: report.blind_alert(state, since, now),
                ttl_seconds=ALERT_TTL_SECONDS,
            )
            return
        count("EventPathBlind")
        problem = state.get("send_error")
        self.notifier.send_once(
            f"canary-blind#{int(waiting_since)}",
            lambda: canary_blind_alert(
                self.context,
                parameter=self.parameter,
                waiting_since=since,
                now=now,
                causes=BLIND_CAUSES,
                send_error=str(problem) if problem else None,
            ),
            ttl_seconds=ALERT_TTL_SECONDS,
        )
