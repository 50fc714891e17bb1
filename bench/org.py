"""Organization mode at scale (issue 11): one full sweep of ACCOUNTS accounts x every guarded region with
SESSIONS_PER_SCOPE open sessions each, the AWS calls each account-region's sweep makes, and StartSession in a member
account -> session gone. Measured on the local cloud's emulated organization; nothing here is asserted or assumed."""

from __future__ import annotations

import contextlib
import io
import statistics
import sys
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import botocore.session

from bench.aws import _describe, seed_logging, seed_session
from warden_cli.demo_org_stage import org_prerequisites

START = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
ACCOUNTS = 50  # accounts swept: the central account and ACCOUNTS - 1 members (the management account is never swept)
SESSIONS_PER_SCOPE = 20
E2E_SESSIONS = 50
WORKERS = 8  # concurrent SQS pollers / deliveries in the local cloud
THIRD_REGION = "us-west-2"  # the emulated organization guards two regions; the benchmark adds a third
POLICY = """\
version: 1
default: deny
rules:
  - name: no-pci
    effect: deny
    targets: {tags: {Compliance: pci}}
  - name: dev-any-time
    targets: {tags: {Environment: dev}}
"""
WORKER = "SweepWorker"


class ScopedCounter:
    """AWS calls of the handlers, per account-region a sweep worker was asked to sweep (from its SQS record)."""

    def __init__(self) -> None:
        self.calls: dict[str, Counter[str]] = defaultdict(Counter)
        self._lock = threading.Lock()
        self._where = threading.local()

    def __call__(self, model: Any, **_: Any) -> None:
        if threading.current_thread().name.endswith("-dispatcher"):
            with self._lock:
                self.calls[getattr(self._where, "label", "other")][model.name] += 1

    @contextmanager
    def installed(self, runtime: Any) -> Iterator[ScopedCounter]:
        original_client = botocore.session.Session.create_client
        original_call = runtime._call_handler
        counter = self

        def create_client(session: Any, *args: Any, **kwargs: Any) -> Any:
            client = original_client(session, *args, **kwargs)
            client.meta.events.register("before-call.*.*", counter)
            return client

        def call_handler(function: Any, payload: Any, *args: Any) -> Any:
            counter._where.label = _label(str(function.function_name), payload)
            try:
                return original_call(function, payload, *args)
            finally:
                counter._where.label = "other"

        botocore.session.Session.create_client = create_client  # type: ignore[method-assign]
        runtime._call_handler = call_handler
        try:
            yield self
        finally:
            botocore.session.Session.create_client = original_client  # type: ignore[method-assign]
            runtime._call_handler = original_call

    def take(self) -> dict[str, Counter[str]]:
        with self._lock:
            taken, self.calls = dict(self.calls), defaultdict(Counter)
        return taken


def _label(function_name: str, payload: Any) -> str:
    import json

    if WORKER in function_name and isinstance(payload, dict):
        for record in payload.get("Records") or []:
            with contextlib.suppress(ValueError, TypeError, AttributeError):
                body = json.loads(record["body"])
                return f"{body['account']}/{body['region']}"
    return function_name


def _warden(cloud: Any, argv: list[str]) -> tuple[int, str]:
    """`warden ARGV` in this process, as the central account's administrator."""
    from warden_cli.aws import Connection
    from warden_cli.main import main

    connection = Connection(
        endpoint_url=cloud.endpoint,
        region=cloud.region,
        access_key_id="testing",
        secret_access_key="testing",
        stack=cloud.stack_name,
    )
    cloud.settle(cloud.fidelity.settle_seconds)  # the organization's setup sets off work for every account
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        code = main(argv, connection=connection)
        cloud.settle(timeout=max(600, cloud.fidelity.settle_seconds))
    return code, out.getvalue()


def _push_policy(cloud: Any) -> None:
    """`warden policy push`: in organization mode the policy is in AppConfig, validated before it is deployed."""
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "policy.yaml"
        path.write_text(POLICY, encoding="utf-8")
        code, output = _warden(cloud, ["policy", "push", str(path)])
    if code != 0:
        raise RuntimeError(f"warden policy push failed ({code}): {output[-2000:]}")


def _grow(cloud: Any, accounts: int) -> list[str]:
    """Members until ``accounts`` are swept (the central one included); their ids, central first."""
    org = cloud.org
    excluded = {org.management_account, org.central_account}
    members = [a.id for a in org.accounts() if a.id not in excluded and a.status == "ACTIVE"]
    while len(members) + 1 < accounts:
        members.append(str(org.create_account(f"bench-{len(members):02d}", "Development")))
    return [org.central_account, *members]


def _seed(cloud: Any, accounts: list[str], regions: tuple[str, ...], sessions: int) -> None:
    """Open sessions in every account-region, each with the ledger row its start event would have written."""
    from warden.adapters.ledger import DynamoLedger
    from warden.scope import Scope

    dynamodb = cloud.client("dynamodb")
    table = cloud.stack_outputs()["LedgerTableName"]
    rows = []
    for account in accounts:
        view = cloud.org.account(account)
        for region in regions:
            reservation = view.client("ec2", region=region).run_instances(
                ImageId="ami-12c6146b",
                MinCount=sessions,
                MaxCount=sessions,
                TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": "Environment", "Value": "dev"}]}],
            )
            instances = [instance["InstanceId"] for instance in reservation["Instances"]]
            logging = seed_logging(view.client("ssm", region=region), account)
            store = view.sessions(region)._sessions()  # the emulator's own store: 3,000 API starts take minutes
            ledger = DynamoLedger(dynamodb, table, scope=Scope(account, region, org=True))
            for index, target in enumerate(instances):
                name = f"user{index}"
                session_id = f"{name}-{account[-4:]}{region[:2]}{index:020d}"
                item = seed_session(
                    store, ledger, session_id, user=name, account=account, target=target, logging=logging, region=region
                )
                rows.append({"PutRequest": {"Item": item}})
    for start in range(0, len(rows), 25):
        dynamodb.batch_write_item(RequestItems={table: rows[start : start + 25]})


def org_sweep(accounts: int | None = None, sessions: int = SESSIONS_PER_SCOPE) -> list[tuple[str, str, str]]:
    from warden_local import Fidelity, LocalCloud

    accounts = ACCOUNTS if accounts is None else accounts  # read now: --quick changes it

    rows: list[tuple[str, str, str]] = []
    setup = time.perf_counter()
    counter = ScopedCounter()
    # One minute of 150 account-regions is far more work than a test minute: let it finish rather than time out.
    fidelity = Fidelity(workers=WORKERS, settle_seconds=900)
    extra = f"eu-west-1,{THIRD_REGION}"
    with LocalCloud(
        start_at=START, organization=True, fidelity=fidelity, parameters={"GuardedRegions": extra}
    ) as cloud:
        cloud.org.add_region(THIRD_REGION)
        if "SweepQueueUrl" not in cloud.stack_outputs():
            return [("organization sweep", "not measured: the stack has no SweepQueueUrl (no fan-out)", "-")]
        _push_policy(cloud)
        regions = tuple(cloud.org.regions)
        swept = _grow(cloud, accounts)
        org_prerequisites(cloud.org)
        code, output = _warden(cloud, ["org", "deploy", "--ou", "Production", "Development", "--regions", *regions])
        if code != 0:
            raise RuntimeError(f"warden org deploy failed ({code}): {output[-2000:]}")
        _seed(cloud, swept, regions, sessions)
        scopes = len(swept) * len(regions)
        setup_seconds = time.perf_counter() - setup
        print(
            f"  ... org: {scopes} account-regions, {scopes * sessions} sessions set up in {setup_seconds:.0f} s",
            file=sys.stderr,
            flush=True,
        )
        with counter.installed(cloud._runtime):
            cloud.advance(timedelta(minutes=1))  # the first sweep: clients built, member roles assumed, policy read
            counter.take()
            mark = len(cloud.invocations)
            began = time.perf_counter()
            cloud.advance(timedelta(minutes=1))
            wall = time.perf_counter() - began
            calls = counter.take()
        runs = cloud.invocations[mark:]
        workers = [run for run in runs if WORKER in run.function_name]
        failed = [run for run in runs if not run.ok]
        per_scope = {label: sum(found.values()) for label, found in calls.items() if "/" in label}
        ops: Counter[str] = Counter()
        for label, found in calls.items():
            if "/" in label:
                ops.update(found)
        rows.append(
            (
                f"org sweep, {len(swept)} accounts x {len(regions)} regions x {sessions} sessions "
                f"({scopes * sessions:,} sessions, {WORKERS} workers)",
                f"{wall:.1f} s wall for one minute's fan-out: {len(workers)} worker runs for {scopes} account-regions, "
                f"{len(failed)} failed runs",
                f"{wall < 60 and len(workers) >= scopes and not failed} (target < 60 s, every account-region swept)",
            )
        )
        if per_scope:
            values = sorted(per_scope.values())
            average = statistics.mean(values)
            budget = 10 + sessions / 200
            mean_ops = Counter({name: round(count / len(values), 1) for name, count in ops.items()})
            rows.append(
                (
                    "AWS calls per account-region sweep",
                    f"mean {average:.1f}, max {values[-1]} ({_describe(mean_ops)} per sweep)",
                    f"{values[-1] <= budget} (target O(1) + sessions/200; here <= {budget:g})",
                )
            )
        central = sum(sum(found.values()) for label, found in calls.items() if "/" not in label)
        rows.append(("AWS calls of the central sweeper and other handlers that minute", str(central), "-"))
    return rows


def org_event_path(samples: int = E2E_SESSIONS) -> list[tuple[str, str, str]]:
    """StartSession by a user of member 222222222222 in eu-west-1 -> gone from that account's DescribeSessions."""
    from warden_local import LocalCloud

    with LocalCloud(start_at=START, organization=True) as cloud:
        _push_policy(cloud)
        org_prerequisites(cloud.org)
        code, output = _warden(
            cloud, ["org", "deploy", "--ou", "Production", "Development", "--regions", *cloud.org.regions]
        )
        if code != 0:
            raise RuntimeError(f"warden org deploy failed ({code}): {output[-2000:]}")
        member, region = "222222222222", "eu-west-1"
        view = cloud.org.account(member)
        pci = view.add_instance({"Compliance": "pci"}, region=region)
        ssm = view.client("ssm", region=region, credentials=view.user_credentials("erin"))
        ssm.start_session(Target=pci)  # warm
        cloud.settle()
        timings = []
        for _ in range(samples):
            began = time.perf_counter()
            session = ssm.start_session(Target=pci)["SessionId"]
            while ssm.describe_sessions(State="Active", Filters=[{"key": "SessionId", "value": session}])["Sessions"]:
                time.sleep(0.001)
            timings.append((time.perf_counter() - began) * 1000)
        timings.sort()
        p50, p99 = statistics.median(timings), timings[max(int(len(timings) * 0.99) - 1, 0)]
    return [
        (
            f"StartSession in member {member} ({region}) -> session gone ({samples} sessions)",
            f"p50 {p50:.0f} ms, p99 {p99:.0f} ms",
            f"{p50 < 100} (target p50 < 100 ms, as in one account)",
        )
    ]
