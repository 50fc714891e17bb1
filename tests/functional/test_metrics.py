"""The dashboard's metrics, as the real handlers emit them on the local cloud (EMF records in their logs)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.functional.conftest import Stack

pytestmark = pytest.mark.functional


def emitted(stack: Stack, function_part: str) -> list[dict[str, Any]]:
    """The embedded-metric-format records the functions whose name contains ``function_part`` logged."""
    stack.cloud.settle()
    records = []
    for invocation in stack.cloud.invocations:
        if function_part not in invocation.function_name:
            continue
        for line in invocation.logs:
            for text in line.splitlines():
                if '"CloudWatchMetrics"' in text:
                    records.append(json.loads(text))
    return records


def names(record: dict[str, Any]) -> set[str]:
    return {metric["Name"] for directive in record["_aws"]["CloudWatchMetrics"] for metric in directive["Metrics"]}


def test_a_denied_session_counts_as_denied_and_terminated_and_its_alert_as_sent_by_kind(stack: Stack) -> None:
    # GIVEN alice on a PCI instance (the deny rule)
    pci = stack.cloud.add_instance({"Name": "pay-1", "Compliance": "pci"})
    # WHEN she starts a session and the warden ends it
    stack.start(stack.person("alice"), pci)
    records = emitted(stack, "SessionStarted")
    # THEN the invocation counted one denial and one termination
    [outcomes] = [record for record in records if "SessionDenied" in names(record)]
    assert "SessionTerminated" in names(outcomes)
    assert outcomes["SessionDenied"] in (1.0, [1.0])
    # AND the alert SNS took is one AlertSent with its kind as the Kind dimension
    [sent] = [record for record in records if "AlertSent" in names(record)]
    assert sent["Kind"] == "session-terminated"
    assert sent["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "SessionWarden"


def test_each_sweep_that_ran_reports_its_duration_in_milliseconds(stack: Stack) -> None:
    # WHEN two minutes pass (two sweeps)
    stack.cloud.advance("2m")
    # THEN each sweep's metrics hold a SweepDuration in milliseconds next to SweepCompleted
    records = [record for record in emitted(stack, "Sweeper") if "SweepDuration" in names(record)]
    assert len(records) == 2
    for record in records:
        [directive] = record["_aws"]["CloudWatchMetrics"]
        units = {metric["Name"]: metric.get("Unit") for metric in directive["Metrics"]}
        assert units["SweepDuration"] == "Milliseconds"
        assert "SweepCompleted" in units
        value = record["SweepDuration"]
        assert 0 <= float(value[0] if isinstance(value, list) else value) < 120_000  # within the sweeper's timeout
