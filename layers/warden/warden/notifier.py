"""Alert once: publish an alert whose one-time marker the caller holds, and free the marker if it is not sent."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from warden.alerts import AlertContext, policy_rejected_alert
from warden.errors import AwsCallFailed
from warden.observability import count, logger
from warden.policy import PolicyError
from warden.ports import Alert, Alerts, OnceStore

# A rejected policy document is alerted once a week while it stays in Parameter Store.
POLICY_REJECTED_TTL_SECONDS = 7 * 24 * 3600


@dataclass(frozen=True)
class Notifier:
    """Sends alerts so that each is sent once: the caller claims a marker first, a failed send frees it."""

    alerts: Alerts
    once: OnceStore

    def send_claimed(self, alert: Alert, *, release: Callable[[], None]) -> None:
        """Publish *alert*, whose marker the caller holds; if it is not sent, call *release* and re-raise.

        The marker is freed on any failure, not only an AWS one, so the retry that follows sends the alert.
        """
        sent = False
        try:
            self.alerts.publish(alert)
            sent = True
        finally:
            if not sent:
                release()
                count("AlertFailed")

    def send_once(self, key: str, alert: Callable[[], Alert], *, ttl_seconds: int) -> bool:
        """Publish the alert built by *alert* if this caller is the first for *key*; True when it did."""
        if not self.once.first(key, ttl_seconds=ttl_seconds):
            return False
        self.send_claimed(alert(), release=lambda: self.once.forget(key))
        return True


@dataclass(frozen=True)
class PolicyRejectedAlerts:
    """The policy source's ``on_reject``: count, log, and alert once per rejected document."""

    notifier: Notifier
    context: AlertContext
    parameter: str

    def __call__(self, digest: str, error: PolicyError, in_force: str) -> None:
        count("PolicyRejected")
        logger.error("stored policy rejected", extra={"problem": str(error), "in_force": in_force})
        try:
            self.notifier.send_once(
                f"policy-rejected#{digest}",
                lambda: policy_rejected_alert(
                    self.context, parameter=self.parameter, error=str(error), in_force=in_force
                ),
                ttl_seconds=POLICY_REJECTED_TTL_SECONDS,
            )
        except AwsCallFailed:
            # Enforcement goes on with the last valid policy; the next invocation that reads the bad document
            # sends the alert again.
            logger.exception("policy rejected alert could not be sent")
