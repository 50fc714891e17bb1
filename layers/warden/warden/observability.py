"""One logger, tracer and metrics object for the whole package (Powertools)."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit, single_metric

if TYPE_CHECKING:
    from aws_lambda_powertools import Tracer

Handler = TypeVar("Handler", bound=Callable[..., Any])


class _CurrentStdout:
    """Writes to whatever ``sys.stdout`` is at write time, so a host running handlers in-process can capture logs."""

    def write(self, text: str) -> int:
        return sys.stdout.write(text)

    def flush(self) -> None:
        sys.stdout.flush()


class LazyTracer:
    """Powertools Tracer built on the first invocation.

    Creating a Tracer imports the X-Ray SDK and botocore under it (~200 ms); deferring it to the first call,
    where boto3 loads anyway, keeps the handler import cheap without losing a single trace.
    """

    def __init__(self, service: str) -> None:
        self._service = service
        self._tracer: Tracer | None = None

    @property
    def provider(self) -> Tracer:
        if self._tracer is None:
            from aws_lambda_powertools import Tracer

            self._tracer = Tracer(service=self._service)
        return self._tracer

    def capture_lambda_handler(self, *, capture_response: bool = True) -> Callable[[Handler], Handler]:
        def decorate(handler: Handler) -> Handler:
            traced: Callable[..., Any] | None = None

            @functools.wraps(handler)
            def run(event: Any, context: Any) -> Any:
                nonlocal traced
                if traced is None:
                    traced = self.provider.capture_lambda_handler(handler, capture_response=capture_response)
                return traced(event, context)

            return run  # type: ignore[return-value]

        return decorate


logger = Logger(service="session-warden", stream=_CurrentStdout())  # type: ignore[arg-type]
tracer = LazyTracer(service="session-warden")
NAMESPACE = "SessionWarden"
SERVICE = "session-warden"
metrics = Metrics(namespace=NAMESPACE, service=SERVICE)


def count(name: str, value: float = 1) -> None:
    """Add one to an outcome metric (``SessionAllowed``, ``SessionTerminated``, ...)."""
    metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)


def milliseconds(name: str, value: float) -> None:
    """A time metric (``SweepDuration``, ``CanaryRoundTrip``), in milliseconds."""
    metrics.add_metric(name=name, unit=MetricUnit.Milliseconds, value=value)


def alert_sent(kind: str) -> None:
    """One ``AlertSent`` with the alert's ``Kind`` (``session-terminated``, ...) as a dimension.

    Emitted on its own (``single_metric``): a ``Kind`` dimension on the shared metrics object would be added to
    every other metric of the invocation too.
    """
    with single_metric(
        name="AlertSent", unit=MetricUnit.Count, value=1, namespace=NAMESPACE, default_dimensions={"service": SERVICE}
    ) as metric:
        metric.add_dimension(name="Kind", value=kind or "unknown")


def log_extra(**fields: Any) -> dict[str, Any]:
    """Structured fields for a log line, dropping empty values."""
    return {key: value for key, value in fields.items() if value is not None}
