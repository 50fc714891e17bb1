"""The tamper-watch function's service: who changed what the warden depends on, and the canary coming back through
the event path (the sweeper's side of the canary is :mod:`warden.canary`)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from warden.alerts import AlertContext, canary_restored_alert, tamper_alert
from warden.canary import ALERT_TTL_SECONDS, ScopedCanary, WatchReads, WatchRecords
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

# A policy push record counts for the PutParameter it announces when the call came this soon after it.
PUSH_WINDOW = timedelta(minutes=15)


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
            self.notifier.send_once(f"tamper#{call.event_id}", alert, ttl_seconds=ALERT_TTL_SECONDS)
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
                    ttl_seconds=ALERT_TTL_SECONDS,
                )
            else:
                self.notifier.send_once(
                    f"canary-restored#{int(float(blind_since))}",
                    lambda: canary_restored_alert(
                        self.context, blind_since=since, seen_at=now, round_trip_ms=round_trip_ms
                    ),
                    ttl_seconds=ALERT_TTL_SECONDS,
                )
        return {"outcome": "canary", "round_trip_ms": round_trip_ms}
