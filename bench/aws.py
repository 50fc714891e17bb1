"""AWS calls per StartSession, StartSession -> session gone, and sweep cost, measured on the local cloud."""

from __future__ import annotations

import statistics
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import botocore.session

from warden.adapters.documents import SsmSessionDocuments
from warden.adapters.ledger import DynamoLedger
from warden.policy import transcript_summary
from warden.records import LedgerEntry
from warden_local import Fidelity, LocalCloud

START = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
POLICY = """\
version: 1
default: deny
windows:
  business-hours:
    timezone: Europe/Berlin
    weekly: [{days: [mon, tue, wed, thu, fri], from: "08:00", to: "18:00"}]
rules:
  - name: no-pci
    effect: deny
    targets: {tags: {Compliance: pci}}
  - name: analysts-on-analytics
    principals: ["user:*"]
    targets: {tags: {Department: Analytics}}
    windows: [business-hours]
  - name: dev-any-time
    targets: {tags: {Environment: dev}}
"""
E2E_SESSIONS = 100
SWEEP_SIZES = (100, 1000, 10000)
# How long one emulated minute may take to settle in sweep_cost: a fixed part (clients, the policy, the tamper
# watch) and a part per open session, generous enough for a loaded machine; a sweep past it is a real failure.
SWEEP_SETTLE_SECONDS = 120.0
SWEEP_SETTLE_PER_SESSION = 0.05
DOCUMENT = "SSM-SessionManagerRunShell"


class CallCounter:
    """Counts AWS calls made by the handlers, through a botocore ``before-call`` hook on every client."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self._lock = threading.Lock()

    def __call__(self, model: Any, **_: Any) -> None:
        if threading.current_thread().name.endswith("-dispatcher"):  # the local Lambda runtime's thread
            with self._lock:
                self.calls[model.name] += 1

    @contextmanager
    def installed(self) -> Iterator[CallCounter]:
        original = botocore.session.Session.create_client
        counter = self

        def create_client(session: Any, *args: Any, **kwargs: Any) -> Any:
            client = original(session, *args, **kwargs)
            client.meta.events.register("before-call.*.*", counter)
            return client

        botocore.session.Session.create_client = create_client  # type: ignore[method-assign]
        try:
            yield self
        finally:
            botocore.session.Session.create_client = original  # type: ignore[method-assign]

    def take(self) -> Counter[str]:
        with self._lock:
            taken, self.calls = self.calls, Counter()
        return taken


def _describe(calls: Counter[str]) -> str:
    return ", ".join(f"{name}{'' if count == 1 else f' x{count}'}" for name, count in sorted(calls.items()))


def calls_per_start() -> list[tuple[str, str, str]]:
    counter = CallCounter()
    rows = []
    with counter.installed(), LocalCloud(start_at=START, policy=POLICY) as cloud:
        analytics = cloud.add_instance({"Department": "Analytics"})
        pci = cloud.add_instance({"Compliance": "pci"})
        prod = cloud.add_instance({"Environment": "prod"})
        ssm = cloud.client("ssm", credentials=cloud.user_credentials("alice"))
        for target in (analytics, pci, prod):  # warm: clients built, policy cached
            ssm.start_session(Target=target)
        cloud.settle()
        counter.take()
        for label, target, limit in (
            ("allowed path", analytics, 3),
            ("denied by a deny rule", pci, 5),
            ("denied by default", prod, 5),
        ):
            ssm.start_session(Target=target)
            cloud.settle()
            calls = counter.take()
            # The local cloud reads the policy on every event (SPEC: no cache delay); Lambda caches it 60 s.
            warm = sum(count for name, count in calls.items() if name != "GetParameter")
            rows.append(
                (
                    f"AWS calls per StartSession, {label}",
                    f"{warm} warm ({_describe(calls)})",
                    f"{warm <= limit} (target <= {limit})",
                )
            )
    return rows


def end_to_end() -> list[tuple[str, str, str]]:
    with LocalCloud(start_at=START, policy=POLICY) as cloud:
        pci = cloud.add_instance({"Compliance": "pci"})
        ssm = cloud.client("ssm", credentials=cloud.user_credentials("alice"))
        ssm.start_session(Target=pci)
        cloud.settle()
        timings = []
        for _ in range(E2E_SESSIONS):
            began = time.perf_counter()
            session = ssm.start_session(Target=pci)["SessionId"]
            while ssm.describe_sessions(State="Active", Filters=[{"key": "SessionId", "value": session}])["Sessions"]:
                time.sleep(0.001)
            timings.append((time.perf_counter() - began) * 1000)
            # What the handler does after the session is gone (ledger, alert) is not the next session's wait: in
            # Lambda each event has its own invocation, here one worker would make the next event queue behind it.
            cloud.settle()
        timings.sort()
        p50, p99 = statistics.median(timings), timings[int(len(timings) * 0.99) - 1]
    return [
        (
            f"StartSession -> session gone (local cloud, {E2E_SESSIONS} sessions)",
            f"p50 {p50:.0f} ms, p99 {p99:.0f} ms",
            f"{p50 < 100} (target p50 < 100 ms)",
        )
    ]


def _seed(cloud: LocalCloud, sessions: int) -> None:
    """Open sessions on running instances, each with the ledger row its start event would have written."""

    ec2 = cloud.client("ec2")
    instances: list[str] = []
    while len(instances) < min(sessions, 2000):
        batch = min(500, min(sessions, 2000) - len(instances))
        reservation = ec2.run_instances(
            ImageId="ami-12c6146b",
            MinCount=batch,
            MaxCount=batch,
            TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": "Environment", "Value": "dev"}]}],
        )
        instances.extend(instance["InstanceId"] for instance in reservation["Instances"])
    store = cloud.sessions._sessions()  # the emulator's own store: seeding 10,000 sessions through the API is slow
    dynamodb = cloud.client("dynamodb")
    table = cloud.stack_outputs()["LedgerTableName"]
    ledger = DynamoLedger(dynamodb, table)
    logging = seed_logging(cloud.client("ssm"), cloud.account_id)
    rows = []
    for index in range(sessions):
        name = f"user{index % 50}"
        target = instances[index % len(instances)]
        item = seed_session(
            store,
            ledger,
            f"{name}-{index:026d}",
            user=name,
            account="123456789012",
            target=target,
            logging=logging,
            region=cloud.region,
        )
        rows.append({"PutRequest": {"Item": item}})
    for start in range(0, len(rows), 25):
        dynamodb.batch_write_item(RequestItems={table: rows[start : start + 25]})


def seed_logging(ssm: Any, account: str) -> Any:
    """How the seeded sessions' document logs, read as the handlers read it: a seeded row then says what the start
    event's row would (its transcript), and the first sweep does not rewrite every row."""
    return SsmSessionDocuments(ssm, account=account).session_logging(DOCUMENT)


def seed_session(
    store: dict[str, Any],
    ledger: DynamoLedger,
    session_id: str,
    *,
    user: str,
    account: str,
    target: str,
    logging: Any,
    region: str,
) -> dict[str, Any]:
    """An open session of IAM user ``user`` of ``account`` on ``target``, put straight into the emulator's ``store``
    (seeding thousands through the API is slow), and the ledger item its start event would have written, keyed as
    ``ledger`` (of the session's scope) keys it, its transcript as ``logging`` (:func:`seed_logging`) says; the
    caller bulk-writes the items."""
    from warden_local.identity import Caller
    from warden_local.sessions import Session

    arn = f"arn:aws:iam::{account}:user/{user}"
    owner = Caller(
        kind="IAMUser", name=user, arn=arn, principal_id=f"AIDA{session_id}", account_id=account, access_key_id="AKIA"
    )
    store[session_id] = Session(session_id=session_id, target=target, document_name=DOCUMENT, owner=owner, start=START)
    identity = {"arn": arn, "account": account, "kind": "IAMUser", "user": user, "role": None, "role_arn": None}
    entry = LedgerEntry(
        session_id=session_id,
        principal_arn=arn,
        principal=user,
        identity=identity,
        target=target,
        tags={"Environment": "dev"},
        document=DOCUMENT,
        started_at=START,
        decision="allow",
        basis="allow-rule",
        rule="dev-any-time",
        why=["allowed by rule dev-any-time"],
        mode="enforce",
        action="none",
        decided_at=START,
    )
    entry.transcript, entry.transcript_links = transcript_summary(logging, session_id, region)
    return ledger.open_item(entry)


def sweep_cost() -> list[tuple[str, str, str]]:
    rows = []
    counter = CallCounter()
    for size in SWEEP_SIZES:
        fidelity = Fidelity(settle_seconds=SWEEP_SETTLE_SECONDS + size * SWEEP_SETTLE_PER_SESSION)
        with counter.installed(), LocalCloud(start_at=START, policy=POLICY, fidelity=fidelity) as cloud:
            _seed(cloud, size)
            cloud.advance(timedelta(minutes=1))  # the first sweep builds its clients and reads the policy
            counter.take()
            cloud.advance(timedelta(minutes=1))
            sweep = [i for i in cloud.invocations if "Sweeper" in i.function_name][-1]
            calls = counter.take()
            if not sweep.ok or sweep.result["active"] != size:
                raise RuntimeError(f"sweep of {size} sessions went wrong: {sweep.error or sweep.result}")
            seconds = sweep.duration_ms / 1000
            target = f"{seconds < 60} (target < 60 s)" if size == 10000 else "-"
            rows.append(
                (
                    f"sweep of {size:,} open sessions",
                    f"{seconds:.2f} s, {sum(calls.values())} AWS calls ({_describe(calls)})",
                    target,
                )
            )
    return rows
