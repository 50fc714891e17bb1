"""EventBridge delivery: every event on a bus goes to the targets of each enabled rule whose pattern matches, to SQS,
SNS, Lambda (the real handlers), other buses and moto's own targets, with the target's input transformation, its
retry policy and its dead-letter queue. Forwarding to another account's or region's bus, and the permission checks it
needs, are in :mod:`warden_local.bus_forwarding`."""

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

from .bus_forwarding import bus, bus_refuses, forward_entry, rule_where
from .clock import EmulatedClock
from .dispatch import Dispatcher
from .faults import Faults
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
        """A PutEvents entry naming another account's bus by ARN: :func:`warden_local.bus_forwarding.forward_entry`."""
        return forward_entry(
            sender,
            region,
            entry,
            org_of=self._org_of,
            now=self._clock.now,
            publish=lambda event, bus_name, account, where: self.publish(
                event, bus_name, account=account, region=where
            ),
        )

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
        found = bus(account, region, bus_name)
        if found is None:
            logger.warning("event for unknown bus %s of %s/%s dropped", bus_name, account, region)
            return
        for rule in list(found.rules.values()):
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
            refused = bus_refuses(rule, target, arn, (account, region), bus_name, self._org_of)
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
        if (parts[4], parts[3]) != (self._account_id, self._region) or (parts[4], parts[3]) != rule_where(rule):
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
