"""Scheduled rules fired from the emulated clock: on ``advance``, and every minute while the clock ticks."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from .clock import EmulatedClock
from .schedules import Schedule, ScheduleError, parse_schedule

logger = logging.getLogger("warden_local")


class Scheduler:
    """Fires scheduled rules from the emulated clock: on ``advance``, and every minute while the clock ticks."""

    def __init__(
        self,
        *,
        clock: EmulatedClock,
        account_id: str,
        region: str,
        fire: Callable[[Any, datetime], None],
        settle: Callable[[], None],
    ) -> None:
        self._clock = clock
        self._account_id = account_id
        self._region = region
        self._fire = fire
        self._settle = settle
        self._lock = threading.Lock()
        self._watermark = clock.now()  # every occurrence at or before it has fired
        self._parsed: dict[str, Schedule | None] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def reset_watermark(self) -> None:
        with self._lock:
            self._watermark = self._clock.now()

    def advance(self, delta: timedelta) -> int:
        clock = self._clock
        with self._lock:
            end = clock.now() + delta
            fired = self._fire_through(end, move_clock=True, settle=self._settle)
            if end > clock.now():
                clock.set(end)
            return fired

    def start_ticking(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._tick, name="warden-local-schedules", daemon=True)
        self._thread.start()

    def stop_ticking(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None

    def _tick(self) -> None:
        while not self._stop.wait(0.25):
            with self._lock:
                try:
                    self._fire_through(self._clock.now(), move_clock=False, settle=None)
                except Exception:
                    logger.exception("scheduled rules could not fire")

    def _fire_through(self, end: datetime, *, move_clock: bool, settle: Callable[[], None] | None) -> int:
        minute = self._watermark.replace(second=0, microsecond=0) + timedelta(minutes=1)
        fired = 0
        while minute <= end:
            rules = self._due(minute)
            if rules:
                if move_clock and minute > self._clock.now():
                    self._clock.set(minute)
                for rule in rules:
                    self._fire(rule, minute)
                fired += len(rules)
                if settle is not None:
                    settle()
            self._watermark = minute
            minute += timedelta(minutes=1)
        self._watermark = max(self._watermark, end)
        return fired

    def _due(self, minute: datetime) -> list[Any]:
        from moto.events.models import events_backends

        bus = events_backends[self._account_id][self._region].event_buses.get("default")
        if bus is None:
            return []
        due = []
        for rule in list(bus.rules.values()):
            expression = rule.scheduled_expression
            if not expression or rule.state != "ENABLED":
                continue
            if expression not in self._parsed:
                try:
                    self._parsed[expression] = parse_schedule(expression)
                except ScheduleError as error:
                    logger.warning("rule %s never fires in the local cloud: %s", rule.name, error)
                    self._parsed[expression] = None
            schedule = self._parsed[expression]
            if schedule is not None and schedule.is_due(minute):
                due.append(rule)
        return due
