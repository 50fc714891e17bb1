"""The demo's self-defence scenes: a person toggles one of the stack's rules; the canary's round trip is read back."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from warden_cli.demo_cast import Person
    from warden_cli.demo_stage import Stage
    from warden_local import LocalCloud


def allow_rule_actions(cloud: LocalCloud, user: str, actions: Sequence[str]) -> None:
    """An inline policy that lets IAM user ``user`` call ``actions`` on the stack's EventBridge rules."""
    from warden_local.cloud import ACCOUNT_ID

    resource = f"arn:aws:events:{cloud.region}:{ACCOUNT_ID}:rule/{cloud.stack_name}-*"
    document = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": list(actions), "Resource": resource}],
    }
    cloud.client("iam").put_user_policy(UserName=user, PolicyName="event-rules", PolicyDocument=json.dumps(document))


def set_rule(stage: Stage, person: Person, suffix: str, *, enabled: bool, what: str) -> None:
    """``events disable-rule`` / ``enable-rule`` on the stack's rule ``<stack>-<suffix>``, as ``person``."""
    name = f"{stage.cloud.stack_name}-{suffix}"
    command = "enable-rule" if enabled else "disable-rule"
    at = stage.cloud.clock.now()
    events = stage.cloud.client("events", credentials=person.credentials)
    if enabled:
        events.enable_rule(Name=name)
    else:
        events.disable_rule(Name=name)
    stage.cloud.settle()
    state = str(stage.cloud.client("events").describe_rule(Name=name)["State"])
    stage.emit(
        "rule-state",
        [f"{person.name} {what}  $ aws events {command} --name {name}"],
        {"principal": person.name, "principal_arn": person.arn, "rule": name, "state": state},
        at=at,
    )
    wanted = "ENABLED" if enabled else "DISABLED"
    stage.expect(state == wanted, f"rule {name} to be {wanted} after {command} (got {state})")
    stage.drain()


def canary_back(stage: Stage, *, after: float | None = None) -> float | None:
    """Report the canary's last round trip from the state table (pk ``canary``, sk ``state``); its ``seen_at``.

    ``after``: the ``seen_at`` of an earlier report, which the round trip must be newer than."""
    item = stage.state.canary() or {}
    found = [
        value for key in ("sent_at", "seen_at", "round_trip_ms") if isinstance(value := item.get(key), int | float)
    ]
    back = None
    if len(found) == 3:
        sent_at, seen_at, round_trip = (float(value) for value in found)
        if seen_at >= sent_at and (after is None or seen_at > after):
            back = seen_at
            again = " again" if after is not None else ""
            stage.emit(
                "canary",
                [
                    f"canary: the sweeper's write came back{again} through CloudTrail and EventBridge in "
                    f"{int(round_trip)} ms of emulated time (the event path delivers)"
                ],
                {"sent_at": sent_at, "seen_at": seen_at, "round_trip_ms": int(round_trip)},
            )
    expected = "the sweeper's canary to come back through CloudTrail and EventBridge"
    stage.expect(back is not None, expected + (" once more after the rule was re-enabled" if after is not None else ""))
    return back
