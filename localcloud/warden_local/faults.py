"""Faults on demand: AWS errors for the next calls of an API, CloudTrail events dropped or held back."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

_DEFAULT_MESSAGES = {
    "ThrottlingException": "Rate exceeded",
    "Throttling": "Rate exceeded",
    "RequestLimitExceeded": "Request limit exceeded.",
    "ProvisionedThroughputExceededException": "The level of configured provisioned throughput for the table was "
    "exceeded. Consider increasing your provisioning level with the UpdateTable API.",
    "InternalServerError": "An internal error occurred.",
    "InternalFailure": "An internal error occurred.",
    "ServiceUnavailable": "Service is unavailable.",
}


@dataclass(frozen=True)
class ApiFault:
    """An error answered instead of calling the API."""

    api: str
    code: str
    status: int
    message: str
    service: str | None = None

    def matches(self, service: str | None, action: str | None) -> bool:
        if action != self.api:
            return False
        return self.service is None or self.service == service


class Faults:
    """Armed faults; thread-safe, consumed as they fire.

    ``fail`` matches an API by its action name (``TerminateSession``, ``PutItem``, ``Publish``,
    ``DescribeInstances``), optionally qualified by the signing service (``ssm:TerminateSession``). Only APIs
    named by an ``X-Amz-Target`` header or an ``Action`` parameter can be matched (every JSON and query
    protocol service: SSM, DynamoDB, SQS, SNS, EC2, STS, IAM, EventBridge, CloudFormation).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._api: list[list[Any]] = []  # [ApiFault, remaining]
        self._drop: dict[str, int] = {}
        self._delay: dict[str, int] = {}
        self._duplicate: dict[str, int] = {}
        self._held: list[Any] = []
        self._release: Callable[[list[Any]], None] | None = None

    def bind_release(self, release: Callable[[list[Any]], None]) -> None:
        """Called by the cloud: where held events go when released."""
        self._release = release

    def fail(
        self,
        api: str,
        *,
        code: str = "ThrottlingException",
        status: int = 400,
        message: str | None = None,
        times: int = 1,
    ) -> None:
        """Answer the next ``times`` calls of ``api`` with an AWS error instead of calling it."""
        if times < 1:
            raise ValueError(f"times must be at least 1, got {times}")
        if not 400 <= status <= 599:
            raise ValueError(f"status must be an HTTP error status (4xx or 5xx), got {status}")
        service, _, action = api.rpartition(":")
        if not action:
            raise ValueError(f"invalid API name {api!r}: expected e.g. TerminateSession or ssm:TerminateSession")
        fault = ApiFault(
            api=action,
            code=code,
            status=status,
            message=message if message is not None else _DEFAULT_MESSAGES.get(code, f"{code} (injected)"),
            service=service.lower() or None,
        )
        with self._lock:
            self._api.append([fault, times])

    def drop_next_event(self, event_name: str) -> None:
        """The next CloudTrail event of ``event_name`` (e.g. ``StartSession``) is never delivered."""
        with self._lock:
            self._drop[event_name] = self._drop.get(event_name, 0) + 1

    def delay_next_event(self, event_name: str) -> None:
        """Hold the next CloudTrail event of ``event_name`` back until :meth:`release_delayed`."""
        with self._lock:
            self._delay[event_name] = self._delay.get(event_name, 0) + 1

    def duplicate_next_event(self, event_name: str) -> None:
        """Deliver the next CloudTrail event of ``event_name`` twice at the same time: each Lambda target runs it
        on two workers at once, as at-least-once delivery may (needs ``Fidelity.workers`` >= 2 to overlap)."""
        with self._lock:
            self._duplicate[event_name] = self._duplicate.get(event_name, 0) + 1

    def release_delayed(self) -> int:
        """Deliver every held event, oldest first; return how many."""
        with self._lock:
            held, self._held = self._held, []
        if held and self._release is not None:
            self._release(held)
        return len(held)

    def clear(self) -> None:
        """Disarm everything; held events are discarded."""
        with self._lock:
            self._api.clear()
            self._drop.clear()
            self._delay.clear()
            self._duplicate.clear()
            self._held.clear()

    @property
    def held(self) -> int:
        with self._lock:
            return len(self._held)

    # -- used by the cloud ------------------------------------------------------------------------------

    def armed(self) -> bool:
        with self._lock:
            return bool(self._api)

    def take_api_fault(self, service: str | None, action: str | None) -> ApiFault | None:
        with self._lock:
            for entry in self._api:
                fault, remaining = entry
                if fault.matches(service, action):
                    if remaining <= 1:
                        self._api.remove(entry)
                    else:
                        entry[1] = remaining - 1
                    return fault  # type: ignore[no-any-return]
        return None

    def intercept_event(self, event_name: str, event: Any) -> bool:
        """Whether the event was dropped or held back (and must not be delivered now)."""
        with self._lock:
            if self._drop.get(event_name):
                self._drop[event_name] -= 1
                return True
            if self._delay.get(event_name):
                self._delay[event_name] -= 1
                self._held.append(event)
                return True
        return False

    def take_duplicate(self, event_name: str) -> bool:
        """Whether this event is to be delivered twice at once (consumes the fault)."""
        with self._lock:
            if self._duplicate.get(event_name):
                self._duplicate[event_name] -= 1
                return True
        return False

    def apply(self, spec: dict[str, Any]) -> dict[str, Any]:
        """The JSON form of ``POST /_warden/faults``."""
        kind = spec.get("fault") or spec.get("action")
        if kind == "fail":
            api = spec.get("api")
            if not isinstance(api, str):
                raise ValueError('a "fail" fault needs "api", e.g. {"fault": "fail", "api": "TerminateSession"}')
            self.fail(
                api,
                code=str(spec.get("code", "ThrottlingException")),
                status=int(spec.get("status", 400)),
                message=spec.get("message"),
                times=int(spec.get("times", 1)),
            )
            return {"armed": "fail", "api": api}
        if kind in ("drop_next_event", "delay_next_event", "duplicate_next_event"):
            event_name = spec.get("event_name")
            if not isinstance(event_name, str):
                raise ValueError(f'a "{kind}" fault needs "event_name", e.g. "StartSession"')
            getattr(self, kind)(event_name)
            return {"armed": kind, "event_name": event_name}
        if kind == "release_delayed":
            return {"released": self.release_delayed()}
        if kind == "clear":
            self.clear()
            return {"cleared": True}
        raise ValueError(
            f"unknown fault {kind!r}: expected fail, drop_next_event, delay_next_event, duplicate_next_event, "
            "release_delayed or clear"
        )
