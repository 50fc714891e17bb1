"""`warden explain --logging`: require_logging judged offline, with the preferences stated on the command line."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.cli.conftest import run_warden

Write = Callable[[str, str], str]

ALICE = "arn:aws:iam::123456789012:user/alice"
AT = "2026-11-24T10:00:00Z"
POLICY = """\
version: 1
default: deny
require_logging: true
rules:
  - name: everyone
    principals: ["*"]
"""
NOWHERE = (
    "require_logging: Session Manager preferences log nowhere "
    "(SSM-SessionManagerRunShell has no s3BucketName or cloudWatchLogGroupName)"
)


def explain(policy: str, *args: str) -> object:
    return run_warden("explain", "--policy", policy, "--principal", ALICE, "--target", "i-0abc", "--at", AT, *args)


@pytest.mark.parametrize(
    ("flags", "code", "reason"),
    [
        (("--logging", "s3"), 0, "allowed by rule everyone"),
        (("--logging", "cloudwatch"), 0, "allowed by rule everyone"),
        (("--logging", "both"), 0, "allowed by rule everyone"),
        (("--logging", "none"), 1, NOWHERE),
        (
            ("--logging", "s3", "--document", "AWS-StartPortForwardingSession"),
            1,
            "require_logging: port forwarding is never logged by Session Manager "
            "(AWS-StartPortForwardingSession is a Port session document)",
        ),
        (
            ("--logging", "s3", "--document", "AWS-StartSSHSession"),
            1,
            "require_logging: port forwarding is never logged by Session Manager",
        ),
        (
            ("--logging", "s3", "--document", "Team-Tunnel", "--session-type", "remote-port"),
            1,
            "require_logging: port forwarding is never logged by Session Manager",
        ),
        ((), 1, "require_logging: cannot tell whether Session Manager logs the session"),
    ],
)
def test_explain_judges_require_logging_on_the_stated_preferences(
    write: Write, flags: tuple[str, ...], code: int, reason: str
) -> None:
    # GIVEN a policy with require_logging
    policy = write("policy.yaml", POLICY)
    # WHEN a session is explained with the preferences stated (or not)
    result = explain(policy, *flags, "--json")
    # THEN the decision and its first reason say whether, and why not, it is logged
    assert result.code == code, result.stderr
    assert result.json["reasons"][0].startswith(reason), result.json["reasons"]


def test_explain_text_names_require_logging_as_what_decided(write: Write) -> None:
    result = explain(write("policy.yaml", POLICY), "--logging", "none")
    assert result.code == 1, result.stderr
    assert result.stdout.startswith("DENY by require_logging: alice on i-0abc")
    assert f"  - {NOWHERE}\n" in result.stdout


def test_explain_without_logging_says_how_to_state_it(write: Write) -> None:
    result = explain(write("policy.yaml", POLICY))
    assert "pass --logging s3|cloudwatch|both|none" in result.stdout


def test_explain_of_a_policy_without_require_logging_needs_no_logging_flag(write: Write) -> None:
    result = explain(write("policy.yaml", POLICY.replace("require_logging: true\n", "")))
    assert result.code == 0, result.stderr
    assert "--logging" not in result.stdout


def test_explain_refuses_an_unknown_logging_place(write: Write) -> None:
    result = explain(write("policy.yaml", POLICY), "--logging", "syslog")
    assert result.code == 2
    assert "--logging: invalid choice: 'syslog'" in result.stderr


def test_policy_validate_warns_that_a_logged_tunnel_rule_allows_nothing(write: Write) -> None:
    body = POLICY + "  - name: tunnels\n    session_types: [port, remote-port]\n"
    result = run_warden("policy", "validate", write("policy.yaml", body))
    assert result.code == 0, result.stderr
    assert "rules[1].session_types: require_logging applies, and port, remote-port sessions are never logged" in (
        result.stderr
    )
