"""In-memory fakes of the warden's ports, for unit tests of the service (no AWS, no moto)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from warden.errors import AwsCallFailed, SessionAlreadyEnded
from warden.policy import (
    Grant,
    Policy,
    SessionLogging,
    SessionType,
    aws_document_logging,
    aws_document_session_type,
    not_saved_logging,
    port_logging,
)
from warden.records import (
    WARDEN_ACTOR,
    Alert,
    AlertMarker,
    LedgerEntry,
    LiveSession,
    OrgAccount,
    StoredPolicy,
    TargetInfo,
)


def aws_failure(operation: str, code: str, message: str) -> AwsCallFailed:
    """What an adapter raises when an AWS call fails after botocore's retries."""
    cause = ClientError({"Error": {"Code": code, "Message": message}}, operation)
    failure = AwsCallFailed(operation, cause, code=code)
    failure.__cause__ = cause
    return failure


class FakeClock:
    def __init__(self, now: datetime) -> None:
        self.moment = now

    def now(self) -> datetime:
        return self.moment

    def advance(self, **delta: float) -> None:
        self.moment += timedelta(**delta)


class FakeTags:
    def __init__(self, tags: dict[str, dict[str, str]] | None = None) -> None:
        self.tags = tags or {}
        self.lookups = 0
        self.unreadable: dict[str, str] = {}  # target -> the error its tag read fails with

    def lookup_each(self, targets: Iterable[str]) -> tuple[dict[str, TargetInfo], dict[str, str]]:
        wanted = set(targets)
        failed = {target: problem for target, problem in self.unreadable.items() if target in wanted}
        return self.lookup(wanted - set(failed)), failed

    def lookup(self, targets: Iterable[str]) -> dict[str, TargetInfo]:
        self.lookups += 1
        targets = list(targets)
        for target in targets:
            if target in self.unreadable:
                raise aws_failure("ListTagsForResource", "ThrottlingException", self.unreadable[target])
        return {
            target: TargetInfo(target, dict(self.tags.get(target, {})), exists=target in self.tags)
            for target in targets
        }


class FakePolicies:
    def __init__(self, policy: Policy) -> None:
        self.policy = policy

    def current(self) -> Policy:
        return self.policy


class FakeGrants:
    def __init__(self, grants: Iterable[Grant] = ()) -> None:
        self.grants = {grant.id: grant for grant in grants}
        self.reads = 0

    def active(self, now: datetime) -> list[Grant]:
        self.reads += 1
        return [grant for grant in self.grants.values() if grant.state == "active" and grant.expires_at > now]

    def due_for_expiry(self, now: datetime) -> list[Grant]:
        return [grant for grant in self.grants.values() if grant.state == "active" and grant.expires_at <= now]

    def get(self, grant_id: str) -> Grant | None:
        return self.grants.get(grant_id)

    def mark_expired(self, grant: Grant, now: datetime) -> bool:
        current = self.grants[grant.id]
        if current.state != "active":
            return False
        self.grants[grant.id] = current.model_copy(update={"state": "expired"})
        return True

    def unmark_expired(self, grant: Grant) -> None:
        current = self.grants[grant.id]
        if current.state == "expired":
            self.grants[grant.id] = current.model_copy(update={"state": "active"})

    def revoke(self, grant_id: str) -> None:
        self.grants[grant_id] = self.grants[grant_id].model_copy(update={"state": "revoked"})


class FakeLedger:
    def __init__(self) -> None:
        self.rows: dict[str, LedgerEntry] = {}
        self.markers: dict[str, set[AlertMarker]] = {}

    def get(self, session_id: str) -> LedgerEntry | None:
        row = self.rows.get(session_id)
        return dataclasses.replace(row) if row else None

    def record_start(self, entry: LedgerEntry, *, first: bool = False) -> LedgerEntry:
        existing = self.rows.get(entry.session_id)
        if first and existing and existing.event_id not in (None, entry.event_id):
            return dataclasses.replace(existing)
        if existing and existing.ended_at:
            merged = dataclasses.replace(
                entry,
                status="ended",
                ended_at=existing.ended_at,
                ended_by=existing.ended_by,
                end_reason=existing.end_reason,
            )
        else:
            merged = dataclasses.replace(entry, status="open")
        self.rows[entry.session_id] = merged
        return merged

    def record_failed_call(self, entry: LedgerEntry) -> None:
        self.rows[entry.session_id] = dataclasses.replace(entry)

    def update_decision(self, entry: LedgerEntry) -> None:
        row = self.rows.get(entry.session_id)
        if row and row.status == "open":
            self.rows[entry.session_id] = dataclasses.replace(
                row,
                deadline=entry.deadline,
                rule=entry.rule,
                grant=entry.grant,
                decision=entry.decision,
                tags=entry.tags,
                why=entry.why,
            )

    def claim(self, session_id: str, marker: AlertMarker) -> bool:
        if session_id not in self.rows:
            return False
        markers = self.markers.setdefault(session_id, set())
        if marker in markers:
            return False
        markers.add(marker)
        return True

    def release(self, session_id: str, marker: AlertMarker) -> None:
        self.markers.get(session_id, set()).discard(marker)

    def record_terminated(self, entry: LedgerEntry, *, ended_at: datetime, reason: str, marker: AlertMarker) -> bool:
        self.rows[entry.session_id] = dataclasses.replace(
            entry, status="ended", ended_at=ended_at, ended_by=WARDEN_ACTOR, end_reason=reason
        )
        return self.claim(entry.session_id, marker)

    def close(
        self, session_id: str, *, ended_at: datetime, ended_by: str | None, reason: str, started_at: datetime | None
    ) -> bool:
        row = self.rows.get(session_id) or LedgerEntry(session_id=session_id)
        if row.ended_at:
            return False
        self.rows[session_id] = dataclasses.replace(
            row, status="ended", ended_at=ended_at, ended_by=ended_by, end_reason=reason
        )
        return True

    def open_entries(self) -> list[LedgerEntry]:
        return [dataclasses.replace(row) for row in self.rows.values() if row.status == "open"]

    def record_warning(self, session_id: str, key: str, record: Mapping[str, str]) -> None:
        row = self.rows.get(session_id)
        if row and row.status == "open":
            self.rows[session_id] = dataclasses.replace(row, warnings={**row.warnings, key: dict(record)})


class FakeSessions:
    """Sessions with AWS's quirks on demand: failing terminations, sessions that refuse to die."""

    def __init__(self) -> None:
        self.live: dict[str, LiveSession] = {}
        self.ended: dict[str, LiveSession] = {}
        self.terminate_calls: list[str] = []
        self.fail_terminations = 0
        self.immortal: set[str] = set()
        self.terminating_looks = 0  # a terminated session shows Terminating for this many status looks
        self.fail_describes = 0
        self.filtered_looks: list[tuple[str | None, str | None]] = []  # (target, owner) of each active() call
        self._terminating: dict[str, int] = {}

    def start(self, session_id: str, target: str, owner: str, started_at: datetime, **extra: Any) -> LiveSession:
        session = LiveSession(session_id=session_id, target=target, owner=owner, started_at=started_at, **extra)
        self.live[session_id] = session
        return session

    def end(self, session_id: str, at: datetime) -> None:
        session = self.live.pop(session_id)
        self.ended[session_id] = dataclasses.replace(session, status="Terminated", ended_at=at)

    def active(self, *, target: str | None = None, owner: str | None = None) -> list[LiveSession]:
        self.filtered_looks.append((target, owner))
        return [
            session
            for session in self.live.values()
            if (target is None or session.target == target) and (owner is None or session.owner == owner)
        ]

    def find(self, session_id: str) -> LiveSession | None:
        return self.live.get(session_id) or self.ended.get(session_id)

    def history(self, session_id: str) -> LiveSession | None:
        return self.ended.get(session_id)

    def is_active(self, session_id: str) -> bool:
        return session_id in self.live

    def status(self, session_id: str) -> str | None:
        if self.fail_describes:
            self.fail_describes -= 1
            raise aws_failure("DescribeSessions", "ThrottlingException", "Rate exceeded")
        if self._terminating.get(session_id):
            self._terminating[session_id] -= 1
            return "Terminating"
        session = self.live.get(session_id)
        return None if session is None else session.status or "Connected"

    def terminate(self, session_id: str) -> None:
        self.terminate_calls.append(session_id)
        if self.fail_terminations:
            self.fail_terminations -= 1
            raise aws_failure("TerminateSession", "ThrottlingException", "Rate exceeded")
        if session_id not in self.live:
            raise SessionAlreadyEnded(session_id)
        if session_id not in self.immortal:
            if self.terminating_looks:
                self._terminating[session_id] = self.terminating_looks
            session = self.live.pop(session_id)
            self.ended[session_id] = dataclasses.replace(session, status="Terminated")


class FakeAlerts:
    def __init__(self) -> None:
        self.sent: list[Alert] = []
        self.failures = 0

    def publish(self, alert: Alert) -> None:
        if self.failures:
            self.failures -= 1
            raise aws_failure("Publish", "InternalError", "SNS Publish failed")
        self.sent.append(alert)

    def kinds(self) -> list[str]:
        return [alert.kind for alert in self.sent]


class FakeOnce:
    def __init__(self) -> None:
        self.keys: set[str] = set()
        self.leases: dict[str, str] = {}
        self.stale: dict[str, str] = {}  # a lease someone wrote with an expiry far in the future

    def first(self, key: str, ttl_seconds: int) -> bool:
        if key in self.keys:
            return False
        self.keys.add(key)
        return True

    def forget(self, key: str) -> None:
        self.keys.discard(key)

    def acquire(self, key: str, owner: str, seconds: int) -> bool:
        holder = self.leases.get(key)
        if holder not in (None, owner):
            return False
        self.leases[key] = owner
        return True

    def release(self, key: str, owner: str) -> None:
        if self.leases.get(key) == owner:
            del self.leases[key]

    def take_over_stale(self, key: str, owner: str, seconds: int) -> str | None:
        held_until = self.stale.pop(key, None)
        if held_until is None:
            return None
        self.leases[key] = owner
        return held_until


class RunOnce:
    """Idempotency stand-in: remembers each key's result like Powertools Idempotency does."""

    def __init__(self) -> None:
        self.results: dict[str, dict[str, Any]] = {}

    def __call__(self, key: str, action: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        if key not in self.results:
            self.results[key] = action()
        return self.results[key]


class FakeState:
    """The state table in memory: outbox (with claims), policy copy, heartbeat and unjudged marks."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.kept: dict[str, tuple[Alert, str | None, datetime | None]] = {}  # key -> alert, claimed by, until
        self.policy: StoredPolicy | None = None
        self.beats: list[datetime] = []
        self.marks: dict[str, datetime] = {}

    # outbox
    def keep(self, key: str, alert: Alert, *, owner: str, seconds: int) -> bool:
        if key in self.kept:
            return False
        self.kept[key] = (alert, owner, self.clock.now() + timedelta(seconds=seconds))
        return True

    def pending(self) -> list[tuple[str, Alert]]:
        return [(key, alert) for key, (alert, _, _) in self.kept.items()]

    def claim(self, key: str, owner: str, seconds: int) -> bool:
        if key not in self.kept:
            return False
        alert, holder, until = self.kept[key]
        if holder not in (None, owner) and until is not None and until > self.clock.now():
            return False
        self.kept[key] = (alert, owner, self.clock.now() + timedelta(seconds=seconds))
        return True

    def unclaim(self, key: str, owner: str) -> None:
        if key in self.kept and self.kept[key][1] == owner:
            self.kept[key] = (self.kept[key][0], None, None)

    def sent(self, key: str) -> None:
        self.kept.pop(key, None)

    # policy copy
    def load(self) -> StoredPolicy | None:
        return self.policy

    def save(self, text: str, digest: str, at: datetime) -> None:
        self.policy = StoredPolicy(text=text, digest=digest, saved_at=at)

    # liveness
    def heartbeat(self, at: datetime) -> None:
        self.beats.append(at)

    def last_heartbeat(self) -> datetime | None:
        return self.beats[-1] if self.beats else None

    def unjudged_since(self, session_id: str, now: datetime, problem: str) -> datetime:
        return self.marks.setdefault(session_id, now)

    def judged(self, session_ids: Iterable[str]) -> None:
        for session_id in session_ids:
            self.marks.pop(session_id, None)

    def unjudged(self) -> dict[str, datetime]:
        return dict(self.marks)


class FakeRoles:
    """IAM roles by name -> ARN with path; a name listed in ``failing`` fails as a throttled GetRole would."""

    def __init__(self, arns: dict[str, str] | None = None) -> None:
        self.arns = dict(arns or {})
        self.failing: set[str] = set()
        self.calls: list[str] = []

    def role_arn(self, role_name: str) -> str:
        self.calls.append(role_name)
        if role_name in self.failing or role_name not in self.arns:
            raise aws_failure("GetRole", "Throttling" if role_name in self.failing else "NoSuchEntity", role_name)
        return self.arns[role_name]

    def forget(self) -> None:
        self.calls.clear()


class FakeDocuments:
    """Document name -> session type; the AWS-provided ones are known as AWS wrote them, others are unknown."""

    def __init__(self, types: dict[str, SessionType] | None = None, logging: SessionLogging | None = None) -> None:
        self.types = dict(types or {})
        # Where the account's preferences log (default: never saved, so nowhere).
        self.logging = logging or not_saved_logging()
        self.forgotten = 0

    def session_type(self, document: str) -> SessionType | None:
        return self.types.get(document) or aws_document_session_type(document)

    def session_target(
        self,
        document: str,
        parameters: Mapping[str, Any] | None,
        *,
        parameters_hidden: bool,
        named_host: str | None,
    ) -> tuple[SessionType | None, str | None]:
        kind = self.session_type(document)
        return kind, (named_host if kind == "remote-port" and not parameters_hidden else None)

    def session_logging(self, document: str) -> SessionLogging:
        if aws_document_logging(document) == "port" or self.types.get(document) in ("port", "remote-port"):
            return port_logging(document)
        return self.logging

    def forget_preferences(self, now: datetime | None = None) -> None:
        self.forgotten += 1


class FakeNotices:
    """SendCommand with the warning document: records each send; ``failures`` sends are refused."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str, str]] = []  # (target, session id, message)
        self.failures = 0
        self.failure = ("InvalidInstanceId", "Instances not in a valid state for account")  # (code, message)
        self.answers: dict[str, tuple[str, str] | None] = {}  # command id -> what the node said (None: running)

    def send(self, target: str, session_id: str, message: str) -> str:
        if self.failures:
            self.failures -= 1
            raise aws_failure("SendCommand", *self.failure)
        self.sent.append((target, session_id, message))
        command = f"cmd-{len(self.sent)}"
        self.answers.setdefault(command, None)
        return command

    def result(self, command_id: str, target: str) -> tuple[str, str] | None:
        return self.answers.get(command_id)


class FakeOrganization:
    """The emulated organization's accounts (as Organizations lists them); ``lookups`` counts path reads."""

    def __init__(self, accounts: Iterable[OrgAccount] | None = None) -> None:
        self.listed = {
            account.id: account
            for account in accounts
            or (
                OrgAccount(id="111111111111", name="management", status="ACTIVE", ou_path=""),
                OrgAccount(id="123456789012", name="security", status="ACTIVE", ou_path="Security"),
                OrgAccount(id="222222222222", name="prod-web", status="ACTIVE", ou_path="Production/Web"),
                OrgAccount(id="333333333333", name="prod-data", status="ACTIVE", ou_path="Production"),
                OrgAccount(id="444444444444", name="dev", status="ACTIVE", ou_path="Development"),
            )
        }
        self.lookups = 0

    def accounts(self) -> list[OrgAccount]:
        return list(self.listed.values())

    def account(self, account_id: str) -> OrgAccount | None:
        return self.listed.get(account_id)

    def path_of(self, account_id: str) -> str | None:
        self.lookups += 1
        found = self.listed.get(account_id)
        return found.ou_path if found else None


class FakeCanaryState:
    """The StateTable canary item (pk ``canary``, sk ``state``) with the adapter's conditions; counts the calls."""

    def __init__(self) -> None:
        self.item: dict[str, Any] = {}
        self.reads = 0
        self.claims = 0

    def canary(self) -> Mapping[str, Any] | None:
        self.reads += 1
        return dict(self.item) if self.item else None

    def claim_canary_send(self, nonce: str, now: float, every_seconds: float) -> bool:
        self.claims += 1
        if "sent_at" in self.item and self.item["sent_at"] > now - every_seconds:
            return False
        self.item.update(nonce=nonce, sent_at=now)
        self.item.setdefault("waiting_since", now)
        self.item.pop("send_error", None)
        self.item.pop("unreachable", None)
        return True

    def canary_send_failed(self, nonce: str, problem: str) -> None:
        if self.item.get("nonce") == nonce:
            self.item["send_error"] = problem

    def canary_seen(self, nonce: str, now: float) -> Mapping[str, Any] | None:
        if self.item.get("nonce") != nonce or "waiting_since" not in self.item:
            return None
        old = dict(self.item)
        self.item["seen_at"] = now
        self.item.pop("waiting_since", None)
        self.item.pop("blind_since", None)
        return old

    def mark_unreachable(self, now: float, problem: str) -> None:
        self.item.setdefault("waiting_since", now)
        self.item["unreachable"] = problem

    def mark_blind(self, waiting_since: float, now: float) -> bool:
        if self.item.get("waiting_since") != waiting_since or "blind_since" in self.item:
            return False
        self.item["blind_since"] = now
        return True

    def forward_problem_seen(self, problem: str, now: float) -> Mapping[str, Any] | None:
        began = "rule_since" not in self.item
        self.item["rule_problem"] = problem
        self.item.setdefault("rule_since", now)
        return dict(self.item) if began else None

    def forward_problem_cleared(self, since: float) -> Mapping[str, Any] | None:
        if self.item.get("rule_since") != since:
            return None
        self.item.pop("rule_since")
        self.item.pop("rule_problem", None)
        return dict(self.item)

    def record_tamper(self, sk: str, item: Mapping[str, Any]) -> bool:
        return True

    def policy_push(self, digest: str) -> Mapping[str, Any] | None:
        return None
