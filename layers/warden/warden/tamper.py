"""Tamper watch: CloudTrail records of calls that change what the warden depends on, and what each one means."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from warden.policy import principal_from_identity
from warden.tamper_fanout import fanout_meaning, fanout_resource

RUN_SHELL = "SSM-SessionManagerRunShell"
CLOUDFORMATION = "cloudformation.amazonaws.com"
_DETAIL_TYPE = "AWS API Call via CloudTrail"
_SOURCES = frozenset(
    {"aws.events", "aws.cloudtrail", "aws.ssm", "aws.lambda", "aws.dynamodb", "aws.appconfig", "aws.sqs"}
)
# The AppConfig calls that change the organization's policy (on the warden's own application).
POLICY_STORE_CHANGES = frozenset(
    {
        "CreateHostedConfigurationVersion",
        "DeleteHostedConfigurationVersion",
        "UpdateConfigurationProfile",
        "DeleteConfigurationProfile",
        "StartDeployment",
        "StopDeployment",
    }
)
# Of those, the two `warden policy push` makes (a hosted version, then its deployment).
POLICY_STORE_PUSH = frozenset({"CreateHostedConfigurationVersion", "StartDeployment"})


class NotAControlCall(ValueError):
    """The event is not a CloudTrail record of a control-plane call (the message says which field is wrong)."""


@dataclass(frozen=True)
class ControlCall:
    """One CloudTrail-recorded control-plane call, parsed at the edge. Caller-chosen fields are data, not trust."""

    event_id: str
    event_name: str
    event_source: str
    event_time: datetime
    actor: str
    actor_arn: str
    invoked_by: str | None
    request: Mapping[str, Any]
    response: Mapping[str, Any]
    error_code: str | None = None
    account: str | None = None  # recipientAccountId: the account whose CloudTrail recorded the call (AWS sets it)
    region: str | None = None  # awsRegion

    @property
    def failed(self) -> bool:
        return self.error_code is not None

    @property
    def deployed_by_cloudformation(self) -> bool:
        """CloudFormation made the call for a stack (AWS sets invokedBy; a caller cannot)."""
        return self.invoked_by == CLOUDFORMATION

    @property
    def short_name(self) -> str:
        """The event name without Lambda's API version suffix (``PutFunctionConcurrency20171031`` -> ...Concurrency)."""
        for cut in ("2015", "2014", "2017", "2019"):
            if cut in self.event_name:
                return self.event_name.split(cut, 1)[0]
        return self.event_name

    def text(self, *keys: str) -> str | None:
        for key in keys:
            value = self.request.get(key)
            if isinstance(value, str) and value:
                return value
        return None


def parse_control_event(event: object) -> ControlCall:
    """The control-plane call an EventBridge "AWS API Call via CloudTrail" event records.

    Raises :class:`NotAControlCall` for anything else. EventBridge refuses ``aws.*`` sources from PutEvents, so such
    an event on the bus came from CloudTrail; a direct invocation can still hand the function any JSON, and the
    worst it can do is raise an alert.
    """
    if not isinstance(event, Mapping):
        raise NotAControlCall("event: expected a JSON object")
    if event.get("detail-type") != _DETAIL_TYPE:
        raise NotAControlCall(f"detail-type: expected {_DETAIL_TYPE!r}")
    if event.get("source") not in _SOURCES:
        raise NotAControlCall("source: not a service the tamper watch listens to")
    detail = event.get("detail")
    if not isinstance(detail, Mapping):
        raise NotAControlCall("detail: expected a JSON object")
    identity = detail.get("userIdentity") if isinstance(detail.get("userIdentity"), Mapping) else {}
    assert isinstance(identity, Mapping)
    try:
        principal = principal_from_identity(identity)
        actor, actor_arn = principal.display, principal.arn
    except (ValueError, TypeError):
        actor, actor_arn = "unknown caller", ""
    request = detail.get("requestParameters")
    response = detail.get("responseElements")
    name, source, event_id = detail.get("eventName"), detail.get("eventSource"), detail.get("eventID")
    if not (isinstance(name, str) and isinstance(source, str) and isinstance(event_id, str) and event_id):
        raise NotAControlCall("detail: eventName, eventSource and eventID are required")
    error = detail.get("errorCode")
    invoked_by = identity.get("invokedBy")
    return ControlCall(
        event_id=event_id[:100],
        event_name=name[:100],
        event_source=source[:100],
        event_time=_time(detail.get("eventTime")),
        actor=actor or "unknown caller",
        actor_arn=actor_arn,
        invoked_by=invoked_by if isinstance(invoked_by, str) else None,
        request=request if isinstance(request, Mapping) else {},
        response=response if isinstance(response, Mapping) else {},
        error_code=str(error)[:100] if error else None,
        account=_matching(detail.get("recipientAccountId"), _ACCOUNT),
        region=_matching(detail.get("awsRegion"), _REGION),
    )


_ACCOUNT = re.compile(r"[0-9]{12}")
_REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-[0-9]{1,2}")


def _matching(value: Any, shape: re.Pattern[str]) -> str | None:
    return value if isinstance(value, str) and shape.fullmatch(value) else None


@dataclass(frozen=True)
class Owned:
    """What the warden's stack owns, by the names CloudTrail records: what a change means depends on which it is."""

    stack: str
    rules: Mapping[str, str]  # rule name -> what it does (e.g. "session-start rule")
    functions: Mapping[str, str]  # function name -> role ("session-start function")
    tables: Mapping[str, str]  # table name -> what it holds
    policy_parameter: str
    canary_parameter: str | None = None
    warning_document: str | None = None  # the SSM document the sweeper sends warnings with
    member_warning_document: str | None = None  # organization mode: the member and relay stacks' warning document
    region: str = ""
    account: str | None = None
    consequences: Mapping[str, str] = field(default_factory=dict)  # rule/function name -> what losing it does
    policy_application: str | None = None  # organization mode: the AppConfig application of the policy
    policy_profile: str | None = None
    queues: Mapping[str, str] = field(default_factory=dict)  # organization mode: sweep queue name -> what it is

    def function_of(self, value: str | None) -> str | None:
        """The watched function a request names (name, full or partial ARN, with or without a qualifier)."""
        if not value:
            return None
        name = value.split(":function:", 1)[1] if ":function:" in value else value
        name = name.split(":", 1)[0]
        return name if name in self.functions else None

    def table_of(self, value: str | None) -> str | None:
        if not value:
            return None
        name = value.rsplit(":table/", 1)[1] if ":table/" in value else value
        return name if name in self.tables else None

    def parameter_of(self, value: str | None) -> str | None:
        if not value:
            return None
        name = value.split(":parameter", 1)[1] if value.startswith("arn:") and ":parameter" in value else value
        if name in (self.policy_parameter, self.canary_parameter):
            return name
        return None


@dataclass(frozen=True)
class Finding:
    """A tamper event: what was changed, what it means for enforcement, and the details the alert lists."""

    call: ControlCall
    resource: str
    meaning: str
    details: tuple[str, ...] = ()


def resource_of(call: ControlCall, owned: Owned) -> tuple[str, str] | None:
    """(kind, name) of the warden's resource the call changes; None when it changes nothing the warden owns.

    Kinds: ``rule``, ``trail``, ``preferences``, ``warning document``, ``policy``, ``canary``, ``function``, ``table``,
    and in organization mode ``queue`` and ``event source mapping`` (the sweep fan-out).
    """
    fanout = fanout_resource(call, owned.queues, owned.account)
    if fanout is not None:
        return fanout
    source, name = call.event_source, call.short_name
    if source == "events.amazonaws.com":
        rule = call.text("rule") if name in ("RemoveTargets", "PutTargets") else call.text("name")
        rule = rule.rsplit("/", 1)[-1] if rule else None
        return ("rule", rule) if rule and rule in owned.rules else None
    if source == "cloudtrail.amazonaws.com":
        trail = call.text("name", "trailName") or "(unnamed trail)"
        return "trail", trail.rsplit("/", 1)[-1]
    if source == "ssm.amazonaws.com" and name in ("UpdateDocument", "DeleteDocument", "UpdateDocumentDefaultVersion"):
        document = call.text("name")
        document = document.rsplit("/", 1)[-1] if document else None
        if document and document in (owned.warning_document, owned.member_warning_document):
            return "warning document", document
        return ("preferences", RUN_SHELL) if document == RUN_SHELL else None
    if source == "ssm.amazonaws.com" and name in ("PutParameter", "DeleteParameter"):
        parameter = owned.parameter_of(call.text("name"))
        if parameter is None:
            return None
        return ("policy" if parameter == owned.policy_parameter else "canary"), parameter
    if source == "appconfig.amazonaws.com" and name in POLICY_STORE_CHANGES:
        application = call.text("applicationId")
        if application and owned.policy_application and application == owned.policy_application:
            return "policy store", application
        return None
    if source == "lambda.amazonaws.com" and "EventSourceMapping" not in name:
        function = owned.function_of(call.text("functionName"))
        return ("function", function) if function else None
    if source == "dynamodb.amazonaws.com" and name == "DeleteTable":
        table = owned.table_of(call.text("tableName"))
        return ("table", table) if table else None
    return None


def meaning_of(call: ControlCall, kind: str, name: str, owned: Owned) -> str:
    """One sentence: what this call does to enforcement."""
    verb = call.short_name
    if kind == "rule":
        what = owned.rules.get(name, f"rule {name}")
        then = owned.consequences.get(name, "what it delivers no longer reaches the warden")
        if verb == "DisableRule":
            return f"the {what} is disabled: {then}"
        if verb == "DeleteRule":
            return f"the {what} is deleted: {then}"
        if verb == "RemoveTargets":
            return f"the {what} no longer invokes its function: {then}"
        if verb == "PutTargets":
            return f"the {what} now delivers to whatever the caller named{_targets(call.request)}: {then}"
        return f"the {what} was redefined (pattern, schedule or state): if it no longer matches, {then}"
    if kind == "trail":
        blind = (
            "if no other trail logs management events, no CloudTrail event reaches the warden: sessions are checked "
            "only by the sweeper, up to a minute late, and this watch is blind"
        )
        if verb == "StopLogging":
            return f"trail {name} stopped logging: {blind}"
        if verb == "DeleteTrail":
            return f"trail {name} is deleted: {blind}"
        if verb == "PutEventSelectors" and not _selectors_keep_management(call.request):
            return f"trail {name} no longer records write management events: {blind}"
        return f"trail {name}'s settings changed (what it records or where): check it still logs management events"
    if kind == "preferences":
        if verb == "DeleteDocument":
            return (
                "the Session Manager preferences are deleted: sessions start with AWS's defaults "
                "(no transcript, no KMS encryption, 20-minute idle timeout, no maximum duration)"
            )
        if verb == "UpdateDocumentDefaultVersion":
            version = call.text("documentVersion") or "another version"
            return (
                f"the Session Manager preferences now use version {version}: logging, encryption or timeouts may differ"
            )
        return (
            "the Session Manager preferences changed: what sessions log, how they are encrypted or how long they last"
        )
    if kind == "warning document":
        if verb == "DeleteDocument":
            return (
                f"the warning document {name} is deleted: no warning reaches a session before its deadline "
                "(sessions still end on time) until the stack is deployed again"
            )
        version = call.text("documentVersion") or "another version"
        what = f"now defaults to version {version}" if verb == "UpdateDocumentDefaultVersion" else "changed"
        return (
            f"the warning document {name} {what}: the sweeper runs only its version 1, but whoever runs it by name "
            "(console, SendCommand without a version) now gets the caller's script, run as root on the node"
        )
    if kind == "policy":
        if verb == "DeleteParameter":
            return (
                "the policy parameter is deleted: the warden keeps enforcing its last valid copy and alerts "
                "policy missing until a policy is pushed again"
            )
        return (
            "the policy was written outside `warden policy push`: whoever wrote it now decides who may open sessions "
            "(the warden enforces any document that parses)"
        )
    if kind == "policy store":
        return _policy_store_meaning(call)
    if kind in ("queue", "event source mapping"):
        return fanout_meaning(call, kind, name, owned.queues)
    if kind == "canary":
        return "the canary parameter is deleted: the sweeper re-creates it, the event path is tested again after that"
    if kind == "function":
        what = owned.functions.get(name, f"function {name}")
        then = owned.consequences.get(name, "enforcement may stop")
        if verb == "UpdateFunctionCode":
            return f"the code of the {what} was replaced: it no longer runs the warden's code, and {then}"
        if verb == "UpdateFunctionConfiguration":
            return (
                f"the {what}'s configuration changed (environment, role, layers or timeout): it may no longer "
                f"enforce as deployed, and {then}"
            )
        if verb == "DeleteFunction":
            return f"the {what} is deleted: {then}"
        if verb == "PutFunctionConcurrency":
            reserved = call.request.get("reservedConcurrentExecutions")
            if reserved in (0, "0"):
                return f"the {what}'s reserved concurrency is 0: it no longer runs at all, and {then}"
            return f"the {what}'s reserved concurrency is now {reserved}: more events than that are throttled"
        if verb in ("PutFunctionEventInvokeConfig", "UpdateFunctionEventInvokeConfig"):
            return (
                f"how the {what} is retried changed (maximum event age, retries or failure destination): events it "
                f"fails on may now be dropped unseen, and {then}"
            )
        return f"EventBridge may no longer invoke the {what}: {then}"
    what = owned.tables.get(name, f"table {name}")
    return f"the {what} table {name} is deleted: the functions that use it fail, and what it held is gone"


def _policy_store_meaning(call: ControlCall) -> str:
    verb = call.short_name
    keeps = "the warden keeps enforcing its last valid policy and alerts policy missing"
    if verb == "DeleteConfigurationProfile":
        return f"the organization's policy profile in AppConfig is deleted: {keeps} until the stack is deployed again"
    if verb == "UpdateConfigurationProfile":
        return (
            "the policy profile in AppConfig was changed (its validators or retrieval role): a version that does not "
            "validate may now be deployed (the functions still refuse it and keep the last valid policy)"
        )
    if verb == "StopDeployment":
        return "a policy deployment was stopped and rolled back: the policy in force may not be the one pushed"
    if verb == "DeleteHostedConfigurationVersion":
        version = call.text("versionNumber") or str(call.request.get("versionNumber", "a version"))
        return f"policy version {version} was deleted from AppConfig: the history of what was enforced is shorter"
    return (
        "the policy was changed outside `warden policy push` (a version created or deployed in AppConfig): whoever "
        "did it now decides who may open sessions in every account of the organization"
    )


def _targets(request: Mapping[str, Any]) -> str:
    """The targets a PutTargets names (ARN and whether an input transformer rewrites what they receive)."""
    targets = request.get("targets")
    if not isinstance(targets, list) or not targets:
        return ""
    shown: list[str] = []
    for target in targets[:5]:
        if not isinstance(target, Mapping):
            continue
        arn = str(target.get("arn") or target.get("Arn") or "(no ARN)")[:200]
        rewritten = any(key in target for key in ("inputTransformer", "input", "inputPath", "InputTransformer"))
        shown.append(arn + (" (its input rewritten)" if rewritten else ""))
    return " (" + ", ".join(shown) + ")" if shown else ""


def _selectors_keep_management(request: Mapping[str, Any]) -> bool:
    basic = request.get("eventSelectors")
    advanced = request.get("advancedEventSelectors")
    if isinstance(basic, list) and basic:
        return any(
            isinstance(item, Mapping)
            and item.get("includeManagementEvents", True) not in (False, "false")
            and item.get("readWriteType", "All") in ("All", "WriteOnly")
            for item in basic
        )
    if isinstance(advanced, list) and advanced:
        return "Management" in json.dumps(advanced)
    return True


def _time(value: object) -> datetime:
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)
        except ValueError:
            pass
    return datetime.fromtimestamp(0, tz=UTC)
