"""Lambda's SQS event source mappings on the local cloud: a message sent to a mapped queue runs the function.

moto runs a mapping inside ``SendMessage`` itself, synchronously and through Docker. Here the send only queues a
poll on the local cloud's dispatcher, so the sender never waits and several pollers run at once (one per worker),
as Lambda scales its pollers out: the poll receives up to ``BatchSize`` messages (they stay in flight), invokes
the function synchronously (``LambdaRuntime.invoke_sync``) with the ``{"Records": [...]}`` event Lambda builds,
then deletes what succeeded. With ``FunctionResponseTypes: [ReportBatchItemFailures]`` the messages the function
lists in ``batchItemFailures`` failed (a malformed response fails the whole batch, as on AWS); an error fails
them all. A failed message becomes visible again after ``retry_delay`` wall seconds (its visibility timeout,
scaled to test time) and is polled again; the queue's redrive policy moves it to the dead-letter queue after
``maxReceiveCount`` receives, as SQS does.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from .dispatch import Dispatcher

logger = logging.getLogger("warden_local")

_LOCK = threading.Lock()
_ACTIVE: SqsTriggers | None = None
_INSTALLED = False


class SqsTriggers:
    """The event source mappings of one local cloud's account and region."""

    def __init__(
        self,
        *,
        account_id: str,
        region: str,
        dispatcher: Dispatcher,
        invoke: Callable[[str, Any], Any],
        retry_delay: float = 0.0,
    ) -> None:
        self._account_id = account_id
        self._region = region
        self._dispatcher = dispatcher
        self._invoke = invoke
        self._retry_delay = retry_delay

    def message_added(self, queue: Any, mapping: Any) -> None:
        if (queue.account_id, queue.region) != (self._account_id, self._region):
            logger.warning("no local function behind the event source mapping of %s: not polled", queue.queue_arn)
            return
        self.poll_later(queue.name, mapping)

    def poll_later(self, queue_name: str, mapping: Any, *, delay: float = 0.0) -> None:
        self._dispatcher.submit(
            f"poll {queue_name} for {mapping.function_arn.rsplit(':', 1)[-1]}",
            lambda: self._poll(queue_name, mapping),
            delay=delay,
        )

    def _poll(self, queue_name: str, mapping: Any) -> None:
        from moto.sqs.models import sqs_backends

        if not mapping.enabled or not _mapped(mapping, self._account_id, self._region):
            return  # disabled or deleted (UpdateEventSourceMapping / DeleteEventSourceMapping): Lambda stops polling
        backend = sqs_backends[self._account_id][self._region]
        queue: Any = backend.get_queue(queue_name)
        messages = backend.receive_message(queue_name, int(mapping.batch_size), 0, int(queue.visibility_timeout))
        if not messages:
            return
        event = {"Records": [_record(message, queue) for message in messages]}
        batch = [str(message.id) for message in messages]
        try:
            result = self._invoke(mapping.function_arn.rsplit(":", 1)[-1], event)
        except Exception:  # recorded with the invocations; Lambda counts the whole batch failed
            failed = set(batch)
        else:
            failed = failed_ids(result, mapping, batch)
        for message in messages:
            if str(message.id) not in failed:
                backend.delete_message(queue_name, str(message.receipt_handle))
        if failed:
            handles = [str(message.receipt_handle) for message in messages if str(message.id) in failed]
            self._dispatcher.submit(
                f"make {len(handles)} failed message(s) of {queue_name} visible again",
                lambda: self._release(queue_name, mapping, handles),
                delay=self._retry_delay,
            )

    def _release(self, queue_name: str, mapping: Any, handles: list[str]) -> None:
        from moto.sqs.models import sqs_backends

        backend = sqs_backends[self._account_id][self._region]
        for handle in handles:
            try:
                backend.change_message_visibility(queue_name, handle, 0)
            except Exception as error:  # deleted meanwhile, or the handle outlived its visibility timeout
                logger.debug("message of %s not made visible again: %s", queue_name, error)
        for _ in handles:
            self.poll_later(queue_name, mapping)


def _mapped(mapping: Any, account_id: str, region: str) -> bool:
    """Whether the mapping still exists (moto's DeleteEventSourceMapping leaves it on the queue)."""
    from moto.awslambda.models import lambda_backends

    return getattr(mapping, "uuid", None) in lambda_backends[account_id][region]._event_source_mappings


def failed_ids(result: Any, mapping: Any, batch: list[str]) -> set[str]:
    """The ids of the batch's messages that failed, as Lambda reads what the function returned."""
    if "ReportBatchItemFailures" not in (mapping.function_response_types or []):
        return set()
    if result is None or (isinstance(result, dict) and not result.get("batchItemFailures")):
        return set()
    failures = result.get("batchItemFailures") if isinstance(result, dict) else None
    if not isinstance(failures, list):
        return set(batch)
    named = {item.get("itemIdentifier") if isinstance(item, dict) else None for item in failures}
    if not named <= set(batch):  # an empty, missing or unknown identifier: Lambda fails the whole batch
        return set(batch)
    return {str(name) for name in named}


def _record(message: Any, queue: Any) -> dict[str, Any]:
    attributes = {
        "ApproximateReceiveCount": str(message.approximate_receive_count),
        "SentTimestamp": str(message.sent_timestamp),
        "SenderId": str(message.sender_id),
        "ApproximateFirstReceiveTimestamp": str(message.approximate_first_receive_timestamp),
    }
    if queue.fifo_queue:
        attributes.update({"MessageGroupId": message.group_id, "MessageDeduplicationId": message.deduplication_id})
    return {
        "messageId": str(message.id),
        "receiptHandle": str(message.receipt_handle),
        "body": message.body,
        "attributes": attributes,
        "messageAttributes": {
            name: {
                "stringValue": value.get("string_value"),
                "binaryValue": value.get("binary_value"),
                "dataType": value.get("data_type"),
                "stringListValues": [],
                "binaryListValues": [],
            }
            for name, value in (message.message_attributes or {}).items()
        },
        "md5OfBody": message.body_md5,
        "eventSource": "aws:sqs",
        "eventSourceARN": queue.queue_arn,
        "awsRegion": queue.region,
    }


def activate(triggers: SqsTriggers) -> None:
    global _ACTIVE
    install()
    with _LOCK:
        _ACTIVE = triggers


def deactivate(triggers: SqsTriggers) -> None:
    global _ACTIVE
    with _LOCK:
        if _ACTIVE is triggers:
            _ACTIVE = None


def install() -> None:
    """Patch moto's queue (idempotent): with a local cloud running, a send queues polls instead of moto's invoke."""
    global _INSTALLED
    if _INSTALLED:
        return
    from moto.sqs.models import Queue

    original = Queue.add_message

    def add_message(self: Any, message: Any) -> None:
        with _LOCK:
            triggers = _ACTIVE
            mappings = dict(self.lambda_event_source_mappings)
            if triggers is None or not mappings:
                original(self, message)
                return
            # moto would invoke the function itself, in this call: hide the mappings from it meanwhile.
            self.lambda_event_source_mappings = {}
            try:
                original(self, message)
            finally:
                self.lambda_event_source_mappings = mappings
        for mapping in mappings.values():
            if mapping.enabled and _mapped(mapping, self.account_id, self.region):
                triggers.message_added(self, mapping)

    Queue.add_message = add_message  # type: ignore[method-assign]
    _INSTALLED = True
