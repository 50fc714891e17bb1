"""Organization mode sweep fan-out, through in-memory fakes: the scheduled sweeper sends one order per account and
region (retrying what SQS refuses, failing loudly on what stays refused), and the sweep worker sweeps each scope
alone: one member's unreachable role or held lease never stops another's sweep."""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.fakes import (
    FakeAlerts,
    FakeClock,
    FakeDocuments,
    FakeGrants,
    FakeLedger,
    FakeOnce,
    FakePolicies,
    FakeRoles,
    FakeSessions,
    FakeState,
    FakeTags,
    aws_failure,
)
from warden.alerts.text import AlertContext
from warden.errors import MemberUnreachable
from warden.fanout import (
    BATCH_SIZE,
    Dispatcher,
    FanOutIncomplete,
    SweepOrder,
    SweepWorker,
    refusal,
    scopes_to_sweep,
)
from warden.org_round import OrgRound
from warden.policy import load_policy
from warden.records import OrgAccount
from warden.scope import Scope
from warden.sweeper import SWEEP_LEASE, Sweeper

NOW = datetime(2026, 11, 24, 9, 0, 30, tzinfo=UTC)
MANAGEMENT, CENTRAL = "111111111111", "123456789012"
REGIONS = ("us-east-1", "eu-west-1")
ORG = [
    OrgAccount(id=MANAGEMENT, name="management", status="ACTIVE", ou_path=""),
    OrgAccount(id=CENTRAL, name="security", status="ACTIVE", ou_path="Security"),
    OrgAccount(id="222222222222", name="prod-web", status="ACTIVE", ou_path="Production/Web"),
    OrgAccount(id="333333333333", name="prod-data", status="ACTIVE", ou_path="Production"),
    OrgAccount(id="444444444444", name="dev", status="ACTIVE", ou_path="Development"),
    OrgAccount(id="555555555555", name="closing", status="SUSPENDED", ou_path="Development"),
]
ROOT = Path(__file__).resolve().parents[2]


class FakeOrganization:
    def __init__(self, accounts: list[OrgAccount]) -> None:
        self.listed = accounts
        self.fail = False

    def accounts(self) -> list[OrgAccount]:
        if self.fail:
            raise aws_failure("ListAccounts", "TooManyRequestsException", "slow down")
        return list(self.listed)

    def account(self, account_id: str) -> OrgAccount | None:
        return next((account for account in self.listed if account.id == account_id), None)

    def path_of(self, account_id: str) -> str | None:
        found = self.account(account_id)
        return found.ou_path if found else None


class FakeQueue:
    """SendMessageBatch: refuses each body named in ``refuse`` that many times (``-1``: always)."""

    def __init__(self) -> None:
        self.batches: list[list[tuple[str, str]]] = []
        self.delivered: list[str] = []
        self.refuse: dict[str, int] = {}
        self.fail_calls = 0

    def send_batch(self, entries: Sequence[tuple[str, str]]) -> dict[str, str]:
        assert len(entries) <= 10, "SendMessageBatch takes at most 10 entries"
        self.batches.append(list(entries))
        if self.fail_calls:
            self.fail_calls -= 1
            raise aws_failure("SendMessageBatch", "ServiceUnavailable", "try again")
        refused: dict[str, str] = {}
        for entry, body in entries:
            scope = _label(body)
            left = self.refuse.get(scope, 0)
            if left:
                self.refuse[scope] = left - 1 if left > 0 else left
                refused[entry] = "InternalError: try again"
            else:
                self.delivered.append(body)
        return refused


def _label(body: str) -> str:
    data = json.loads(body)
    return f"{data['account']}/{data['region']}"


def dispatcher(queue: FakeQueue, organization: FakeOrganization | None = None) -> Dispatcher:
    return Dispatcher(
        clock=FakeClock(NOW),
        directory=organization or FakeOrganization(ORG),
        queue=queue,
        central_account=CENTRAL,
        regions=REGIONS,
        management_account=lambda: MANAGEMENT,
        sleep=lambda seconds: None,
    )


# ---------------------------------------------------------------- dispatch


def test_every_active_member_and_the_central_account_get_one_order_per_guarded_region() -> None:
    # GIVEN an organization with a management account, the central account, three members and a suspended one
    queue = FakeQueue()

    # WHEN the scheduled sweeper dispatches
    sent = dispatcher(queue).dispatch()

    # THEN each ACTIVE account but the management one gets exactly one order per region, for this minute
    labels = sorted(_label(body) for body in queue.delivered)
    expected = sorted(
        f"{account}/{region}"
        for account in (CENTRAL, "222222222222", "333333333333", "444444444444")
        for region in REGIONS
    )
    assert labels == expected
    assert sent == len(expected) == 8
    assert {json.loads(body)["minute"] for body in queue.delivered} == {"2026-11-24T09:00Z"}


def test_many_scopes_are_sent_in_batches_of_ten() -> None:
    # GIVEN 50 member accounts in 2 regions (101 scopes with the central account)
    members = [OrgAccount(id=f"{700000000000 + n}", name=f"m{n}", status="ACTIVE", ou_path="Many") for n in range(50)]
    queue = FakeQueue()

    # WHEN dispatched
    dispatcher(queue, FakeOrganization(members)).dispatch()

    # THEN every scope is delivered once, in SendMessageBatch calls of at most 10 entries
    assert len(queue.delivered) == len(set(queue.delivered)) == 102
    assert len(queue.batches) == 11
    assert max(len(batch) for batch in queue.batches) == BATCH_SIZE


def test_entries_sqs_refuses_are_sent_again_until_accepted() -> None:
    # GIVEN SQS refuses two entries twice each (a partial SendMessageBatch failure)
    queue = FakeQueue()
    queue.refuse = {"222222222222/eu-west-1": 2, "444444444444/us-east-1": 2}

    # WHEN dispatched
    dispatcher(queue).dispatch()

    # THEN those two are retried, alone, and every scope is delivered exactly once
    labels = [_label(body) for body in queue.delivered]
    assert sorted(labels) == sorted(set(labels)) and len(labels) == 8
    assert [len(batch) for batch in queue.batches] == [8, 2, 2]


def test_a_batch_call_that_fails_as_a_whole_is_sent_again() -> None:
    queue = FakeQueue()
    queue.fail_calls = 1

    dispatcher(queue).dispatch()

    assert len(queue.delivered) == 8


def test_an_entry_that_stays_refused_fails_the_sweep_naming_the_scope_after_sending_the_rest() -> None:
    # GIVEN SQS keeps refusing one scope
    queue = FakeQueue()
    queue.refuse = {"333333333333/eu-west-1": -1}

    # WHEN dispatched THEN the sweeper fails (its schedule's failure metric and DLQ see it), naming the scope
    with pytest.raises(FanOutIncomplete, match="333333333333/eu-west-1"):
        dispatcher(queue).dispatch()
    # AND every other scope was still sent
    assert len(queue.delivered) == 7


def test_when_organizations_cannot_be_read_the_central_account_is_still_swept_and_the_sweep_fails() -> None:
    organization = FakeOrganization(ORG)
    organization.fail = True
    queue = FakeQueue()

    with pytest.raises(FanOutIncomplete, match="cannot list the organization's accounts"):
        dispatcher(queue, organization).dispatch()

    assert sorted(_label(body) for body in queue.delivered) == [f"{CENTRAL}/{region}" for region in sorted(REGIONS)]


def test_the_management_account_is_never_swept_even_when_it_is_listed() -> None:
    scopes = scopes_to_sweep(ORG, management=MANAGEMENT, central=CENTRAL, regions=("us-east-1",))
    assert MANAGEMENT not in {scope.account for scope in scopes}
    assert all(scope.org for scope in scopes)


# ---------------------------------------------------------------- the worker

ALICE = "arn:aws:iam::{account}:user/alice"
POLICY = load_policy(
    "version: 1\nmode: enforce\ndefault: deny\nrules:\n  - name: nobody\n    principals: ['user:bob']\n"
)


class Member:
    """One scope's warden, as build_warden(scope) gives it: its own sessions, and its own (scoped) lease store."""

    def __init__(self, scope: Scope, alerts: FakeAlerts) -> None:
        self.clock = FakeClock(NOW)
        self.sessions = FakeSessions()
        self.once = FakeOnce()
        self.state = FakeState(self.clock)
        self.sweeper = Sweeper(
            clock=self.clock,
            tags=FakeTags({"i-0web000000000001": {"Name": "web-1"}}),
            policies=FakePolicies(POLICY),
            grants=FakeGrants([]),
            ledger=FakeLedger(),
            sessions=self.sessions,
            once=self.once,
            notifier=_notifier(alerts, self.once, self.state),
            context=AlertContext(stack="session-warden", region=scope.region, account=scope.account),
            enforcer=_enforcer(self.clock, self.sessions, alerts, self.once, self.state, scope),
            roles=FakeRoles(),
            documents=FakeDocuments(),
            liveness=self.state,
        )
        started = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
        self.session_id = f"alice-{scope.account}0000000000000a"
        self.sessions.start(self.session_id, "i-0web000000000001", ALICE.format(account=scope.account), started)


def _notifier(alerts: FakeAlerts, once: FakeOnce, state: FakeState) -> Any:
    from warden.notifier import Notifier

    return Notifier(alerts, once, state)


def _enforcer(
    clock: FakeClock, sessions: FakeSessions, alerts: FakeAlerts, once: FakeOnce, state: FakeState, scope: Scope
) -> Any:
    from warden.enforcer import Enforcer

    return Enforcer(
        clock=clock,
        ledger=FakeLedger(),
        sessions=sessions,
        notifier=_notifier(alerts, once, state),
        context=AlertContext(stack="session-warden", region=scope.region, account=scope.account),
        sleep=lambda seconds: None,
    )


class FakeCoverage:
    def __init__(self) -> None:
        self.unreachable_seen: list[str] = []

    def unreachable(self, error: MemberUnreachable) -> None:
        self.unreachable_seen.append(f"{error.account}/{error.region}")


class FakeDeadLetters:
    def __init__(self) -> None:
        self.kept: list[tuple[str, str]] = []

    def put(self, body: str, why: str) -> None:
        self.kept.append((body, why))


class Org:
    """Three member scopes; the second's member role cannot be assumed."""

    def __init__(self) -> None:
        self.alerts = FakeAlerts()
        self.scopes = [
            Scope(account, "eu-west-1", org=True) for account in ("222222222222", "333333333333", "444444444444")
        ]
        self.members = {scope: Member(scope, self.alerts) for scope in self.scopes}
        self.unreachable = {self.scopes[1]}
        self.coverage = {scope: FakeCoverage() for scope in self.scopes}
        self.dead_letters = FakeDeadLetters()
        self.worker = SweepWorker(
            sweeper_of=self._sweeper_of,
            coverage_of=lambda scope: self.coverage[scope],
            dead_letters=self.dead_letters,
            regions=REGIONS,
        )

    def _sweeper_of(self, scope: Scope) -> Sweeper:
        if scope in self.unreachable:
            role = f"arn:aws:iam::{scope.account}:role/session-warden-member"
            cause = ClientError({"Error": {"Code": "AccessDenied", "Message": "not authorized"}}, "AssumeRole")
            raise MemberUnreachable(scope.account, scope.region, role, cause, code="AccessDenied")
        return self.members[scope].sweeper


def _order(scope: Scope) -> str:
    return SweepOrder(scope.account, scope.region, "2026-11-24T09:00Z").body()


def test_one_member_whose_role_cannot_be_assumed_does_not_stop_the_others_being_swept() -> None:
    # GIVEN three member scopes with a session the policy denies; the second's member role is refused
    org = Org()
    first, second, third = org.scopes

    # WHEN the worker takes the three orders
    outcomes = [org.worker.handle(_order(scope), owner=f"order-{n}") for n, scope in enumerate(org.scopes)]

    # THEN the first and third are swept (their sessions ended), the second is reported to its coverage, not raised
    assert [outcome["outcome"] for outcome in outcomes] == ["swept", "unreachable", "swept"]
    for scope in (first, third):
        assert org.members[scope].sessions.terminate_calls == [org.members[scope].session_id]
        assert org.members[scope].state.last_heartbeat() is not None
    assert org.members[second].sessions.terminate_calls == []
    assert org.coverage[second].unreachable_seen == [second.label]
    assert org.coverage[first].unreachable_seen == org.coverage[third].unreachable_seen == []


def test_a_scope_whose_lease_is_held_is_skipped_while_the_others_are_swept() -> None:
    # GIVEN another sweep of the first scope holds that scope's lease
    org = Org()
    org.unreachable = set()
    first, second, _ = org.scopes
    org.members[first].once.leases[SWEEP_LEASE] = "order-earlier"

    # WHEN the worker takes the orders of the first two scopes
    outcomes = [org.worker.handle(_order(scope), owner=f"order-{n}") for n, scope in enumerate((first, second))]

    # THEN the first is skipped (its session left to the holder), the second swept under its own lease
    assert [outcome["outcome"] for outcome in outcomes] == ["skipped", "swept"]
    assert org.members[first].sessions.terminate_calls == []
    assert org.members[second].sessions.terminate_calls == [org.members[second].session_id]
    assert org.members[first].once.leases == {SWEEP_LEASE: "order-earlier"}
    assert org.members[second].once.leases == {}


@pytest.mark.parametrize(
    ("body", "why"),
    [
        ("not json", "not JSON"),
        ('["222222222222"]', "not a JSON object"),
        ('{"account": "222222222222", "region": "eu-west-1"}', "account, region and minute"),
        ('{"account": "2222", "region": "eu-west-1", "minute": "m"}', "not an account id"),
        ('{"account": "222222222222", "region": "ap-south-1", "minute": "m"}', "not guarded"),
    ],
)
def test_a_malformed_order_is_dead_lettered_and_never_swept_or_retried(body: str, why: str) -> None:
    org = Org()

    outcome = org.worker.handle(body, owner="order-x")

    assert outcome["outcome"] == "dead-lettered"
    assert len(org.dead_letters.kept) == 1
    assert org.dead_letters.kept[0][0] == body and why in org.dead_letters.kept[0][1]
    assert all(member.sessions.terminate_calls == [] for member in org.members.values())


# ---------------------------------------------------------------- the Lambda handler (Powertools BatchProcessor)


def _handler() -> ModuleType:
    spec = importlib.util.spec_from_file_location("sweep_worker_handler", ROOT / "functions/sweep_worker/handler.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class _Context:
    function_name = "sweep-worker"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:sweep-worker"
    aws_request_id = "request-1"


def _record(message_id: str, body: str) -> dict[str, Any]:
    return {
        "messageId": message_id,
        "receiptHandle": f"handle-{message_id}",
        "body": body,
        "attributes": {"ApproximateReceiveCount": "1"},
        "messageAttributes": {},
        "md5OfBody": "",
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:sweep-queue",
        "awsRegion": "us-east-1",
    }


def test_the_handler_returns_only_the_failed_record_in_batch_item_failures(monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN a batch where one scope's sweep fails (an unexpected error), one is unreachable, one is malformed
    org = Org()
    first, second, third = org.scopes

    def broken(owner: str) -> Any:
        raise RuntimeError("the ledger is unreadable")

    monkeypatch.setattr(org.members[third].sweeper, "sweep_scope", broken)
    handler = _handler()
    monkeypatch.setattr(handler, "build_sweep_worker", lambda: org.worker)
    event = {
        "Records": [
            _record("m-1", _order(first)),
            _record("m-2", _order(second)),
            _record("m-3", _order(third)),
            _record("m-4", "{not json"),
        ]
    }

    # WHEN the handler runs
    response = handler.lambda_handler(event, _Context())

    # THEN only the failing sweep is retried (the unreachable one is alerted, the malformed one dead-lettered)
    assert response == {"batchItemFailures": [{"itemIdentifier": "m-3"}]}
    assert org.members[first].sessions.terminate_calls == [org.members[first].session_id]
    assert len(org.dead_letters.kept) == 1


@pytest.mark.parametrize(
    ("account", "why"),
    [
        ("999999999999", "not an ACTIVE account of the organization"),
        ("555555555555", "not an ACTIVE account of the organization"),
        (MANAGEMENT, "management account"),
    ],
)
def test_an_order_for_an_account_the_warden_does_not_sweep_is_dead_lettered(account: str, why: str) -> None:
    # GIVEN a worker that checks each order's account against the organization
    org = Org()
    worker = SweepWorker(
        sweeper_of=org._sweeper_of,
        coverage_of=lambda scope: org.coverage[scope],
        dead_letters=org.dead_letters,
        regions=REGIONS,
        refuses=lambda named: refusal(
            named, directory=FakeOrganization(ORG), central=CENTRAL, management=lambda: MANAGEMENT
        ),
    )

    # WHEN an order names an account outside the organization, a suspended one, or the management account
    outcome = worker.handle(_order(Scope(account, "eu-west-1", org=True)), owner="order-x")

    # THEN nothing is swept or assumed there; the order is kept in the DLQ saying why
    assert outcome["outcome"] == "dead-lettered"
    assert why in org.dead_letters.kept[0][1]
    assert all(coverage.unreachable_seen == [] for coverage in org.coverage.values())


def _sweeper_handler() -> ModuleType:
    spec = importlib.util.spec_from_file_location("sweeper_handler", ROOT / "functions/sweeper/handler.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class _Settings:
    org = True


class _OrgWide:
    def __init__(self, fail: bool) -> None:
        self.fail = fail
        self.owners: list[str] = []
        self.beats = 0

    def sweep_org(self, owner: str) -> Any:
        self.owners.append(owner)
        if self.fail:
            raise RuntimeError("the grants table is throttled")
        from warden.outcomes import SweepReport

        return SweepReport(grants_expired=1)

    def heartbeat(self) -> None:
        self.beats += 1


@pytest.mark.parametrize("org_wide_fails", [False, True])
def test_in_organization_mode_the_schedule_sends_the_orders_even_when_its_own_part_fails(
    monkeypatch: pytest.MonkeyPatch, org_wide_fails: bool
) -> None:
    # GIVEN organization mode, an org-wide part that may fail, and the sweep queue
    handler = _sweeper_handler()
    org_wide, queue = _OrgWide(org_wide_fails), FakeQueue()
    monkeypatch.setattr(handler, "build_settings", _Settings)
    watch = SimpleNamespace(check=lambda scopes: [])
    monkeypatch.setattr(
        handler, "build_org_round", lambda: OrgRound(sweeper=org_wide, dispatcher=dispatcher(queue), watch=watch)
    )

    # WHEN the schedule fires
    if org_wide_fails:
        with pytest.raises(RuntimeError, match="throttled"):
            handler.lambda_handler({"id": "schedule-1"}, _Context())
    else:
        result = handler.lambda_handler({"id": "schedule-1"}, _Context())
        assert (result["grants_expired"], result["orders_sent"]) == (1, 8)

    # THEN the org-wide part ran under the schedule's lease owner, and every scope got its order regardless
    assert org_wide.owners == ["schedule-1"]
    assert len(queue.delivered) == 8
    # AND the schedule's heartbeat means its own part and every order: none when its own part failed
    assert org_wide.beats == (0 if org_wide_fails else 1)
