"""The scheduled sweeper's minute in organization mode: the organization's own part, the sweep orders, and the look
at every scope's sweeps; its heartbeat means all three completed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from warden.errors import AwsCallFailed
from warden.fanout import Dispatcher
from warden.observability import count, logger
from warden.outcomes import SweepReport
from warden.scope import Scope
from warden.scope_liveness import ScopeWatch


class OrgSweeper(Protocol):
    def sweep_org(self, owner: str) -> SweepReport: ...

    def heartbeat(self) -> None: ...


@dataclass(frozen=True)
class OrgRound:
    """One minute of the dispatcher. The orders go out whatever the organization-wide part found (no account waits
    for a grant or an alert), and every scope's sweeps are judged whatever the orders did (a stopped worker is what
    this look is for). The first failure is raised once all three ran; the heartbeat (``SweepCompleted`` and the
    ``heartbeat`` item: the liveness alarm's) is recorded only when none failed and the lease was not held."""

    sweeper: OrgSweeper
    dispatcher: Dispatcher
    watch: ScopeWatch

    def run(self, owner: str) -> dict[str, Any]:
        failures: list[Exception] = []
        report = SweepReport(skipped=True)
        try:
            report = self.sweeper.sweep_org(owner)
        except Exception as error:  # raised below, once the orders are out
            failures.append(error)
        scopes: list[Scope] | None = None
        try:
            scopes = self.dispatcher.plan()
        except AwsCallFailed:
            logger.exception("cannot list the organization's accounts; sending the central account's orders")
        sent = 0
        try:
            sent = self.dispatcher.dispatch(scopes)
        except Exception as error:
            failures.append(error)
        stale: list[Scope] = []
        if scopes is not None:
            try:
                stale = self.watch.check(scopes)
            except Exception as error:
                count("ScopeWatchFailed")
                logger.exception("could not judge the scopes' sweeps")
                failures.append(error)
        if failures:
            raise failures[0]
        if not report.skipped:
            self.sweeper.heartbeat()
        return {**report.to_dict(), "orders_sent": sent, "scopes_stale": len(stale)}
