"""The IAM action and resource ARN(s) an AWS request needs, as AWS's authorization sees them."""

from __future__ import annotations

from typing import Any

# Signing name -> IAM service prefix where they differ.
_PREFIX = {"monitoring": "cloudwatch", "email": "ses"}
# Calls every principal may make, whatever its policies say.
_ALWAYS_ALLOWED = frozenset({"sts:GetCallerIdentity"})
_AWS_OWNED_DOCUMENT = ("AWS", "Amazon")  # names AWS reserves for its own documents
_DYNAMODB_TRANSACT = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
}


class Arns:
    """ARNs of one account and region."""

    def __init__(self, account_id: str, region: str) -> None:
        self.account = account_id
        self.region = region

    def table(self, name: str, index: str | None = None) -> str:
        base = name if name.startswith("arn:") else f"arn:aws:dynamodb:{self.region}:{self.account}:table/{name}"
        return f"{base}/index/{index}" if index else base

    def parameter(self, name: str) -> str:
        if name.startswith("arn:"):
            return name
        name = name.split(":", 1)[0]  # a version or label selector (name:3) is not part of the ARN
        return f"arn:aws:ssm:{self.region}:{self.account}:parameter/{name.lstrip('/')}"

    def document(self, name: str) -> str:
        if name.startswith("arn:"):
            return name
        owner = "" if name.startswith(_AWS_OWNED_DOCUMENT) else self.account
        return f"arn:aws:ssm:{self.region}:{owner}:document/{name}"

    def target(self, target: str) -> str:
        if target.startswith("mi-"):
            return f"arn:aws:ssm:{self.region}:{self.account}:managed-instance/{target}"
        return f"arn:aws:ec2:{self.region}:{self.account}:instance/{target}"

    def session(self, session_id: str) -> str:
        return f"arn:aws:ssm:{self.region}:{self.account}:session/{session_id}"

    def queue(self, url_or_arn: str) -> str:
        if url_or_arn.startswith("arn:"):
            return url_or_arn
        parts = url_or_arn.rstrip("/").split("/")
        account = parts[-2] if len(parts) >= 2 and parts[-2].isdigit() else self.account
        return f"arn:aws:sqs:{self.region}:{account}:{parts[-1]}"

    def role(self, name: str) -> str:
        from moto.iam.models import iam_backends

        try:
            return str(iam_backends[self.account]["aws"].get_role(name).arn)  # with its path
        except Exception:
            return f"arn:aws:iam::{self.account}:role/{name}"

    def user(self, name: str) -> str:
        from moto.iam.models import iam_backends

        try:
            return str(iam_backends[self.account]["aws"].get_user(name).arn)
        except Exception:
            return f"arn:aws:iam::{self.account}:user/{name}"


_SQS_BATCH = {
    "SendMessageBatch": "SendMessage",
    "DeleteMessageBatch": "DeleteMessage",
    "ChangeMessageVisibilityBatch": "ChangeMessageVisibility",
}


def required(service: str, operation: str, params: dict[str, Any], arns: Arns) -> list[tuple[str, str]]:
    """(IAM action, resource ARN) pairs the request needs; empty for calls no policy can deny."""
    prefix = _PREFIX.get(service, service)
    # IAM has no SQS batch actions: SendMessageBatch needs sqs:SendMessage, and so on.
    action = f"{prefix}:{_SQS_BATCH.get(operation, operation) if prefix == 'sqs' else operation}"
    if action in _ALWAYS_ALLOWED:
        return []
    if prefix == "dynamodb":
        return _dynamodb(operation, params, arns)
    resources = _resources(prefix, operation, params, arns)
    return [(action, resource) for resource in resources or ["*"]]


def _dynamodb(operation: str, params: dict[str, Any], arns: Arns) -> list[tuple[str, str]]:
    if operation in ("BatchGetItem", "BatchWriteItem"):
        return [(f"dynamodb:{operation}", arns.table(name)) for name in params.get("RequestItems") or {}]
    if operation in ("TransactWriteItems", "TransactGetItems"):
        # IAM has no transact actions: each item needs the action of its kind on its table.
        pairs = []
        for item in params.get("TransactItems") or []:
            for kind, body in item.items():
                verb = "GetItem" if kind == "Get" else _DYNAMODB_TRANSACT.get(kind, kind)
                pairs.append((f"dynamodb:{verb}", arns.table(str(body.get("TableName", "")))))
        return pairs
    table = params.get("TableName")
    if isinstance(table, str):
        return [(f"dynamodb:{operation}", arns.table(table, params.get("IndexName")))]
    return [(f"dynamodb:{operation}", "*")]


def _resources(prefix: str, operation: str, params: dict[str, Any], arns: Arns) -> list[str]:
    if prefix == "ssm":
        return _ssm(operation, params, arns)
    if prefix == "sns":
        arn = params.get("TopicArn") or params.get("TargetArn")
        return [str(arn)] if arn else []
    if prefix == "sqs":
        url = params.get("QueueUrl")
        return [arns.queue(str(url))] if url else []
    if prefix == "iam":
        if params.get("RoleName"):
            return [arns.role(str(params["RoleName"]))]
        if params.get("UserName"):
            return [arns.user(str(params["UserName"]))]
        return []
    if prefix == "sts" and params.get("RoleArn"):
        return [str(params["RoleArn"])]
    if prefix == "events" and operation in _RULE_OPERATIONS:
        return [_rule_arn(str(params.get(_RULE_OPERATIONS[operation]) or ""), params.get("EventBusName"), arns)]
    if prefix == "events" and operation == "PutEvents":
        buses = {str(entry.get("EventBusName") or "default") for entry in params.get("Entries") or []}
        return [
            bus if bus.startswith("arn:") else f"arn:aws:events:{arns.region}:{arns.account}:event-bus/{bus}"
            for bus in sorted(buses)
        ]
    return []  # ec2:Describe*, cloudwatch:PutMetricData, ...: no resource-level permissions, "*"


# EventBridge calls on one rule: the request field naming it. Their resource is the rule's ARN.
_RULE_OPERATIONS = {
    **dict.fromkeys(("DescribeRule", "DeleteRule", "DisableRule", "EnableRule", "PutRule"), "Name"),
    **dict.fromkeys(("ListTargetsByRule", "PutTargets", "RemoveTargets"), "Rule"),
}


def _rule_arn(name: str, bus: object, arns: Arns) -> str:
    """``rule/NAME`` on the default bus, ``rule/BUS/NAME`` on another (its name or ARN), as IAM sees a rule."""
    if name.startswith("arn:"):
        return name
    bus_name = str(bus).rsplit("/", 1)[-1] if isinstance(bus, str) and bus else "default"
    path = name if bus_name == "default" else f"{bus_name}/{name}"
    return f"arn:aws:events:{arns.region}:{arns.account}:rule/{path}"


def _ssm(operation: str, params: dict[str, Any], arns: Arns) -> list[str]:
    if operation in ("GetParameter", "GetParameterHistory", "PutParameter", "DeleteParameter", "LabelParameterVersion"):
        return [arns.parameter(str(params.get("Name", "")))]
    if operation in ("GetParameters", "DeleteParameters"):
        return [arns.parameter(str(name)) for name in params.get("Names") or []]
    if operation == "GetParametersByPath":
        return [arns.parameter(str(params.get("Path", "/")))]
    if operation in ("ResumeSession", "TerminateSession"):
        return [arns.session(str(params.get("SessionId", "")))]
    if operation == "StartSession":
        document = str(params.get("DocumentName") or "SSM-SessionManagerRunShell")
        return [arns.target(str(params.get("Target", ""))), arns.document(document)]
    if operation == "SendCommand":
        # The document and every node it runs on (by id; a Targets selector resolves to nodes AWS checks too).
        document = arns.document(str(params.get("DocumentName", "")))
        return [document, *(arns.target(str(target)) for target in params.get("InstanceIds") or [])]
    if operation in ("GetDocument", "DescribeDocument", "DescribeDocumentPermission", "ListDocumentVersions"):
        return [arns.document(str(params.get("Name", "")))]
    if operation in ("ListTagsForResource", "AddTagsToResource", "RemoveTagsFromResource"):
        kind, resource_id = str(params.get("ResourceType", "")), str(params.get("ResourceId", ""))
        if kind == "ManagedInstance":
            return [arns.target(resource_id)]
        if kind == "Document":
            return [arns.document(resource_id)]
        if kind == "Parameter":
            return [arns.parameter(resource_id)]
        return [f"arn:aws:ssm:{arns.region}:{arns.account}:{kind.lower()}/{resource_id}"]
    return []
