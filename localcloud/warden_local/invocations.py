"""What the local Lambda runtime works with: a function's code, one invocation's record, its context and error."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from warden.timefmt import log_stream_day


@dataclass(frozen=True)
class FunctionCode:
    """Where a function's code lives on this machine, as the template's CodeUri/Handler/Layers say."""

    code_dir: Path
    handler: str
    layer_dirs: tuple[Path, ...] = ()


@dataclass(frozen=True)
class Invocation:
    """One run of a handler (each retry is its own record).

    ``event_id`` names the event the handler acted on: the CloudTrail ``eventID`` of an "AWS API Call via
    CloudTrail" event (it survives re-delivery, so it is what idempotency keys on), else the EventBridge event
    ``id``, which ``envelope_id`` always holds.
    """

    function_name: str
    request_id: str
    attempt: int
    event_id: str | None
    detail_type: str | None
    outcome: str  # "ok" | "error"
    error: str | None
    error_type: str | None
    logs: tuple[str, ...]
    at: datetime
    duration_ms: float
    result: Any = None
    event: Any = field(default=None, repr=False)
    envelope_id: str | None = None
    wall_started: float = 0.0  # time.monotonic() when the handler was called, and when it returned or raised:
    wall_ended: float = 0.0  # which invocations overlapped, how long a retry waited

    @property
    def ok(self) -> bool:
        return self.outcome == "ok"

    @property
    def log_text(self) -> str:
        return "\n".join(self.logs)


class LambdaContext:
    """What the Lambda runtime passes as ``context`` (the attributes Powertools reads)."""

    def __init__(
        self,
        *,
        function_name: str,
        function_arn: str,
        memory_limit_in_mb: int,
        timeout_seconds: int,
        aws_request_id: str,
    ) -> None:
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.invoked_function_arn = function_arn
        self.memory_limit_in_mb = memory_limit_in_mb
        self.aws_request_id = aws_request_id
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = log_stream_day(datetime.now(UTC).astimezone()) + f"/[$LATEST]{uuid.uuid4().hex}"
        self.identity = None
        self.client_context = None
        self._deadline = time.monotonic() + timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


class FunctionError(Exception):
    """The handler could not be loaded or its result could not be serialised, like Lambda's Runtime.* errors."""

    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(message)
        self.error_type = error_type
