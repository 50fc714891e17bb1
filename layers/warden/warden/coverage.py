"""Coverage (organization mode): is every account and region's canary coming back to the central warden?

Per scope, the sweep worker writes the canary (:class:`~warden.watch.Canary`) in the member account through the
member role, into the member stack's parameter ``/session-warden/<stack>/canary``; CloudTrail records the call,
the member's forwarding rule takes it to the central bus, and the tamper watch notes the round trip under the
scope's own canary item (``canary#<account>/<region>``). :class:`Coverage` is what that scope's outage is alerted
as: one ``account-not-covered`` alert per outage (no round trip for 10 minutes, or the member role refused), naming
the account, its name and OU path, the region, what was seen and what to do; an INFO RESTORED alert when the next
canary comes back. The outage is the canary item's ``waiting_since``; ``mark_blind`` is a conditional write, so
overlapping sweeps send one alert.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from warden.alerts.coverage import Where, account_covered_alert, account_not_covered_alert
from warden.alerts.text import AlertContext
from warden.errors import AwsCallFailed, MemberUnreachable, describe
from warden.notifier import Notifier
from warden.observability import count, logger
from warden.ports import Clock, Organization
from warden.records import Alert
from warden.scope import Scope
from warden.watch import CANARY_BLIND_AFTER, WatchReads, WatchRecords

_ALERT_TTL_SECONDS = 7 * 24 * 3600
# AssumeRole answers these when the role is not there or does not trust the caller: no use waiting 10 minutes.
ROLE_REFUSED = frozenset({"AccessDenied", "AccessDeniedException", "NoSuchEntity", "InvalidIdentityToken"})


class CoverageRecords(WatchRecords, Protocol):
    def mark_unreachable(self, now: float, problem: str) -> None:
        """The member role could not be assumed: the outage starts now unless it already has, with the error."""
        ...


class TrailProblems(Protocol):
    def problems(self) -> list[str]:
        """Empty when a trail logs the scope's write management events; else what is wrong with its trails."""
        ...


@dataclass(frozen=True)
class Coverage:
    """One scope's coverage: the blind report of its canary, its unreachable role, and its RESTORED alert."""

    scope: Scope
    stack: str
    role_arn: str
    clock: Clock
    directory: Organization
    records: CoverageRecords
    notifier: Notifier
    context: AlertContext
    parameter: str
    # Built on use: both need the member role, which the alert about a refused role must not need.
    trails: Callable[[], TrailProblems]
    member_reads: Callable[[], WatchReads]

    # ------------------------------------------------------------ the sweep worker's side
    def unreachable(self, error: MemberUnreachable) -> None:
        """The member role cannot be assumed: the outage starts (if it has not); alerted at once when AWS refused
        the role, after :data:`CANARY_BLIND_AFTER` when the call failed otherwise (throttling, a network error)."""
        now = self.clock.now()
        self.records.mark_unreachable(now.timestamp(), describe(error))
        state = self.records.canary()
        if not state or state.get("blind_since") is not None or state.get("waiting_since") is None:
            return
        waiting_since = float(state["waiting_since"])
        if error.code not in ROLE_REFUSED and now.timestamp() - waiting_since < CANARY_BLIND_AFTER.total_seconds():
            return
        if not self.records.mark_blind(waiting_since, now.timestamp()):
            return  # another sweep alerted this outage
        count("AccountNotCovered")
        since = datetime.fromtimestamp(waiting_since, tz=now.tzinfo)
        self.notifier.send_once(
            self.blind_key(waiting_since), lambda: self.blind_alert(state, since, now), ttl_seconds=_ALERT_TTL_SECONDS
        )

    # ------------------------------------------------------------ BlindReport (the canary's outage)
    def blind_key(self, waiting_since: float) -> str:
        return f"not-covered#{self.scope.label}#{int(waiting_since)}"

    def blind_alert(self, state: Mapping[str, Any], since: datetime, now: datetime) -> Alert:
        where = self._where()
        seen, actions = self._causes(state, since, where)
        return account_not_covered_alert(self.context, where=where, since=since, now=now, seen=seen, actions=actions)

    # ------------------------------------------------------------ ScopedCanary (the tamper watch's side)
    @property
    def reads(self) -> WatchReads:
        return self.member_reads()

    def restored_key(self, blind_since: float) -> str:
        return f"covered#{self.scope.label}#{int(blind_since)}"

    def restored_alert(self, since: datetime, seen_at: datetime, round_trip_ms: int) -> Alert:
        return account_covered_alert(
            self.context, where=self._where(), since=since, seen_at=seen_at, round_trip_ms=round_trip_ms
        )

    # ------------------------------------------------------------ plumbing
    def _where(self) -> Where:
        return where_of(self.scope, self.directory)

    def _causes(self, state: Mapping[str, Any], since: datetime, where: Where) -> tuple[list[str], list[str]]:
        region = self.scope.region
        ou = where.ou_path or "OU"
        redeploy = (
            f"deploy or repair the member stack there: `warden org deploy --ou {ou} --regions {region}` (the "
            f"StackSet {self.stack}-members deploys it to every account of its OUs), then check the stack "
            "instance's status and drift in CloudFormation StackSets"
        )
        unreachable = state.get("unreachable")
        if unreachable:
            return (
                [
                    f"the member role {self.role_arn} cannot be assumed: {str(unreachable)[:500]}",
                    "the member stack is missing in this account (never deployed by the StackSet, or deleted), or "
                    "its role was changed or no longer trusts the central functions",
                    "nothing in this account and region is swept until the role can be assumed again",
                ],
                [
                    redeploy,
                    "if the stack is there, compare its role with org/member.yaml (name, trust policy naming the "
                    "central functions' roles with aws:PrincipalOrgID) and undo the change",
                ],
            )
        seen = [
            f"the canary written to {self.parameter} since {since:%Y-%m-%d %H:%M:%S} UTC has not come back to the "
            "central event bus"
        ]
        if state.get("send_error"):
            seen.append(f"the last canary write failed: {str(state['send_error'])[:500]}")
        actions: list[str] = []
        try:
            problems = self.trails().problems()
        except (AwsCallFailed, MemberUnreachable) as error:
            seen.append(f"the trail status could not be read through the member role: {describe(error)[:300]}")
            problems = None
        if problems:
            seen += problems
            actions.append(
                "start the trail again and let it log write management events (aws cloudtrail start-logging, "
                "put-event-selectors), then find out who stopped it (CloudTrail StopLogging, PutEventSelectors)"
            )
        elif problems is not None:
            seen.append(
                "the trail logs write management events in this region: the member stack's forwarding rule is "
                "missing, disabled or no longer targets the central bus, or the central bus refuses it"
            )
        actions += [
            redeploy,
            f"check the rule {self.stack}-forward on the default bus of account {self.scope.account} in {region} "
            "is enabled and targets the central bus (in the central stack's home region)",
        ]
        return seen, actions


def where_of(scope: Scope, directory: Organization) -> Where:
    """The account and region an alert is about, with the account's name and OU path when Organizations says them."""
    try:
        account = directory.account(scope.account)
    except AwsCallFailed:
        logger.exception("the account's name and OU path could not be read for the alert")
        account = None
    return Where(
        account=scope.account,
        region=scope.region,
        name=account.name if account else None,
        ou_path=account.ou_path if account else None,
    )
