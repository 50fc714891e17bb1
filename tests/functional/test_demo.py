"""`warden demo` through the real console script: the scripted day goes as scripted, in text and as JSON lines."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest

from tests.functional.demo_run import DemoRun, demo_once

pytestmark = pytest.mark.functional


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoRun:
    """`warden demo` run once from a fresh directory: its text on stdout, and what `--json` prints (`--json-to`)."""
    return demo_once(tmp_path_factory, "day")


def test_demo_prints_each_scenarios_outcome_and_every_alert_as_an_email(demo: DemoRun) -> None:
    # WHEN a newcomer runs `warden demo` from anywhere
    result = demo

    # THEN the day went as scripted, with nothing but the timeline on the terminal
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr
    assert result.stderr == ""
    out = result.stdout
    assert "NOT AS SCRIPTED" not in out
    assert "The day went as scripted" in out
    # 1. the analyst's session is allowed (and later ends at the rule's maximum duration)
    assert "alice@example.com starts a session on analytics-1" in out
    assert "ALLOWED by analysts-on-analytics, until 16:30" in out
    assert "TERMINATED by the sweeper: maximum duration reached" in out
    # 2. the PCI host: deny beats allow, terminated at start
    assert "DENIED by rule no-pci  ->  TERMINATED at start" in out
    # 3. the grant, typed as an operator types it, then its expiry ends bob's session
    assert "$ warden grant create --principal user:bob --tag Environment=prod --for 1h" in out
    # the grant's own line tells its times on the timeline's clock (Berlin), not in UTC
    assert "granted user:bob on Environment=prod from 2026-11-24 14:40 CET until 2026-11-24 15:40 CET (1h)" in out
    assert "bob starts a session on prod-db-1" in out
    assert "ALLOWED by grant g-" in out
    assert "TERMINATED by the sweeper: grant expired" in out
    # 3, warned: ten minutes before the grant ends, bob's terminal says so, and the grant is extended in time
    assert "15:30 Berlin  bob's terminal on prod-db-1" in out
    assert "Session Warden: this session ends at 15:40 Europe/Berlin (grant g-" in out
    assert "$ warden grant extend g-" in out
    assert " --for 30m --reason 'INC-2211 log rotation still running'" in out
    assert "Session Warden: this session ends at 16:10 Europe/Berlin (grant g-" in out
    # 4. the business-hours window closes at 18:00 in Berlin
    assert "ALLOWED by analysts-on-analytics, until 18:00" in out
    assert "18:00 Berlin  alice@example.com's session on analytics-1" in out
    assert "TERMINATED by the sweeper: window closed" in out
    # 4, warned: ten and two minutes before the window closes, a line in alice's terminal
    notice = "Session Warden: this session ends at 18:00 Europe/Berlin (business-hours closes). Save your work."
    assert "17:50 Berlin  alice@example.com's terminal on analytics-1" in out
    assert "17:58 Berlin  alice@example.com's terminal on analytics-1" in out
    assert out.count(notice) == 2
    assert "[Session Warden] EXPIRING alice@example.com on " in out
    # 5. re-tagged mid-session
    assert "re-tags build-runner" in out
    assert "TERMINATED by the sweeper: target re-tagged" in out
    # 6. monitor mode
    assert "$ warden policy push monitor.yaml" in out
    assert "WOULD TERMINATE (monitor mode), left open" in out
    # 7. self-defence: the canary's round trip is recorded, and disabling the session-start rule is one alert
    canary = "canary: the sweeper's write came back through CloudTrail and EventBridge in "
    assert "14:32 Berlin  " + canary in out
    assert "canary: the sweeper's write came back again through CloudTrail and EventBridge in " in out
    rule = "session-warden-session-started"
    assert f"18:10 Berlin  mallory disables the session-start rule  $ aws events disable-rule --name {rule}" in out
    assert (
        f"18:12 Berlin  sam@example.com turns the session-start rule back on  $ aws events enable-rule --name {rule}"
        in out
    )

    # AND every alert is printed as the e-mail the security team receives, headers then body
    assert out.count("      | From:    Session Warden <no-reply@sns.amazonaws.com>") == 14
    assert out.count("      | To:      security@example.com") == 14
    subjects = [line.split("Subject: ", 1)[1] for line in out.splitlines() if line.startswith("      | Subject: ")]
    assert sum(1 for subject in subjects if subject.startswith("[Session Warden] TERMINATED ")) == 5
    assert (
        sum(
            1
            for subject in subjects
            if subject.startswith("[Session Warden] GRANT CREATED user:bob on Environment=prod")
        )
        == 1
    )
    assert (
        sum(
            1
            for subject in subjects
            if subject.startswith("[Session Warden] GRANT EXPIRED user:bob on Environment=prod")
        )
        == 1
    )
    assert sum(1 for subject in subjects if subject.startswith("[Session Warden] WOULD TERMINATE dave on ")) == 1
    tampered = [subject for subject in subjects if subject.startswith("[Session Warden] ENFORCER TAMPERED ")]
    assert tampered == [f"[Session Warden] ENFORCER TAMPERED DisableRule on {rule} by mallory"]
    assert (
        "      | What it means: the session-start rule is disabled: new sessions are checked only by the sweeper" in out
    )
    assert "      |   Call:        DisableRule\n      |   Resource:    session-warden-session-started\n" in out
    assert "      | Decision: deny (grant expired)" in out
    assert "      | Decision: deny (window closed)" in out
    assert "      | Decision: deny (target re-tagged)" in out
    assert "      | Action: none: the policy is in monitor mode." in out

    # AND it ends with a summary and a pointer to explore further
    assert "sessions started   6: 4 allowed, 1 terminated at start, 1 left open in monitor mode" in out
    assert (
        "alerts sent        14: 1 enforcer-tampered, 1 grant-created, 1 grant-expired, 1 grant-extended, 4 session-expiring, "
        "5 session-terminated, 1 would-terminate"
    ) in out
    assert "warden local up" in out
    for noise in ("Traceback", "WARNING", "werkzeug", "HTTP/1.1", "CloudWatchMetrics"):
        assert noise not in out


def test_demo_json_prints_one_object_per_event(demo: DemoRun) -> None:
    # WHEN the demo runs with --json (the lines --json-to wrote during the same run: what --json prints)
    result = demo

    # THEN every line is a JSON object with a time and a kind
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr
    assert result.json_lines.endswith("\n") and "" not in result.json_lines.splitlines()
    events: list[dict[str, Any]] = [json.loads(line) for line in result.json_lines.splitlines()]
    assert all(event["at"].endswith("Z") and event["kind"] for event in events)
    kinds = {event["kind"] for event in events}
    assert {"setup", "instance", "principal", "policy", "session-start", "session-end", "grant", "retag"} <= kinds
    assert {"policy-push", "alert", "summary", "warning", "grant-extend", "canary", "rule-state"} <= kinds
    assert "not-as-scripted" not in kinds

    # AND the sessions' outcomes are data, not prose
    starts = [event for event in events if event["kind"] == "session-start"]
    assert [event["outcome"] for event in starts] == [
        "allowed",
        "terminated at start",
        "allowed",
        "allowed",
        "allowed",
        "would terminate",
    ]
    assert starts[1]["rule"] == "no-pci" and starts[2]["grant"].startswith("g-")
    causes = [event["cause"] for event in events if event["kind"] == "session-end"]
    assert causes == ["target re-tagged", "grant expired", "maximum duration reached", "window closed"]

    # AND each alert is an object with the e-mail's subject and body, severity and kind
    alerts = [event["alert"] for event in events if event["kind"] == "alert"]
    assert Counter((alert["kind"], alert["severity"]) for alert in alerts) == {
        ("session-terminated", "HIGH"): 5,
        ("grant-created", "INFO"): 1,
        ("grant-expired", "INFO"): 1,
        ("grant-extended", "INFO"): 1,
        ("session-expiring", "INFO"): 4,
        ("would-terminate", "MEDIUM"): 1,
        ("enforcer-tampered", "HIGH"): 1,
    }
    [tamper] = [alert for alert in alerts if alert["kind"] == "enforcer-tampered"]
    assert "DisableRule" in tamper["subject"] and "session-warden-session-started" in tamper["subject"]
    assert "mallory" in tamper["body"]
    # AND the canary's round trips are data: sent, seen back, and the time it took in milliseconds
    canaries = [event for event in events if event["kind"] == "canary"]
    assert len(canaries) == 2
    assert all(e["seen_at"] >= e["sent_at"] and 0 <= e["round_trip_ms"] < 60_000 for e in canaries)
    assert canaries[1]["seen_at"] > canaries[0]["seen_at"]
    # AND the rule was disabled by mallory, then enabled again by the security team
    states = [(event["principal"], event["state"]) for event in events if event["kind"] == "rule-state"]
    assert states == [("mallory", "DISABLED"), ("sam@example.com", "ENABLED")]
    # AND each warning is data: the session, the stack's document and the line its terminal showed
    warnings = [event for event in events if event["kind"] == "warning"]
    assert len(warnings) == 7
    assert {event["document"] for event in warnings} == {warnings[0]["document"]}
    assert warnings[-1]["message"].startswith("Session Warden: this session ends at 18:00 Europe/Berlin")
    assert alerts[0]["kind"] == "session-terminated" and alerts[-2]["kind"] == "would-terminate"  # arrival order
    assert alerts[-1]["kind"] == "enforcer-tampered"
    assert all(
        alert["subject"].startswith("[Session Warden] ") and "Session Warden (stack" in alert["body"]
        for alert in alerts
    )

    # AND the last line sums the day up
    summary = events[-1]
    assert summary["kind"] == "summary"
    assert summary["as_scripted"] is True and summary["unmet"] == []
    assert summary["sessions_started"] == 6 and summary["terminated_by_sweeper"] == 4 and summary["still_open"] == 1
