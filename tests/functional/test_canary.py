"""The canary through the real event path: the sweeper writes it, CloudTrail and EventBridge bring it back to the
tamper watch; when it stops coming back, one `event-path-blind` alert, and one INFO alert when it is seen again."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from boto3.dynamodb.types import TypeDeserializer

from tests.functional.conftest import Stack
from warden_local.inbox import Mail
from warden_local.trail_recorder import ACCOUNT_TRAIL

pytestmark = pytest.mark.functional

BLIND = "event-path-blind"


def blind_mails(stack: Stack) -> list[Mail]:
    return [mail for mail in stack.inbox.mails() if mail.kind == BLIND]


def canary(stack: Stack) -> dict[str, Any]:
    item = stack.cloud.client("dynamodb").get_item(
        TableName=stack.outputs["StateTableName"], Key={"pk": {"S": "canary"}, "sk": {"S": "state"}}
    )
    deserializer = TypeDeserializer()
    return {key: deserializer.deserialize(value) for key, value in item.get("Item", {}).items()}


def canary_rule(stack: Stack) -> str:
    return f"{stack.cloud.stack_name}-canary"


def test_the_canary_comes_back_and_its_round_trip_is_recorded(stack: Stack) -> None:
    # GIVEN the deployed stack
    # WHEN the first sweep runs
    stack.cloud.advance("1m")
    stack.cloud.settle()
    # THEN the canary it wrote came back through CloudTrail and EventBridge: sent, seen, a round trip in ms
    state = canary(stack)
    assert state["nonce"]
    assert state["seen_at"] >= state["sent_at"]
    assert 0 <= state["round_trip_ms"] < 60_000
    assert "waiting_since" not in state and "blind_since" not in state
    # AND the canary's write is not tampering, and a quarter of an hour of sweeps raises no alert
    stack.cloud.advance("15m")
    assert [mail.kind for mail in stack.inbox.mails()] == []


def _disable_rule(stack: Stack) -> Callable[[], None]:
    events = stack.cloud.client("events")
    events.disable_rule(Name=canary_rule(stack))
    return lambda: events.enable_rule(Name=canary_rule(stack))


def _remove_target(stack: Stack) -> Callable[[], None]:
    events = stack.cloud.client("events")
    targets = events.list_targets_by_rule(Rule=canary_rule(stack))["Targets"]
    events.remove_targets(Rule=canary_rule(stack), Ids=[target["Id"] for target in targets])
    return lambda: events.put_targets(Rule=canary_rule(stack), Targets=targets)


def _stop_trail(stack: Stack) -> Callable[[], None]:
    cloudtrail = stack.cloud.client("cloudtrail")
    cloudtrail.stop_logging(Name=ACCOUNT_TRAIL)
    return lambda: cloudtrail.start_logging(Name=ACCOUNT_TRAIL)


def _exclude_management_events(stack: Stack) -> Callable[[], None]:
    cloudtrail = stack.cloud.client("cloudtrail")
    cloudtrail.put_event_selectors(
        TrailName=ACCOUNT_TRAIL, EventSelectors=[{"ReadWriteType": "All", "IncludeManagementEvents": False}]
    )
    return lambda: cloudtrail.put_event_selectors(
        TrailName=ACCOUNT_TRAIL, EventSelectors=[{"ReadWriteType": "All", "IncludeManagementEvents": True}]
    )


def _remove_permission(stack: Stack) -> Callable[[], None]:
    lam = stack.cloud.client("lambda")
    name = stack.outputs["TamperWatchFunctionName"]
    statements = json.loads(lam.get_policy(FunctionName=name)["Policy"])["Statement"]
    [statement] = [s for s in statements if s["Condition"]["ArnLike"]["AWS:SourceArn"].endswith("-canary")]
    lam.remove_permission(FunctionName=name, StatementId=statement["Sid"])
    return lambda: lam.add_permission(
        FunctionName=name,
        StatementId=statement["Sid"],
        Action="lambda:InvokeFunction",
        Principal="events.amazonaws.com",
        SourceArn=statement["Condition"]["ArnLike"]["AWS:SourceArn"],
    )


def _drop_events(stack: Stack) -> Callable[[], None]:
    # Every canary write of the next quarter of an hour is lost on the way (CloudTrail is best effort).
    for _ in range(4):
        stack.cloud.faults.drop_next_event("PutParameter")
    return stack.cloud.faults.clear


BREAKS = {
    "rule disabled": _disable_rule,
    "target removed": _remove_target,
    "trail stopped": _stop_trail,
    "selectors exclude management events": _exclude_management_events,
    "function permission removed": _remove_permission,
    "events dropped": _drop_events,
}


@pytest.mark.parametrize("how", list(BREAKS))
def test_a_broken_event_path_goes_blind_once_and_recovers(stack: Stack, how: str) -> None:
    # GIVEN a stack whose canary has come back once
    stack.cloud.advance("1m")
    assert "seen_at" in canary(stack)
    # WHEN the path is broken
    repair = BREAKS[how](stack)
    stack.cloud.advance("4m")
    assert blind_mails(stack) == []
    stack.cloud.advance("12m")
    # THEN one HIGH alert says the event path is blind and lists what could cause it
    [blind] = blind_mails(stack)
    assert blind.severity == "HIGH"
    assert "EVENT PATH BLIND" in blind.subject
    assert "has not come back through CloudTrail and EventBridge" in blind.body
    for cause in ("a trail stopped logging", "the canary rule was disabled", "target", "permission"):
        assert cause in blind.body
    assert "blind_since" in canary(stack)
    # AND more sweeps while it stays broken send no second one
    stack.cloud.advance("6m")
    assert len(blind_mails(stack)) == 1
    # WHEN the path is repaired
    repair()
    stack.cloud.advance("6m")
    # THEN the next round trip clears it with one INFO alert of the same kind
    blind_alerts = blind_mails(stack)
    assert [mail.severity for mail in blind_alerts] == ["HIGH", "INFO"]
    assert "RESTORED" in blind_alerts[1].subject
    state = canary(stack)
    assert "blind_since" not in state and state["seen_at"] >= state["sent_at"]
