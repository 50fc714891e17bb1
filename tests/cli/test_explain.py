"""`warden explain`: the decision for a session from a recorded event and/or flags, offline."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.cli.conftest import EVENTS, run_warden

Write = Callable[[str, str], str]

ALICE_EVENT = str(EVENTS / "start-session-iam-user.json")
BOB_EVENT = str(EVENTS / "start-session-assumed-role.json")
CAROL_EVENT = str(EVENTS / "start-session-identity-center.json")
CAROL_TARGET = "i-0c3d4e5f607182930"
TUESDAY_11_BERLIN = "2026-11-24T10:00:00Z"
TUESDAY_21_BERLIN = "2026-11-24T20:00:00Z"
JSON_KEYS = {"decision", "rule", "grant", "reasons", "deadline", "warnings"}


def explain(*args: str) -> object:
    return run_warden("explain", *args)


# --- allow and deny --------------------------------------------------------------------------------------------------


def test_a_session_inside_the_window_is_allowed_until_its_max_duration(policy_file: str) -> None:
    # GIVEN alice's recorded StartSession and a rule allowing her in business hours for 2h
    # WHEN it is explained on a Tuesday at 11:00 Berlin
    result = run_warden("explain", "--policy", policy_file, "--event", ALICE_EVENT, "--at", TUESDAY_11_BERLIN, "--json")
    # THEN it is allowed by that rule until start + 2h, and the JSON holds exactly the six keys
    assert result.code == 0, result.stderr
    decision = result.json
    assert set(decision) == JSON_KEYS
    assert decision["decision"] == "allow"
    assert decision["rule"] == "alice-in-business-hours"
    assert decision["grant"] is None
    assert decision["deadline"] == "2026-11-24T12:00:00Z"
    assert decision["reasons"] and all(isinstance(reason, str) for reason in decision["reasons"])
    # AND when the warnings before the deadline fire (the policy's default warn_before: 10m, 2m)
    assert decision["warnings"] == [
        {"before": "10m", "at": "2026-11-24T11:50:00Z"},
        {"before": "2m", "at": "2026-11-24T11:58:00Z"},
    ]


def test_an_event_without_at_is_decided_as_it_was_when_cloudtrail_recorded_it(policy_file: str) -> None:
    # GIVEN alice's StartSession recorded on Monday 2026-11-16 at 08:14:03 UTC (09:14 in Berlin)
    # WHEN it is explained with no --at
    result = run_warden("explain", "--policy", policy_file, "--event", ALICE_EVENT, "--json")
    # THEN it is decided at the event's own time: allowed, until start + 2h
    assert result.code == 0, result.stderr
    assert result.json["rule"] == "alice-in-business-hours"
    assert result.json["deadline"] == "2026-11-16T10:14:03Z"


def test_started_earlier_moves_the_max_duration_deadline(policy_file: str) -> None:
    result = run_warden(
        "explain", "--policy", policy_file, "--event", ALICE_EVENT,
        "--at", TUESDAY_11_BERLIN, "--started", "2026-11-24T09:15:00Z", "--json",
    )  # fmt: skip
    assert result.code == 0, result.stderr
    assert result.json["deadline"] == "2026-11-24T11:15:00Z"


def test_a_session_outside_the_window_is_denied_by_default(policy_file: str) -> None:
    # GIVEN the same session, explained at 21:00 Berlin when business hours are closed
    result = run_warden("explain", "--policy", policy_file, "--event", ALICE_EVENT, "--at", TUESDAY_21_BERLIN, "--json")
    # THEN it exits 1: denied by the default, no rule or grant named, the closed window among the reasons
    assert result.code == 1
    decision = result.json
    assert set(decision) == JSON_KEYS
    assert (decision["decision"], decision["rule"], decision["grant"], decision["deadline"]) == (
        "deny",
        None,
        None,
        None,
    )
    assert any("business-hours" in reason for reason in decision["reasons"])


def test_a_deny_rule_beats_an_allow_rule(policy_file: str) -> None:
    # GIVEN bob, allowed by ops-admins at any time, on a target tagged Compliance=pci
    result = run_warden("explain", "--policy", policy_file, "--event", BOB_EVENT, "--tag", "Compliance=pci", "--json")
    # THEN the deny rule decides and is named
    assert result.code == 1
    assert result.json["decision"] == "deny"
    assert result.json["rule"] == "no-pci"
    assert result.json["deadline"] is None


def test_an_assumed_role_is_matched_by_role_name_from_the_event(policy_file: str) -> None:
    result = run_warden("explain", "--policy", policy_file, "--event", BOB_EVENT, "--tag", "Compliance=none", "--json")
    assert result.code == 0, result.stderr
    assert result.json == {
        "decision": "allow",
        "rule": "ops-admins",
        "grant": None,
        "reasons": result.json["reasons"],
        "deadline": None,
        "warnings": [],
    }


def test_the_event_keeps_the_issuer_role_path_that_an_arn_flag_cannot_carry(write: Write) -> None:
    # GIVEN a rule on the issuer role ARN with its path (/ops/platform/)
    policy = write(
        "path.yaml",
        "version: 1\nrules:\n  - name: platform\n    principals: ['arn:aws:iam::123456789012:role/ops/platform/*']\n",
    )
    # WHEN bob's event is explained, and then the same caller given as --principal
    from_event = run_warden("explain", "--policy", policy, "--event", BOB_EVENT, "--json")
    from_flag = run_warden(
        "explain", "--policy", policy, "--principal", "arn:aws:sts::123456789012:assumed-role/OpsAdmin/bob",
        "--target", "i-0b2c3d4e5f6071829", "--at", TUESDAY_11_BERLIN, "--json",
    )  # fmt: skip
    # THEN only the event (which names the issuer role with its path) matches
    assert (from_event.code, from_event.json["rule"]) == (0, "platform")
    assert (from_flag.code, from_flag.json["decision"]) == (1, "deny")


def test_flags_alone_describe_a_session_without_an_event(policy_file: str) -> None:
    result = run_warden(
        "explain", "--policy", policy_file, "--principal", "arn:aws:iam::123456789012:user/alice",
        "--target", "i-0123456789abcdef0", "--at", TUESDAY_11_BERLIN, "--json",
    )  # fmt: skip
    assert result.code == 0, result.stderr
    assert result.json["rule"] == "alice-in-business-hours"


def test_flags_override_what_the_event_gives(policy_file: str) -> None:
    # GIVEN alice's event, but --principal naming bob's role session
    result = run_warden(
        "explain", "--policy", policy_file, "--event", ALICE_EVENT, "--at", TUESDAY_21_BERLIN,
        "--principal", "arn:aws:sts::123456789012:assumed-role/OpsAdmin/bob", "--json",
    )  # fmt: skip
    # THEN bob's rule decides, outside alice's window
    assert result.code == 0, result.stderr
    assert result.json["rule"] == "ops-admins"


def test_a_document_rule_sees_the_document_flag(write: Write) -> None:
    policy = write(
        "documents.yaml",
        "version: 1\nrules:\n  - name: shell-only\n    documents: [SSM-SessionManagerRunShell]\n",
    )
    shell = run_warden("explain", "--policy", policy, "--event", ALICE_EVENT, "--json")
    ssh = run_warden(
        "explain", "--policy", policy, "--event", ALICE_EVENT, "--document", "AWS-StartSSHSession", "--json"
    )
    assert (shell.code, ssh.code) == (0, 1)


def test_a_required_reason_is_read_from_the_event_and_from_the_flag(write: Write) -> None:
    policy = write("reason.yaml", "version: 1\nrules:\n  - name: ticketed\n    require_reason: '^[A-Z]+-[0-9]+'\n")
    from_event = run_warden("explain", "--policy", policy, "--event", ALICE_EVENT, "--json")  # reason "OPS-1234 ..."
    overridden = run_warden("explain", "--policy", policy, "--event", ALICE_EVENT, "--reason", "just looking", "--json")
    assert (from_event.code, from_event.json["rule"]) == (0, "ticketed")
    assert (overridden.code, overridden.json["decision"]) == (1, "deny")


def test_a_resume_session_event_decides_once_given_its_target(policy_file: str) -> None:
    result = run_warden(
        "explain", "--policy", policy_file, "--event", str(EVENTS / "resume-session.json"),
        "--target", "i-0a1b2c3d4e5f60718", "--at", TUESDAY_11_BERLIN, "--json",
    )  # fmt: skip
    assert result.code == 0, result.stderr
    assert result.json["rule"] == "alice-in-business-hours"


# --- grants ----------------------------------------------------------------------------------------------------------


GRANT = {
    "id": "g-abcdefghijkl",
    "principal": "user:carol@example.com",
    "targets": {"ids": [CAROL_TARGET]},
    "starts_at": "2026-11-24T09:00:00Z",
    "expires_at": "2026-11-24T13:00:00+01:00",
    "reason": "INC-42",
    "created_by": "arn:aws:iam::123456789012:user/admin",
}


@pytest.mark.parametrize(
    "shape",
    [[GRANT], {"grants": [GRANT]}, [{**GRANT, "state": "active", "created_at": "2026-11-24T08:59:00Z"}]],
    ids=["list", "object", "grant-list-json"],
)
def test_a_grant_from_the_grants_file_allows_until_it_expires(policy_file: str, write: Write, shape: object) -> None:
    # GIVEN carol, whom no rule allows, and a grant for her on her target until 12:00 UTC
    grants = write("grants.json", json.dumps(shape))
    # WHEN her session is explained at 10:00 UTC with the grants file
    result = run_warden(
        "explain", "--policy", policy_file, "--event", CAROL_EVENT, "--grants", grants, "--at", TUESDAY_11_BERLIN,
        "--json",
    )  # fmt: skip
    # THEN the grant allows it, and the deadline is the grant's expiry
    assert result.code == 0, result.stderr
    assert result.json["decision"] == "allow"
    assert result.json["grant"] == "g-abcdefghijkl"
    assert result.json["rule"] is None
    assert result.json["deadline"] == "2026-11-24T12:00:00Z"


def test_a_grant_does_not_allow_after_it_expires(policy_file: str, write: Write) -> None:
    grants = write("grants.json", json.dumps([GRANT]))
    result = run_warden(
        "explain", "--policy", policy_file, "--event", CAROL_EVENT, "--grants", grants, "--at", "2026-11-24T12:00:00Z",
        "--json",
    )  # fmt: skip
    assert result.code == 1
    assert result.json["grant"] is None


def test_a_grant_never_overrides_a_deny_rule(policy_file: str, write: Write) -> None:
    grants = write("grants.json", json.dumps([GRANT]))
    result = run_warden(
        "explain", "--policy", policy_file, "--event", CAROL_EVENT, "--grants", grants, "--at", TUESDAY_11_BERLIN,
        "--tag", "Compliance=pci", "--json",
    )  # fmt: skip
    assert result.code == 1
    assert result.json["rule"] == "no-pci"


def test_without_the_grants_file_the_same_session_is_denied(policy_file: str) -> None:
    result = run_warden("explain", "--policy", policy_file, "--event", CAROL_EVENT, "--at", TUESDAY_11_BERLIN, "--json")
    assert result.code == 1
    assert result.json["decision"] == "deny"


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("[{", "line 1"),
        (json.dumps({"items": []}), '"grants"'),
        (json.dumps([GRANT, {**GRANT, "expires_at": "2026-11-24T08:00:00Z"}]), "grants[1]"),
        (json.dumps([{**GRANT, "principal": "group:admins"}]), "grants[0]"),
        (json.dumps(["g-1"]), "grants[0]"),
    ],
    ids=["syntax", "wrong-object", "expiry-before-start", "bad-principal", "not-an-object"],
)
def test_a_bad_grants_file_exits_2_naming_the_file_and_the_grant(
    policy_file: str, write: Write, content: str, expected: str
) -> None:
    grants = write("grants.json", content)
    result = run_warden("explain", "--policy", policy_file, "--event", CAROL_EVENT, "--grants", grants)
    assert result.code == 2
    assert result.stdout == ""
    assert result.stderr.startswith(f"warden: error: {grants}: ")
    assert expected in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


# --- human output ----------------------------------------------------------------------------------------------------


def test_the_human_output_leads_with_the_decision_then_reasons_then_deadline(policy_file: str) -> None:
    result = run_warden(
        "explain", "--policy", policy_file, "--event", ALICE_EVENT, "--at", TUESDAY_11_BERLIN,
        "--started", "2026-11-24T09:40:00Z",
    )  # fmt: skip
    assert result.code == 0, result.stderr
    lines = result.lines
    assert lines[0].startswith("ALLOW by rule alice-in-business-hours")
    assert "alice on i-0a1b2c3d4e5f60718" in lines[0]
    bullets = [line for line in lines if line.startswith("  - ")]
    assert bullets
    assert "deadline: 2026-11-24T11:40:00Z (in 1h40m)" in lines
    assert lines[lines.index("deadline: 2026-11-24T11:40:00Z (in 1h40m)") + 1] == (
        "warnings: 11:30, 11:38 UTC (10m, 2m before the deadline)"
    )


def test_the_human_output_of_a_deny_names_the_rule(policy_file: str) -> None:
    result = run_warden("explain", "--policy", policy_file, "--event", BOB_EVENT, "--tag", "Compliance=pci")
    assert result.code == 1
    assert result.lines[0].startswith("DENY by rule no-pci")
    assert any(line.startswith("  - ") for line in result.lines)
    assert not any(line.startswith("deadline") for line in result.lines)


# --- bad input -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        ("start-session-failed.json", "TargetNotConnected"),
        ("start-session-access-denied.json", "AccessDenied"),
        ("rejected/athena-terminate-session.json", "athena.amazonaws.com TerminateSession"),
        ("rejected/ssm-send-command.json", "ssm.amazonaws.com SendCommand"),
        ("terminate-session.json", "TerminateSession"),
    ],
)
def test_an_event_that_is_not_a_successful_session_start_exits_2_saying_why(
    policy_file: str, event: str, expected: str
) -> None:
    result = run_warden("explain", "--policy", policy_file, "--event", str(EVENTS / event), "--target", "i-1")
    assert result.code == 2
    assert result.stdout == ""
    assert expected in result.stderr
    assert event in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_resume_session_event_without_target_exits_2_asking_for_it(policy_file: str) -> None:
    result = run_warden("explain", "--policy", policy_file, "--event", str(EVENTS / "resume-session.json"))
    assert result.code == 2
    assert "ResumeSession" in result.stderr
    assert "--target" in result.stderr


@pytest.mark.parametrize("tag", ["Compliance", "=pci", "Compliance:pci"])
def test_bad_tag_syntax_exits_2_naming_the_tag(policy_file: str, tag: str) -> None:
    result = run_warden("explain", "--policy", policy_file, "--event", ALICE_EVENT, "--tag", tag)
    assert result.code == 2
    assert f"--tag {tag!r}" in result.stderr
    assert "KEY=VALUE" in result.stderr


def test_a_missing_policy_file_exits_2_naming_it() -> None:
    result = run_warden("explain", "--policy", "missing.yaml", "--event", ALICE_EVENT)
    assert result.code == 2
    assert "missing.yaml" in result.stderr


def test_an_invalid_policy_exits_2_naming_file_and_line(write: Write) -> None:
    policy = write("invalid.yaml", textwrap.dedent("version: 1\nrules:\n  - name: r\n    windows: [nope]\n"))
    result = run_warden("explain", "--policy", policy, "--event", ALICE_EVENT)
    assert result.code == 2
    assert f"{policy}: line 4: rules[0].windows[0]: unknown window 'nope'" in result.stderr


def test_a_malformed_event_file_exits_2_naming_the_line(policy_file: str, write: Write) -> None:
    event = write("event.json", '{\n  "detail": {\n')
    result = run_warden("explain", "--policy", policy_file, "--event", event)
    assert result.code == 2
    assert f"{event}: line " in result.stderr


def test_an_event_missing_a_field_exits_2_naming_the_field(policy_file: str, write: Write) -> None:
    data = json.loads(Path(ALICE_EVENT).read_text())
    del data["detail"]["eventTime"]
    event = write("event.json", json.dumps(data))
    result = run_warden("explain", "--policy", policy_file, "--event", event)
    assert result.code == 2
    assert "detail.eventTime" in result.stderr


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--target", "i-1"], "--principal"),
        (["--principal", "arn:aws:iam::123456789012:user/alice"], "--target"),
        (["--principal", "alice", "--target", "i-1"], "--principal"),
        (
            ["--principal", "arn:aws:iam::123456789012:user/alice", "--target", "i-1", "--at", "2026-11-24T10:00"],
            "--at",
        ),
        (["--principal", "arn:aws:iam::123456789012:user/alice", "--target", "i-1", "--at", "tomorrow"], "--at"),
        (
            [
                "--principal",
                "arn:aws:iam::123456789012:user/alice",
                "--target",
                "i-1",
                "--at",
                TUESDAY_11_BERLIN,
                "--started",
                "2026-11-24T11:00:00Z",
            ],
            "--started",
        ),
    ],
    ids=["no-principal", "no-target", "principal-not-an-arn", "at-without-offset", "at-not-a-time", "started-after-at"],
)
def test_bad_flags_exit_2_naming_the_flag(policy_file: str, args: list[str], expected: str) -> None:
    result = run_warden("explain", "--policy", policy_file, *args)
    assert result.code == 2
    assert result.stderr.startswith("warden: error: ")
    assert expected in result.stderr


# --- offline ---------------------------------------------------------------------------------------------------------

# Imported before anything else in the child process: any use of boto3/botocore, or any network connection, fails.
_NO_AWS = """\
import socket
import sys

class _Blocked:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("boto3", "botocore"):
            raise ImportError(f"explain must not import {name}")
        return None

sys.meta_path.insert(0, _Blocked())

def _no_network(*args, **kwargs):
    raise OSError("explain must not open a network connection")

socket.socket.connect = _no_network
socket.create_connection = _no_network
"""


def test_explain_makes_no_aws_call_and_opens_no_connection(policy_file: str, tmp_path: Path, write: Write) -> None:
    # GIVEN a process where importing boto3/botocore or connecting anywhere raises, and an AWS endpoint configured
    blocker = tmp_path / "blocker"
    blocker.mkdir()
    (blocker / "sitecustomize.py").write_text(_NO_AWS)
    grants = write("grants.json", json.dumps([GRANT]))
    env = {
        "PYTHONPATH": str(blocker),
        "AWS_ENDPOINT_URL": "https://ssm.example.invalid",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    # WHEN sessions are explained, with and without grants
    allowed = run_warden(
        "explain", "--policy", policy_file, "--event", CAROL_EVENT, "--grants", grants, "--at", TUESDAY_11_BERLIN,
        "--json", extra_env=env,
    )  # fmt: skip
    denied = run_warden(
        "explain", "--policy", policy_file, "--event", BOB_EVENT, "--tag", "Compliance=pci", extra_env=env
    )
    # THEN both decide
    assert (allowed.code, allowed.json["grant"]) == (0, "g-abcdefghijkl"), allowed.stderr
    assert denied.code == 1, denied.stderr
    assert "must not" not in allowed.stderr + denied.stderr
    # AND the blocker is live: a command that does talk to AWS cannot even start
    control = run_warden("sessions", extra_env=env)
    assert control.code != 0
    assert "explain must not import boto" in control.stderr


def test_the_warnings_are_shown_in_the_closing_windows_time_zone(write: Write) -> None:
    # GIVEN a policy warning 15 and 5 minutes before, and a rule whose Berlin window closes at 18:00
    policy = write(
        "warn.yaml",
        "version: 1\nwarn_before: [5m, 15m]\nwindows:\n  business-hours:\n    timezone: Europe/Berlin\n"
        "    weekly: [{days: [tue], from: '08:00', to: '18:00'}]\n"
        "rules:\n  - name: everyone\n    windows: [business-hours]\n",
    )
    args = (
        "explain",
        "--policy",
        policy,
        "--principal",
        "arn:aws:iam::123456789012:user/alice",
        "--target",
        "i-0a1b2c3d4e5f60718",
    )
    # WHEN it is explained at 17:00 Berlin
    result = run_warden(*args, "--at", "2026-11-24T16:00:00Z")
    # THEN the text says when the warnings fire, in Berlin time, and the JSON lists them in UTC
    assert result.code == 0, result.stderr
    assert "warnings: 17:45, 17:55 Europe/Berlin (15m, 5m before the deadline)" in result.lines
    as_json = run_warden(*args, "--at", "2026-11-24T16:00:00Z", "--json")
    assert as_json.json["warnings"] == [
        {"before": "15m", "at": "2026-11-24T16:45:00Z"},
        {"before": "5m", "at": "2026-11-24T16:55:00Z"},
    ]


def test_in_monitor_mode_no_warning_is_listed(write: Write) -> None:
    # GIVEN a monitor-mode policy: nothing ends at a deadline, so no one is warned of it
    policy = write("monitor.yaml", "version: 1\nmode: monitor\nrules:\n  - name: everyone\n    max_duration: 1h\n")
    result = run_warden(
        "explain", "--policy", policy, "--principal", "arn:aws:iam::123456789012:user/alice",
        "--target", "i-0a1b2c3d4e5f60718", "--at", "2026-11-24T16:00:00Z", "--json",
    )  # fmt: skip
    assert result.code == 0, result.stderr
    assert result.json["deadline"] == "2026-11-24T17:00:00Z"
    assert result.json["warnings"] == []
