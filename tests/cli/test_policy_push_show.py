"""`warden policy push|show` against the local cloud: validate, store in the stack's parameter, print it back."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.cli.conftest import POLICY, cli_env, local_cloud, run_warden

Write = Callable[[str, str], str]

INVALID = "version: 1\nrules:\n  - name: r\n    windows: [nope]\n"


@pytest.fixture(scope="module")
def cloud() -> Iterator[Any]:
    with local_cloud(datetime(2026, 11, 24, 9, 0, tzinfo=UTC)) as running:
        yield running


@pytest.fixture
def env(cloud: Any) -> dict[str, str]:
    return cli_env(cloud)


def stored(cloud: Any) -> dict[str, Any]:
    name = cloud.stack_outputs()["PolicyParameterName"]
    parameter: dict[str, Any] = cloud.client("ssm").get_parameter(Name=name)["Parameter"]
    return parameter


def test_push_stores_the_file_in_the_stacks_parameter(cloud: Any, env: dict[str, str], policy_file: str) -> None:
    # GIVEN the stack with its policy parameter at some version
    before = stored(cloud)["Version"]
    # WHEN a valid policy file is pushed
    result = run_warden("policy", "push", policy_file, env=env)
    # THEN the parameter holds the file's text at the next version, and the output says so
    assert result.code == 0, result.stderr
    after = stored(cloud)
    assert after["Value"] == POLICY
    assert after["Version"] == before + 1
    name = cloud.stack_outputs()["PolicyParameterName"]
    assert result.lines[0] == (
        f"pushed {policy_file} to {name} (version {after['Version']}): 3 rules, 1 window, mode enforce, default deny"
    )


def test_push_json_reports_parameter_version_and_document(cloud: Any, env: dict[str, str], policy_file: str) -> None:
    result = run_warden("policy", "push", policy_file, "--json", env=env)
    assert result.code == 0, result.stderr
    pushed = result.json
    assert set(pushed) == {"parameter", "version", "policy"}
    assert pushed["parameter"] == cloud.stack_outputs()["PolicyParameterName"]
    assert pushed["version"] == stored(cloud)["Version"]
    assert [rule["name"] for rule in pushed["policy"]["rules"]] == ["alice-in-business-hours", "ops-admins", "no-pci"]


def test_an_invalid_policy_is_never_pushed(cloud: Any, env: dict[str, str], write: Write) -> None:
    # GIVEN whatever is stored now
    before = stored(cloud)
    path = write("invalid.yaml", INVALID)
    # WHEN an invalid file is pushed
    result = run_warden("policy", "push", path, env=env)
    # THEN it exits 2 naming the problem and the parameter is untouched
    assert result.code == 2
    assert f"{path}: line 4: rules[0].windows[0]: unknown window 'nope'" in result.stderr
    assert "nothing was pushed" in result.stderr
    after = stored(cloud)
    assert (after["Value"], after["Version"]) == (before["Value"], before["Version"])


def test_push_of_an_unreadable_file_exits_2_naming_it(env: dict[str, str]) -> None:
    result = run_warden("policy", "push", "nowhere.yaml", env=env)
    assert result.code == 2
    assert "nowhere.yaml" in result.stderr


def test_a_policy_too_big_for_parameter_store_is_refused(cloud: Any, env: dict[str, str], write: Write) -> None:
    before = stored(cloud)["Version"]
    path = write("big.yaml", POLICY + "#" + "x" * 9000 + "\n")
    result = run_warden("policy", "push", path, env=env)
    assert result.code == 2
    assert path in result.stderr
    assert stored(cloud)["Version"] == before


def test_show_prints_the_stored_document_as_stored(cloud: Any, env: dict[str, str], policy_file: str) -> None:
    # GIVEN a pushed policy (comments and layout included)
    assert run_warden("policy", "push", policy_file, env=env).code == 0
    # WHEN it is shown
    result = run_warden("policy", "show", env=env)
    # THEN stdout is the document exactly as stored, and it is reported valid
    assert result.code == 0, result.stderr
    assert result.stdout == POLICY
    assert "valid — 3 rules, 1 window" in result.stderr


def test_show_json_holds_parameter_version_validity_and_document(
    cloud: Any, env: dict[str, str], policy_file: str
) -> None:
    assert run_warden("policy", "push", policy_file, env=env).code == 0
    result = run_warden("policy", "show", "--json", env=env)
    assert result.code == 0, result.stderr
    shown = result.json
    assert set(shown) == {"parameter", "version", "valid", "policy"}
    assert shown["valid"] is True
    assert shown["version"] == stored(cloud)["Version"]
    assert shown["policy"]["default"] == "deny"
    assert shown["policy"]["windows"]["business-hours"]["timezone"] == "Europe/Berlin"


def test_show_says_when_the_stored_document_is_invalid_and_what_stays_in_force(
    cloud: Any, env: dict[str, str], policy_file: str
) -> None:
    # GIVEN a valid version, then an invalid one written behind the CLI's back
    assert run_warden("policy", "push", policy_file, env=env).code == 0
    valid_version = stored(cloud)["Version"]
    cloud.put_policy(INVALID)
    try:
        # WHEN the policy is shown
        result = run_warden("policy", "show", env=env)
        as_json = run_warden("policy", "show", "--json", env=env)
    finally:
        assert run_warden("policy", "push", policy_file, env=env).code == 0
    # THEN it exits 1, names the problem, and shows the document in force: the last valid version
    assert result.code == 1
    assert "rules[0].windows[0]: unknown window 'nope'" in result.stderr
    assert f"version {valid_version} (the last valid one) stays in force" in result.stderr
    assert result.stdout == Path(policy_file).read_text()
    assert as_json.code == 1
    assert (as_json.json["valid"], as_json.json["version"]) == (True, valid_version)
    assert as_json.json["rejected"]["version"] == valid_version + 1
    assert "unknown window 'nope'" in as_json.json["rejected"]["problems"][0]


def test_a_missing_stack_is_a_clear_error_naming_it(env: dict[str, str], policy_file: str) -> None:
    for args in (["policy", "show"], ["policy", "push", policy_file]):
        result = run_warden(*args, "--stack", "no-such-stack", env=env)
        assert result.code == 2
        assert "no-such-stack" in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1
