"""`warden policy validate` and `warden explain` on patterns that match less than they seem, session types
and hosts, and documents built to break a parser: a warning or one clear error, never a traceback."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.cli.conftest import run_warden

Write = Callable[[str, str], str]

TUNNELS = """\
version: 1
rules:
  - name: dev-tunnels
    principals: ["permission-set:Developer", "user:alice@example.com", "role:AWSReservedSSO_Developer_*"]
    session_types: [port, remote-port]
    hosts: ["*.dev.internal"]
"""
DEVELOPER = "arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_Developer_0123456789abcdef/dan@example.com"
IAM_ALICE = "arn:aws:iam::111122223333:user/alice@example.com"
AT = "2026-11-24T10:00:00Z"


def test_validate_warns_on_stderr_about_each_pattern_that_matches_less_than_it_seems(write: Write) -> None:
    # GIVEN a valid policy with an e-mail user: pattern and a role:AWSReservedSSO_ pattern
    path = write("tunnels.yaml", TUNNELS)
    # WHEN it is validated
    result = run_warden("policy", "validate", path)
    # THEN it is valid (exit 0) and stderr has one warning per such pattern, naming where it is
    assert result.code == 0, result.stderr
    assert result.stdout.startswith(f"{path}: valid — 1 rule")
    warnings = result.stderr.splitlines()
    assert len(warnings) == 2, result.stderr
    assert warnings[0].startswith(f"warden: warning: {path}: rules[0].principals[1]: 'user:alice@example.com' looks")
    assert "'arn:aws:sts::*:assumed-role/ROLE/alice@example.com'" in warnings[0]
    assert warnings[1].startswith(f"warden: warning: {path}: rules[0].principals[2]: 'role:AWSReservedSSO_Developer_*'")
    assert "'permission-set:Developer'" in warnings[1]


@pytest.mark.parametrize(
    ("text", "says"),
    [
        pytest.param("version: 1\nrules: " + "[" * 5000 + "]" * 5000 + "\n", "nests more than 32", id="YAML ["),
        pytest.param('{"version": 1, "rules": ' + '{"a": ' * 5000 + "1" + "}" * 5000 + "}", "nests more", id="JSON {"),
        pytest.param("version: 1\n#" + "x" * 1_100_000 + "\n", "more than the 1048576", id="huge"),
    ],
)
def test_a_hostile_document_is_one_line_and_exit_2_for_validate_and_explain(write: Write, text: str, says: str) -> None:
    # GIVEN a document built to exhaust the parser
    path = write("hostile.yaml", text)
    # WHEN it is validated and used to explain a session
    validated = run_warden("policy", "validate", path)
    explained = run_warden("explain", "--policy", path, "--principal", IAM_ALICE, "--target", "i-0abc", "--at", AT)
    # THEN each exits 2 with one line that names the file and the problem, and no traceback
    for result in (validated, explained):
        assert result.code == 2, result.stdout + result.stderr
        output = (result.stdout + result.stderr).strip().splitlines()
        assert len(output) == 1, output
        assert output[0].startswith((f"{path}: ", f"warden: error: {path}: ")), output
        assert says in output[0]
        assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("flags", "decision"),
    [
        pytest.param(["--session-type", "remote-port", "--host", "orders.dev.internal"], "allow", id="tunnel to dev"),
        pytest.param(["--session-type", "remote-port", "--host", "orders.prod.internal"], "deny", id="tunnel to prod"),
        pytest.param(["--session-type", "remote-port"], "deny", id="tunnel to an unknown host"),
        pytest.param(["--session-type", "port"], "allow", id="a port"),
        pytest.param(["--session-type", "shell"], "deny", id="a shell"),
        pytest.param(["--document", "AWS-StartPortForwardingSession"], "allow", id="an AWS document's known type"),
        pytest.param(["--document", "Custom-Tunnel"], "deny", id="an unknown type"),
    ],
)
def test_explain_decides_with_the_session_type_and_host(write: Write, flags: list[str], decision: str) -> None:
    path = write("tunnels.yaml", TUNNELS)
    result = run_warden(
        "explain", "--policy", path, "--principal", DEVELOPER, "--target", "i-0abc", "--at", AT, "--json", *flags
    )
    assert result.code == (0 if decision == "allow" else 1), result.stderr
    assert result.json["decision"] == decision


def test_explain_says_when_the_session_type_is_unknown(write: Write) -> None:
    path = write("tunnels.yaml", TUNNELS)
    result = run_warden(
        "explain", "--policy", path, "--principal", DEVELOPER, "--target", "i-0abc", "--at", AT, "--document", "Custom"
    )
    assert result.code == 1, result.stderr
    assert "Custom (session type unknown)" in result.stdout
    assert "note: the session type is unknown" in result.stdout


def test_explain_shows_the_session_type_and_host(write: Write) -> None:
    path = write("tunnels.yaml", TUNNELS)
    result = run_warden(
        "explain", "--policy", path, "--principal", DEVELOPER, "--target", "i-0abc", "--at", AT,
        "--document", "AWS-StartPortForwardingSessionToRemoteHost", "--host", "orders.dev.internal",
    )  # fmt: skip
    assert result.code == 0, result.stderr
    assert "AWS-StartPortForwardingSessionToRemoteHost (remote-port to orders.dev.internal)" in result.stdout


def test_explain_judges_a_role_session_named_like_a_user_as_the_role(write: Write) -> None:
    # GIVEN a rule for user:alice@example.com and someone's role session named alice@example.com
    path = write("alice.yaml", "version: 1\nrules:\n  - {name: alice, principals: ['user:alice@example.com']}\n")
    session = "arn:aws:sts::111122223333:assumed-role/AnyRole/alice@example.com"
    # WHEN each is explained, THEN only the IAM user of that name is allowed
    as_user = run_warden("explain", "--policy", path, "--principal", IAM_ALICE, "--target", "i-0", "--at", AT)
    as_session = run_warden("explain", "--policy", path, "--principal", session, "--target", "i-0", "--at", AT)
    assert (as_user.code, as_session.code) == (0, 1), as_user.stderr + as_session.stderr
    assert "AnyRole/alice@example.com on i-0" in as_session.stdout


def test_explain_judges_an_identity_center_session_only_with_its_role_path(write: Write) -> None:
    # GIVEN a rule for the Developer permission set and an Identity Center session's ARN (which has no path)
    path = write("tunnels.yaml", TUNNELS)
    role_arn = "arn:aws:iam::111122223333:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Developer_0123456789abcdef"
    base = (
        "explain",
        "--policy",
        path,
        "--principal",
        DEVELOPER,
        "--target",
        "i-0",
        "--at",
        AT,
        "--session-type",
        "port",
    )
    # WHEN it is explained with and without --role-arn
    with_path = run_warden(*base, "--role-arn", role_arn, "--json")
    without = run_warden(*base)
    # THEN the path makes it the permission set; without it, the role: pattern still matches by name
    assert with_path.code == 0, with_path.stderr
    assert with_path.json["rule"] == "dev-tunnels"
    assert "note: judged as an ordinary role" in without.stdout
    wrong = run_warden(*base, "--role-arn", "arn:aws:iam::111122223333:role/aws-reserved/sso.amazonaws.com/Other")
    assert wrong.code == 2
    assert "--principal: role_arn" in wrong.stderr
