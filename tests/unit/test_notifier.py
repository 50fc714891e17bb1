"""Alert once: the policy-rejected alert and the markers that guard alerts, through in-memory fakes."""

from __future__ import annotations

import pytest

from tests.fakes import FakeAlerts, FakeOnce
from warden.alerts.lifecycle import policy_rejected_alert
from warden.alerts.text import AlertContext
from warden.errors import AwsCallFailed
from warden.notifier import Notifier, PolicyRejectedAlerts
from warden.policy import PolicyError, PolicyIssue

CONTEXT = AlertContext(stack="session-warden", region="eu-central-1", account="123456789012")
PARAMETER = "/session-warden/session-warden/policy"
BAD = PolicyError([PolicyIssue("rules[0]", 3, "unknown field 'efect'", 3)])


def reporter(alerts: FakeAlerts, once: FakeOnce) -> PolicyRejectedAlerts:
    return PolicyRejectedAlerts(Notifier(alerts, once), CONTEXT, PARAMETER)


def test_a_rejected_policy_document_is_alerted_once_however_often_it_is_read() -> None:
    # GIVEN an invalid document that every invocation reads
    alerts, once = FakeAlerts(), FakeOnce()
    on_reject = reporter(alerts, once)
    # WHEN three invocations reject it THEN one MEDIUM alert names the parameter and the problem
    for _ in range(3):
        on_reject("digest-1", BAD, "the previous valid version (sha256 abc)")
    [alert] = alerts.sent
    assert (alert.kind, alert.severity) == ("policy-rejected", "MEDIUM")
    assert PARAMETER in alert.subject
    assert "unknown field 'efect'" in alert.body
    # AND a different bad document gets its own alert
    on_reject("digest-2", BAD, "the previous valid version (sha256 abc)")
    assert alerts.kinds() == ["policy-rejected", "policy-rejected"]


def test_a_policy_rejected_alert_that_cannot_be_sent_is_sent_by_the_next_rejection() -> None:
    # GIVEN SNS failing once
    alerts, once = FakeAlerts(), FakeOnce()
    alerts.failures = 1
    on_reject = reporter(alerts, once)
    # WHEN the rejection cannot be alerted THEN enforcement goes on (nothing raised) and nothing was sent
    on_reject("digest-1", BAD, "none: no valid version exists")
    assert alerts.sent == []
    # AND the next invocation that reads the same document sends it
    on_reject("digest-1", BAD, "none: no valid version exists")
    assert alerts.kinds() == ["policy-rejected"]


def test_a_claimed_alert_frees_its_marker_on_any_failure_and_raises() -> None:
    # GIVEN an alerts port that fails with something other than an AWS error
    class Broken:
        def publish(self, alert: object) -> None:
            raise KeyError("MessageId")

    released: list[str] = []
    notifier = Notifier(Broken(), FakeOnce())  # type: ignore[arg-type]
    alert = policy_rejected_alert(CONTEXT, parameter=PARAMETER, error=str(BAD), in_force="none")
    # WHEN it is sent THEN the failure surfaces and the marker is freed for the retry
    with pytest.raises(KeyError):
        notifier.send_claimed(alert, release=lambda: released.append("freed"))
    assert released == ["freed"]


def _alert_sent_metrics(captured: str) -> list[dict[str, object]]:
    """The ``AlertSent`` EMF records printed (CloudWatch reads them from the function's log)."""
    import json

    records = []
    for line in captured.splitlines():
        if '"AlertSent"' not in line:
            continue
        record = json.loads(line)
        [directive] = record["_aws"]["CloudWatchMetrics"]
        assert directive["Namespace"] == "SessionWarden"
        records.append(record)
    return records


def test_each_published_alert_is_counted_as_alert_sent_by_its_kind(capsys: pytest.CaptureFixture[str]) -> None:
    # GIVEN a notifier whose SNS accepts the first alert and refuses the second
    alerts, once = FakeAlerts(), FakeOnce()
    notifier = Notifier(alerts, once)
    alert = policy_rejected_alert(CONTEXT, parameter=PARAMETER, error=str(BAD), in_force="none")
    # WHEN one is sent and another cannot be
    notifier.send_claimed(alert, release=lambda: None)
    alerts.failures = 1
    with pytest.raises(AwsCallFailed):
        notifier.send_claimed(alert, release=lambda: None)
    # THEN exactly one AlertSent was emitted, with the alert's kind as its Kind dimension
    [record] = _alert_sent_metrics(capsys.readouterr().out)
    assert record["Kind"] == "policy-rejected"
    assert record["AlertSent"] in (1.0, [1.0])
    [directive] = record["_aws"]["CloudWatchMetrics"]  # type: ignore[index]
    assert ["Kind", "service"] in [sorted(dims) for dims in directive["Dimensions"]]
