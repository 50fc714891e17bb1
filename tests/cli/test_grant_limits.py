"""`warden grant create` under a policy that caps what grants may cover: grants.require_reason and grants.forbid."""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.cli.conftest import POLICY, cli_env, local_cloud, run_warden

START = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


def all_grants(cloud: Any) -> list[Any]:
    from warden.adapters.grants import DynamoGrantStore

    return DynamoGrantStore(cloud.client("dynamodb"), cloud.stack_outputs()["GrantsTableName"]).all()


def create(env: dict[str, str], *args: str) -> Any:
    return run_warden("grant", "create", *args, env=env)


LIMITED_POLICY = POLICY + textwrap.dedent(
    """\
    grants:
      max_duration: 8h
      require_reason: "^(INC|CHG)-[0-9]+"
      forbid:
        principals: ["role:AWSReservedSSO_Admin_*"]
        tags: {Compliance: pci}
    """
)


@pytest.fixture(scope="module")
def limited() -> Iterator[Any]:
    with local_cloud(START, policy=LIMITED_POLICY) as running:
        yield running


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--principal", "user:bob", "--tag", "Environment=prod", "--reason", "because"],
            "the policy refuses this grant: the reason 'because' does not match grants.require_reason",
        ),
        (
            ["--principal", "*", "--tag", "Environment=prod", "--reason", "INC-1", "--yes"],
            "principal '*' overlaps grants.forbid.principals 'role:AWSReservedSSO_Admin_*'",
        ),
        (
            ["--principal", "user:bob", "--tag", "Compliance=*", "--reason", "INC-1"],
            "tag Compliance=* overlaps grants.forbid.tags Compliance=pci",
        ),
    ],
)
def test_the_policy_refuses_grants_beyond_its_limits(limited: Any, args: list[str], message: str) -> None:
    result = create(cli_env(limited), *args, "--for", "1h")
    assert result.code == 2
    assert result.stderr.startswith("warden: error: ") and message in result.stderr
    assert all_grants(limited) == []


def test_a_grant_within_the_policys_limits_is_created(limited: Any) -> None:
    result = create(cli_env(limited), "--principal", "user:bob", "--tag", "Environment=prod", "--for", "1h",
                    "--reason", "INC-2 failover")  # fmt: skip
    assert result.code == 0, result.stderr
    assert [grant.id for grant in all_grants(limited)] == [result.stdout.strip()]
