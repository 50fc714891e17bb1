"""Cold import time of each handler module in a fresh interpreter, next to a bare `import boto3`."""

from __future__ import annotations

import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HANDLERS = ("session_started", "session_ended", "sweeper")
RUNS = 7

_PROBE = """
import sys, time
sys.path.insert(0, {path!r})
start = time.perf_counter()
import {module}
print(time.perf_counter() - start)
"""


# The whole cold path before the first AWS call: handler import, the composition root (boto3 clients,
# Powertools Parameters and Idempotency) and the tracer the first invocation builds.
_COLD_PROBE = """
import os, sys, time
os.environ.update({{"WARDEN_GRANTS_TABLE": "g", "WARDEN_LEDGER_TABLE": "l", "WARDEN_IDEMPOTENCY_TABLE": "i",
    "WARDEN_STATE_TABLE": "s", "WARDEN_ALERTS_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:t",
    "WARDEN_POLICY_PARAMETER": "/p", "AWS_DEFAULT_REGION": "us-east-1"}})
sys.path.insert(0, {path!r})
start = time.perf_counter()
import {module}
from warden.observability import tracer
from warden.wiring import build_warden
build_warden()
tracer.provider
print(time.perf_counter() - start)
"""


def _median_ms(module: str, path: str, probe: str = _PROBE) -> float:
    samples = []
    for _ in range(RUNS):
        output = subprocess.run(
            [sys.executable, "-c", probe.format(path=path, module=module)],
            check=True,
            capture_output=True,
            text=True,
            env={"PATH": "/usr/bin:/bin", "POWERTOOLS_TRACE_DISABLED": "true"},
        ).stdout
        samples.append(float(output.strip().splitlines()[-1]) * 1000)
    return statistics.median(samples)


def run() -> list[tuple[str, str, str]]:
    boto3_ms = _median_ms("boto3", str(ROOT))
    rows = [("import boto3 (fresh interpreter)", f"{boto3_ms:.0f} ms", "baseline")]
    for name in HANDLERS:
        handler_ms = _median_ms("handler", str(ROOT / "functions" / name))
        ratio = handler_ms / boto3_ms
        rows.append(
            (f"import {name}/handler", f"{handler_ms:.0f} ms = {ratio:.2f}x boto3", f"{ratio <= 1.5} (target <= 1.5x)")
        )
    cold_ms = _median_ms("handler", str(ROOT / "functions" / "session_started"), _COLD_PROBE)
    rows.append(
        (
            "session_started cold path (import + clients + tracer)",
            f"{cold_ms:.0f} ms = {cold_ms / boto3_ms:.2f}x boto3",
            "info",
        )
    )
    return rows
