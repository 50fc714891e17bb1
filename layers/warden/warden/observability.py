"""One logger, tracer and metrics object for the whole package (Powertools)."""

from __future__ import annotations

import sys
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit


class _CurrentStdout:
    """Writes to whatever ``sys.stdout`` is at write time, so a host running handlers in-process can capture logs."""

    def write(self, text: str) -> int:
        return sys.stdout.write(text)

    def flush(self) -> None:
        sys.stdout.flush()


logger = Logger(service="session-warden", stream=_CurrentStdout())  # type: ignore[arg-type]
tracer = Tracer(service="session-warden")
metrics = Metrics(namespace="SessionWarden", service="session-warden")


def count(name: str, value: float = 1) -> None:
    """Add one to an outcome metric (``SessionAllowed``, ``SessionTerminated``, ...)."""
    metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)


def log_extra(**fields: Any) -> dict[str, Any]:
    """Structured fields for a log line, dropping empty values."""
    return {key: value for key, value in fields.items() if value is not None}
