"""`warden grant create|list --account --region` and `warden sessions --account --region` against the local cloud."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.cli.conftest import POLICY, cli_env, local_cloud, run_warden

START = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
HOME = "us-east-1"  # the local cloud's stack region
PROD_WEB = "222222222222"
PROD_DATA = "333333333333"


@pytest.fixture(scope="module")
def cloud() -> Iterator[Any]:
    with local_cloud(START, policy=POLICY) as running:
        yield running


@pytest.fixture
def env(cloud: Any) -> dict[str, str]:
    return cli_env(cloud)


def _grants_table(cloud: Any) -> Any:
    from warden.adapters.grants import DynamoGrantStore

    return DynamoGrantStore(cloud.client("dynamodb"), cloud.stack_outputs()["GrantsTableName"])


def _create(env: dict[str, str], *flags: str) -> str:
    result = run_warden(
        "grant", "create", "--principal", "user:alice", "--target", "i-0abc", "--for", "1h", "--reason", "INC-1",
        *flags, env=env,
    )  # fmt: skip
    assert result.code == 0, result.stderr
    return result.stdout.strip()


# --- grant create ----------------------------------------------------------------------------------------------------


def test_grant_create_stores_the_accounts_it_is_given(cloud: Any, env: dict[str, str]) -> None:
    # WHEN a grant is created for one account and an OU subtree
    result = run_warden(
        "grant", "create", "--principal", "user:alice", "--target", "i-0abc", "--for", "1h", "--reason", "INC-2",
        "--account", PROD_WEB, "--account", "ou:Production/*", "--json", env=env,
    )  # fmt: skip
    # THEN the printed and the stored grant carry them
    assert result.code == 0, result.stderr
    printed = result.json
    assert printed["accounts"] == [PROD_WEB, "ou:Production/*"]
    assert "regions" not in printed
    stored = _grants_table(cloud).get(printed["id"])
    assert stored is not None
    assert (stored.accounts, stored.regions) == ((PROD_WEB, "ou:Production/*"), None)


def test_grant_create_region_of_a_single_account_stack_is_the_stacks_region(cloud: Any, env: dict[str, str]) -> None:
    # GIVEN the single-account stack in us-east-1
    # WHEN a grant is created with --region us-east-1, as every command takes it, and with another region
    same = run_warden(
        "grant", "create", "--principal", "user:alice", "--target", "i-0abc", "--for", "1h", "--reason", "INC-4",
        "--region", HOME, "--json", env=env,
    )  # fmt: skip
    other = run_warden(
        "grant", "create", "--principal", "user:alice", "--target", "i-0abc", "--for", "1h", "--reason", "INC-4",
        "--region", "us-*", env=env,
    )  # fmt: skip
    # THEN the first is a grant for everywhere, as before (a region the warden never sees would allow nothing)
    assert same.code == 0, same.stderr
    stored = _grants_table(cloud).get(same.json["id"])
    assert stored is not None and stored.regions is None
    # AND the second is refused: a single-account warden names no regions
    assert other.code == 2
    assert other.stderr == (
        "warden: error: --region: us-*: a grant names regions in organization mode only; stack 'session-warden' "
        "guards one account in us-east-1\n"
    )


def test_grant_create_without_places_stores_a_grant_for_everywhere(cloud: Any, env: dict[str, str]) -> None:
    grant_id = _create(env)
    stored = _grants_table(cloud).get(grant_id)
    assert stored is not None
    assert (stored.accounts, stored.regions) == (None, None)


@pytest.mark.parametrize(
    ("flags", "says"),
    [
        (("--account", "2222"), "--account: '2222' is not an account id: an account id has exactly 12 digits, not 4"),
        (("--account", "ou:Production//Web"), "--account: 'ou:Production//Web': an empty OU name"),
        (("--region", "Europe"), "--region: 'Europe' is not a region name"),
        (("--account", PROD_WEB, "--region", "eu_*"), "--region: 'eu_*' is not a region glob"),
    ],
)
def test_grant_create_refuses_a_malformed_account_or_region(
    cloud: Any, env: dict[str, str], flags: tuple[str, ...], says: str
) -> None:
    before = len(_grants_table(cloud).all())
    result = run_warden(
        "grant", "create", "--principal", "user:bob", "--target", "i-0abc", "--for", "1h", "--reason", "INC-3", *flags,
        env=env,
    )  # fmt: skip
    assert result.code == 2
    assert result.stderr.startswith(f"warden: error: {says}")
    assert len(_grants_table(cloud).all()) == before


# --- grant list ------------------------------------------------------------------------------------------------------


def test_grant_list_account_lists_the_grants_that_may_apply_there(cloud: Any, env: dict[str, str]) -> None:
    # GIVEN grants for prod-web by id, for prod-data by id, for an OU, and for everywhere
    web = _create(env, "--account", PROD_WEB)
    data = _create(env, "--account", PROD_DATA)
    ou = _create(env, "--account", "ou:Development")
    everywhere = _create(env)
    # WHEN the grants of prod-web are listed
    listed = run_warden("grant", "list", "--account", PROD_WEB, "--json", env=env)
    # THEN the one naming it, the one naming an OU (paths are not looked up) and the one for everywhere are listed
    assert listed.code == 0, listed.stderr
    ids = {grant["id"] for grant in listed.json}
    assert {web, ou, everywhere} <= ids
    assert data not in ids


def _stored(cloud: Any, grant_id: str, **places: list[str]) -> str:
    """A grant written to the table as an organization-mode `grant create` writes it."""
    from warden.policy import Grant

    _grants_table(cloud).create(
        Grant.model_validate(
            {
                "id": grant_id,
                "principal": "user:alice",
                "targets": {"ids": ["i-0abc"]},
                "starts_at": START,
                "expires_at": START + timedelta(days=1),
                "reason": "INC-5",
                "created_by": "arn:aws:iam::123456789012:user/security",
                **places,
            }
        )
    )
    return grant_id


def test_grant_list_region_lists_the_grants_that_apply_in_that_region(cloud: Any, env: dict[str, str]) -> None:
    # GIVEN a grant for us-* and one for eu-west-1 only (the stack is in us-east-1)
    american = _stored(cloud, "g-american0000", regions=["us-*"])
    european = _stored(cloud, "g-european0000", regions=["eu-west-1"])
    # WHEN the grants are listed with --region us-east-1
    listed = run_warden("grant", "list", "--region", HOME, "--json", env=env)
    everything = run_warden("grant", "list", "--json", env=env)
    # THEN the European one is left out, and without --region both are there
    assert listed.code == everything.code == 0, listed.stderr
    assert american in {grant["id"] for grant in listed.json}
    assert european not in {grant["id"] for grant in listed.json}
    assert {american, european} <= {grant["id"] for grant in everything.json}


def test_grant_list_shows_a_grants_accounts_and_regions_with_its_targets(cloud: Any, env: dict[str, str]) -> None:
    grant_id = _stored(cloud, "g-placed000000", accounts=[PROD_WEB], regions=["eu-west-1"])
    table = run_warden("grant", "list", env=env, extra_env={"COLUMNS": "400"})
    assert table.code == 0, table.stderr
    assert table.lines[0].split() == ["ID", "PRINCIPAL", "TARGETS", "FROM", "UNTIL", "STATE", "REASON"]
    [row] = [line for line in table.lines if line.startswith(grant_id)]
    assert f"i-0abc; accounts {PROD_WEB}; regions" in row  # the column is cut at 40 characters


def test_grant_list_refuses_a_malformed_account(env: dict[str, str]) -> None:
    result = run_warden("grant", "list", "--account", "prod-web", env=env)
    assert result.code == 2
    assert (
        result.stderr
        == "warden: error: --account: 'prod-web' is not an account id: an account id has exactly 12 digits\n"
    )


# --- sessions --------------------------------------------------------------------------------------------------------


def _record(cloud: Any, session_id: str, *, account: str | None, region: str | None, minutes: int) -> None:
    """A ledger row as the functions write it: in organization mode keyed by its scope, else as always."""
    from warden.adapters.ledger import DynamoLedger
    from warden.records import LedgerEntry
    from warden.scope import Scope

    scope = Scope(account, region, org=True) if account is not None and region is not None else None
    ledger = DynamoLedger(cloud.client("dynamodb"), cloud.stack_outputs()["LedgerTableName"], scope=scope)
    ledger.record_start(
        LedgerEntry(
            session_id=session_id,
            principal="alice",
            target="i-0abc",
            document="SSM-SessionManagerRunShell",
            started_at=START + timedelta(minutes=minutes),
            decision="allow",
            basis="default-allow",
        )
    )


@pytest.fixture(scope="module")
def rows(cloud: Any) -> dict[str, str]:
    """Open rows: one of the stack's own (no account or region), and three of member accounts and regions."""
    made = {
        "own": "alice-own0000000000000000000",
        "web-home": "alice-webhome00000000000000",
        "web-europe": "alice-webeu000000000000000000",
        "data-home": "alice-datahome0000000000000",
    }
    _record(cloud, made["own"], account=None, region=None, minutes=1)
    _record(cloud, made["web-home"], account=PROD_WEB, region=HOME, minutes=2)
    _record(cloud, made["web-europe"], account=PROD_WEB, region="eu-west-1", minutes=3)
    _record(cloud, made["data-home"], account=PROD_DATA, region=HOME, minutes=4)
    return made


def _listed(env: dict[str, str], *flags: str) -> list[str]:
    result = run_warden("sessions", "--since", "1d", "--json", *flags, env=env)
    assert result.code == 0, result.stderr
    return [row["session_id"] for row in result.json]


def test_sessions_account_lists_only_the_rows_of_that_account(env: dict[str, str], rows: dict[str, str]) -> None:
    assert _listed(env, "--account", PROD_WEB) == [rows["web-europe"], rows["web-home"]]
    assert _listed(env, "--account", PROD_DATA) == [rows["data-home"]]


def test_sessions_rows_without_an_account_are_the_stacks_own(
    cloud: Any, env: dict[str, str], rows: dict[str, str]
) -> None:
    own_account = cloud.stack_outputs()["AlertsTopicArn"].split(":")[4]
    listed = _listed(env, "--account", own_account)
    assert rows["own"] in listed
    assert not {rows["web-home"], rows["web-europe"], rows["data-home"]} & set(listed)


def test_sessions_region_lists_only_the_rows_of_that_region(env: dict[str, str], rows: dict[str, str]) -> None:
    # --region us-east-1 is also where the stack is: the own row (no region) and the member rows of us-east-1
    listed = _listed(env, "--region", HOME)
    assert {rows["own"], rows["web-home"], rows["data-home"]} <= set(listed)
    assert rows["web-europe"] not in listed
    assert _listed(env, "--account", PROD_WEB, "--region", HOME) == [rows["web-home"]]


def test_sessions_active_with_an_account_reads_that_accounts_open_sessions(
    env: dict[str, str], rows: dict[str, str]
) -> None:
    # WHEN the open sessions of prod-web in us-east-1 are listed (indexed as open under 222222222222/us-east-1)
    result = run_warden("sessions", "--active", "--account", PROD_WEB, "--region", HOME, "--json", env=env)
    plain = run_warden("sessions", "--active", "--json", env=env)
    # THEN that account's open row is listed; without the flags, the open rows of the stack's own scope as always
    assert result.code == plain.code == 0, result.stderr
    assert [row["session_id"] for row in result.json] == [rows["web-home"]]
    assert rows["own"] in [row["session_id"] for row in plain.json]
    assert rows["web-home"] not in [row["session_id"] for row in plain.json]


def test_sessions_refuses_a_malformed_account(env: dict[str, str]) -> None:
    result = run_warden("sessions", "--account", "22222222222a", env=env)
    assert result.code == 2
    assert "--account: '22222222222a' is not an account id" in result.stderr
