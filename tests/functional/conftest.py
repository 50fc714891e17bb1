"""Fixtures for functional tests: the real stack on the local cloud, people who start sessions, the alert inbox.

The local cloud behaves as AWS does here (``warden_local.pytest_plugin.functional_fidelity``): terminated sessions stay
``Terminating`` for 2 s, four workers deliver concurrently and retry after a delay, IAM is enforced on every call
a handler makes. ``WARDEN_LOCAL_TERMINATING_SECONDS=0 WARDEN_LOCAL_WORKERS=1`` runs the old, quicker way.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from warden.adapters.grants import DynamoGrantStore
from warden.adapters.ledger import DynamoLedger
from warden.records import LedgerEntry
from warden_local import LocalCloud
from warden_local.inbox import Inbox
from warden_local.pytest_plugin import functional_fidelity

# Tuesday 2026-11-24 09:00 UTC = 10:00 in Berlin: inside business hours.
TUESDAY_MORNING = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)

POLICY = """\
version: 1
mode: {mode}
default: deny
windows:
  business-hours:
    timezone: Europe/Berlin
    weekly:
      - days: [mon, tue, wed, thu, fri]
        from: "08:00"
        to: "18:00"
rules:
  - name: no-pci
    effect: deny
    targets: {{tags: {{Compliance: pci}}}}
  - name: analysts-on-analytics
    principals: ["user:alice", "role:AWSReservedSSO_Analyst_*"]
    targets: {{tags: {{Department: Analytics}}}}
    windows: [business-hours]
    max_duration: 2h
"""


class Stack:
    """The deployed stack as the tests see it: people, instances, sessions, ledger and alerts."""

    def __init__(self, cloud: LocalCloud) -> None:
        self.cloud = cloud
        self.outputs = cloud.stack_outputs()
        self.inbox = Inbox(cloud)
        self.ledger = DynamoLedger(cloud.client("dynamodb"), self.outputs["LedgerTableName"])
        self.grants = DynamoGrantStore(cloud.client("dynamodb"), self.outputs["GrantsTableName"])
        self._ssm: dict[str, Any] = {}

    def person(self, name: str, *, role: str | None = None) -> Any:
        """An SSM client for an IAM user, or for ``name`` as the session name of an assumed ``role``."""
        key = f"{role}/{name}" if role else name
        if key not in self._ssm:
            credentials = self.cloud.role_credentials(role, name) if role else self.cloud.user_credentials(name)
            self._ssm[key] = self.cloud.client("ssm", credentials=credentials)
        return self._ssm[key]

    def start(self, who: Any, target: str, **extra: Any) -> str:
        session_id: str = who.start_session(Target=target, **extra)["SessionId"]
        return session_id

    def active(self) -> set[str]:
        self.cloud.settle()
        ssm = self.cloud.client("ssm")
        found: set[str] = set()
        request: dict[str, Any] = {"State": "Active", "MaxResults": 200}
        while True:
            page = ssm.describe_sessions(**request)
            found.update(session["SessionId"] for session in page["Sessions"])
            if not page.get("NextToken"):
                return found
            request["NextToken"] = page["NextToken"]

    def row(self, session_id: str) -> LedgerEntry:
        self.cloud.settle()
        entry = self.ledger.get(session_id)
        assert entry is not None, f"no ledger row for {session_id}"
        return entry

    def errors(self) -> list[str]:
        return [f"{i.function_name}: {i.error_type}: {i.error}" for i in self.cloud.invocations if not i.ok]


@pytest.fixture
def stack() -> Iterator[Stack]:
    with LocalCloud(
        start_at=TUESDAY_MORNING, policy=POLICY.format(mode="enforce"), fidelity=functional_fidelity()
    ) as cloud:
        yield Stack(cloud)


@pytest.fixture
def monitor_stack() -> Iterator[Stack]:
    with LocalCloud(
        start_at=TUESDAY_MORNING, policy=POLICY.format(mode="monitor"), fidelity=functional_fidelity()
    ) as cloud:
        yield Stack(cloud)


@pytest.fixture
def org_stack(tmp_path: Path) -> Iterator[Any]:
    """The central stack of the emulated organization (no member stacks yet), on a Tuesday morning, its policy
    pushed to AppConfig as the security team does it (`warden policy push`)."""
    from tests.functional.org_stack import ORG_POLICY, OrgStack
    from tests.functional.org_stack import TUESDAY_MORNING as ORG_MORNING

    with LocalCloud(start_at=ORG_MORNING, organization=True, fidelity=functional_fidelity()) as cloud:
        stack = OrgStack(cloud)
        policy = tmp_path / "organization-policy.yaml"
        policy.write_text(ORG_POLICY, encoding="utf-8")
        pushed = stack.warden("policy", "push", str(policy))
        assert pushed.code == 0, pushed.text
        yield stack


@pytest.fixture
def org(org_stack: Any) -> Any:
    """The organization with the member StackSet deployed by `warden org deploy` to Production and Development."""
    result = org_stack.deploy_members()
    assert result.code == 0, result.text
    return org_stack
