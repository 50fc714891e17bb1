"""`warden org status` against moto in-process: an organization with member accounts in OUs, a central stack with
the organization outputs, and the scoped state the sweep workers and the tamper watch write. Every AWS call is
recorded: the command only reads."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from moto import mock_aws

from warden.adapters.dynamo import to_item
from warden.adapters.ledger import DynamoLedger
from warden.records import LedgerEntry
from warden.scope import Scope
from warden_cli.aws import Aws, Connection
from warden_cli.main import main

HOME, OTHER = "us-east-1", "eu-west-1"
STACK = "session-warden"
READ_ONLY = ("Describe", "Get", "List", "Query", "Scan")
TEMPLATE = {
    "Resources": {
        "Marker": {
            "Type": "AWS::SSM::Parameter",
            "Properties": {"Name": "/session-warden/marker", "Type": "String", "Value": "x"},
        }
    },
    "Outputs": {},
}


@dataclass
class Org:
    central: str
    members: dict[str, str]  # name -> account id
    now: datetime
    calls: list[str]

    def canary(self, account: str, region: str, **item: Any) -> None:
        state = {"pk": f"canary#{account}/{region}", "sk": "state", **item}
        boto3.client("dynamodb", region_name=HOME).put_item(TableName="state", Item=to_item(state))

    def heartbeat(self, account: str, region: str, at: datetime) -> None:
        item = {"pk": f"heartbeat#{account}/{region}", "sk": "sweep", "at": int(at.timestamp())}
        boto3.client("dynamodb", region_name=HOME).put_item(TableName="state", Item=to_item(item))

    def covered(self, account: str, region: str) -> None:
        seen = self.now - timedelta(minutes=2)
        self.canary(account, region, nonce="n", sent_at=int(seen.timestamp()) - 1, seen_at=int(seen.timestamp()))
        self.canary_round_trip(account, region)
        self.heartbeat(account, region, self.now - timedelta(seconds=40))

    def canary_round_trip(self, account: str, region: str) -> None:
        boto3.client("dynamodb", region_name=HOME).update_item(
            TableName="state",
            Key={"pk": {"S": f"canary#{account}/{region}"}, "sk": {"S": "state"}},
            UpdateExpression="SET round_trip_ms = :ms",
            ExpressionAttributeValues={":ms": {"N": "1250"}},
        )


def _tables() -> None:
    dynamodb = boto3.client("dynamodb", region_name=HOME)
    dynamodb.create_table(
        TableName="state",
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
    )
    dynamodb.create_table(
        TableName="ledger",
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[
            {"AttributeName": "session_id", "AttributeType": "S"},
            {"AttributeName": "open", "AttributeType": "S"},
            {"AttributeName": "started_at", "AttributeType": "S"},
        ],
        KeySchema=[{"AttributeName": "session_id", "KeyType": "HASH"}],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "open-sessions",
                "KeySchema": [
                    {"AttributeName": "open", "KeyType": "HASH"},
                    {"AttributeName": "started_at", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
    )


@pytest.fixture
def org(monkeypatch: pytest.MonkeyPatch) -> Iterator[Org]:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    with mock_aws():
        organizations = boto3.client("organizations", region_name=HOME)
        organizations.create_organization(FeatureSet="ALL")
        central = boto3.client("sts", region_name=HOME).get_caller_identity()["Account"]
        root = organizations.list_roots()["Roots"][0]["Id"]
        production = organizations.create_organizational_unit(ParentId=root, Name="Production")["OrganizationalUnit"]
        web = organizations.create_organizational_unit(ParentId=production["Id"], Name="Web")["OrganizationalUnit"]
        members = {}
        for name, ou in (("prod-web", web["Id"]), ("prod-data", production["Id"])):
            created = organizations.create_account(AccountName=name, Email=f"{name}@example.com")
            account = created["CreateAccountStatus"]["AccountId"]
            organizations.move_account(AccountId=account, SourceParentId=root, DestinationParentId=ou)
            members[name] = account
        _tables()
        outputs = {
            "AlertsTopicArn": f"arn:aws:sns:{HOME}:{central}:alerts",
            "GrantsTableName": "grants",
            "LedgerTableName": "ledger",
            "PolicyParameterName": f"/session-warden/{STACK}/policy",
            "StateTableName": "state",
            "CentralEventBusName": f"{STACK}-central",
            "CentralEventBusArn": f"arn:aws:events:{HOME}:{central}:event-bus/{STACK}-central",
            "OrganizationId": organizations.describe_organization()["Organization"]["Id"],
            "GuardedRegionList": f"{HOME},{OTHER}",
            "MemberRoleName": "session-warden-member",
            "CentralRoleArns": f"arn:aws:iam::{central}:role/{STACK}-warden-sweep",
        }
        template = {**TEMPLATE, "Outputs": {key: {"Value": value} for key, value in outputs.items()}}
        boto3.client("cloudformation", region_name=HOME).create_stack(
            StackName=STACK, TemplateBody=json.dumps(template)
        )
        calls: list[str] = []
        real_client = Aws.client

        def recording(self: Aws, service: str) -> Any:
            client = real_client(self, service)
            if not getattr(client, "_recorded", False):
                client.meta.events.register(
                    "before-call.*.*", lambda model, **_: calls.append(f"{service}:{model.name}")
                )
                client._recorded = True
            return client

        monkeypatch.setattr(Aws, "client", recording)
        yield Org(central=central, members=members, now=datetime.now(UTC), calls=calls)


def status(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["org", "status", *args], connection=Connection(region=HOME))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_every_account_and_region_covered_is_exit_0_with_one_row_each(
    org: Org, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN every scope's canary came back recently and its sweep completed
    accounts = [org.central, *org.members.values()]
    for account in accounts:
        for region in (HOME, OTHER):
            org.covered(account, region)
    ledger = DynamoLedger(
        boto3.client("dynamodb", region_name=HOME), "ledger", scope=Scope(org.members["prod-web"], OTHER, org=True)
    )
    ledger.record_start(
        LedgerEntry(
            session_id="alice-0000000000000000000000001", principal="alice", target="i-0web", started_at=org.now
        )
    )

    # WHEN `warden org status --json` runs
    code, out, err = status(capsys, "--json")

    # THEN every account (but the management account, which is the central one here) x region is a covered row
    assert code == 0, err
    report = json.loads(out)
    assert report["covered"] is True and report["problems"] == []
    rows = {(row["account"], row["region"]): row for row in report["scopes"]}
    assert set(rows) == {(account, region) for account in accounts for region in (HOME, OTHER)}
    web = rows[(org.members["prod-web"], OTHER)]
    assert (web["name"], web["ou_path"], web["covered"], web["round_trip_ms"]) == (
        "prod-web",
        "Production/Web",
        True,
        1250,
    )
    assert web["open_sessions"] == 1
    assert rows[(org.members["prod-data"], HOME)]["open_sessions"] == 0
    assert all(row["last_sweep_at"] for row in rows.values())
    # AND it only read
    assert org.calls and all(call.split(":", 1)[1].startswith(READ_ONLY) for call in org.calls), org.calls


def test_a_scope_not_covered_is_exit_1_with_one_line_saying_why_and_what_to_do(
    org: Org, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN prod-data's canary in eu-west-1 has not come back for 12 minutes, and prod-web's member role is refused
    for account in (org.central, *org.members.values()):
        for region in (HOME, OTHER):
            org.covered(account, region)
    waiting = int((org.now - timedelta(minutes=12)).timestamp())
    org.canary(org.members["prod-data"], OTHER, nonce="n2", sent_at=waiting, waiting_since=waiting)
    org.canary(
        org.members["prod-web"], HOME, nonce="n3", sent_at=waiting, waiting_since=waiting, unreachable="AccessDenied"
    )

    # WHEN `warden org status` runs
    code, out, _ = status(capsys)

    # THEN it exits 1, the two rows say no and why, and one problem line each says what to do
    assert code == 1
    lines = out.splitlines()
    [data_row] = [line for line in lines if line.startswith(org.members["prod-data"]) and OTHER in line]
    assert "no: canary not back since" in data_row
    [web_row] = [line for line in lines if line.startswith(org.members["prod-web"]) and HOME in line]
    assert "no: member role not assumable" in web_row
    problems = [line for line in lines if line.startswith("- ")]
    assert len(problems) == 2
    assert any(
        "forwarding rule" in line and "warden org deploy --ou Production --regions eu-west-1" in line
        for line in problems
    )
    assert any("member role cannot be assumed" in line and "--ou Production/Web" in line for line in problems)
    assert "4 of 6 account-regions covered" in out


def test_a_scope_never_swept_is_not_covered(org: Org, capsys: pytest.CaptureFixture[str]) -> None:
    for region in (HOME, OTHER):
        org.covered(org.central, region)
        org.covered(org.members["prod-web"], region)
    # prod-data has no state at all: no worker ever swept it

    code, out, _ = status(capsys, "--json")

    assert code == 1
    report = json.loads(out)
    missing = [row for row in report["scopes"] if not row["covered"]]
    assert {(row["account"], row["why"]) for row in missing} == {(org.members["prod-data"], "no canary sent yet")}
    assert len(report["problems"]) == 2


def test_a_stack_not_in_organization_mode_exits_2(org: Org, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = status(capsys, "--stack", "no-such-stack")
    assert code == 2
    assert "no-such-stack" in err


def test_warden_status_reads_the_central_home_scopes_canary_in_organization_mode() -> None:
    from warden_cli.status_liveness import canary_partition
    from warden_cli.status_report import Stack

    topic = "arn:aws:sns:us-east-1:123456789012:alerts"
    one = Stack(STACK, HOME, {"AlertsTopicArn": topic}, "CREATE_COMPLETE", None, {})
    org = Stack(STACK, HOME, {"AlertsTopicArn": topic, "OrganizationId": "o-warden0001"}, "CREATE_COMPLETE", None, {})
    assert canary_partition(one) == "canary"  # one account: exactly as before
    assert canary_partition(org) == "canary#123456789012/us-east-1"  # what the central scope's sweep worker writes


def test_a_scope_whose_sweeps_stopped_is_named_by_org_status_and_warden_status_as_the_sweeper_judges_it(
    org: Org, capsys: pytest.CaptureFixture[str]
) -> None:
    from warden_cli.org_sweeps import scope_sweeps
    from warden_cli.status_report import Report, Stack

    # GIVEN every scope covered, but prod-data's last completed sweep in eu-west-1 was 10 minutes ago, and a scope
    # the sweeper has only just begun to watch (no sweep yet, watched 1 minute ago)
    for account in (org.central, *org.members.values()):
        for region in (HOME, OTHER):
            org.covered(account, region)
    org.heartbeat(org.members["prod-data"], OTHER, org.now - timedelta(minutes=10))
    new = {"pk": f"heartbeat#{org.members['prod-web']}/{HOME}", "sk": "sweep", "watched": int(org.now.timestamp()) - 60}
    boto3.client("dynamodb", region_name=HOME).put_item(TableName="state", Item=to_item(new))

    # WHEN `warden org status --json` runs, and `warden status`'s check of the organization's sweeps
    code, out, _ = status(capsys, "--json")
    report = Report(org.now)
    stack = Stack(STACK, HOME, {"OrganizationId": "o-x", "StateTableName": "state"}, "CREATE_COMPLETE", None, {})
    aws = Aws(profile=None, region=HOME, stack=STACK, connection=Connection(region=HOME))
    scope_sweeps(report, aws, stack)

    # THEN org status exits 1 with that scope not covered, its sweeps stopped since its last sweep, one line saying
    # what to look at; the new scope is in its grace
    assert code == 1
    rows = {(row["account"], row["region"]): row for row in json.loads(out)["scopes"]}
    data = rows[(org.members["prod-data"], OTHER)]
    assert (data["covered"], data["why"]) == (False, "sweeps stopped (last 10m ago)")
    assert data["sweeps_stopped_since"] == data["last_sweep_at"]
    assert rows[(org.members["prod-web"], HOME)]["sweeps_stopped_since"] is None
    [problem] = json.loads(out)["problems"]
    assert "its sweeps have stopped" in problem and "event source mapping" in problem
    # AND warden status names the same scope, and only it
    [named] = report.problems
    assert f"{org.members['prod-data']} (prod-data) in {OTHER} have stopped" in named
    assert report.fields["scopes"]["sweeps_stopped"] == [f"{org.members['prod-data']}/{OTHER}"]
