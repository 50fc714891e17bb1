"""Scoped storage on the local cloud's DynamoDB, in the tables as template.yaml defines them: organization rows
and markers are keyed by account and region; single-account items are exactly what they always were."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.fakes import FakeClock
from warden.adapters.ledger import DynamoLedger
from warden.adapters.once import DynamoOnceStore
from warden.adapters.state import DynamoState
from warden.records import LedgerEntry
from warden.scope import Scope
from warden_local import LocalCloud
from warden_local.stack import load_template

TEMPLATE = Path(__file__).resolve().parents[2] / "template.yaml"
NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
PROD_WEB = Scope("222222222222", "eu-west-1", org=True)
PROD_WEB_US = Scope("222222222222", "us-east-1", org=True)
SESSION = "alice-0123456789abcdefghijklmn"


def create_table(dynamodb: Any, logical_id: str) -> str:
    """The table *logical_id* of template.yaml, with its keys and indexes as the stack creates them."""
    properties = load_template(TEMPLATE)["Resources"][logical_id]["Properties"]
    request: dict[str, Any] = {
        "TableName": logical_id,
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": properties["AttributeDefinitions"],
        "KeySchema": properties["KeySchema"],
    }
    if properties.get("GlobalSecondaryIndexes"):
        request["GlobalSecondaryIndexes"] = properties["GlobalSecondaryIndexes"]
    dynamodb.create_table(**request)
    return logical_id


@pytest.fixture
def dynamodb(bare_cloud: LocalCloud) -> Any:
    client = bare_cloud.client("dynamodb")
    for logical_id in ("LedgerTable", "IdempotencyTable", "StateTable"):
        create_table(client, logical_id)
    return client


def entry(session_id: str = SESSION) -> LedgerEntry:
    return LedgerEntry(
        session_id=session_id,
        principal_arn="arn:aws:iam::222222222222:user/alice",
        principal="alice",
        target="i-0web000000000001",
        started_at=NOW,
        decision="allow",
        event_id="ev-1",
    )


def raw(dynamodb: Any, table: str, key: dict[str, str]) -> dict[str, Any] | None:
    item: dict[str, Any] | None = dynamodb.get_item(
        TableName=table, Key={name: {"S": value} for name, value in key.items()}
    ).get("Item")
    return item


def test_an_organization_row_is_keyed_by_account_and_region_and_reads_back_with_its_real_id(dynamodb: Any) -> None:
    # GIVEN the ledger of prod-web in eu-west-1
    ledger = DynamoLedger(dynamodb, "LedgerTable", scope=PROD_WEB)
    # WHEN a session's start is recorded
    ledger.record_start(entry(), first=True)
    # THEN its item is keyed by account/region/id, says whose it is, and is open in its scope's index partition
    item = raw(dynamodb, "LedgerTable", {"session_id": f"222222222222/eu-west-1/{SESSION}"})
    assert item is not None
    assert (item["aws_session_id"]["S"], item["account"]["S"], item["region"]["S"], item["open"]["S"]) == (
        SESSION,
        "222222222222",
        "eu-west-1",
        "222222222222/eu-west-1",
    )
    # AND reading it back gives the real session id, with account and region
    found = ledger.get(SESSION)
    assert found is not None
    assert (found.session_id, found.account, found.region, found.status) == (
        SESSION,
        "222222222222",
        "eu-west-1",
        "open",
    )
    assert [row.session_id for row in ledger.open_entries()] == [SESSION]


def test_the_same_session_id_in_two_regions_is_two_rows_and_each_scope_sees_only_its_own(dynamodb: Any) -> None:
    europe = DynamoLedger(dynamodb, "LedgerTable", scope=PROD_WEB)
    america = DynamoLedger(dynamodb, "LedgerTable", scope=PROD_WEB_US)
    single = DynamoLedger(dynamodb, "LedgerTable")
    europe.record_start(entry(), first=True)
    america.record_start(entry(), first=True)
    # WHEN the European one ends
    assert europe.close(SESSION, ended_at=NOW + timedelta(minutes=5), ended_by="alice", reason="exit", started_at=NOW)
    # THEN the American one is still open, and the single-account ledger knows neither
    assert [row.session_id for row in america.open_entries()] == [SESSION]
    assert europe.open_entries() == []
    assert single.get(SESSION) is None and single.open_entries() == []


def test_an_end_seen_before_its_start_leaves_a_closed_stub_that_says_whose_it_is(dynamodb: Any) -> None:
    ledger = DynamoLedger(dynamodb, "LedgerTable", scope=PROD_WEB)
    ledger.close(SESSION, ended_at=NOW, ended_by="alice", reason="terminated by alice", started_at=None)
    stub = ledger.get(SESSION)
    assert stub is not None
    assert (stub.session_id, stub.account, stub.region, stub.status) == (SESSION, "222222222222", "eu-west-1", "ended")


def test_single_account_items_are_exactly_as_before(dynamodb: Any) -> None:
    # GIVEN no scope, and a single-account scope (org False): both write today's item
    DynamoLedger(dynamodb, "LedgerTable").record_start(entry("plain-1"), first=True)
    DynamoLedger(dynamodb, "LedgerTable", scope=Scope("123456789012", "us-east-1")).record_start(
        entry("plain-2"), first=True
    )
    for session_id in ("plain-1", "plain-2"):
        item = raw(dynamodb, "LedgerTable", {"session_id": session_id})
        assert item is not None
        assert item["open"] == {"S": "open"}
        assert not {"aws_session_id", "account", "region"} & set(item)


def test_once_markers_and_leases_of_two_scopes_are_independent(dynamodb: Any) -> None:
    clock = FakeClock(NOW)
    europe = DynamoOnceStore(dynamodb, "IdempotencyTable", clock, scope=PROD_WEB)
    america = DynamoOnceStore(dynamodb, "IdempotencyTable", clock, scope=PROD_WEB_US)
    single = DynamoOnceStore(dynamodb, "IdempotencyTable", clock)
    # WHEN each takes the sweeper lease THEN each gets its own
    assert europe.acquire("sweeper-lease", "sweep-eu", 115)
    assert america.acquire("sweeper-lease", "sweep-us", 115)
    assert single.acquire("sweeper-lease", "sweep-single", 115)
    assert not europe.acquire("sweeper-lease", "another", 115)
    assert raw(dynamodb, "IdempotencyTable", {"id": "warden#222222222222/eu-west-1/sweeper-lease"}) is not None
    assert raw(dynamodb, "IdempotencyTable", {"id": "warden#sweeper-lease"}) is not None


def test_heartbeat_unjudged_and_canary_are_per_scope_and_the_policy_copy_is_shared(dynamodb: Any) -> None:
    clock = FakeClock(NOW)
    europe = DynamoState(dynamodb, "StateTable", clock, scope=PROD_WEB)
    single = DynamoState(dynamodb, "StateTable", clock)
    europe.heartbeat(NOW)
    europe.unjudged_since(SESSION, NOW, "tags unreadable")
    assert europe.claim_canary_send("nonce-1", NOW.timestamp(), 300)
    europe.save("version: 1\n", "digest", NOW)
    # THEN the scope's items are under its label; the single-account ones are untouched; the policy copy is one
    assert raw(dynamodb, "StateTable", {"pk": "heartbeat#222222222222/eu-west-1", "sk": "sweep"}) is not None
    assert raw(dynamodb, "StateTable", {"pk": "canary#222222222222/eu-west-1", "sk": "state"}) is not None
    assert europe.last_heartbeat() == NOW and single.last_heartbeat() is None
    assert set(europe.unjudged()) == {SESSION} and single.unjudged() == {}
    assert single.canary() is None
    stored = single.load()
    assert stored is not None and stored.text == "version: 1\n"


@pytest.mark.parametrize("scope", [PROD_WEB, None], ids=["organization scope", "single account"])
def test_a_bulk_loaded_open_row_is_the_row_record_start_writes(dynamodb: Any, scope: Scope | None) -> None:
    # GIVEN the same session recorded by record_start in one table and bulk-written as open_item in another
    bulk_table = "BulkLedger"
    properties = load_template(TEMPLATE)["Resources"]["LedgerTable"]["Properties"]
    dynamodb.create_table(
        TableName=bulk_table,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=properties["AttributeDefinitions"],
        KeySchema=properties["KeySchema"],
        GlobalSecondaryIndexes=properties["GlobalSecondaryIndexes"],
    )
    recorded = DynamoLedger(dynamodb, "LedgerTable", scope=scope)
    bulk = DynamoLedger(dynamodb, bulk_table, scope=scope)
    recorded.record_start(entry())
    dynamodb.batch_write_item(RequestItems={bulk_table: [{"PutRequest": {"Item": bulk.open_item(entry())}}]})
    # WHEN both are read THEN the items are identical, and the scope's ledger lists the bulk row as open
    key = f"222222222222/eu-west-1/{SESSION}" if scope else SESSION
    assert raw(dynamodb, bulk_table, {"session_id": key}) == raw(dynamodb, "LedgerTable", {"session_id": key})
    assert [row.session_id for row in bulk.open_entries()] == [SESSION]
