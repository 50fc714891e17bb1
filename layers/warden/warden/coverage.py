"""Coverage (organization mode): is every account and region's canary coming back to the central warden?

Per scope, the sweep worker writes the canary (:class:`~warden.canary.Canary`) in the member account through the
member role, into the member stack's parameter ``/session-warden/<stack>/canary``; CloudTrail records the call,
the member's forwarding rule takes it to the central bus, and the tamper watch notes the round trip under the
scope's own canary item (``canary#<account>/<region>``). :class:`Coverage` is what that scope's outage is alerted
as: one ``account-not-covered`` alert per outage (no round trip for 10 minutes, or the member role refused), naming
the account, its name and OU path, the region, what was seen and what to do; an INFO RESTORED alert when the next
canary comes back. The outage is the canary item's ``waiting_since``; ``mark_blind`` is a conditional write, so
overlapping sweeps send one alert.

The canary alone cannot see a forward rule narrowed to keep the canary's PutParameter only. So each coverage round
(each canary sent) also reads the scope's forward rule and judges it against the central bus's rules
(:mod:`warden.policy.forward_rule`). A rule that no longer forwards everything is the same ``account-not-covered``
outage (``rule_since`` on the canary item): one alert whichever of the two sees it first, and one RESTORED when both
the rule and the canary are back.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from warden.alerts.coverage import Where, account_covered_alert, account_not_covered_alert
from warden.alerts.text import AlertContext
from warden.canary import CANARY_BLIND_AFTER, WatchReads, WatchRecords
from warden.errors import AwsCallFailed, MemberUnreachable, describe
from warden.notifier import Notifier
from warden.observability import count, logger
from warden.policy.forward_rule import ForwardRule, NeededRule, PatternError, forward_rule_problem
from warden.ports import Clock, Organization
from warden.records import Alert
from warden.scope import Scope

_ALERT_TTL_SECONDS = 7 * 24 * 3600
# AssumeRole answers these when the role is not there or does not trust the caller: no use waiting 10 minutes.
ROLE_REFUSED = frozenset({"AccessDenied", "AccessDeniedException", "NoSuchEntity", "InvalidIdentityToken"})


class CoverageRecords(WatchRecords, Protocol):
    def mark_unreachable(self, now: float, problem: str) -> None:
        """The member role could not be assumed: the outage starts now unless it already has, with the error."""
        ...

    def forward_problem_seen(self, problem: str, now: float) -> Mapping[str, Any] | None:
        """Note what is wrong with the forward rule; the canary item after it when this began the rule's outage
        (``rule_since`` = *now*), None when the outage had begun already (only its text is updated)."""
        ...

    def forward_problem_cleared(self, since: float) -> Mapping[str, Any] | None:
        """End the rule's outage that began at *since*; the canary item after it, None when another sweep did."""
        ...


class ForwardRuleReader(Protocol):
    def read(self) -> ForwardRule | None:
        """The forward rule (None: there is none); raises AwsCallFailed when it cannot be read."""
        ...


class NeededRules(Protocol):
    def needed(self) -> Sequence[NeededRule]:
        """The central bus's rules; raises AwsCallFailed when they cannot be read."""
        ...


@dataclass(frozen=True)
class Forwarding:
    """What the forward check of one scope reads: the member's rule (through the member role) and the central rules."""

    rule_name: str
    central_bus_arn: str
    needed: NeededRules
    reader: Callable[[], ForwardRuleReader]
    # The central stack's own resources the central rules name (its warning document): no member forwards them.
    central_only: frozenset[str] = frozenset()


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
    # None: the scope has no forward rule (the central account's home region, watched by the central stack itself).
    forwarding: Forwarding | None = None

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
        if not self.records.mark_blind(waiting_since, now.timestamp()) or self.alerted_elsewhere(state):
            return  # another sweep alerted this outage, or the forward check did
        count("AccountNotCovered")
        since = datetime.fromtimestamp(waiting_since, tz=now.tzinfo)
        self.notifier.send_once(
            self.blind_key(waiting_since), lambda: self.blind_alert(state, since, now), ttl_seconds=_ALERT_TTL_SECONDS
        )

    # ------------------------------------------------------------ the forward check (once per coverage round)
    def check_forwarding(self) -> None:
        """Read the scope's forward rule and judge it; alert the outage it begins, RESTORED the one it ends. A member
        read that fails is judged as forwarding nothing; the central rules failing to list changes nothing (counted
        and logged: the member is not to blame)."""
        if self.forwarding is None:
            return
        forwarding, now = self.forwarding, self.clock.now()
        try:
            needed = forwarding.needed.needed()
            try:
                rule: ForwardRule | None = forwarding.reader().read()
                unreadable = None
            except AwsCallFailed as error:
                if isinstance(error, MemberUnreachable):
                    raise  # the role itself is refused: the sweep's unreachable report says so
                # Refused, throttled (the member's own callers can exhaust its EventBridge limits) or failing: a rule
                # that cannot be judged is not trusted (fail closed), round after round until it can be read.
                rule, unreadable = None, describe(error)
            problem = (
                f"forward rule {forwarding.rule_name} in account {self.scope.account} region {self.scope.region} "
                f"cannot be read through the member role ({unreadable[:300]}): the role was changed, the member "
                "stack is older than the central stack, or the account's EventBridge refuses the reads; treated as "
                "forwarding nothing"
                if unreadable
                else forward_rule_problem(
                    rule,
                    rule_name=forwarding.rule_name,
                    needed=needed,
                    central_bus_arn=forwarding.central_bus_arn,
                    account=self.scope.account,
                    region=self.scope.region,
                    central_only=forwarding.central_only,
                )
            )
        except (AwsCallFailed, PatternError) as error:
            count("ForwardCheckFailed")
            logger.error(
                "the forward rule could not be judged", extra={"scope": self.scope.label, "problem": str(error)}
            )
            return
        count("ForwardCheckRun")
        if problem:
            self._forward_outage(problem, now)
        else:
            self._forward_fine(now)

    def alerted_elsewhere(self, state: Mapping[str, Any]) -> bool:
        """Whether the scope's outage was alerted by the forward check (so the canary's report adds no second one)."""
        return state.get("rule_since") is not None

    def _forward_outage(self, problem: str, now: datetime) -> None:
        count("ForwardRuleBroken")
        logger.warning("forward rule broken", extra={"scope": self.scope.label, "problem": problem})
        began = self.records.forward_problem_seen(problem, now.timestamp())
        if began is None or began.get("blind_since") is not None:
            return  # alerted already: by an earlier round, or as the canary's outage
        self.notifier.send_once(
            f"not-covered#{self.scope.label}#rule#{int(now.timestamp())}",
            lambda: self._forward_alert(problem, now),
            ttl_seconds=_ALERT_TTL_SECONDS,
        )

    def _forward_fine(self, now: datetime) -> None:
        state = self.records.canary() or {}
        since = state.get("rule_since")
        if since is None:
            return
        after = self.records.forward_problem_cleared(float(since))
        if after is None or after.get("blind_since") is not None:
            return  # another sweep ended it, or the canary's outage goes on: its RESTORED follows the canary
        waiting = after.get("waiting_since")
        if waiting is not None and self.records.mark_blind(float(waiting), float(since)):
            return  # the canary sent this round is on its way: RESTORED when it comes back through the rule
        started = datetime.fromtimestamp(float(since), tz=now.tzinfo)
        round_trip = after.get("round_trip_ms")
        self.notifier.send_once(
            f"covered#{self.scope.label}#rule#{int(float(since))}",
            lambda: self.restored_alert(started, now, int(round_trip) if isinstance(round_trip, int) else 0),
            ttl_seconds=_ALERT_TTL_SECONDS,
        )

    def _forward_alert(self, problem: str, now: datetime) -> Alert:
        where = self._where()
        name = self.forwarding.rule_name if self.forwarding else f"{self.stack}-forward"
        seen = [
            problem,
            "found by reading the rule through the member role: the canary alone cannot show it (a narrowed rule may "
            "still forward the canary's PutParameter)",
        ]
        actions = [
            f"restore the rule {name} as the member stack defines it (org/member.yaml): CloudFormation StackSets "
            f"drift detection on {self.stack}-members shows what changed; undo it with aws events put-rule / "
            "enable-rule / put-targets, or replace the stack instance",
            f"find who changed it: CloudTrail of account {self.scope.account} in {self.scope.region}, events "
            f"PutRule, DisableRule, DeleteRule, RemoveTargets, PutTargets on {name} (the warden may not have received "
            "them once the rule stopped forwarding them)",
        ]
        return account_not_covered_alert(self.context, where=where, since=now, now=now, seen=seen, actions=actions)

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
