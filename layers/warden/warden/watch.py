"""The tamper-watch function's service and the canary: who changed what the warden depends on, and whether the
event path (trail, rule, target, permission) still delivers."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Protocol

from warden.alerts import AlertContext, canary_blind_alert, canary_restored_alert, tamper_alert
from warden.errors import AwsCallFailed, describe
from warden.notifier import Notifier
from warden.observability import count, logger, metrics
from warden.ports import Clock
from warden.preferences import preference_changes, preferences_of
from warden.records import Alert
from warden.tamper import (
    POLICY_STORE_PUSH,
    ControlCall,
    Finding,
    Owned,
    meaning_of,
    parse_control_event,
    resource_of,
)

# A canary is written every CANARY_EVERY; no round trip CANARY_BLIND_AFTER after the first unanswered one is blind.
CANARY_EVERY = timedelta(minutes=5)
CANARY_BLIND_AFTER = timedelta(minutes=10)
# A policy push record counts for the PutParameter it announces when the call came this soon after it.
PUSH_WINDOW = timedelta(minutes=15)
_ALERT_TTL_SECONDS = 7 * 24 * 3600
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
class TamperWatch:
    """Handles each CloudTrail event its rules deliver: the canary's round trip, or a change to the warden."""

    clock: Clock
    owned: Owned
    reads: WatchReads
    records: WatchRecords
    notifier: Notifier
    context: AlertContext
    # Organization mode: the canary of the event's account and region (None: not one the warden covers).
    scoped: Callable[[Mapping[str, Any]], ScopedCanary | None] | None = None

    def handle(self, event: object) -> dict[str, Any]:
        call = parse_control_event(event)
        if call.failed:
            # A refused call changed nothing; CloudTrail's record of it is for the audit, not an alert.
            return {"outcome": "ignored", "why": f"the call failed ({call.error_code})"}
        found = resource_of(call, self.owned)
        if found is None:
            return {"outcome": "ignored", "why": "it changes nothing the warden depends on"}
        kind, name = found
        if kind == "canary":
            if call.short_name == "PutParameter":
                return self._canary_back(call, event)
            return self._tamper(Finding(call, name, meaning_of(call, kind, name, self.owned)))
        if call.deployed_by_cloudformation and kind in (
            "rule",
            "function",
            "table",
            "policy",
            "warning document",
            "policy store",
            "queue",
            "event source mapping",
        ):
            # Only the stack that owns a resource changes it through CloudFormation: the warden's own deploy.
            count("TamperDeploy")
            return {"outcome": "deploy", "event_id": call.event_id}
        if kind == "policy" and call.short_name == "PutParameter" and self._is_push(call):
            count("PolicyPushSeen")
            return {"outcome": "policy push", "event_id": call.event_id}
        if kind == "policy store" and call.short_name in POLICY_STORE_PUSH and self._is_store_push(call):
            count("PolicyPushSeen")
            return {"outcome": "policy push", "event_id": call.event_id}
        details: tuple[str, ...] = ()
        if kind == "preferences" and call.short_name == "UpdateDocument":
            details = self._preference_details(call)
        return self._tamper(Finding(call, name, meaning_of(call, kind, name, self.owned), details))

    def _tamper(self, finding: Finding) -> dict[str, Any]:
        call = finding.call
        count("EnforcerTampered")
        logger.warning(
            "enforcer tampered",
            extra={"event_name": call.event_name, "resource": finding.resource, "actor": call.actor},
        )
        at = call.event_time

        # Organization mode: a member's (or another region's) call is reported where it was made.
        context, elsewhere = self.context, False
        if self.scoped is not None and call.account is not None and call.region is not None:
            elsewhere = (call.account, call.region) != (context.account, context.region)
            context = replace(context, account=call.account, region=call.region)

        def alert() -> Alert:
            return tamper_alert(
                context,
                event_name=call.event_name,
                actor=call.actor,
                actor_arn=call.actor_arn,
                resource=finding.resource,
                at=at,
                meaning=finding.meaning,
                details=finding.details,
                member_stack=elsewhere,
            )

        # The alert first: the call may have deleted the very table the record or the once-marker lives in.
        try:
            self.notifier.send_once(f"tamper#{call.event_id}", alert, ttl_seconds=_ALERT_TTL_SECONDS)
        except Exception:  # the once-marker could not be written: a duplicate beats a lost alert
            logger.exception("alert-once failed; publishing the tamper alert directly")
            self.notifier.alerts.publish(alert())
        try:
            self.records.record_tamper(
                f"{at:%Y-%m-%dT%H:%M:%SZ}#{call.event_id}",
                {
                    "event_name": call.event_name,
                    "actor": call.actor,
                    "resource": finding.resource,
                    "meaning": finding.meaning,
                    "at": int(at.timestamp()),
                },
            )
        except AwsCallFailed:
            count("TamperRecordFailed")
            logger.exception("tamper event alerted but not kept in the state table")
        return {"outcome": "tampered", "event_id": call.event_id, "resource": finding.resource}

    def _is_push(self, call: ControlCall) -> bool:
        """True when `warden policy push` announced exactly this text and the call came right after it."""
        version = call.response.get("version")
        if not isinstance(version, int) or isinstance(version, bool):
            return False
        return self._announced(call, version, self.reads.parameter_value(self.owned.policy_parameter, version))

    def _is_store_push(self, call: ControlCall) -> bool:
        """The hosted version created, or deployed, holds exactly the text `warden policy push` announced, and the
        call came right after it (the version is read back from AppConfig: the event never carries the content)."""
        raw = call.response.get("versionNumber") if call.short_name == "CreateHostedConfigurationVersion" else None
        if raw is None:
            raw = call.request.get("configurationVersion")
        profile = call.text("configurationProfileId")
        if isinstance(raw, bool) or not str(raw or "").isdigit() or not profile or profile != self.owned.policy_profile:
            return False
        version = int(str(raw))
        try:
            content = self.reads.hosted_version(str(self.owned.policy_application), profile, version)
        except AwsCallFailed:
            logger.exception("could not read the policy version back from AppConfig")
            return False
        return self._announced(call, version, content)

    def _announced(self, call: ControlCall, version: int, value: str | None) -> bool:
        if value is None:
            return False
        record = self.records.policy_push(hashlib.sha256(value.encode("utf-8")).hexdigest())
        if record is None:
            return False
        recorded_version = record.get("version")
        if recorded_version is not None and int(recorded_version) != version:
            return False  # the same text pushed once, written again by someone else later
        at = record.get("at")
        if not isinstance(at, int | float):
            return False
        return abs(call.event_time.timestamp() - float(at)) <= PUSH_WINDOW.total_seconds()

    def _preference_details(self, call: ControlCall) -> tuple[str, ...]:
        description = call.response.get("documentDescription")
        version = description.get("documentVersion") if isinstance(description, Mapping) else None
        if not isinstance(version, str) or not version.isdigit() or int(version) < 2:
            return ("the versions before and after could not be told from the event: compare them in the console",)
        try:
            new = self.reads.document_content(call.text("name") or "", version)
            old = self.reads.document_content(call.text("name") or "", str(int(version) - 1))
        except AwsCallFailed as error:
            return (f"the versions could not be read ({describe(error)}): compare them in the console",)
        changes = preference_changes(preferences_of(old), preferences_of(new))
        heading = f"version {int(version) - 1} -> {version}"
        return (heading, *changes) if changes else (heading, "no setting changed (only the description or format)")

    # -- the canary coming back ---------------------------------------------------------------------------

    def _canary_back(self, call: ControlCall, event: object) -> dict[str, Any]:
        reads, records, scoped = self.reads, self.records, None
        if self.scoped is not None and call.deployed_by_cloudformation:
            # The member stack (or this one) creating or updating its canary parameter: no canary of the warden's.
            return {"outcome": "deploy", "event_id": call.event_id}
        if self.scoped is not None:
            # Organization mode: every canary is an account's and region's, read and noted in that scope.
            scoped = self.scoped(event) if isinstance(event, Mapping) else None
            if scoped is None:
                return {
                    "outcome": "ignored",
                    "why": "a canary write from an account or region the warden does not cover",
                }
            reads, records = scoped.reads, scoped.records
        version = call.response.get("version")
        name = self.owned.canary_parameter
        if not isinstance(version, int) or name is None:
            return {"outcome": "ignored", "why": "a canary write without a version"}
        value = reads.parameter_value(name, version)
        if not value:
            return {"outcome": "ignored", "why": "the canary version is gone"}
        now = self.clock.now()
        old = records.canary_seen(value, now.timestamp())
        if old is None:
            return {"outcome": "ignored", "why": "not the canary sent last"}
        sent_at = float(old.get("sent_at", now.timestamp()))
        round_trip_ms = max(0, int((now.timestamp() - sent_at) * 1000))
        metrics.add_metric(name="CanaryRoundTrip", unit="Milliseconds", value=round_trip_ms)
        blind_since = old.get("blind_since")
        if blind_since is not None and scoped is not None and scoped.alerted_elsewhere(old):
            blind_since = None  # the forward rule is still broken: RESTORED when the forward check finds it fixed
        if blind_since is not None:
            since = datetime.fromtimestamp(float(blind_since), tz=now.tzinfo)
            if scoped is not None:
                restored = scoped
                self.notifier.send_once(
                    restored.restored_key(float(blind_since)),
                    lambda: restored.restored_alert(since, now, round_trip_ms),
                    ttl_seconds=_ALERT_TTL_SECONDS,
                )
            else:
                self.notifier.send_once(
                    f"canary-restored#{int(float(blind_since))}",
                    lambda: canary_restored_alert(
                        self.context, blind_since=since, seen_at=now, round_trip_ms=round_trip_ms
                    ),
                    ttl_seconds=_ALERT_TTL_SECONDS,
                )
        return {"outcome": "canary", "round_trip_ms": round_trip_ms}


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
                ttl_seconds=_ALERT_TTL_SECONDS,
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
            ttl_seconds=_ALERT_TTL_SECONDS,
        )
