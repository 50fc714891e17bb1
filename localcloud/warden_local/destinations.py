"""Lambda destinations: where an asynchronous invocation's result goes (SQS, SNS, another function, a bus)."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any, Protocol

from warden.timefmt import iso_millis

from .clock import EmulatedClock

logger = logging.getLogger("warden_local")


class FailedRun(Protocol):
    """What a failure record needs of the last invocation."""

    @property
    def request_id(self) -> str: ...

    @property
    def error(self) -> str | None: ...

    @property
    def error_type(self) -> str | None: ...

    @property
    def logs(self) -> tuple[str, ...]: ...


class Destinations:
    def __init__(self, *, account_id: str, region: str, clock: EmulatedClock, invoke: Callable[..., None]) -> None:
        self._account_id = account_id
        self._region = region
        self._clock = clock
        self._invoke = invoke

    def success(
        self, function: Any, config: dict[str, Any], payload: Any, result: Any, request_id: str, attempt: int
    ) -> None:
        """The on-success destination's record, if the function has one."""
        destination = config.get("DestinationConfig", {}).get("OnSuccess", {}).get("Destination")
        if destination:
            record = self._destination_record(function, payload, request_id, attempt, "Success")
            record["responseContext"] = {"statusCode": 200, "executedVersion": "$LATEST"}
            record["responsePayload"] = result
            self._send_to_destination(destination, record, success=True)

    def failure(self, function: Any, config: dict[str, Any], payload: Any, record: FailedRun, attempt: int) -> None:
        """Retries are exhausted: the on-failure destination's record, or a warning that the event is dropped."""
        destination = config.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination")
        if not destination:
            logger.warning(
                "%s failed %d time(s) and has no on-failure destination: event dropped", function.function_name, attempt
            )
            return
        message = self._destination_record(function, payload, record.request_id, attempt, "RetriesExhausted")
        message["responseContext"] = {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"}
        stack = [line for line in record.logs if line.startswith("  File ")]
        message["responsePayload"] = {
            "errorMessage": record.error,
            "errorType": record.error_type,
            "requestId": record.request_id,
            "stackTrace": stack,
        }
        self._send_to_destination(destination, message, success=False)

    def _destination_record(
        self, function: Any, payload: Any, request_id: str, attempt: int, condition: str
    ) -> dict[str, Any]:
        now = self._clock.now()
        return {
            "version": "1.0",
            "timestamp": iso_millis(now),
            "requestContext": {
                "requestId": request_id,
                "functionArn": f"{function.function_arn}:$LATEST",
                "condition": condition,
                "approximateInvokeCount": attempt,
            },
            "requestPayload": payload,
        }

    def _send_to_destination(self, destination: str, record: dict[str, Any], *, success: bool) -> None:
        service = destination.split(":")[2] if destination.count(":") >= 5 else ""
        body = json.dumps(record)
        if service == "sqs":
            from moto.sqs.models import sqs_backends

            sqs_backends[self._account_id][self._region].send_message(
                queue_name=destination.rsplit(":", 1)[-1], message_body=body
            )
        elif service == "sns":
            from moto.sns.models import sns_backends

            sns_backends[self._account_id][self._region].publish(body, arn=destination)
        elif service == "lambda":
            self._invoke(destination.split(":")[6], record)
        elif service == "events":
            from moto.events.models import events_backends

            detail_type = "Lambda Function Invocation Result - " + ("Success" if success else "Failure")
            events_backends[self._account_id][self._region].put_events(
                [
                    {
                        "Source": "lambda",
                        "DetailType": detail_type,
                        "Detail": body,
                        "EventBusName": destination,
                        "Resources": [record["requestContext"]["functionArn"]],
                    }
                ]
            )
        else:
            logger.warning("unsupported Lambda destination %s: record dropped", destination)
