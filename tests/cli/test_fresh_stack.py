"""The commands on a freshly deployed stack: nothing granted, no sessions yet, and then no policy at all."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.cli.conftest import cli_env, local_cloud, run_warden


@pytest.fixture(scope="module")
def cloud() -> Iterator[Any]:
    with local_cloud(datetime(2026, 11, 24, 9, 0, tzinfo=UTC)) as running:
        yield running


@pytest.fixture
def env(cloud: Any) -> dict[str, str]:
    return cli_env(cloud)


ALICE_ARN = "arn:aws:iam::123456789012:user/alice"


def test_grant_list_says_there_are_no_grants(env: dict[str, str]) -> None:
    listed = run_warden("grant", "list", env=env)
    active = run_warden("grant", "list", "--active", env=env)
    as_json = run_warden("grant", "list", "--json", env=env)
    assert (listed.code, listed.stdout.strip()) == (0, "no grants")
    assert (active.code, active.stdout.strip()) == (0, "no active grants")
    assert (as_json.code, as_json.json) == (0, [])


def test_sessions_says_there_are_none_since_the_cutoff(env: dict[str, str]) -> None:
    listed = run_warden("sessions", env=env)
    active = run_warden("sessions", "--active", env=env)
    as_json = run_warden("sessions", "--json", env=env)
    as_csv = run_warden("sessions", "--csv", env=env)
    assert (listed.code, listed.stdout.strip()) == (0, "no sessions since 2026-11-17 09:00Z")
    assert (active.code, active.stdout.strip()) == (0, "no open sessions")
    assert (as_json.code, as_json.json) == (0, [])
    assert as_csv.code == 0
    assert as_csv.lines[0].startswith("session_id,status,principal,")
    assert len(as_csv.lines) == 1


def test_show_without_a_stored_policy_exits_1_saying_how_to_store_one(cloud: Any, env: dict[str, str]) -> None:
    # GIVEN the policy parameter is gone
    cloud.client("ssm").delete_parameter(Name=cloud.stack_outputs()["PolicyParameterName"])
    # WHEN the policy is shown
    result = run_warden("policy", "show", env=env)
    # THEN it exits 1 naming the parameter and the command that stores one
    assert result.code == 1
    assert "no policy stored" in result.stderr
    assert "warden policy push" in result.stderr


def test_explain_decides_at_the_local_clouds_clock(env: dict[str, str], policy_file: str) -> None:
    # GIVEN the local cloud's clock at Tuesday 09:00 UTC (10:00 in Berlin), far from the machine's own time
    # WHEN alice's session is explained with no event and no --at, pointed at the local cloud
    result = run_warden(
        "explain",
        "--policy",
        policy_file,
        "--principal",
        ALICE_ARN,
        "--target",
        "i-0a1b2c3d4e5f60718",
        "--json",
        env=env,
    )
    # THEN it is decided at the emulated now: inside business hours, for the rule's 2h
    assert result.code == 0, result.stderr
    assert result.json["rule"] == "alice-in-business-hours"
    assert result.json["deadline"] == "2026-11-24T11:00:00Z"


def test_a_local_endpoint_that_does_not_answer_is_named(policy_file: str) -> None:
    env = {"AWS_ENDPOINT_URL": "http://127.0.0.1:9", "AWS_DEFAULT_REGION": "us-east-1"}
    result = run_warden("explain", "--policy", policy_file, "--principal", ALICE_ARN, "--target", "i-0abc", env=env)
    assert result.code == 1
    assert "http://127.0.0.1:9/_warden/clock" in result.stderr
    assert "--at" in result.stderr


def test_warden_stack_sets_the_default_stack_and_stack_overrides_it(env: dict[str, str]) -> None:
    # GIVEN WARDEN_STACK names a stack that does not exist
    elsewhere = {**env, "WARDEN_STACK": "elsewhere"}
    # WHEN a command runs with it, and with --stack naming the real one
    defaulted = run_warden("grant", "list", env=elsewhere)
    overridden = run_warden("grant", "list", "--stack", "session-warden", env=elsewhere)
    # THEN the first looks for that stack and says so (exit 2: the input named it); the second finds the real one
    assert defaulted.code == 2
    assert defaulted.stderr.startswith("warden: error: --stack: no stack 'elsewhere' in us-east-1")
    assert (overridden.code, overridden.stdout.strip()) == (0, "no grants")
