"""CloudTrail records of the control-plane calls the warden watches (EventBridge, CloudTrail, SSM, Lambda, DynamoDB,
SQS), and the trails that decide whether EventBridge receives any "AWS API Call via CloudTrail" event at all."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

# (signing service, API action) -> CloudTrail eventName. Lambda's REST operations carry their API version.
WATCHED: dict[tuple[str, str], str] = {
    **{("events", name): name for name in ("DisableRule", "DeleteRule", "RemoveTargets", "PutTargets", "PutRule")},
    **{("cloudtrail", name): name for name in ("StopLogging", "DeleteTrail", "UpdateTrail", "PutEventSelectors")},
    **{
        ("ssm", name): name
        for name in ("UpdateDocument", "DeleteDocument", "UpdateDocumentDefaultVersion", "PutParameter")
    },
    ("ssm", "DeleteParameter"): "DeleteParameter",
    ("lambda", "UpdateFunctionCode"): "UpdateFunctionCode20150331v2",
    ("lambda", "UpdateFunctionConfiguration"): "UpdateFunctionConfiguration20150331v2",
    ("lambda", "DeleteFunction"): "DeleteFunction20150331",
    ("lambda", "RemovePermission"): "RemovePermission20150331v2",
    ("lambda", "PutFunctionConcurrency"): "PutFunctionConcurrency20171031",
    ("lambda", "PutFunctionEventInvokeConfig"): "PutFunctionEventInvokeConfig",
    ("lambda", "UpdateFunctionEventInvokeConfig"): "UpdateFunctionEventInvokeConfig",
    ("dynamodb", "DeleteTable"): "DeleteTable",
    # Organization mode's sweep fan-out: the worker's event source mapping, the sweep queues (management events).
    ("lambda", "UpdateEventSourceMapping"): "UpdateEventSourceMapping20150331",
    ("lambda", "DeleteEventSourceMapping"): "DeleteEventSourceMapping20150331",
    **{("sqs", name): name for name in ("SetQueueAttributes", "PurgeQueue", "DeleteQueue")},
}
# Calls that change what the trails deliver: whether they are recorded is decided before they take effect
# (CloudTrail records the StopLogging that stops it).
TRAIL_CHANGES = frozenset({"StopLogging", "DeleteTrail", "UpdateTrail", "PutEventSelectors"})
# CloudTrail never records these values in clear.
HIDDEN = "HIDDEN_DUE_TO_SECURITY_REASONS"
_HIDDEN_KEYS = frozenset({"value", "zipFile", "variables"})

_MAPPING_PATH = re.compile(r"^/2015-03-31/event-source-mappings/(?P<uuid>[^/]+)/?$")
# Keys CloudTrail writes otherwise than by lowering the first letter.
_CLOUDTRAIL_KEYS = {"UUID": "uUID"}
_LAMBDA_PATH = re.compile(
    r"^/(?P<version>2015-03-31|2017-10-31|2019-09-25)/functions/(?P<name>[^/]+)"
    r"(?P<rest>/code|/configuration|/policy/[^/]+|/concurrency|/event-invoke-config)?/?$"
)


@dataclass(frozen=True)
class ControlCall:
    """One watched call as the server saw it."""

    service: str
    action: str
    event_name: str
    params: dict[str, Any]


def lambda_operation(method: str, path: str) -> tuple[str, dict[str, Any]] | None:
    """The Lambda REST operation and its path parameters for a watched ``method path``; None for any other call."""
    mapping = _MAPPING_PATH.match(path)
    if mapping is not None and method in ("PUT", "DELETE"):
        action = "UpdateEventSourceMapping" if method == "PUT" else "DeleteEventSourceMapping"
        return action, {"UUID": mapping.group("uuid")}
    match = _LAMBDA_PATH.match(path)
    if match is None:
        return None
    name, rest = match.group("name"), match.group("rest") or ""
    if method == "PUT" and rest == "/code":
        return "UpdateFunctionCode", {"FunctionName": name}
    if method == "PUT" and rest == "/configuration":
        return "UpdateFunctionConfiguration", {"FunctionName": name}
    if method == "DELETE" and rest == "":
        return "DeleteFunction", {"FunctionName": name}
    if method == "PUT" and rest == "/concurrency":
        return "PutFunctionConcurrency", {"FunctionName": name}
    if rest == "/event-invoke-config" and method in ("PUT", "POST"):
        action = "PutFunctionEventInvokeConfig" if method == "PUT" else "UpdateFunctionEventInvokeConfig"
        return action, {"FunctionName": name}
    if method == "DELETE" and rest.startswith("/policy/"):
        return "RemovePermission", {"FunctionName": name, "StatementId": rest.split("/", 2)[2]}
    return None


def watched(service: str | None, action: str | None) -> str | None:
    """The CloudTrail eventName of a watched call, or None."""
    if not service or not action:
        return None
    return WATCHED.get((service, action))


def request_parameters(call: ControlCall) -> dict[str, Any]:
    """``requestParameters`` as CloudTrail writes them: the request's members in lowerCamelCase, secrets hidden
    (SQS queue attribute names stay as they are: ``{"attributes": {"VisibilityTimeout": "100"}}``)."""
    parameters = {key: _hide(key, value) for key, value in _camel(call.params).items()}
    if call.service == "sqs" and isinstance(call.params.get("Attributes"), dict):
        parameters["attributes"] = dict(call.params["Attributes"])
    return parameters


def response_elements(call: ControlCall, body: bytes) -> dict[str, Any] | None:
    """``responseElements``: the response's members in lowerCamelCase; null for calls that answer nothing."""
    if not body.strip():
        return None
    try:
        answer = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None
    if not isinstance(answer, dict) or not answer:
        return None
    elements = _camel(answer)
    if call.service == "lambda":
        elements.pop("environment", None)  # Lambda's records leave environment variables out
    return {key: _hide(key, value) for key, value in elements.items()}


def error_of(body: bytes) -> tuple[str, str]:
    """(errorCode, errorMessage) of a failed call's JSON or XML answer."""
    text = body.decode("utf-8", "replace")
    try:
        answer = json.loads(text)
    except json.JSONDecodeError:
        found = re.search(r"<Code>([^<]+)</Code>", text)
        said = re.search(r"<Message>([^<]*)</Message>", text)
        return (found.group(1) if found else "UnknownError", said.group(1) if said else "")
    if not isinstance(answer, dict):
        return "UnknownError", ""
    code = str(answer.get("__type") or answer.get("Type") or answer.get("code") or "UnknownError").rpartition("#")[2]
    return code, str(answer.get("message") or answer.get("Message") or "")


def trails_deliver(region: str, account_id: str) -> bool:
    """Whether any trail that is logging records this region's write management events (what EventBridge's
    "AWS API Call via CloudTrail" events need)."""
    from moto.cloudtrail.models import cloudtrail_backends

    for backend_region, backend in cloudtrail_backends[account_id].items():
        for trail in list(backend.trails.values()):
            if not trail.status.is_logging:
                continue
            if backend_region != region and not trail.is_multi_region:
                continue
            if _records_management_writes(trail):
                return True
    return False


def _records_management_writes(trail: Any) -> bool:
    basic, advanced = trail.event_selectors, trail.advanced_event_selectors
    if not basic and not advanced:
        return True  # a trail without selectors records every management event
    for selector in basic:
        included = selector.get("IncludeManagementEvents", True)
        writes = selector.get("ReadWriteType", "All") in ("All", "WriteOnly")
        if writes and (included is True or str(included).lower() == "true"):
            return True
    for selector in advanced:
        fields = {str(item.get("Field")): item for item in selector.get("FieldSelectors", [])}
        category = fields.get("eventCategory", {})
        if "Management" not in category.get("Equals", []):
            continue
        read_only = fields.get("readOnly", {})
        if read_only.get("Equals") in (None, [], ["false"], ["False"]):
            return True
    return False


def _camel(value: Any) -> Any:
    if isinstance(value, dict):
        return {_lower_first(str(key)): _camel(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_camel(item) for item in value]
    return value


def _lower_first(key: str) -> str:
    if key in _CLOUDTRAIL_KEYS:
        return _CLOUDTRAIL_KEYS[key]
    if key.isupper():
        return key.lower()  # "ARN" -> "arn"
    return key[:1].lower() + key[1:]


def _hide(key: str, value: Any) -> Any:
    return HIDDEN if key in _HIDDEN_KEYS and value is not None else value
