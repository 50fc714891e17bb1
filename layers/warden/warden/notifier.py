"""Alert once: publish an alert whose one-time marker the caller holds, and free the marker if it is not sent."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from warden.alerts.lifecycle import policy_missing_alert, policy_rejected_alert
from warden.alerts.text import AlertContext
from warden.errors import AwsCallFailed
from warden.observability import alert_sent, count, logger
from warden.policy import PolicyError
from warden.ports import Alerts, OnceStore, Outbox
from warden.records import Alert

# A rejected policy document is alerted once a week while it stays in Parameter Store.
POLICY_REJECTED_TTL_SECONDS = 7 * 24 * 3600


# How long one sender holds an outbox alert it is publishing before another sender may take it over.
_OUTBOX_CLAIM_SECONDS = 60
# Kept alerts sent per sweep at most: SNS e-mail takes 10 a second, so this is a few seconds of a sweep.
FLUSH_LIMIT = 50


@dataclass(frozen=True)
class Notifier:
    """Sends alerts so that each is sent once, never zero times.

    The caller claims a marker first (or :meth:`send_once` claims its key). With an ``outbox``, the alert is
    kept durably under its once-key before it is published and removed once SNS took it: an alert SNS refuses
    stays in the outbox, and :meth:`flush` (every sweep) sends it later. Without one, a failed send frees
    the marker and raises, so the caller's retry sends it.
    """

    alerts: Alerts
    once: OnceStore
    outbox: Outbox | None = None

    def send_claimed(self, alert: Alert, *, release: Callable[[], None], key: str | None = None) -> None:
        """Publish *alert*, whose marker the caller holds.

        Kept in the outbox under *key* first: if SNS refuses it, it stays there for the next sweep and nothing
        is raised. If it could not be kept either, *release* is called and the error re-raised, on any failure,
        not only an AWS one, so the retry that follows sends the alert.
        """
        owner = f"sender-{uuid.uuid4().hex}"
        kept = self._keep(key, alert, owner) if key else False
        if kept is None:
            return  # an earlier attempt kept this very alert: the outbox sends it
        try:
            self.alerts.publish(alert)
        except Exception:
            count("AlertFailed")
            if not kept:
                release()
                raise
            count("AlertKept")
            logger.exception("alert not sent; kept in the outbox for the next sweep", extra={"alert_key": key})
            self._unclaim(key, owner)
            return
        alert_sent(alert.kind)
        if kept and key:
            self._forget_kept(key)

    def send_once(self, key: str, alert: Callable[[], Alert], *, ttl_seconds: int) -> bool:
        """Publish the alert built by *alert* if this caller is the first for *key*; True when it did."""
        if not self.once.first(key, ttl_seconds=ttl_seconds):
            return False
        self.send_claimed(alert(), release=lambda: self.once.forget(key), key=key)
        return True

    def flush(self) -> int:
        """Send every alert the outbox keeps (each by one sender, also when sweeps overlap); how many were sent.

        Raises :class:`AwsCallFailed` when the outbox cannot be read. When SNS refuses one, it and the rest stay
        for the next sweep.
        """
        if self.outbox is None:
            return 0
        owner = f"flush-{uuid.uuid4().hex}"
        sent = 0
        for key, alert in self.outbox.pending():
            if sent >= FLUSH_LIMIT:
                break  # the rest go out with the next sweeps: a backlog never takes a sweep's whole time
            if not self.outbox.claim(key, owner, _OUTBOX_CLAIM_SECONDS):
                continue  # another sender has it
            try:
                self.alerts.publish(alert)
            except AwsCallFailed:
                count("AlertFailed")
                logger.exception("kept alert still not sent", extra={"alert_key": key})
                self._unclaim(key, owner)
                # SNS is failing (or throttling: e-mail allows 10 a second): the rest wait for the next sweep
                # rather than spend this sweep's time on retries.
                break
            alert_sent(alert.kind)
            self._forget_kept(key)
            sent += 1
            count("AlertSentFromOutbox")
        return sent

    def _keep(self, key: str, alert: Alert, owner: str) -> bool | None:
        """True when kept (and claimed by *owner*); None when already kept; False when the outbox failed."""
        if self.outbox is None:
            return False
        try:
            if not self.outbox.keep(key, alert, owner=owner, seconds=_OUTBOX_CLAIM_SECONDS):
                return None
        except AwsCallFailed:
            logger.exception("could not keep the alert in the outbox; sending it directly", extra={"alert_key": key})
            return False
        return True

    def _unclaim(self, key: str | None, owner: str) -> None:
        if self.outbox is None or key is None:
            return
        try:
            self.outbox.unclaim(key, owner)
        except AwsCallFailed:  # the claim expires by itself
            logger.exception("could not release an outbox claim", extra={"alert_key": key})

    def _forget_kept(self, key: str) -> None:
        if self.outbox is None:
            return
        try:
            self.outbox.sent(key)
        except AwsCallFailed:
            # Published, but still kept: once the claim expires a sweep sends it a second time. Rare, and a
            # duplicate beats a lost alert.
            logger.exception("alert sent but still kept in the outbox", extra={"alert_key": key})


@dataclass(frozen=True)
class PolicyRejectedAlerts:
    """The policy source's ``on_reject``: count, log, and alert once per rejected document."""

    notifier: Notifier
    context: AlertContext
    parameter: str
    appconfig: bool = False  # the store is AWS AppConfig (organization mode); ``parameter`` names the profile

    def __call__(self, digest: str, error: PolicyError, in_force: str) -> None:
        count("PolicyRejected")
        logger.error("stored policy rejected", extra={"problem": str(error), "in_force": in_force})
        try:
            self.notifier.send_once(
                f"policy-rejected#{digest}",
                lambda: policy_rejected_alert(
                    self.context,
                    parameter=self.parameter,
                    error=str(error),
                    in_force=in_force,
                    appconfig=self.appconfig,
                ),
                ttl_seconds=POLICY_REJECTED_TTL_SECONDS,
            )
        except AwsCallFailed:
            # Enforcement goes on with the last valid policy; the next invocation that reads the bad document
            # sends the alert again.
            logger.exception("policy rejected alert could not be sent")


@dataclass(frozen=True)
class PolicyMissingAlerts:
    """The policy source's ``on_missing``: alert once (HIGH) per kind of problem, whichever function saw it first.

    Keyed on the problem alone: the same deleted parameter seen by a warm container (policy from memory) and a
    cold one (policy from the kept copy) is one incident.
    """

    notifier: Notifier
    context: AlertContext
    parameter: str
    appconfig: bool = False

    def __call__(self, problem: str, in_force: str) -> None:
        count("PolicyMissingAlert")
        digest = hashlib.sha256(_problem_kind(problem).encode()).hexdigest()[:16]
        try:
            self.notifier.send_once(
                f"policy-missing#{digest}",
                lambda: policy_missing_alert(
                    self.context,
                    parameter=self.parameter,
                    problem=problem,
                    in_force=in_force,
                    appconfig=self.appconfig,
                ),
                ttl_seconds=POLICY_REJECTED_TTL_SECONDS,
            )
        except AwsCallFailed:
            logger.exception("policy missing alert could not be sent")


def _problem_kind(problem: str) -> str:
    """What kind of failure, without the request ids and times that differ between invocations."""
    return problem.split(":", 1)[0] + (problem.split("(", 1)[1].split(")", 1)[0] if "(" in problem else "")
