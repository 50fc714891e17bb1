"""`warden org deploy` against a boto3-level fake of CloudFormation StackSets and Organizations (the emulated
organization of the contract: Production/Web, Production, Development; the management account is never a target)."""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from warden_cli import org_deploy
from warden_cli.aws import Aws, Connection
from warden_cli.main import main
from warden_cli.org_deploy import deploy
from warden_cli.org_deploy_stackset import Waiting
from warden_cli.org_stack import member_parameters, org_outputs_of

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = (ROOT / "org" / "member.yaml").read_text()
STACK, CENTRAL, HOME, OTHER = "session-warden", "123456789012", "us-east-1", "eu-west-1"
ROOT_ID = "r-wrdn"
OUS = {  # id -> (name, parent)
    "ou-wrdn-production": ("Production", ROOT_ID),
    "ou-wrdn-prodweb01": ("Web", "ou-wrdn-production"),
    "ou-wrdn-development": ("Development", ROOT_ID),
    "ou-wrdn-sandbox01": ("Sandbox", ROOT_ID),  # no account in it
}
ACCOUNTS = {  # account -> OU it is directly in
    "111111111111": ROOT_ID,  # the management account
    "222222222222": "ou-wrdn-prodweb01",
    "333333333333": "ou-wrdn-production",
    "444444444444": "ou-wrdn-development",
}
MANAGEMENT = "111111111111"
ROLES = ",".join(f"arn:aws:iam::{CENTRAL}:role/{STACK}-warden-{kind}" for kind in ("start", "end", "sweep", "tamper"))
OUTPUTS = {
    "AlertsTopicArn": f"arn:aws:sns:{HOME}:{CENTRAL}:alerts",
    "GrantsTableName": "grants",
    "LedgerTableName": "ledger",
    "PolicyParameterName": f"/session-warden/{STACK}/policy",
    "CentralEventBusName": f"{STACK}-central",
    "CentralEventBusArn": f"arn:aws:events:{HOME}:{CENTRAL}:event-bus/{STACK}-central",
    "OrganizationId": "o-warden0001",
    "GuardedRegionList": f"{HOME},{OTHER}",
    "MemberRoleName": "session-warden-member",
    "CentralRoleArns": ROLES,
}


def refused(operation: str, code: str, message: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}}, operation)


class FakeOrganizations:
    """ListRoots and ListOrganizationalUnitsForParent, one OU per page (so paging is exercised)."""

    def __init__(self) -> None:
        self.refuse: ClientError | None = None

    def list_roots(self) -> dict[str, Any]:
        if self.refuse:
            raise self.refuse
        return {"Roots": [{"Id": ROOT_ID, "Name": "Root"}]}

    def list_organizational_units_for_parent(self, ParentId: str, NextToken: str | None = None) -> dict[str, Any]:
        children = [{"Id": ou, "Name": name} for ou, (name, parent) in OUS.items() if parent == ParentId]
        start = int(NextToken or 0)
        page = {"OrganizationalUnits": children[start : start + 1]}
        if start + 1 < len(children):
            page["NextToken"] = str(start + 1)
        return page


@dataclass
class Operation:
    results: list[dict[str, Any]]
    polls_left: int  # DescribeStackSetOperation answers RUNNING this many times first
    status: str = "SUCCEEDED"


@dataclass
class FakeCloudFormation:
    """The StackSet calls `warden org deploy` makes (as the delegated administrator), and plain stacks (relays)."""

    region: str
    outputs: dict[str, str] = field(default_factory=lambda: dict(OUTPUTS))
    stack_sets: dict[str, dict[str, Any]] = field(default_factory=dict)
    operations: dict[str, Operation] = field(default_factory=dict)
    stacks: dict[str, dict[str, Any]] = field(default_factory=dict)
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    fail: dict[tuple[str, str], str] = field(default_factory=dict)  # (account, region) -> reason
    polls: int = 0  # how long each operation runs
    refuse: dict[str, ClientError] = field(default_factory=dict)  # operation -> error
    relay_status: str = "CREATE_COMPLETE"
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def _call(self, name: str, request: dict[str, Any]) -> None:
        self.calls.append((name, request))
        if name in self.refuse:
            raise self.refuse[name]

    def _busy(self, stack_set: str) -> None:
        if any(op.polls_left > 0 for op in self.operations.values()):
            raise refused(
                "Op", "OperationInProgressException", f"Another Operation on StackSet {stack_set} is in progress"
            )

    # -- the central stack
    def describe_stacks(self, StackName: str) -> dict[str, Any]:
        self.calls.append(("DescribeStacks", {"StackName": StackName}))
        if StackName == STACK and self.region == HOME:
            outputs = [{"OutputKey": k, "OutputValue": v} for k, v in self.outputs.items()]
            return {"Stacks": [{"StackName": STACK, "StackStatus": "UPDATE_COMPLETE", "Outputs": outputs}]}
        if StackName in self.stacks:
            return {"Stacks": [self.stacks[StackName]]}
        raise refused("DescribeStacks", "ValidationError", f"Stack with id {StackName} does not exist")

    # -- StackSets
    def describe_stack_set(self, **request: Any) -> dict[str, Any]:
        self._call("DescribeStackSet", request)
        assert request["CallAs"] == "DELEGATED_ADMIN"
        if request["StackSetName"] not in self.stack_sets:
            raise refused(
                "DescribeStackSet", "StackSetNotFoundException", f"StackSet {request['StackSetName']} not found"
            )
        return {"StackSet": self.stack_sets[request["StackSetName"]]}

    def create_stack_set(self, **request: Any) -> dict[str, Any]:
        self._call("CreateStackSet", request)
        self.stack_sets[request["StackSetName"]] = {**request, "Status": "ACTIVE", "instances": set()}
        return {"StackSetId": f"{request['StackSetName']}:1"}

    def update_stack_set(self, **request: Any) -> dict[str, Any]:
        self._call("UpdateStackSet", request)
        stack_set = self.stack_sets[request["StackSetName"]]
        self._busy(request["StackSetName"])
        stack_set.update({k: v for k, v in request.items() if k not in ("OperationPreferences",)})
        return {"OperationId": self._operation(sorted(stack_set["instances"]))}

    def create_stack_instances(self, **request: Any) -> dict[str, Any]:
        self._call("CreateStackInstances", request)
        if request["StackSetName"] not in self.stack_sets:
            raise refused("CreateStackInstances", "StackSetNotFoundException", "StackSet not found")
        self._busy(request["StackSetName"])
        targets = set(request["DeploymentTargets"]["OrganizationalUnitIds"])
        accounts = [a for a, ou in ACCOUNTS.items() if a != MANAGEMENT and self._under(ou, targets)]
        pairs = [(a, r) for a in accounts for r in request["Regions"]]
        self.stack_sets[request["StackSetName"]]["instances"].update(pairs)
        return {"OperationId": self._operation(pairs)}

    def _under(self, ou: str, targets: set[str]) -> bool:
        while ou != ROOT_ID:
            if ou in targets:
                return True
            ou = OUS[ou][1]
        return ROOT_ID in targets

    def _operation(self, pairs: list[tuple[str, str]]) -> str:
        operation = f"op-{next(self._ids)}"
        results = [
            {
                "Account": account,
                "Region": region,
                "Status": "FAILED" if (account, region) in self.fail else "SUCCEEDED",
                "StatusReason": self.fail.get((account, region), ""),
            }
            for account, region in pairs
        ]
        failed = any(r["Status"] == "FAILED" for r in results)
        self.operations[operation] = Operation(results, self.polls, "FAILED" if failed else "SUCCEEDED")
        return operation

    def describe_stack_set_operation(self, **request: Any) -> dict[str, Any]:
        self._call("DescribeStackSetOperation", request)
        operation = self.operations[request["OperationId"]]
        if operation.polls_left > 0:
            operation.polls_left -= 1
            return {"StackSetOperation": {"Status": "RUNNING"}}
        return {"StackSetOperation": {"Status": operation.status}}

    def list_stack_set_operation_results(self, **request: Any) -> dict[str, Any]:
        self._call("ListStackSetOperationResults", request)
        results = self.operations[request["OperationId"]].results
        start = int(request.get("NextToken") or 0)
        page: dict[str, Any] = {"Summaries": results[start : start + 2]}
        if start + 2 < len(results):
            page["NextToken"] = str(start + 2)
        return page

    # -- relay stacks
    def create_stack(self, **request: Any) -> dict[str, Any]:
        self._call("CreateStack", request)
        reason = "" if self.relay_status == "CREATE_COMPLETE" else "Resource creation cancelled"
        self.stacks[request["StackName"]] = {
            "StackName": request["StackName"],
            "StackStatus": self.relay_status,
            "StackStatusReason": reason,
            "Parameters": request["Parameters"],
        }
        return {"StackId": request["StackName"]}

    def update_stack(self, **request: Any) -> dict[str, Any]:
        self._call("UpdateStack", request)
        raise refused("UpdateStack", "ValidationError", "No updates are to be performed.")

    def called(self, name: str) -> list[dict[str, Any]]:
        return [request for call, request in self.calls if call == name]


@dataclass
class FakeClients:
    home: FakeCloudFormation = field(default_factory=lambda: FakeCloudFormation(HOME))
    others: dict[str, FakeCloudFormation] = field(default_factory=dict)
    orgs: FakeOrganizations = field(default_factory=FakeOrganizations)

    def cloudformation(self, region: str) -> FakeCloudFormation:
        if region == HOME:
            return self.home
        return self.others.setdefault(region, FakeCloudFormation(region))

    def organizations(self) -> FakeOrganizations:
        return self.orgs


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> FakeClients:
    clients = FakeClients()
    monkeypatch.setattr(org_deploy, "clients_for", lambda aws: clients)
    monkeypatch.setattr(
        Aws, "client", lambda self, service: {"cloudformation": clients.home, "organizations": clients.orgs}[service]
    )
    return clients


def warden(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["org", "deploy", *args], connection=Connection(region=HOME))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def table(out: str) -> list[list[str]]:
    return [line.split() for line in out.splitlines() if line[:12].isdigit()]


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_a_first_deploy_creates_a_service_managed_stack_set_with_automatic_deployment_and_adds_the_ous(
    fake: FakeClients, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = warden(capsys, "--ou", "Production/Web", "ou-wrdn-development", "--regions", HOME, OTHER)

    assert code == 0, err
    [created] = fake.home.called("CreateStackSet")
    assert created["StackSetName"] == f"{STACK}-members"
    assert created["PermissionModel"] == "SERVICE_MANAGED"
    assert created["AutoDeployment"] == {"Enabled": True, "RetainStacksOnAccountRemoval": False}
    assert created["CallAs"] == "DELEGATED_ADMIN"
    assert created["Capabilities"] == ["CAPABILITY_NAMED_IAM"]
    assert created["TemplateBody"] == TEMPLATE
    expected = member_parameters(org_outputs_of(STACK, OUTPUTS))
    assert {p["ParameterKey"]: p["ParameterValue"] for p in created["Parameters"]} == expected
    assert expected["Relay"] == "false" and expected["HomeRegion"] == HOME and expected["CentralAccountId"] == CENTRAL
    [instances] = fake.home.called("CreateStackInstances")
    assert instances["DeploymentTargets"] == {"OrganizationalUnitIds": ["ou-wrdn-prodweb01", "ou-wrdn-development"]}
    assert instances["Regions"] == [HOME, OTHER]
    assert instances["CallAs"] == "DELEGATED_ADMIN"
    # One line per account x region (the management account never), then the central account's relay.
    assert [row[:4] for row in table(out)] == [
        ["222222222222", HOME, "member", "SUCCEEDED"],
        ["222222222222", OTHER, "member", "SUCCEEDED"],
        ["444444444444", HOME, "member", "SUCCEEDED"],
        ["444444444444", OTHER, "member", "SUCCEEDED"],
        ["123456789012", OTHER, "relay", "CREATE_COMPLETE"],
    ]
    assert MANAGEMENT not in out


def test_the_relay_in_the_central_accounts_other_region_is_the_member_template_as_relay(
    fake: FakeClients, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = warden(capsys, "--ou", "Production", "--regions", HOME, OTHER)

    assert code == 0, err
    assert fake.home.called("CreateStack") == []  # the home region is the central stack's own
    [relay] = fake.others[OTHER].called("CreateStack")
    assert relay["StackName"] == f"{STACK}-relay"
    assert relay["TemplateBody"] == TEMPLATE
    assert {p["ParameterKey"]: p["ParameterValue"] for p in relay["Parameters"]}["Relay"] == "true"


def test_without_regions_the_guarded_ones_are_deployed_and_the_home_region_is_always_one(
    fake: FakeClients, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, _ = warden(capsys, "--ou", "Development")
    assert code == 0
    assert fake.home.called("CreateStackInstances")[0]["Regions"] == [HOME, OTHER]

    code, out, _ = warden(capsys, "--ou", "Development", "--regions", OTHER)
    assert code == 0
    assert fake.home.called("CreateStackInstances")[1]["Regions"] == [HOME, OTHER]
    assert f"the home region {HOME} is added" in out


def test_a_region_the_central_stack_does_not_guard_is_refused_before_anything_is_deployed(
    fake: FakeClients, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = warden(capsys, "--ou", "Development", "--regions", "ap-south-1")

    assert code == 2
    assert "ap-south-1 not guarded" in err and "GuardedRegions" in err
    assert fake.home.called("CreateStackSet") == []


def test_an_ou_path_that_does_not_exist_names_the_missing_ou_and_where(
    fake: FakeClients, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = warden(capsys, "--ou", "Production/Mobile")

    assert code == 2
    assert err.strip() == (
        "warden: error: --ou: no OU named 'Mobile' under Production (OU paths are OU names from the root down)"
    )
    assert fake.home.called("CreateStackSet") == []


def test_a_failed_stack_instance_is_named_with_its_reason_and_exits_1(
    fake: FakeClients, capsys: pytest.CaptureFixture[str]
) -> None:
    fake.home.fail[("333333333333", OTHER)] = "Region eu-west-1 is not enabled in this account"

    code, out, err = warden(capsys, "--ou", "Production", "--regions", HOME, OTHER)

    assert code == 1
    rows = {(row[0], row[1]): row for row in table(out)}
    assert rows[("333333333333", OTHER)][3] == "FAILED"
    assert rows[("333333333333", HOME)][3] == "SUCCEEDED"
    assert "FAILED 333333333333 eu-west-1 (member): Region eu-west-1 is not enabled in this account" in err
    assert "Traceback" not in err


def test_a_stack_not_in_organization_mode_exits_2_naming_the_missing_output(
    fake: FakeClients, capsys: pytest.CaptureFixture[str]
) -> None:
    for key in ("CentralEventBusName", "CentralEventBusArn", "OrganizationId", "GuardedRegionList"):
        del fake.home.outputs[key]
    del fake.home.outputs["MemberRoleName"], fake.home.outputs["CentralRoleArns"]

    code, _, err = warden(capsys, "--ou", "Production")

    assert code == 2
    assert "is not in organization mode (it lacks the output CentralEventBusName and 5 more)" in err
    assert "OrganizationId=o-" in err
    assert fake.home.called("DescribeStackSet") == []


def test_a_second_deploy_with_the_same_template_updates_nothing_and_adds_instances_only(
    fake: FakeClients, capsys: pytest.CaptureFixture[str]
) -> None:
    assert warden(capsys, "--ou", "Development")[0] == 0
    code, _, err = warden(capsys, "--ou", "Production")

    assert code == 0, err
    assert len(fake.home.called("CreateStackSet")) == 1
    assert fake.home.called("UpdateStackSet") == []
    assert "template and parameters up to date" in err


def test_a_changed_central_stack_updates_the_stack_set_and_waits_before_adding_instances(
    fake: FakeClients, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert warden(capsys, "--ou", "Development")[0] == 0
    fake.home.outputs["CentralRoleArns"] = ROLES + f",arn:aws:iam::{CENTRAL}:role/{STACK}-warden-worker"
    fake.home.polls = 2  # each operation runs a while: adding instances during the update would be refused
    monkeypatch.setattr(time, "sleep", lambda seconds: None)

    code, out, err = warden(capsys, "--ou", "Production")

    assert code == 0, err
    [update] = fake.home.called("UpdateStackSet")
    assert {p["ParameterKey"]: p["ParameterValue"] for p in update["Parameters"]}["CentralRoleArns"].endswith("-worker")
    assert update["CallAs"] == "DELEGATED_ADMIN"
    order = [name for name, _ in fake.home.calls if name in ("UpdateStackSet", "CreateStackInstances")]
    assert order == ["CreateStackInstances", "UpdateStackSet", "CreateStackInstances"]
    # Every account of both runs: the update touched Development's account, the new instances Production's.
    assert {row[0] for row in table(out) if row[2] == "member"} == {"222222222222", "333333333333", "444444444444"}
    assert "RUNNING" in err  # progress while waiting


@pytest.mark.parametrize(
    ("operation", "code", "message", "says"),
    [
        (
            "CreateStackSet",
            "ValidationError",
            "Account 123456789012 is not a registered delegated administrator of the organization",
            "aws organizations register-delegated-administrator --account-id 123456789012 "
            "--service-principal member.org.stacksets.cloudformation.amazonaws.com",
        ),
        (
            "DescribeStackSet",
            "AccessDeniedException",
            "User is not authorized to perform: cloudformation:DescribeStackSet",
            "must be a delegated administrator for CloudFormation StackSets",
        ),
        (
            "CreateStackSet",
            "ValidationError",
            "You must enable organizations access to operate a service managed stack set",
            "aws cloudformation activate-organizations-access",
        ),
        (
            "CreateStackInstances",
            "OperationInProgressException",
            "Another Operation on StackSet is in progress",
            "another operation on StackSet session-warden-members is running",
        ),
        ("CreateStackInstances", "StackSetNotFoundException", "StackSet not found", "is gone"),
    ],
)
def test_stack_set_refusals_say_exactly_what_to_do_in_one_line(
    fake: FakeClients, capsys: pytest.CaptureFixture[str], operation: str, code: str, message: str, says: str
) -> None:
    fake.home.refuse[operation] = refused(operation, code, message)

    exit_code, _, err = warden(capsys, "--ou", "Development")

    assert exit_code == 1
    assert says in err
    [error] = [line for line in err.splitlines() if line.startswith("warden: error: ")]
    assert says in error
    assert "Traceback" not in err


def test_organizations_refusing_the_ou_lookup_says_where_to_run_it(
    fake: FakeClients, capsys: pytest.CaptureFixture[str]
) -> None:
    fake.orgs.refuse = refused("ListRoots", "AccessDeniedException", "not a delegated administrator")

    code, _, err = warden(capsys, "--ou", "Production")

    assert code == 1
    assert "the account 123456789012 must be a delegated administrator" in err
    assert "aws organizations register-delegated-administrator --account-id 123456789012" in err
    assert "or pass OU ids" in err
    # OU ids need no lookup at all.
    assert warden(capsys, "--ou", "ou-wrdn-production")[0] == 0


def test_waiting_is_bounded_and_says_how_to_follow_the_operation() -> None:
    clients = FakeClients()
    clients.home.polls = 10_000
    clock = FakeClock()
    lines: list[str] = []
    waiting = Waiting(timeout=60, poll=5, sleep=clock.sleep, clock=lambda: clock.now, progress=lines.append)

    with pytest.raises(org_deploy.CliError) as raised:
        deploy(org_outputs_of(STACK, OUTPUTS), ["Development"], [HOME], TEMPLATE, clients, waiting)

    assert "still RUNNING after 60s" in str(raised.value)
    assert "aws cloudformation describe-stack-set-operation --stack-set-name session-warden-members" in str(
        raised.value
    )
    assert 60 <= clock.now <= 65
    assert 2 <= len([line for line in lines if "RUNNING" in line]) <= 4  # progress, not a line per poll


def test_json_output_lists_every_stack_and_the_count_of_failures(
    fake: FakeClients, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    fake.others.setdefault(OTHER, FakeCloudFormation(OTHER)).relay_status = "ROLLBACK_COMPLETE"

    code, out, _ = warden(capsys, "--ou", "Development", "--json")

    assert code == 1
    report = json.loads(out)
    assert report["stack_set"] == "session-warden-members"
    assert report["organizational_units"] == ["ou-wrdn-development"]
    assert report["failed"] == 1
    [relay] = [s for s in report["stacks"] if s["stack"] == "relay"]
    assert (relay["account"], relay["region"], relay["status"], relay["failed"]) == (
        CENTRAL,
        OTHER,
        "ROLLBACK_COMPLETE",
        True,
    )
    assert {(s["account"], s["region"]) for s in report["stacks"] if s["stack"] == "member"} == {
        ("444444444444", HOME),
        ("444444444444", OTHER),
    }


def test_the_root_means_every_account_but_the_management_account(
    fake: FakeClients, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = warden(capsys, "--ou", "r-wrdn", "--regions", HOME)

    assert code == 0
    assert {row[0] for row in table(out)} == {"222222222222", "333333333333", "444444444444"}


def test_an_ou_without_accounts_says_that_nothing_was_deployed(
    fake: FakeClients, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = warden(capsys, "--ou", "Sandbox", "--regions", HOME)

    assert code == 0
    assert "no account got a stack instance" in out


def test_a_lost_answer_retried_under_the_same_operation_id_waits_for_that_operation(
    fake: FakeClients, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN CloudFormation started the instances' operation, but its answer was lost and botocore resent the same
    # request: CloudFormation then answers OperationIdAlreadyExistsException for the id the warden chose
    started = fake.home.create_stack_instances

    def answer_lost(**request: Any) -> dict[str, Any]:
        operation = started(**request)["OperationId"]
        fake.home.operations[request["OperationId"]] = fake.home.operations.pop(operation)
        raise refused("CreateStackInstances", "OperationIdAlreadyExistsException", "Operation already exists")

    monkeypatch.setattr(fake.home, "create_stack_instances", answer_lost)
    # WHEN the deploy runs
    code, out, err = warden(capsys, "--ou", "Production/Web", "--regions", HOME)
    # THEN it waits for that operation (its own) and reports every stack instance
    assert code == 0, err
    [instances] = fake.home.called("CreateStackInstances")
    assert f"operation {instances['OperationId']} SUCCEEDED" in err  # waited for, by the id it chose
    assert [row[:4] for row in table(out)] == [["222222222222", HOME, "member", "SUCCEEDED"]]
