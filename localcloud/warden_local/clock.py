"""The emulated clock every part of the local cloud reads: sessions, CloudTrail, schedules and the handlers."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

from warden.timefmt import iso_z, to_utc


class EmulatedClock:
    """UTC "now" of the local cloud.

    Frozen (tests, demo): time moves only when the cloud advances it. Ticking (``warden local up``): time runs
    with the wall clock from its start instant once :meth:`run` is called, and advancing jumps it forward.
    """

    def __init__(self, start_at: datetime | None = None, *, frozen: bool = True) -> None:
        self._lock = threading.Lock()
        self._frozen = frozen
        self._running = False
        self._base = to_utc(start_at) if start_at is not None else datetime.now(UTC)
        self._anchor = time.monotonic()

    @property
    def frozen(self) -> bool:
        return self._frozen

    def run(self) -> None:
        """Start a ticking clock from where it stands (the local cloud does, once it serves)."""
        with self._lock:
            if not self._frozen and not self._running:
                self._running = True
                self._anchor = time.monotonic()

    def now(self) -> datetime:
        with self._lock:
            return self._now()

    def _now(self) -> datetime:
        if self._frozen or not self._running:
            return self._base
        return self._base + timedelta(seconds=time.monotonic() - self._anchor)

    def set(self, moment: datetime) -> None:
        """Move to ``moment``; the clock never goes back, so an earlier instant is an error."""
        moment = to_utc(moment)
        with self._lock:
            current = self._now()
            if moment < current:
                raise ValueError(f"the emulated clock cannot go back from {iso_z(current)} to {iso_z(moment)}")
            self._base = moment
            self._anchor = time.monotonic()

    def __repr__(self) -> str:
        return f"EmulatedClock(now={iso_z(self.now())}, frozen={self._frozen})"
