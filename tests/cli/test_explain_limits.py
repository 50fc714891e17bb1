"""`warden explain --open-sessions N`: the decision as if N other sessions of the principal on the target were open."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.cli.conftest import Result, run_warden

Write = Callable[[str, str], str]

LIMITS = """\
version: 1
max_sessions_per_target: 3
rules:
  - name: ops
    principals: ["user:bob"]
    targets: {tags: {Team: ops}}
    max_sessions: 1
  - name: alice-anywhere
    principals: ["user:alice"]
"""
BOB = "arn:aws:iam::123456789012:user/bob"
ALICE = "arn:aws:iam::123456789012:user/alice"
AT = "2026-11-24T10:00:00Z"


@pytest.fixture
def limits_file(write: Write) -> str:
    return write("limits.yaml", LIMITS)


def explain(policy: str, principal: str, *extra: str) -> Result:
    return run_warden(
        "explain", "--policy", policy, "--principal", principal, "--target", "i-0abc", "--tag", "Team=ops",
        "--at", AT, *extra,
    )  # fmt: skip


def test_with_one_open_session_a_rule_limit_of_one_denies_and_names_the_assumed_holder(limits_file: str) -> None:
    # GIVEN bob may hold one session on ops machines / WHEN explained as if one were open
    result = explain(limits_file, BOB, "--open-sessions", "1", "--json")

    # THEN it is denied by that limit, naming the assumed session, and the JSON says what was assumed
    assert result.code == 1, result.stderr
    decision = result.json
    assert decision["decision"] == "deny"
    assert decision["rule"] == "ops"
    assert (
        decision["reasons"][0] == "max_sessions 1 of rule 'ops' is held by session open-1 on i-0abc since 09:59:59 UTC"
    )
    assert decision["open_sessions"] == 1


def test_with_no_open_session_it_is_allowed_and_the_text_says_a_limit_applies(limits_file: str) -> None:
    result = explain(limits_file, BOB)
    assert result.code == 0, result.stderr
    out = result.stdout
    assert out.startswith("ALLOW by rule ops: bob on i-0abc")
    assert "note: a session limit applies to this session; it was decided as if no other session were open" in out
    assert "pass --open-sessions N" in out


def test_open_sessions_count_against_the_per_target_limit_too(limits_file: str) -> None:
    # GIVEN alice has no rule limit, and the policy allows three sessions per target
    allowed = explain(limits_file, ALICE, "--open-sessions", "2", "--json")
    denied = explain(limits_file, ALICE, "--open-sessions", "3")

    # THEN two open leave room, three fill the target
    assert allowed.code == 0, allowed.stderr
    assert allowed.json["open_sessions"] == 2
    assert denied.code == 1
    out = denied.stdout
    assert out.startswith("DENY by max_sessions_per_target: alice on i-0abc")
    assert "  - max_sessions_per_target 3 on i-0abc is held by sessions open-1 of alice since 09:59:59 UTC" in out
    assert "note: as if 3 other session(s) of alice on i-0abc were open (Connected, started just before" in out


def test_the_text_names_the_rule_whose_limit_denies(limits_file: str) -> None:
    result = explain(limits_file, BOB, "--open-sessions", "1")
    assert result.stdout.startswith("DENY by the session limit of rule ops: bob on i-0abc")


def test_without_the_flag_the_json_has_no_open_sessions_key(limits_file: str) -> None:
    result = explain(limits_file, BOB, "--json")
    # SPEC's five keys, plus when the warnings before the deadline fire (SPEC section 9).
    assert set(result.json) == {"decision", "rule", "grant", "reasons", "deadline", "warnings"}


@pytest.mark.parametrize("value", ["-1", "x", "1.5", ""])
def test_a_bad_count_exits_2_and_says_what_is_expected(limits_file: str, value: str) -> None:
    result = explain(limits_file, BOB, "--open-sessions", value)
    assert result.code == 2
    assert "--open-sessions" in result.stderr
    assert "Traceback" not in result.stderr
