"""Every AWS call a function makes is allowed by its own role in template.yaml.

moto does not enforce IAM, so a missing permission would pass every other test and fail on AWS. This test
records, with a botocore hook, each action the handlers call while a day exercises every path (allowed,
denied, failed call, resume, end, grant expiry and revocation, adoption, re-tag, a rejected policy), and
checks it against the role the template gives that function.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import botocore.session
import pytest

from tests.functional.conftest import Stack
from tests.functional.test_sweeper import grant
from tests.unit.test_template import RESOURCES

pytestmark = pytest.mark.functional

FUNCTIONS = ("SessionStartedFunction", "SessionEndedFunction", "SweeperFunction")


TABLES = {
    "GrantsTableName": "GrantsTable",
    "LedgerTableName": "LedgerTable",
    "IdempotencyTableName": "IdempotencyTable",
}


def _allowed(function: str, action: str, table: str | None, index: str | None) -> bool:
    """Whether the function's role allows the action, and for DynamoDB on that very table (or index)."""
    role = RESOURCES[function]["Properties"]["Role"]["GetAtt"].split(".")[0]
    statements = RESOURCES[role]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    for statement in statements:
        if statement["Effect"] != "Allow" or action not in statement["Action"]:
            continue
        if table is None:
            return True
        resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        for resource in map(str, resources):
            on_table = f"{table}.Arn" in resource
            if on_table and (f"/index/{index}" in resource if index else "/index/" not in resource):
                return True
    return False


Call = tuple[str, str, str | None, str | None]


@pytest.fixture
def calls() -> Iterator[set[Call]]:
    """(function logical id, IAM action, DynamoDB table, index) for every AWS call a handler makes."""
    seen: set[Call] = set()
    lock = threading.Lock()
    original = botocore.session.Session.create_client

    def record(model: Any, params: Any = None, **_: Any) -> None:
        if not threading.current_thread().name.endswith("-dispatcher"):  # the local Lambda runtime's thread
            return
        function = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "")
        logical = next((name for name in FUNCTIONS if name in function), None)
        if logical is not None:
            table, index = (params or {}).get("TableName"), (params or {}).get("IndexName")
            with lock:
                seen.add((logical, f"{model.service_model.signing_name}:{model.name}", table, index))

    def create_client(session: Any, *args: Any, **kwargs: Any) -> Any:
        client = original(session, *args, **kwargs)
        client.meta.events.register("before-parameter-build.*.*", record)  # params: the caller's own
        return client

    botocore.session.Session.create_client = create_client  # type: ignore[method-assign]
    try:
        yield seen
    finally:
        botocore.session.Session.create_client = original  # type: ignore[method-assign]


def test_every_call_of_every_function_is_allowed_by_its_role(stack: Stack, calls: set[Call]) -> None:
    # GIVEN a day that takes every path through the three functions
    alice, bob = stack.person("alice"), stack.person("bob")
    analytics = stack.cloud.add_instance({"Department": "Analytics"})
    prod = stack.cloud.add_instance({"Environment": "prod"})
    node = stack.cloud.add_managed_node({"Department": "Analytics"})
    with pytest.raises(alice.exceptions.TargetNotConnected):
        alice.start_session(Target="i-0000000000000dead")
    kept = stack.start(alice, analytics)
    stack.start(alice, node)
    stack.start(bob, prod)  # denied: terminated, alerted
    alice.resume_session(SessionId=kept)
    grant(stack, "g-expires", hours=1)
    grant(stack, "g-revoked", hours=4)
    granted = stack.start(bob, prod)
    stack.cloud.faults.drop_next_event("StartSession")
    stack.start(stack.person("carol"), prod)  # adopted and ended by the sweeper
    stack.cloud.advance("5m")
    stack.grants.revoke("g-revoked", by="oncall-lead", now=stack.cloud.clock.now())
    stack.cloud.client("ec2").create_tags(Resources=[analytics], Tags=[{"Key": "Department", "Value": "Finance"}])
    stack.cloud.put_policy("version: 1\nrules:\n  - name: x\n    efect: allow\n")
    stack.cloud.advance(timedelta(hours=1, minutes=5))
    alice.terminate_session(SessionId=stack.start(alice, node))
    stack.cloud.settle()
    assert granted not in stack.active()
    # WHEN the calls are checked against the template THEN each one is allowed by the caller's own role
    logical_tables = {stack.outputs[output]: logical for output, logical in TABLES.items()}
    assert {call[0] for call in calls} == set(FUNCTIONS)
    missing = sorted(
        (function, action, table, index)
        for function, action, table, index in calls
        if not _allowed(function, action, logical_tables.get(table) if table else None, index)
    )
    assert missing == []
