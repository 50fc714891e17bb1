"""Per-scope liveness (organization mode): has every account and region been swept within the last 3 minutes?

The liveness alarm proves only that the scheduled sweeper (the dispatcher) runs. The sweeps themselves run in the
sweep workers, which anyone allowed to disable the worker's event source mapping, purge the queue or break the
worker can stop. So each minute, once the orders are out, the dispatcher reads every scope's heartbeat (the item
the worker writes when a sweep of that scope completed) and judges it with :func:`stale_since` (the one judgement:
``warden org status`` and ``warden status`` use it too). A scope whose last completed sweep is more than
:data:`STALE_AFTER` old gets one ``enforcer-unhealthy`` HIGH alert per outage, and one INFO RESTORED alert when a
sweep there completes again.

A scope newly enrolled has no heartbeat yet: like a new canary, its clock starts when the warden first sees it (the
dispatcher notes ``watched_since`` on the heartbeat item it finds missing), so it has the same 3 minutes of grace.
An outage is kept as one item per scope (``sweeps-stopped``, sk the scope's label, since when), so that the RESTORED
alert can be sent once a sweep there completes; the alerts themselves go through the notifier's once-markers.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from warden.alerts.sweeps import sweeps_resumed_alert, sweeps_stopped_alert
from warden.alerts.text import AlertContext
from warden.coverage import where_of
from warden.notifier import Notifier
from warden.observability import count, logger
from warden.ports import Clock, Organization
from warden.scope import Scope

# The same threshold as the liveness alarm: no completed sweep for 3 minutes.
STALE_AFTER = timedelta(minutes=3)
# A sweep completes before the dispatcher reads it: a heartbeat this far ahead of the clock was not written by one.
_CLOCK_SKEW = timedelta(minutes=1)
_ALERT_TTL_SECONDS = 7 * 24 * 3600


@dataclass(frozen=True)
class ScopeBeat:
    """What the state table says of one scope's sweeps: the last completed one, and when the warden first saw it."""

    last_sweep: datetime | None = None
    watched_since: datetime | None = None


def stale_since(beat: ScopeBeat | None, now: datetime) -> datetime | None:
    """When the scope's sweeps count as stopped from, or None while they do not.

    Stopped: the last completed sweep is more than :data:`STALE_AFTER` old (or, never swept, the warden first saw the
    scope more than that long ago), or either lies in the future (no sweep writes that: the item was edited). None: a
    sweep completed recently, or the scope is new (no item, or one with neither time readable: its grace starts
    now, see :meth:`ScopeWatch.check`)."""
    if beat is None:
        return None
    start = beat.last_sweep or beat.watched_since
    if start is None:
        return None
    if start > now + _CLOCK_SKEW:
        return start
    return start if now - start > STALE_AFTER else None


class ScopeBeats(Protocol):
    """The scopes' heartbeat items and their outages, in the state table."""

    def beats(self, scopes: Sequence[Scope]) -> dict[Scope, ScopeBeat]:
        """The heartbeat item of each scope that has one (BatchGetItem); a scope without one is left out."""
        ...

    def watch_from(self, scopes: Sequence[Scope], at: datetime) -> None:
        """Note *at* as ``watched_since`` of these scopes (each had no heartbeat item), unless one is noted."""
        ...

    def outages(self) -> dict[str, datetime]:
        """Every scope whose sweeps were alerted as stopped: its label -> since when."""
        ...

    def outage_began(self, scope: Scope, since: datetime) -> None: ...

    def outage_ended(self, label: str) -> None: ...


@dataclass(frozen=True)
class ScopeWatch:
    """The dispatcher's per-minute look at every scope's sweeps; alerts once per outage, and when it ends."""

    clock: Clock
    beats: ScopeBeats
    notifier: Notifier
    directory: Organization
    context_of: Callable[[Scope], AlertContext]
    stack: str

    def check(self, scopes: Sequence[Scope]) -> list[Scope]:
        """Judge every scope's last completed sweep; the scopes whose sweeps have stopped. Raises
        :class:`~warden.errors.AwsCallFailed` when the heartbeats cannot be read (the sweeper fails: the liveness
        alarm fires) or an alert can be neither sent nor kept."""
        now = self.clock.now()
        beats = self.beats.beats(scopes)
        # New, or an item with no readable time (edited): its grace starts now, and then it is judged like any other.
        new = [
            scope
            for scope in scopes
            if (beat := beats.get(scope)) is None or (beat.last_sweep is None and beat.watched_since is None)
        ]
        if new:
            self.beats.watch_from(new, now)
        open_outages = self.beats.outages()
        stale: list[Scope] = []
        for scope in scopes:
            beat = beats.get(scope)
            since = stale_since(beat, now)
            if since is not None:
                stale.append(scope)
                if open_outages.get(scope.label) != since:
                    self._stopped(scope, beat or ScopeBeat(), since, now)
            elif scope.label in open_outages and beat is not None and beat.last_sweep is not None:
                self._resumed(scope, open_outages[scope.label], beat.last_sweep)
        current = {scope.label for scope in scopes}
        for label in open_outages.keys() - current:
            self.beats.outage_ended(label)  # no longer swept at all (the account left, a region unguarded)
        if stale:
            count("ScopeSweepStale", len(stale))
            logger.error("sweeps stopped", extra={"scopes": [scope.label for scope in stale][:50]})
        return stale

    def _stopped(self, scope: Scope, beat: ScopeBeat, since: datetime, now: datetime) -> None:
        where = where_of(scope, self.directory)
        self.notifier.send_once(
            f"sweeps-stopped#{scope.label}#{int(since.timestamp())}",
            lambda: sweeps_stopped_alert(
                self.context_of(scope), where=where, last_sweep=beat.last_sweep, since=since, now=now, stack=self.stack
            ),
            ttl_seconds=_ALERT_TTL_SECONDS,
        )
        count("ScopeSweepsStopped")
        # After the alert: if this write fails, the next minute's check finds no outage and the once-marker holds.
        self.beats.outage_began(scope, since)

    def _resumed(self, scope: Scope, since: datetime, swept_at: datetime) -> None:
        where = where_of(scope, self.directory)
        self.notifier.send_once(
            f"sweeps-resumed#{scope.label}#{int(since.timestamp())}",
            lambda: sweeps_resumed_alert(self.context_of(scope), where=where, since=since, swept_at=swept_at),
            ttl_seconds=_ALERT_TTL_SECONDS,
        )
        self.beats.outage_ended(scope.label)
