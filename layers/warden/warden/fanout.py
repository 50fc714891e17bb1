"""Sweep fan-out (organization mode): every account and region swept every minute, however many there are.

The scheduled sweeper does the organization's own part (grant expiry, the alert outbox, the policy) and then sends
one SQS message per scope to the sweep queue: every ACTIVE member account (the management account excluded: no
StackSet deploys there) x every guarded region, plus the central account. The sweep workers take one message each
and sweep that scope (``build_warden(scope).sweeper.sweep_scope``) under its own lease and heartbeat.

Why SQS and not Step Functions:

- **Per-message isolation.** Each scope is its own message: a member whose role cannot be assumed, or whose sweep
  fails, fails that one message (``batchItemFailures``), never a shared execution the other scopes wait on.
- **Concurrency by the event source mapping.** ``ScalingConfig.MaximumConcurrency`` bounds how many workers run
  at once; 150 scopes are swept in parallel with no Map state to size or distributed-map child executions.
- **No per-transition cost.** A standard workflow bills every state transition: 150 scopes a minute is over
  200,000 transitions a day; SQS costs one request per 10 messages sent and one per message received.
- **A dead-letter queue per scope.** A message that keeps failing lands, alone, in the sweep DLQ with its
  account and region in the body; its alarm names the queue. The next minute's message sweeps the scope again.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from warden.errors import AwsCallFailed, MemberUnreachable, WardenError, describe
from warden.observability import count, logger
from warden.outcomes import SweepReport
from warden.ports import Clock, Organization
from warden.scope import Scope

# SendMessageBatch takes at most 10 entries.
BATCH_SIZE = 10
# Each entry SQS refuses is sent again this many times in all (with a short pause between rounds).
SEND_ATTEMPTS = 4
_PAUSE_SECONDS = 0.2
ACTIVE = "ACTIVE"


class FanOutIncomplete(WardenError):
    """Some scopes could not be sent to the sweep queue: they would go unswept this minute."""


class MalformedOrder(ValueError):
    """A sweep queue message that names no scope: logged and dead-lettered, never retried."""


@dataclass(frozen=True)
class SweepOrder:
    """One message of the sweep queue: sweep this account and region (for the sweep of this minute)."""

    account: str
    region: str
    minute: str

    @property
    def scope(self) -> Scope:
        return Scope(account=self.account, region=self.region, org=True)

    def body(self) -> str:
        return json.dumps({"account": self.account, "region": self.region, "minute": self.minute}, sort_keys=True)

    @classmethod
    def parse(cls, body: object) -> SweepOrder:
        """The order a message body holds; raises :class:`MalformedOrder` naming what is wrong."""
        if not isinstance(body, str):
            raise MalformedOrder("the message has no body")
        try:
            data = json.loads(body)
        except (ValueError, RecursionError):
            raise MalformedOrder("the message body is not JSON") from None
        if not isinstance(data, Mapping):
            raise MalformedOrder("the message body is not a JSON object")
        account, region, minute = data.get("account"), data.get("region"), data.get("minute")
        if not (isinstance(account, str) and isinstance(region, str) and isinstance(minute, str)):
            raise MalformedOrder("the message body needs the strings account, region and minute")
        try:
            Scope(account=account, region=region, org=True)
        except ValueError as error:
            raise MalformedOrder(str(error)) from None
        return cls(account=account, region=region, minute=minute[:40])


class SweepQueue(Protocol):
    """The queue of sweep orders (SQS SendMessageBatch)."""

    def send_batch(self, entries: Sequence[tuple[str, str]]) -> dict[str, str]:
        """Send up to 10 ``(entry id, body)``; the entries SQS refused, id -> why. Raises
        :class:`~warden.errors.AwsCallFailed` when the call as a whole failed."""
        ...


def scopes_to_sweep(
    accounts: Iterable[object], *, management: str | None, central: str, regions: Sequence[str]
) -> list[Scope]:
    """Every ACTIVE member account but the management account, and the central account, x every guarded region."""
    ids = {central}
    for account in accounts:
        account_id, status = getattr(account, "id", None), getattr(account, "status", None)
        if isinstance(account_id, str) and status == ACTIVE and account_id != management:
            ids.add(account_id)
    return [Scope(account=account_id, region=region, org=True) for account_id in sorted(ids) for region in regions]


@dataclass(frozen=True)
class Dispatcher:
    """The scheduled sweeper's organization-mode step: one sweep order per scope, every one sent or an error."""

    clock: Clock
    directory: Organization
    queue: SweepQueue
    central_account: str
    regions: tuple[str, ...]
    management_account: Callable[[], str | None]
    sleep: Callable[[float], None]

    def plan(self) -> list[Scope]:
        """This minute's scopes; raises :class:`~warden.errors.AwsCallFailed` when Organizations cannot be read."""
        return scopes_to_sweep(
            self.directory.accounts(),
            management=self.management_account(),
            central=self.central_account,
            regions=self.regions,
        )

    def dispatch(self, scopes: Sequence[Scope] | None = None) -> int:
        """Send this minute's orders (for *scopes*, or the :meth:`plan`); how many. Raises :class:`FanOutIncomplete`
        naming the scopes that could not be sent after :data:`SEND_ATTEMPTS` (the schedule's failure metric and DLQ
        see it; nothing goes unswept silently). When Organizations cannot be read, the central account's scopes are
        still sent first."""
        minute = _minute(self.clock.now())
        try:
            if scopes is None:
                scopes = self.plan()
        except AwsCallFailed as error:
            count("SweepFanOutFailed")
            central = scopes_to_sweep((), management=None, central=self.central_account, regions=self.regions)
            self._send([SweepOrder(s.account, s.region, minute) for s in central])
            raise FanOutIncomplete(f"cannot list the organization's accounts: {describe(error)}") from error
        orders = [SweepOrder(scope.account, scope.region, minute) for scope in scopes]
        self._send(orders)
        count("SweepOrdersSent", len(orders))
        logger.info("sweep orders sent", extra={"scopes": len(orders), "minute": minute})
        return len(orders)

    def _send(self, orders: Sequence[SweepOrder]) -> None:
        unsent: list[tuple[SweepOrder, str]] = []
        for start in range(0, len(orders), BATCH_SIZE):
            unsent += self._send_batch(orders[start : start + BATCH_SIZE])
        if unsent:
            count("SweepOrdersUnsent", len(unsent))
            named = ", ".join(f"{order.account}/{order.region} ({why})" for order, why in unsent[:5])
            more = f" and {len(unsent) - 5} more" if len(unsent) > 5 else ""
            raise FanOutIncomplete(f"{len(unsent)} scope(s) not sent to the sweep queue: {named}{more}")

    def _send_batch(self, batch: Sequence[SweepOrder]) -> list[tuple[SweepOrder, str]]:
        """Send one batch; each refused entry again, up to SEND_ATTEMPTS; what is still refused then."""
        pending = {str(index): order for index, order in enumerate(batch)}
        why: dict[str, str] = {}
        for attempt in range(SEND_ATTEMPTS):
            if attempt:
                self.sleep(_PAUSE_SECONDS * attempt)
            try:
                refused = self.queue.send_batch([(entry, order.body()) for entry, order in pending.items()])
            except AwsCallFailed as error:
                refused = {entry: describe(error) for entry in pending}
            why.update(refused)
            pending = {entry: order for entry, order in pending.items() if entry in refused}
            if not pending:
                return []
            logger.warning("sweep orders refused; sending them again", extra={"refused": refused, "try": attempt + 1})
        return [(order, why.get(entry, "refused")) for entry, order in pending.items()]


def refusal(account: str, *, directory: Organization, central: str, management: Callable[[], str | None]) -> str | None:
    """Why a sweep order's account is not swept; None when it is (the central account, or an ACTIVE member)."""
    if account == central:
        return None
    found = directory.account(account)
    if found is None or found.status != ACTIVE:
        return f"account {account} is not an ACTIVE account of the organization"
    if account == management():
        return f"account {account} is the organization's management account (never swept)"
    return None


def _minute(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%MZ")


class DeadLetters(Protocol):
    def put(self, body: str, why: str) -> None:
        """Keep a message no worker can act on in the sweep DLQ, with why."""
        ...


class ScopeSweeper(Protocol):
    def sweep_scope(self, owner: str) -> SweepReport: ...


class Unreachable(Protocol):
    def unreachable(self, error: MemberUnreachable) -> None:
        """Note that the scope's member role cannot be assumed (alerted once per outage)."""
        ...


@dataclass(frozen=True)
class SweepWorker:
    """The sweep worker's service: one sweep order, one scope swept; a malformed order is dead-lettered.

    ``sweeper_of`` builds (or returns the cached) sweeper of a scope, and raises
    :class:`~warden.errors.MemberUnreachable` when the member role cannot be assumed; ``coverage_of`` says so in an
    ``account-not-covered`` alert. Any other failure is raised, so the record is returned in ``batchItemFailures``.
    """

    sweeper_of: Callable[[Scope], ScopeSweeper]
    coverage_of: Callable[[Scope], Unreachable]
    dead_letters: DeadLetters
    regions: tuple[str, ...]
    # Why an account is not swept (not ACTIVE in the organization, the management account), None when it is.
    refuses: Callable[[str], str | None] = lambda account: None

    def handle(self, body: object, owner: str) -> dict[str, object]:
        try:
            order = SweepOrder.parse(body)
            if order.region not in self.regions:
                raise MalformedOrder(f"region {order.region} is not guarded (guarded: {', '.join(self.regions)})")
            refused = self.refuses(order.account)
            if refused:
                raise MalformedOrder(refused)
        except MalformedOrder as error:
            count("SweepOrderMalformed")
            logger.error("malformed sweep order; kept in the dead-letter queue", extra={"problem": str(error)})
            self.dead_letters.put(body if isinstance(body, str) else "", str(error))
            return {"outcome": "dead-lettered", "why": str(error)}
        scope = order.scope
        try:
            report = self.sweeper_of(scope).sweep_scope(owner)
        except MemberUnreachable as error:
            # Not retried: the next minute's order tries again; the coverage alert tells the operator what to do.
            count("ScopeUnreachable")
            logger.warning("member role not assumable", extra={"scope": scope.label, "problem": describe(error)})
            self.coverage_of(scope).unreachable(error)
            return {"outcome": "unreachable", "scope": scope.label}
        return {"outcome": "skipped" if report.skipped else "swept", "scope": scope.label, **report.to_dict()}
