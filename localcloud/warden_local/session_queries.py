"""DescribeSessions and DescribeInstanceInformation: filters, pages and validation as SSM answers them."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from warden.timefmt import parse_instant

from .session_model import ACTIVE_STATUSES, SESSION_STATUSES, ManagedNode, Session, SsmApiError, validation

# AWS documents no default page size; a small one keeps a caller that forgets NextToken from passing by luck.
DEFAULT_PAGE_SIZE = 20
MAX_FILTERS = 6
_FILTER_KEYS = ("InvokedAfter", "InvokedBefore", "Target", "Owner", "Status", "SessionId", "AccessType")
_ACCESS_TYPES = ("Standard", "JustInTime")
# The principals that can own a session: IAM users, the account root, assumed roles and federated users.
_OWNER_ARN = re.compile(r"arn:aws[a-z-]*:(iam|sts)::\d{12}:(root|user/.+|assumed-role/.+/.+|federated-user/.+)")


def describe_sessions(sessions: Iterable[Session], params: dict[str, Any]) -> dict[str, Any]:
    state = params.get("State")
    if state not in ("Active", "History"):
        raise validation("state", state, "Member must satisfy enum value set: [Active, History]")
    page_size = page_size_of(params.get("MaxResults"), low=1, high=200, default=DEFAULT_PAGE_SIZE)
    filters = params.get("Filters")
    if filters is not None:
        if not isinstance(filters, list):
            raise SsmApiError("SerializationException", "Filters must be a list.")
        if not 1 <= len(filters) <= MAX_FILTERS:
            bound = "greater than or equal to 1" if not filters else f"less than or equal to {MAX_FILTERS}"
            raise validation("filters", f"{len(filters)} filters", f"Member must have length {bound}")
    predicates = [_session_filter(position, item) for position, item in enumerate(filters or [], start=1)]
    wanted = [
        session
        for session in sessions
        if (session.status in ACTIVE_STATUSES) == (state == "Active") and all(check(session) for check in predicates)
    ]
    wanted.sort(key=lambda session: session.start, reverse=True)  # newest first, like the console
    start = decode_token(params.get("NextToken"), f"DescribeSessions/{state}")
    page = wanted[start : start + page_size]
    response: dict[str, Any] = {"Sessions": [session.describe() for session in page]}
    if start + page_size < len(wanted):
        response["NextToken"] = encode_token(start + page_size, f"DescribeSessions/{state}")
    return response


def _session_filter(position: int, item: Any) -> Callable[[Session], bool]:
    if not isinstance(item, dict):
        raise SsmApiError("SerializationException", "Start of structure or map found where not expected.")
    key, value = item.get("key"), item.get("value")
    where = f"filters.{position}.member"
    if key not in _FILTER_KEYS:
        raise SsmApiError("InvalidFilterKey", f"The specified filter key {key} is not valid.")
    if not isinstance(value, str) or not value:
        raise validation(f"{where}.value", value, "Member must have length greater than or equal to 1")
    if len(value) > 400:
        raise validation(f"{where}.value", value, "Member must have length less than or equal to 400")
    if key in ("InvokedAfter", "InvokedBefore"):
        try:
            moment = parse_instant(value)
        except ValueError:
            raise SsmApiError("ValidationException", f"Invalid {key} filter value {value}.") from None
        return _started_after(moment) if key == "InvokedAfter" else _started_before(moment)
    if key == "Status":
        if value not in SESSION_STATUSES:
            raise validation(
                f"{where}.value", value, f"Member must satisfy enum value set: [{', '.join(SESSION_STATUSES)}]"
            )
        return lambda session: session.status == value
    if key == "Owner":
        if not _OWNER_ARN.fullmatch(value):
            raise SsmApiError("ValidationException", f"Invalid Owner filter value {value}: expected an ARN.")
        return lambda session: session.owner.arn == value
    if key == "AccessType":
        if value not in _ACCESS_TYPES:
            raise validation(
                f"{where}.value", value, f"Member must satisfy enum value set: [{', '.join(_ACCESS_TYPES)}]"
            )
        return lambda session: value == "Standard"  # just-in-time node access is not emulated
    if key == "Target":
        return lambda session: session.target == value
    return lambda session: session.session_id == value


def _started_after(moment: datetime) -> Callable[[Session], bool]:
    return lambda session: session.start >= moment


def _started_before(moment: datetime) -> Callable[[Session], bool]:
    return lambda session: session.start < moment


# -- DescribeInstanceInformation ---------------------------------------------------------------------------


def describe_instance_information(
    items: list[tuple[dict[str, Any], dict[str, str]]], params: dict[str, Any]
) -> dict[str, Any]:
    page_size = page_size_of(params.get("MaxResults"), low=5, high=50, default=50)
    filters: list[tuple[str, list[str]]] = [
        (str(item.get("key")), [str(value) for value in item.get("valueSet") or []])
        for item in params.get("InstanceInformationFilterList") or []
    ]
    filters += [
        (str(item.get("Key")), [str(value) for value in item.get("Values") or []])
        for item in params.get("Filters") or []
    ]
    matching = [item for item in items if all(_info_matches(item, k, v) for k, v in filters)]
    start = decode_token(params.get("NextToken"), "DescribeInstanceInformation")
    page = matching[start : start + page_size]
    response: dict[str, Any] = {"InstanceInformationList": [info for info, _ in page]}
    if start + page_size < len(matching):
        response["NextToken"] = encode_token(start + page_size, "DescribeInstanceInformation")
    return response


def instance_information(
    ec2_instances: list[Any],
    nodes: Iterable[ManagedNode],
    node_tags: Callable[[str], dict[str, str]],
    *,
    region: str,
    now: float,
) -> list[tuple[dict[str, Any], dict[str, str]]]:
    """(InstanceInformation, tags) of every running EC2 instance and registered managed node."""
    items: list[tuple[dict[str, Any], dict[str, str]]] = []
    agent = {"PingStatus": "Online", "LastPingDateTime": now, "AgentVersion": "3.3.1142.0", "IsLatestVersion": True}
    for instance in ec2_instances:
        if instance.state != "running":
            continue
        ip = str(instance.private_ip or "10.0.0.10")
        info = {
            "InstanceId": instance.id,
            **agent,
            "PlatformType": "Linux",
            "PlatformName": "Amazon Linux",
            "PlatformVersion": "2023",
            "ResourceType": "EC2Instance",
            "IPAddress": ip,
            "ComputerName": f"ip-{ip.replace('.', '-')}.{region}.compute.internal",
            "SourceId": instance.id,
            "SourceType": "AWS::EC2::Instance",
        }
        items.append((info, {tag["key"]: tag["value"] for tag in instance.get_tags()}))
    for node in nodes:
        info = {
            "InstanceId": node.node_id,
            **agent,
            "PlatformType": "Linux",
            "PlatformName": node.platform_name,
            "PlatformVersion": node.platform_version,
            "ActivationId": node.activation_id,
            "IamRole": node.iam_role,
            "RegistrationDate": node.registered.timestamp(),
            "ResourceType": "ManagedInstance",
            "Name": node.name,
            "IPAddress": node.ip_address,
            "ComputerName": node.name,
            "SourceId": node.node_id,
            "SourceType": "AWS::SSM::ManagedInstance",
        }
        items.append((info, node_tags(node.node_id)))
    return items


def _info_matches(item: tuple[dict[str, Any], dict[str, str]], key: str, values: list[str]) -> bool:
    info, tags = item
    if key.startswith("tag:"):
        return tags.get(key[4:]) in values
    if key == "tag-key":
        return any(value in tags for value in values)
    field_of = {
        "InstanceIds": "InstanceId",
        "PingStatus": "PingStatus",
        "ResourceType": "ResourceType",
        "PlatformTypes": "PlatformType",
        "AgentVersion": "AgentVersion",
        "IamRole": "IamRole",
        "ActivationIds": "ActivationId",
    }
    if key not in field_of:
        raise SsmApiError("InvalidFilterKey", f"The specified filter key {key} is not valid.")
    return str(info.get(field_of[key])) in values


# -- pages ------------------------------------------------------------------------------------------------


def page_size_of(raw: Any, *, low: int, high: int, default: int) -> int:
    if raw is None:
        return default
    try:
        size = int(raw)
    except (TypeError, ValueError):
        raise validation("maxResults", raw, "Member must be a number") from None
    if size < low:
        raise validation("maxResults", size, f"Member must have value greater than or equal to {low}")
    if size > high:
        raise validation("maxResults", size, f"Member must have value less than or equal to {high}")
    return size


def encode_token(offset: int, scope: str) -> str:
    return base64.urlsafe_b64encode(json.dumps({"o": offset, "s": scope}).encode()).decode()


def decode_token(token: Any, scope: str) -> int:
    if token is None:
        return 0
    try:
        data = json.loads(base64.urlsafe_b64decode(str(token).encode()))
        if data["s"] != scope:
            raise ValueError(scope)
        return int(data["o"])
    except (ValueError, KeyError, TypeError):
        raise SsmApiError("InvalidNextToken", "The specified token is not valid.") from None
