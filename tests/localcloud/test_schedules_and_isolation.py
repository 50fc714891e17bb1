"""Schedule expressions, and what a local cloud must never leak into its process."""

from __future__ import annotations

import os
import sys
from datetime import UTC, datetime

import pytest

from tests.localcloud.conftest import START
from warden_local import LocalCloud
from warden_local.schedules import ScheduleError, parse_schedule


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("expression", "due", "not_due"),
    [
        ("rate(1 minute)", ["2026-11-24T08:01:00"], []),
        ("rate(5 minutes)", ["2026-11-24T08:05:00", "2026-11-24T08:10:00"], ["2026-11-24T08:06:00"]),
        ("rate(2 hours)", ["2026-11-24T08:00:00"], ["2026-11-24T09:00:00", "2026-11-24T08:05:00"]),
        (
            "cron(0/15 8-17 ? * MON-FRI *)",
            ["2026-11-24T08:15:00", "2026-11-24T17:45:00"],
            ["2026-11-24T18:00:00", "2026-11-28T09:00:00"],
        ),
        ("cron(0 22 ? * SAT *)", ["2026-11-28T22:00:00"], ["2026-11-29T22:00:00"]),
        ("cron(30 6 1 JAN,JUL ? *)", ["2027-01-01T06:30:00"], ["2027-02-01T06:30:00"]),
        ("cron(0 12 * * ? 2026)", ["2026-12-01T12:00:00"], ["2027-12-01T12:00:00"]),
        ("cron(5 * ? * 1 *)", ["2026-11-29T03:05:00"], ["2026-11-30T03:05:00"]),
    ],
)
def test_a_schedule_is_due_on_exactly_the_minutes_its_expression_names(
    expression: str, due: list[str], not_due: list[str]
) -> None:
    schedule = parse_schedule(expression)
    assert all(schedule.is_due(at(moment)) for moment in due)
    assert not any(schedule.is_due(at(moment)) for moment in not_due)


@pytest.mark.parametrize(
    "expression",
    [
        "rate(0 minutes)",
        "rate(5 fortnights)",
        "cron(0 8 * * MON *)",
        "cron(0 8 ? * ? *)",
        "cron(0 8 L * ? *)",
        "cron(61 * * * ? *)",
        "at(2026-11-24T08:00:00)",
    ],
)
def test_expressions_the_local_cloud_cannot_evaluate_are_refused_by_name(expression: str) -> None:
    with pytest.raises(ScheduleError, match=r"\("):
        parse_schedule(expression)


def test_one_local_cloud_per_process_because_moto_is_process_wide() -> None:
    with LocalCloud(template=None, start_at=START), pytest.raises(RuntimeError, match="already running"):
        LocalCloud(template=None).start()
    # Once stopped, another can start.
    with LocalCloud(template=None) as cloud:
        assert cloud.client("ssm").describe_sessions(State="Active")["Sessions"] == []


@pytest.mark.functional
def test_an_invocation_leaves_the_environment_streams_and_path_as_it_found_them(
    app_cloud: LocalCloud, capsys: pytest.CaptureFixture[str]
) -> None:
    environ, path, stdout = dict(os.environ), list(sys.path), sys.stdout

    app_cloud.client("ssm").start_session(Target=app_cloud.add_instance({}))
    app_cloud.settle()

    assert [i.ok for i in app_cloud.invocations] == [True]
    assert dict(os.environ) == environ
    assert sys.path == path
    assert sys.stdout is stdout
    assert "recorder got" not in capsys.readouterr().out


def test_a_stopped_cloud_has_no_endpoint() -> None:
    cloud = LocalCloud(template=None)
    with pytest.raises(Exception, match="not running"):
        _ = cloud.endpoint
