"""EventBridge forwarding between buses of different accounts or regions, and its permission checks: a PutEvents
entry naming another account's bus by ARN is accepted only when that bus's resource policy admits the sender; a rule
target that is another account's or region's bus needs a RoleArn EventBridge may assume, that may events:PutEvents on
the bus, and (across accounts) that the bus's policy admits (``aws:PrincipalOrgID`` against the organization).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from warden.timefmt import cloudtrail_time

from .iam import ALLOWED, evaluate, role_statements
from .resource_policy import Principal, admits, trusts_service

# publish(event, bus name, bus account, region)
Publish = Callable[[dict[str, Any], str, str, str], None]


def forward_entry(
    sender: str,
    region: str,
    entry: dict[str, Any],
    *,
    org_of: Callable[[str], str | None],
    now: Callable[[], datetime],
    publish: Publish,
) -> dict[str, Any]:
    """A PutEvents entry from account ``sender`` (in ``region``) naming another account's bus by ARN: put on it
    when the bus's policy admits the sender (else the call fails with AccessDeniedException, as on AWS)."""
    from moto.core.exceptions import JsonRESTError

    arn = str(entry["EventBusName"])
    parts = arn.split(":")
    bus_name = parts[5].split("/", 1)[-1] if len(parts) > 5 else ""
    found = bus(parts[4], parts[3], bus_name) if parts[3] == region else None
    if found is None:
        return {"ErrorCode": "ResourceNotFoundException", "ErrorMessage": f"Event bus {arn} does not exist."}
    if not admits(found.policy, Principal(account=sender, org_id=org_of(sender)), "events:PutEvents", arn):
        raise JsonRESTError(
            "AccessDeniedException",
            f"User: arn:aws:iam::{sender}:root is not authorized to perform: events:PutEvents on resource: {arn} "
            "because no resource-based policy allows the events:PutEvents action",
        )
    missing = next((key for key in ("Source", "DetailType", "Detail") if not entry.get(key)), None)
    if missing is not None:
        return {"ErrorCode": "InvalidArgument", "ErrorMessage": f"Parameter {missing} is not valid."}
    try:
        detail = json.loads(str(entry["Detail"]))
    except ValueError:
        return {"ErrorCode": "MalformedDetail", "ErrorMessage": "Detail is malformed."}
    moment = entry.get("Time")
    when = datetime.fromtimestamp(float(moment), UTC) if isinstance(moment, (int, float)) else now()
    event = {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": entry["DetailType"],
        "source": entry["Source"],
        "account": sender,
        "time": cloudtrail_time(when),
        "region": region,
        "resources": list(entry.get("Resources") or []),
        "detail": detail,
    }
    publish(event, bus_name, parts[4], region)
    return {"EventId": event["id"]}


def bus_refuses(
    rule: Any,
    target: dict[str, Any],
    arn: str,
    where: tuple[str, str],
    bus_name: str,
    org_of: Callable[[str], str | None],
) -> tuple[str, str, bool] | None:
    """Why EventBridge cannot put the event on bus ``arn`` for this rule, or None when it can.

    Another account's or region's bus needs the target's (or rule's) RoleArn: a role of the rule's account that
    EventBridge may assume and that may ``events:PutEvents`` on the bus; another account's bus must also admit
    that role by its resource policy (``aws:PrincipalOrgID`` evaluated against the organization).
    """
    found = bus(where[0], where[1], bus_name)
    if found is None:
        return "RESOURCE_NOT_FOUND", f"Event bus {arn} does not exist.", False
    source_account, source_region = rule_where(rule)
    if where == (source_account, source_region):
        return None
    role_arn = str(target.get("RoleArn") or rule.role_arn or "")
    if not role_arn:
        return (
            "NO_PERMISSIONS",
            f"rule {rule.arn} has no RoleArn for target {arn}: EventBridge needs a role to put events on an event "
            "bus of another account or region",
            False,
        )
    problem = role_problem(role_arn, source_account, arn, str(rule.arn))
    if problem is not None:
        return "NO_PERMISSIONS", problem, False
    if where[0] != source_account:
        principal = Principal(account=source_account, arn=role_arn, org_id=org_of(source_account))
        if not admits(found.policy, principal, "events:PutEvents", arn):
            return (
                "NO_PERMISSIONS",
                f"User: {role_arn} is not authorized to perform: events:PutEvents on resource: {arn} because no "
                "resource-based policy allows the events:PutEvents action",
                False,
            )
    return None


def rule_where(rule: Any) -> tuple[str, str]:
    """(account, region) of a moto rule."""
    return str(rule.account_id), str(rule.region_name)


def bus(account: str, region: str, name: str) -> Any:
    from moto.events.models import events_backends

    try:
        return events_backends[account][region].event_buses.get(name)
    except KeyError:  # not a region moto knows
        return None


def role_problem(role_arn: str, account: str, bus_arn: str, rule_arn: str) -> str | None:
    """Why EventBridge cannot use role ``role_arn`` (of the rule's ``account``) to put events on ``bus_arn``."""
    from moto.iam.models import iam_backends

    try:
        role = iam_backends[account]["aws"].get_role_by_arn(arn=role_arn)
    except Exception:
        return f"role {role_arn} does not exist in account {account}: EventBridge cannot assume it"
    trust = role.assume_role_policy_document
    if not trusts_service(trust, "events.amazonaws.com", source_account=account, source_arn=rule_arn):
        return f"role {role_arn} does not trust events.amazonaws.com: EventBridge cannot assume it"
    if evaluate(role_statements(account, role_arn), "events:PutEvents", bus_arn) != ALLOWED:
        return f"role {role_arn} is not allowed events:PutEvents on {bus_arn}"
    return None
