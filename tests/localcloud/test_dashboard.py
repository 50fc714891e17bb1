"""The operations dashboard: created for real from template.yaml, its body valid JSON with every name resolved."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.localcloud.test_stack import function_named
from warden_local import DEFAULT_TEMPLATE, LocalCloud

pytestmark = [
    pytest.mark.functional,
    pytest.mark.skipif(not DEFAULT_TEMPLATE.is_file(), reason="template.yaml does not exist yet"),
]


def widget_metrics(widget: dict[str, Any]) -> list[list[Any]]:
    """A widget's metric lines without their rendering options (the trailing object)."""
    return [[part for part in line if not isinstance(part, dict)] for line in widget["properties"]["metrics"]]


def test_the_dashboard_exists_with_a_widget_for_each_signal(local_cloud: LocalCloud) -> None:
    # GIVEN the stack deployed from template.yaml
    outputs = local_cloud.stack_outputs()
    cloudwatch = local_cloud.client("cloudwatch")
    # WHEN the dashboard is read back
    found = cloudwatch.get_dashboard(DashboardName=outputs["DashboardName"])
    body = found["DashboardBody"]
    # THEN it is the stack's, its body is JSON with every name substituted
    assert found["DashboardName"] == "session-warden-operations"
    assert "${" not in body
    widgets = {widget["properties"]["title"]: widget for widget in json.loads(body)["widgets"]}
    service = ["service", "session-warden"]
    sessions = widget_metrics(widgets["Sessions allowed / denied / terminated"])
    for name in ("SessionAllowed", "SessionDenied", "SessionTerminated"):
        assert ["SessionWarden", name, *service] in sessions
    sweeps = widget_metrics(widgets["Sweep duration and heartbeat"])
    assert ["SessionWarden", "SweepDuration", *service] in sweeps
    assert ["SessionWarden", "SweepCompleted", *service] in sweeps
    canary = widget_metrics(widgets["Canary round trip (CloudTrail to EventBridge to the warden)"])
    assert ["SessionWarden", "CanaryRoundTrip", *service] in canary
    [[alerts]] = widgets["Alerts by kind"]["properties"]["metrics"]
    assert alerts["expression"] == "SEARCH('{SessionWarden,Kind,service} MetricName=\"AlertSent\"', 'Sum', 300)"
    functions = [
        function_named(local_cloud, name)
        for name in ("SessionStartedFunction", "SessionEndedFunction", "SweeperFunction", "TamperWatchFunction")
    ]
    for title, metric in (("Function errors", "Errors"), ("Function throttles", "Throttles")):
        assert widget_metrics(widgets[title]) == [["AWS/Lambda", metric, "FunctionName", name] for name in functions]
    [depths] = [widget for title, widget in widgets.items() if title.startswith("Dead-letter queue depths")]
    queues = [url.rsplit("/", 1)[1] for url in (outputs["EventDeliveryDLQUrl"], outputs["FailedInvocationsDLQUrl"])]
    assert widget_metrics(depths) == [
        ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", queue] for queue in queues
    ]
