"""EventBridge delivery: every event on a bus goes to the targets of each enabled rule whose pattern matches."""

from __future__ import annotations

import copy
import fnmatch
import json
import logging
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from warden.timefmt import cloudtrail_time, parse_instant

from .clock import EmulatedClock
from .dispatch import Dispatcher
from .faults import Faults
from .iam import ALLOWED, evaluate, role_statements
from .resource_policy import Principal, admits, trusts_service
from .runtime import LambdaRuntime

logger = logging.getLogger("warden_local")

# EventBridge's own default when a target has no RetryPolicy.
DEFAULT_TARGET_RETRIES = 185


@dataclass(frozen=True)
class FailedDelivery:
    """An event EventBridge could not hand to a target (after its retry policy)."""

    rule_arn: str
    target_arn: str
    error_code: str
    error_message: str
    dead_letter_queue: str | None
    event: Any


class EventRouter:
    """Routes events to rule targets on the dispatcher thread: SQS, SNS, Lambda (the real handlers), other buses."""

    def __init__(
        self,
        *,
        account_id: str,
        region: str,
        dispatcher: Dispatcher,
        runtime: LambdaRuntime,
        clock: EmulatedClock,
        faults: Faults,
        original_send: Callable[[Any, Any], None] | None = None,
        org_of: Callable[[str], str | None] | None = None,
    ) -> None:
        self._account_id = account_id
        # The organization an account is an ACTIVE member of (aws:PrincipalOrgID), if any.
        self._org_of = org_of or (lambda account: None)
        self._region = region
        self._dispatcher = dispatcher
        self._runtime = runtime
        self._clock = clock
        self._faults = faults
        self._original_send = original_send
        self._failed: list[FailedDelivery] = []
        self._lock = threading.Lock()

    @property
    def failed_deliveries(self) -> list[FailedDelivery]:
        with self._lock:
            return list(self._failed)

    # -- entry points (any thread) -------------------------------------------------------------------------

    def publish(
        self,
        event: dict[str, Any],
        bus_name: str = "default",
        *,
        copies: int = 1,
        account: str | None = None,
        region: str | None = None,
    ) -> None:
        """Put a complete event envelope on a bus (the way CloudTrail puts its events on ``default``) of ``account``
        in ``region`` (default: the router's own).

        ``copies`` > 1: each Lambda target gets the event that many times at once (at-least-once delivery).
        """
        name = event.get("detail", {}).get("eventName") if isinstance(event.get("detail"), dict) else None
        where = (account or self._account_id, region or self._region)
        self._dispatcher.submit(
            f"deliver {event.get('detail-type')}{f' {name}' if name else ''} on bus {bus_name} ({where[0]}/{where[1]})",
            lambda: self._put_on_bus(event, bus_name, copies=copies, where=where),
        )

    def put_entry(self, sender: str, region: str, entry: dict[str, Any]) -> dict[str, Any]:
        """A PutEvents entry from account ``sender`` (in ``region``) naming another account's bus by ARN: put on it
        when the bus's policy admits the sender (else the call fails with AccessDeniedException, as on AWS)."""
        from moto.core.exceptions import JsonRESTError

        arn = str(entry["EventBusName"])
        parts = arn.split(":")
        bus_name = parts[5].split("/", 1)[-1] if len(parts) > 5 else ""
        bus = _bus(parts[4], parts[3], bus_name) if parts[3] == region else None
        if bus is None:
            return {"ErrorCode": "ResourceNotFoundException", "ErrorMessage": f"Event bus {arn} does not exist."}
        if not admits(bus.policy, Principal(account=sender, org_id=self._org_of(sender)), "events:PutEvents", arn):
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
        when = datetime.fromtimestamp(float(moment), UTC) if isinstance(moment, (int, float)) else self._clock.now()
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
        self.publish(event, bus_name, account=parts[4], region=region)
        return {"EventId": event["id"]}

    def from_moto(self, rule: Any, moto_event: dict[str, Any]) -> None:
        """A rule matched by moto's own PutEvents: deliver its targets asynchronously, like EventBridge."""
        event = _normalise_moto_event(moto_event)
        self._dispatcher.submit(
            f"deliver {event.get('detail-type')} to rule {rule.name}", lambda: self._deliver_to_rule(rule, event)
        )

    def fire_schedule(self, rule: Any, moment: datetime) -> None:
        """One occurrence of a scheduled rule: the "Scheduled Event" envelope to each of its targets."""
        event = {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": "Scheduled Event",
            "source": "aws.events",
            "account": self._account_id,
            "time": cloudtrail_time(moment),
            "region": self._region,
            "resources": [rule.arn],
            "detail": {},
        }
        self._dispatcher.submit(
            f"scheduled event of rule {rule.name} at {event['time']}", lambda: self._deliver_to_targets(rule, event)
        )

    # -- delivery (dispatcher thread) ------------------------------------------------------------------------

    def _put_on_bus(
        self, event: dict[str, Any], bus_name: str, *, copies: int = 1, where: tuple[str, str] | None = None
    ) -> None:
        account, region = where or (self._account_id, self._region)
        bus = _bus(account, region, bus_name)
        if bus is None:
            logger.warning("event for unknown bus %s of %s/%s dropped", bus_name, account, region)
            return
        for rule in list(bus.rules.values()):
            self._deliver_to_rule(rule, event, copies=copies)

    def _deliver_to_rule(self, rule: Any, event: dict[str, Any], *, copies: int = 1) -> None:
        if rule.state != "ENABLED":
            return
        # A rule with only a ScheduleExpression never matches events on the bus (moto's matcher says it does).
        if not rule.event_pattern.get_pattern():
            return
        if not rule.event_pattern.matches_event(event):
            return
        self._deliver_to_targets(rule, event, copies=copies)

    def _deliver_to_targets(self, rule: Any, event: dict[str, Any], *, copies: int = 1) -> None:
        for target in list(rule.targets):
            try:
                payload = _target_input(rule, target, event)
            except Exception as error:
                self._dead_letter(rule, target, event, "INVALID_PARAMETER", str(error), attempts=0)
                continue
            self._deliver(rule, target, payload, copies)

    def _deliver(self, rule: Any, target: dict[str, Any], payload: Any, copies: int = 1) -> None:
        retries = int(target.get("RetryPolicy", {}).get("MaximumRetryAttempts", DEFAULT_TARGET_RETRIES))
        attempts = 0
        code, message = "", ""
        while attempts <= retries:
            attempts += 1
            failure = self._attempt(rule, target, payload, copies)
            if failure is None:
                return
            code, message, retryable = failure
            if not retryable:
                break
        self._dead_letter(rule, target, payload, code, message, attempts=attempts)

    def _attempt(self, rule: Any, target: dict[str, Any], payload: Any, copies: int) -> tuple[str, str, bool] | None:
        arn = str(target["Arn"])
        parts = arn.split(":")
        service = parts[2] if len(parts) > 2 else ""
        body = payload if isinstance(payload, str) else json.dumps(payload)
        if service == "lambda":
            return self._invoke_lambda(rule, arn, payload, copies)
        if service == "sqs":
            from moto.sqs.models import sqs_backends

            try:
                group_id = target.get("SqsParameters", {}).get("MessageGroupId")
                sqs_backends[parts[4]][parts[3]].send_message(queue_name=parts[5], message_body=body, group_id=group_id)
            except Exception as error:
                return "RESOURCE_NOT_FOUND", f"SQS queue {arn} could not take the event: {error}", False
            return None
        if service == "sns":
            from moto.sns.models import sns_backends

            try:
                sns_backends[parts[4]][parts[3]].publish(body, arn=arn)
            except Exception as error:
                return "RESOURCE_NOT_FOUND", f"SNS topic {arn} could not take the event: {error}", False
            return None
        if service == "events" and len(parts) > 5 and parts[5].startswith("event-bus/"):
            region, account, bus_name = parts[3], parts[4], parts[5].split("/", 1)[1]
            refused = self._bus_refuses(rule, target, arn, (account, region), bus_name)
            if refused is not None:
                return refused
            event = payload if isinstance(payload, dict) else json.loads(body)
            # EventBridge keeps the event's account and region: the receiving bus sees where it came from.
            self._put_on_bus(event, bus_name, where=(account, region))
            return None
        return self._moto_delivery(rule, target, payload)

    def _invoke_lambda(self, rule: Any, arn: str, payload: Any, copies: int) -> tuple[str, str, bool] | None:
        from moto.awslambda.models import lambda_backends

        fault = self._faults.take_api_fault("lambda", "Invoke")
        if fault is not None:
            return fault.code, fault.message, True
        parts = arn.split(":")
        name = parts[6]
        if (parts[4], parts[3]) != (self._account_id, self._region) or (parts[4], parts[3]) != _where(rule):
            # Lambda targets are functions of the rule's own account and region, and only the stack's functions run.
            return "RESOURCE_NOT_FOUND", f"Function not found: {arn}", False
        try:
            function = lambda_backends[self._account_id][self._region].get_function(name)
        except Exception:
            return "RESOURCE_NOT_FOUND", f"Function not found: {arn}", False
        if not _events_may_invoke(function, rule.arn):
            # Without a resource policy for events.amazonaws.com, EventBridge cannot invoke the function at all.
            return "NO_PERMISSIONS", f"EventBridge is not allowed to invoke {arn} for rule {rule.arn}", False
        self._runtime.invoke_async(function.function_name, payload, copies=copies)
        return None

    def _bus_refuses(
        self, rule: Any, target: dict[str, Any], arn: str, where: tuple[str, str], bus_name: str
    ) -> tuple[str, str, bool] | None:
        """Why EventBridge cannot put the event on bus ``arn`` for this rule, or None when it can.

        Another account's or region's bus needs the target's (or rule's) RoleArn: a role of the rule's account that
        EventBridge may assume and that may ``events:PutEvents`` on the bus; another account's bus must also admit
        that role by its resource policy (``aws:PrincipalOrgID`` evaluated against the organization).
        """
        bus = _bus(where[0], where[1], bus_name)
        if bus is None:
            return "RESOURCE_NOT_FOUND", f"Event bus {arn} does not exist.", False
        source_account, source_region = _where(rule)
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
        problem = _role_problem(role_arn, source_account, arn, str(rule.arn))
        if problem is not None:
            return "NO_PERMISSIONS", problem, False
        if where[0] != source_account:
            principal = Principal(account=source_account, arn=role_arn, org_id=self._org_of(source_account))
            if not admits(bus.policy, principal, "events:PutEvents", arn):
                return (
                    "NO_PERMISSIONS",
                    f"User: {role_arn} is not authorized to perform: events:PutEvents on resource: {arn} because no "
                    "resource-based policy allows the events:PutEvents action",
                    False,
                )
        return None

    def _moto_delivery(self, rule: Any, target: dict[str, Any], payload: Any) -> tuple[str, str, bool] | None:
        # Log groups, archives and API destinations: moto's own delivery, given the epoch time it expects.
        if self._original_send is None:
            return "UNSUPPORTED", f"the local cloud does not deliver to {target['Arn']}", False
        shadow = copy.copy(rule)
        shadow.targets = [target]
        event = dict(payload) if isinstance(payload, dict) else {"detail": payload}
        if isinstance(event.get("time"), str):
            event["time"] = parse_instant(event["time"]).timestamp()
        event.setdefault("ingestion-time", self._clock.now().timestamp())
        try:
            self._original_send(shadow, event)
        except NotImplementedError:
            return "UNSUPPORTED", f"the local cloud does not deliver to {target['Arn']}", False
        return None

    def _dead_letter(
        self, rule: Any, target: dict[str, Any], payload: Any, code: str, message: str, *, attempts: int
    ) -> None:
        dlq = target.get("DeadLetterConfig", {}).get("Arn")
        with self._lock:
            self._failed.append(FailedDelivery(rule.arn, str(target["Arn"]), code, message, dlq, payload))
        if not dlq:
            logger.warning(
                "event for %s dropped (%s: %s); the target has no dead-letter queue", target["Arn"], code, message
            )
            return
        from moto.sqs.models import sqs_backends

        attributes = {
            "RULE_ARN": rule.arn,
            "TARGET_ARN": str(target["Arn"]),
            "ERROR_CODE": code,
            "ERROR_MESSAGE": message[:256],
            "RETRY_ATTEMPTS": str(max(attempts - 1, 0)),
        }
        if attempts > 1:
            attributes["EXHAUSTED_RETRY_CONDITION"] = "MaximumRetryAttempts"
        parts = dlq.split(":")
        try:
            sqs_backends[parts[4]][parts[3]].send_message(
                queue_name=parts[5],
                message_body=payload if isinstance(payload, str) else json.dumps(payload),
                message_attributes={k: {"DataType": "String", "StringValue": v} for k, v in attributes.items()},
            )
        except Exception:
            logger.exception("could not write to dead-letter queue %s", dlq)


def _where(rule: Any) -> tuple[str, str]:
    """(account, region) of a moto rule."""
    return str(rule.account_id), str(rule.region_name)


def _bus(account: str, region: str, name: str) -> Any:
    from moto.events.models import events_backends

    try:
        return events_backends[account][region].event_buses.get(name)
    except KeyError:  # not a region moto knows
        return None


def _role_problem(role_arn: str, account: str, bus_arn: str, rule_arn: str) -> str | None:
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


def _normalise_moto_event(moto_event: dict[str, Any]) -> dict[str, Any]:
    event = {key: value for key, value in moto_event.items() if key != "ingestion-time"}
    moment = event.get("time")
    if isinstance(moment, (int, float)):
        event["time"] = cloudtrail_time(datetime.fromtimestamp(float(moment), UTC))
    elif isinstance(moment, datetime):
        event["time"] = cloudtrail_time(moment)
    return event


def _target_input(rule: Any, target: dict[str, Any], event: dict[str, Any]) -> Any:
    if "Input" in target and target["Input"] is not None:
        return json.loads(target["Input"])
    if target.get("InputPath"):
        return _json_path(event, str(target["InputPath"]))
    transformer = target.get("InputTransformer")
    if transformer:
        return _transform(rule, transformer, event)
    return event


def _json_path(document: Any, path: str) -> Any:
    if path in ("$", ""):
        return document
    if not path.startswith("$."):
        raise ValueError(f"unsupported InputPath {path!r}")
    value = document
    for key in path[2:].split("."):
        if not isinstance(value, dict) or key not in value:
            return None
        value = value[key]
    return value


def _transform(rule: Any, transformer: dict[str, Any], event: dict[str, Any]) -> Any:
    template = str(transformer.get("InputTemplate", ""))
    values: dict[str, Any] = {
        "aws.events.rule-arn": rule.arn,
        "aws.events.rule-name": rule.name,
        "aws.events.event.json": event,
        "aws.events.event.ingestion-time": event.get("time"),
    }
    for name, path in (transformer.get("InputPathsMap") or {}).items():
        values[name] = _json_path(event, str(path))
    for name, value in values.items():
        placeholder = f"<{name}>"
        if placeholder not in template:
            continue
        quoted = f'"{placeholder}"'
        if isinstance(value, str):
            # Inside quotes a string goes in as is; elsewhere too (EventBridge does not quote it for you).
            template = template.replace(quoted, json.dumps(value)).replace(placeholder, value)
        else:
            text = json.dumps(value)
            template = template.replace(quoted, text).replace(placeholder, text)
    try:
        return json.loads(template)
    except ValueError:
        return template


def _events_may_invoke(function: Any, rule_arn: str) -> bool:
    statements = getattr(function.policy, "statements", None) or []
    for statement in statements:
        if statement.get("Effect", "Allow") != "Allow":
            continue
        principal = statement.get("Principal")
        services = principal.get("Service") if isinstance(principal, dict) else principal
        if isinstance(services, str):
            services = [services]
        if not services or not ({"events.amazonaws.com", "*"} & set(services)):
            continue
        actions = statement.get("Action", "lambda:InvokeFunction")
        actions = [actions] if isinstance(actions, str) else list(actions)
        if not any(fnmatch.fnmatchcase("lambda:InvokeFunction", action) for action in actions):
            continue
        condition = statement.get("Condition", {})
        source = condition.get("ArnLike", {}).get("AWS:SourceArn") or condition.get("ArnEquals", {}).get(
            "AWS:SourceArn"
        )
        if source is None or fnmatch.fnmatchcase(rule_arn, str(source)):
            return True
    return False
