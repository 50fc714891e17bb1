"""How closely the local cloud plays AWS's timing and concurrency (IAM enforcement included).

``Fidelity()`` is quick and deterministic: sessions end the moment they are terminated, one worker delivers
events in order, failed asynchronous invocations are retried at once. ``Fidelity.aws()`` behaves as AWS does,
scaled to test time: what the functional tests run with.

Time: the warden confirms a termination with real sleeps between DescribeSessions calls while the emulated clock
stands still, so the ``Terminating`` window is wall time; advancing the emulated clock past it ends it as well.
Lambda retries an asynchronous event after about one minute, then two: ``retry_delays`` are wall seconds in the
same 1:2 ratio, and do not move the emulated clock.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Fidelity:
    terminating_seconds: float = 0.0  # how long a terminated session stays Terminating (wall seconds)
    workers: int = 1  # concurrent deliveries and invocations
    retry_delays: tuple[float, ...] = (0.0, 0.0)  # wall seconds before the 1st, 2nd... retry of a failed invocation
    enforce_iam: bool = True  # deny a function's call its role does not allow
    settle_seconds: float = 30.0  # how long advance() waits, each minute, for the work that minute set off

    def __post_init__(self) -> None:
        if self.terminating_seconds < 0:
            raise ValueError(f"terminating_seconds must not be negative, got {self.terminating_seconds}")
        if self.workers < 1:
            raise ValueError(f"workers must be at least 1, got {self.workers}")
        if any(delay < 0 for delay in self.retry_delays):
            raise ValueError(f"retry_delays must not be negative, got {self.retry_delays}")

    @classmethod
    def aws(cls) -> Fidelity:
        """AWS's behaviour, scaled: 2 s of Terminating, 4 workers, retries after 0.5 s then 1 s."""
        return cls(terminating_seconds=2.0, workers=4, retry_delays=(0.5, 1.0), enforce_iam=True)

    @classmethod
    def from_env(cls, base: Fidelity | None = None) -> Fidelity:
        """``base`` (default :meth:`aws`) with overrides from the environment, for running tests differently:
        ``WARDEN_LOCAL_TERMINATING_SECONDS``, ``WARDEN_LOCAL_WORKERS``, ``WARDEN_LOCAL_RETRY_DELAYS`` (e.g.
        ``0.5,1``) and ``WARDEN_LOCAL_IAM`` (``enforce`` or ``off``)."""
        fidelity = base or cls.aws()
        changes: dict[str, object] = {}
        if raw := os.environ.get("WARDEN_LOCAL_TERMINATING_SECONDS"):
            changes["terminating_seconds"] = float(raw)
        if raw := os.environ.get("WARDEN_LOCAL_WORKERS"):
            changes["workers"] = int(raw)
        if raw := os.environ.get("WARDEN_LOCAL_RETRY_DELAYS"):
            changes["retry_delays"] = tuple(float(part) for part in raw.split(",") if part.strip())
        if raw := os.environ.get("WARDEN_LOCAL_IAM"):
            if raw not in ("enforce", "off"):
                raise ValueError(f"WARDEN_LOCAL_IAM must be enforce or off, got {raw!r}")
            changes["enforce_iam"] = raw == "enforce"
        return dataclasses.replace(fidelity, **changes)  # type: ignore[arg-type]
