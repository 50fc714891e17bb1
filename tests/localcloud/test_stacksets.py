"""Service-managed StackSets in the local cloud: a delegated administrator deploys a member template to every
account of an OU in two regions, the stacks exist in THOSE accounts, and an account created later gets its
instances with no call."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from tests.localcloud.conftest import START
from warden_local import LocalCloud
from warden_local.identity import Credentials
from warden_local.organizations_ext import STACKSETS_PRINCIPAL, create_account

REGIONS = ["us-east-1", "eu-west-1"]
STACK_SET = "warden-members"
DELEGATED = {"CallAs": "DELEGATED_ADMIN"}

# Member-like: a forwarding rule with its role in every region, a named role in the home region only, a parameter.
MEMBER_TEMPLATE = """
AWSTemplateFormatVersion: "2010-09-09"
Parameters:
  CentralAccountId: {Type: String}
  CentralBusName: {Type: String}
  HomeRegion: {Type: String}
  CentralRoleArns: {Type: CommaDelimitedList}
  MemberRoleName: {Type: String, Default: session-warden-member}
  WardenStackName: {Type: String}
Conditions:
  InHomeRegion: !Equals [!Ref "AWS::Region", !Ref HomeRegion]
Resources:
  ForwardRole:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument:
        Version: "2012-10-17"
        Statement: [{Effect: Allow, Principal: {Service: events.amazonaws.com}, Action: "sts:AssumeRole"}]
      Policies:
        - PolicyName: forward
          PolicyDocument:
            Version: "2012-10-17"
            Statement:
              - Effect: Allow
                Action: "events:PutEvents"
                Resource: !Sub "arn:aws:events:${AWS::Region}:${CentralAccountId}:event-bus/${CentralBusName}"
  ForwardRule:
    Type: AWS::Events::Rule
    Properties:
      EventPattern: {source: [aws.ssm], detail-type: [AWS API Call via CloudTrail]}
      State: ENABLED
      Targets:
        - Id: central
          Arn: !Sub "arn:aws:events:${AWS::Region}:${CentralAccountId}:event-bus/${CentralBusName}"
          RoleArn: !GetAtt ForwardRole.Arn
  CanaryParameter:
    Type: AWS::SSM::Parameter
    Properties:
      Name: !Join ["/", ["", "session-warden", !Ref WardenStackName, "canary"]]
      Type: String
      Value: unset
  MemberRole:
    Type: AWS::IAM::Role
    Condition: InHomeRegion
    Properties:
      RoleName: !Ref MemberRoleName
      AssumeRolePolicyDocument:
        Version: "2012-10-17"
        Statement:
          - Effect: Allow
            Principal: {AWS: !Ref CentralRoleArns}
            Action: "sts:AssumeRole"
      Policies:
        - PolicyName: warden
          PolicyDocument:
            Version: "2012-10-17"
            Statement:
              - Effect: Allow
                Action: ["ssm:DescribeSessions", "ssm:TerminateSession"]
                Resource: "*"
Outputs:
  MemberRoleArn:
    Value: !If [InHomeRegion, !GetAtt MemberRole.Arn, "none"]
"""


@dataclass
class Org:
    """An organization built through the Organizations API as an administrator builds one on AWS."""

    cloud: LocalCloud
    management: Credentials
    ous: dict[str, str] = field(default_factory=dict)  # OU path -> id
    accounts: dict[str, str] = field(default_factory=dict)  # name -> id
    management_id: str = "111111111111"

    def client(self, service: str, account: str | None = None, *, region: str = "us-east-1") -> Any:
        credentials = self.management if account is None else self.credentials(account)
        return boto3.client(
            service,
            region_name=region,
            endpoint_url=self.cloud.endpoint,
            aws_access_key_id=credentials.access_key_id,
            aws_secret_access_key=credentials.secret_access_key,
            aws_session_token=credentials.session_token,
        )

    def credentials(self, account: str) -> Credentials:
        """The administrator's way into a member account: OrganizationAccountAccessRole, assumed."""
        role = f"arn:aws:iam::{account}:role/OrganizationAccountAccessRole"
        assumed = self.client("sts").assume_role(RoleArn=role, RoleSessionName="admin")["Credentials"]
        return Credentials(assumed["AccessKeyId"], assumed["SecretAccessKey"], assumed["SessionToken"])

    def central(self, service: str, *, region: str = "us-east-1") -> Any:
        return self.client(service, self.accounts["security"], region=region)


def build_org(cloud: LocalCloud) -> Org:
    from moto.iam.models import iam_backends

    iam = iam_backends["111111111111"]["global"]
    iam.create_user(region_name="us-east-1", user_name="org-admin", path="/", tags=[])
    key = iam.create_access_key("org-admin")
    org = Org(cloud, Credentials(key.access_key_id, key.secret_access_key))
    organizations = org.client("organizations")
    organizations.create_organization(FeatureSet="ALL")
    root = organizations.list_roots()["Roots"][0]["Id"]
    org.ous[""] = root
    for path in ("Production", "Production/Web", "Development"):
        parent = org.ous[path.rpartition("/")[0]]
        name = path.rpartition("/")[2]
        org.ous[path] = organizations.create_organizational_unit(ParentId=parent, Name=name)["OrganizationalUnit"]["Id"]
    for name, path in (
        ("security", ""),
        ("prod-web", "Production/Web"),
        ("prod-data", "Production"),
        ("dev", "Development"),
    ):
        org.accounts[name] = create_account(organizations, name, path)
    organizations.enable_aws_service_access(ServicePrincipal=STACKSETS_PRINCIPAL)
    organizations.register_delegated_administrator(
        AccountId=org.accounts["security"], ServicePrincipal=STACKSETS_PRINCIPAL
    )
    return org


@pytest.fixture
def org() -> Iterator[Org]:
    with LocalCloud(template=None, start_at=START) as cloud:
        yield build_org(cloud)


def parameters(org: Org, **changes: str) -> list[dict[str, str]]:
    central = org.accounts["security"]
    values = {
        "CentralAccountId": central,
        "CentralBusName": "session-warden-central",
        "HomeRegion": "us-east-1",
        "CentralRoleArns": f"arn:aws:iam::{central}:role/sweeper,arn:aws:iam::{central}:role/started",
        "WardenStackName": "session-warden",
        **changes,
    }
    return [{"ParameterKey": key, "ParameterValue": value} for key, value in values.items()]


def create_stack_set(org: Org, *, template: str = MEMBER_TEMPLATE, **extra: Any) -> Any:
    cfn = org.central("cloudformation")
    cfn.create_stack_set(
        StackSetName=STACK_SET,
        TemplateBody=template,
        Parameters=extra.pop("Parameters", parameters(org)),
        Capabilities=extra.pop("Capabilities", ["CAPABILITY_NAMED_IAM"]),
        PermissionModel="SERVICE_MANAGED",
        AutoDeployment={"Enabled": True, "RetainStacksOnAccountRemoval": False},
        **DELEGATED,
        **extra,
    )
    return cfn


def deploy(org: Org, *ou_paths: str) -> tuple[Any, str]:
    cfn = create_stack_set(org)
    operation = cfn.create_stack_instances(
        StackSetName=STACK_SET,
        DeploymentTargets={"OrganizationalUnitIds": [org.ous[path] for path in ou_paths]},
        Regions=REGIONS,
        **DELEGATED,
    )["OperationId"]
    return cfn, operation


def instances(cfn: Any, **filters: Any) -> dict[tuple[str, str], dict[str, Any]]:
    summaries = cfn.list_stack_instances(StackSetName=STACK_SET, **DELEGATED, **filters)["Summaries"]
    return {(s["Account"], s["Region"]): s for s in summaries}


def member_stack(org: Org, account: str, region: str) -> dict[str, Any] | None:
    stacks = org.client("cloudformation", account, region=region).describe_stacks()["Stacks"]
    mine = [s for s in stacks if s["StackName"].startswith(f"StackSet-{STACK_SET}-")]
    return mine[0] if mine else None


def default_bus_rules(org: Org, account: str, region: str) -> list[dict[str, Any]]:
    events = org.client("events", account, region=region)
    rules = events.list_rules(EventBusName="default")["Rules"]
    return [{**rule, "Targets": events.list_targets_by_rule(Rule=rule["Name"])["Targets"]} for rule in rules]


def error_of(call: Any) -> tuple[str, str]:
    with pytest.raises(ClientError) as raised:
        call()
    return raised.value.response["Error"]["Code"], raised.value.response["Error"]["Message"]


# -- deployment to OUs -----------------------------------------------------------------------------------


def test_instances_for_an_ou_are_stacks_with_their_resources_in_every_account_and_region_below_it(org: Org) -> None:
    # GIVEN the delegated administrator's StackSet WHEN it deploys to Production (which holds Production/Web)
    cfn, operation_id = deploy(org, "Production")

    # THEN the operation has finished, one result per account x region, all succeeded
    operation = cfn.describe_stack_set_operation(StackSetName=STACK_SET, OperationId=operation_id, **DELEGATED)
    assert operation["StackSetOperation"]["Status"] == "SUCCEEDED"
    assert operation["StackSetOperation"]["Action"] == "CREATE"
    assert operation["StackSetOperation"]["DeploymentTargets"] == {"OrganizationalUnitIds": [org.ous["Production"]]}
    assert operation["StackSetOperation"]["StatusDetails"] == {"FailedStackInstancesCount": 0}
    # (finished inside the call, on the emulated clock)
    assert operation["StackSetOperation"]["CreationTimestamp"] == START
    assert operation["StackSetOperation"]["EndTimestamp"] == START
    members = {org.accounts["prod-web"], org.accounts["prod-data"]}
    expected = {(account, region) for account in members for region in REGIONS}
    results = cfn.list_stack_set_operation_results(StackSetName=STACK_SET, OperationId=operation_id, **DELEGATED)
    assert {(r["Account"], r["Region"]) for r in results["Summaries"]} == expected
    assert {r["Status"] for r in results["Summaries"]} == {"SUCCEEDED"}
    # AND each instance is CURRENT, SUCCEEDED, for the OU named
    listed = instances(cfn)
    assert set(listed) == expected
    for summary in listed.values():
        assert summary["Status"] == "CURRENT"
        assert summary["StackInstanceStatus"] == {"DetailedStatus": "SUCCEEDED"}
        assert summary["OrganizationalUnitId"] == org.ous["Production"]
        assert summary["LastOperationId"] == operation_id
    # AND each is a real stack in ITS account and region, with its resources there
    central = org.accounts["security"]
    for account, region in expected:
        stack = member_stack(org, account, region)
        assert stack is not None and stack["StackStatus"] == "CREATE_COMPLETE"
        assert stack["StackId"] == listed[(account, region)]["StackId"]
        assert stack["StackId"].startswith(f"arn:aws:cloudformation:{region}:{account}:stack/StackSet-{STACK_SET}-")
        [rule] = default_bus_rules(org, account, region)
        [target] = rule["Targets"]
        assert target["Arn"] == f"arn:aws:events:{region}:{central}:event-bus/session-warden-central"
        assert target["RoleArn"].startswith(f"arn:aws:iam::{account}:role/")
        ssm = org.client("ssm", account, region=region)
        assert ssm.get_parameter(Name="/session-warden/session-warden/canary")["Parameter"]["Value"] == "unset"
    for account in members:
        role = org.client("iam", account).get_role(RoleName="session-warden-member")["Role"]
        principals = role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]["AWS"]
        assert principals == [f"arn:aws:iam::{central}:role/sweeper", f"arn:aws:iam::{central}:role/started"]
        home = member_stack(org, account, "us-east-1")
        away = member_stack(org, account, "eu-west-1")
        assert home is not None and away is not None
        assert home["Outputs"][0]["OutputValue"] == f"arn:aws:iam::{account}:role/session-warden-member"
        assert away["Outputs"][0]["OutputValue"] == "none"
    # AND accounts outside the OU have nothing
    for name in ("dev", "security"):
        for region in REGIONS:
            assert member_stack(org, org.accounts[name], region) is None
            assert default_bus_rules(org, org.accounts[name], region) == []


def test_the_management_account_is_never_a_target_even_when_the_root_is(org: Org) -> None:
    # WHEN the StackSet deploys to the root, where the management account is
    cfn, _ = deploy(org, "")

    # THEN every member account has instances, the management account none
    accounts = {account for account, _ in instances(cfn)}
    assert accounts == set(org.accounts.values())
    assert org.management_id not in accounts
    for region in REGIONS:
        assert member_stack(org, org.management_id, region) is None


def test_describe_stack_set_reports_the_deployment_as_aws_does(org: Org) -> None:
    cfn, _ = deploy(org, "Production/Web")

    stack_set = cfn.describe_stack_set(StackSetName=STACK_SET, **DELEGATED)["StackSet"]

    assert stack_set["PermissionModel"] == "SERVICE_MANAGED"
    assert stack_set["AutoDeployment"] == {"Enabled": True, "RetainStacksOnAccountRemoval": False}
    assert stack_set["Capabilities"] == ["CAPABILITY_NAMED_IAM"]
    assert stack_set["OrganizationalUnitIds"] == [org.ous["Production/Web"]]
    assert stack_set["Regions"] == REGIONS
    assert stack_set["Status"] == "ACTIVE"
    # Service-managed StackSets live in the management account, also when a delegated administrator creates them.
    assert stack_set["StackSetARN"].startswith(f"arn:aws:cloudformation:us-east-1:{org.management_id}:stackset/")
    assert {p["ParameterKey"]: p["ParameterValue"] for p in stack_set["Parameters"]}["HomeRegion"] == "us-east-1"
    [summary] = cfn.list_stack_sets(**DELEGATED)["Summaries"]
    assert (summary["StackSetName"], summary["PermissionModel"]) == (STACK_SET, "SERVICE_MANAGED")


# -- who may call ----------------------------------------------------------------------------------------


def test_delegated_admin_calls_from_an_unregistered_account_are_refused(org: Org) -> None:
    create_stack_set(org)
    member = org.client("cloudformation", org.accounts["dev"])

    code, message = error_of(lambda: member.describe_stack_set(StackSetName=STACK_SET, **DELEGATED))
    assert (code, message) == ("ValidationError", "Account used is not a delegated administrator")
    code, message = error_of(
        lambda: member.create_stack_set(
            StackSetName="other", TemplateBody=MEMBER_TEMPLATE, PermissionModel="SERVICE_MANAGED", **DELEGATED
        )
    )
    assert (code, message) == ("ValidationError", "Account used is not a delegated administrator")


def test_the_delegated_admin_without_call_as_does_not_reach_the_service_managed_stack_set(org: Org) -> None:
    cfn = create_stack_set(org)

    code, _ = error_of(lambda: cfn.describe_stack_set(StackSetName=STACK_SET))
    assert code == "StackSetNotFoundException"
    code, message = error_of(
        lambda: cfn.create_stack_set(
            StackSetName="other", TemplateBody=MEMBER_TEMPLATE, PermissionModel="SERVICE_MANAGED", CallAs="SELF"
        )
    )
    assert code == "ValidationError"
    assert "must be the master or delegated admin account" in message


def test_the_management_account_reaches_the_stack_set_as_itself(org: Org) -> None:
    create_stack_set(org)

    stack_set = org.client("cloudformation").describe_stack_set(StackSetName=STACK_SET)["StackSet"]

    assert stack_set["StackSetName"] == STACK_SET


def test_service_managed_stack_sets_need_trusted_access(org: Org) -> None:
    org.client("organizations").disable_aws_service_access(ServicePrincipal=STACKSETS_PRINCIPAL)

    code, message = error_of(lambda: create_stack_set(org))

    assert (code, message) == (
        "ValidationError",
        "You must enable organizations access to operate a service managed stack set",
    )
    # CloudFormation's own switch turns it back on.
    org.client("cloudformation").activate_organizations_access()
    assert org.client("cloudformation").describe_organizations_access()["Status"] == "ENABLED"
    create_stack_set(org)


def test_a_template_naming_an_iam_role_needs_capability_named_iam(org: Org) -> None:
    for capabilities in ([], ["CAPABILITY_IAM"]):
        code, message = error_of(lambda capabilities=capabilities: create_stack_set(org, Capabilities=capabilities))
        assert (code, message) == (
            "InsufficientCapabilitiesException",
            "Requires capabilities : [CAPABILITY_NAMED_IAM]",
        )
    cfn = org.central("cloudformation")
    assert cfn.list_stack_sets(**DELEGATED)["Summaries"] == []


def test_missing_and_unknown_parameters_are_refused(org: Org) -> None:
    missing = [p for p in parameters(org) if p["ParameterKey"] != "HomeRegion"]
    code, message = error_of(lambda: create_stack_set(org, Parameters=missing))
    assert (code, message) == ("ValidationError", "Parameters: [HomeRegion] must have values")
    unknown = [*parameters(org), {"ParameterKey": "Colour", "ParameterValue": "red"}]
    code, message = error_of(lambda: create_stack_set(org, Parameters=unknown))
    assert (code, message) == ("ValidationError", "Parameters: [Colour] do not exist in the template")


def test_a_delegated_administrator_reads_the_organization_and_a_member_does_not(org: Org) -> None:
    listed = org.central("organizations").list_accounts()["Accounts"]
    assert {account["Id"] for account in listed} == {*org.accounts.values(), org.management_id}
    member = org.client("organizations", org.accounts["dev"])
    code, message = error_of(member.list_accounts)
    assert (code, message) == ("AccessDeniedException", "You don't have permissions to access this resource.")
    assert member.describe_organization()["Organization"]["MasterAccountId"] == org.management_id


# -- automatic deployment ----------------------------------------------------------------------------------


def test_an_account_created_in_a_target_ou_gets_its_instances_with_no_call(org: Org) -> None:
    cfn, _ = deploy(org, "Production")

    # WHEN an administrator creates an account in Production/Web (CreateAccount, then MoveAccount)
    new = create_account(org.client("organizations"), "prod-api", "Production/Web")

    # THEN it has an instance and its stack in every region of the StackSet, from an automatic operation
    listed = instances(cfn, StackInstanceAccount=new)
    assert set(listed) == {(new, region) for region in REGIONS}
    assert {s["Status"] for s in listed.values()} == {"CURRENT"}
    for region in REGIONS:
        stack = member_stack(org, new, region)
        assert stack is not None and stack["StackStatus"] == "CREATE_COMPLETE"
        assert len(default_bus_rules(org, new, region)) == 1
    [latest, *_] = cfn.list_stack_set_operations(StackSetName=STACK_SET, **DELEGATED)["Summaries"]
    assert (latest["Action"], latest["Status"]) == ("CREATE", "SUCCEEDED")
    assert {s["LastOperationId"] for s in listed.values()} == {latest["OperationId"]}
    # AND an account created elsewhere gets none
    other = create_account(org.client("organizations"), "sandbox", "Development")
    assert instances(cfn, StackInstanceAccount=other) == {}


def test_an_account_moved_out_of_the_target_ous_loses_its_instances_and_stacks(org: Org) -> None:
    cfn, _ = deploy(org, "Production")
    moved = org.accounts["prod-data"]

    org.client("organizations").move_account(
        AccountId=moved, SourceParentId=org.ous["Production"], DestinationParentId=org.ous["Development"]
    )

    assert {account for account, _ in instances(cfn)} == {org.accounts["prod-web"]}
    for region in REGIONS:
        assert member_stack(org, moved, region) is None
        assert default_bus_rules(org, moved, region) == []
    [latest, *_] = cfn.list_stack_set_operations(StackSetName=STACK_SET, **DELEGATED)["Summaries"]
    assert latest["Action"] == "DELETE"
    # AND moving it back deploys it again
    org.client("organizations").move_account(
        AccountId=moved, SourceParentId=org.ous["Development"], DestinationParentId=org.ous["Production/Web"]
    )
    assert {account for account, _ in instances(cfn)} == {org.accounts["prod-web"], moved}


# -- updates, failures, deletion ---------------------------------------------------------------------------


def test_update_stack_set_updates_every_instance(org: Org) -> None:
    cfn, _ = deploy(org, "Production")

    # WHEN the central bus is renamed and the template gains a resource
    template = MEMBER_TEMPLATE.replace(
        "Outputs:",
        "  Marker:\n    Type: AWS::SSM::Parameter\n    Properties: {Name: /session-warden/marker, Type: String, "
        "Value: v2}\nOutputs:",
    )
    operation_id = cfn.update_stack_set(
        StackSetName=STACK_SET,
        TemplateBody=template,
        Parameters=parameters(org, CentralBusName="renamed-central"),
        Capabilities=["CAPABILITY_NAMED_IAM"],
        **DELEGATED,
    )["OperationId"]

    # THEN every instance ran the update and shows the new template's resources in its account
    operation = cfn.describe_stack_set_operation(StackSetName=STACK_SET, OperationId=operation_id, **DELEGATED)
    assert (operation["StackSetOperation"]["Action"], operation["StackSetOperation"]["Status"]) == (
        "UPDATE",
        "SUCCEEDED",
    )
    listed = instances(cfn)
    assert len(listed) == 4
    central = org.accounts["security"]
    for (account, region), summary in listed.items():
        assert (summary["Status"], summary["LastOperationId"]) == ("CURRENT", operation_id)
        [rule] = default_bus_rules(org, account, region)
        assert rule["Targets"][0]["Arn"] == f"arn:aws:events:{region}:{central}:event-bus/renamed-central"
        ssm = org.client("ssm", account, region=region)
        assert ssm.get_parameter(Name="/session-warden/marker")["Parameter"]["Value"] == "v2"
        stack = member_stack(org, account, region)
        assert stack is not None and stack["StackStatus"] == "UPDATE_COMPLETE"


def test_an_instance_whose_stack_fails_is_outdated_with_the_reason_and_fails_the_operation(org: Org) -> None:
    # GIVEN prod-data already has a role with the member role's name
    taken = org.accounts["prod-data"]
    trust = {"Version": "2012-10-17", "Statement": []}
    org.client("iam", taken).create_role(RoleName="session-warden-member", AssumeRolePolicyDocument=json.dumps(trust))

    cfn, operation_id = deploy(org, "Production")

    operation = cfn.describe_stack_set_operation(StackSetName=STACK_SET, OperationId=operation_id, **DELEGATED)
    assert operation["StackSetOperation"]["Status"] == "FAILED"
    assert operation["StackSetOperation"]["StatusDetails"] == {"FailedStackInstancesCount": 1}
    failed = instances(cfn)[(taken, "us-east-1")]
    assert failed["Status"] == "OUTDATED"
    assert failed["StackInstanceStatus"] == {"DetailedStatus": "FAILED"}
    assert "session-warden-member" in failed["StatusReason"]
    stack = member_stack(org, taken, "us-east-1")
    assert stack is not None and stack["StackStatus"] == "ROLLBACK_COMPLETE"
    others = [s for key, s in instances(cfn).items() if key != (taken, "us-east-1")]
    assert len(others) == 3 and {s["Status"] for s in others} == {"CURRENT"}
    results = cfn.list_stack_set_operation_results(StackSetName=STACK_SET, OperationId=operation_id, **DELEGATED)
    [failure] = [r for r in results["Summaries"] if r["Status"] == "FAILED"]
    assert (failure["Account"], failure["Region"]) == (taken, "us-east-1")
    assert failure["StatusReason"] == failed["StatusReason"]


def test_deleting_the_instances_deletes_the_stacks_then_the_stack_set_can_go(org: Org) -> None:
    cfn, _ = deploy(org, "Production")
    code, _ = error_of(lambda: cfn.delete_stack_set(StackSetName=STACK_SET, **DELEGATED))
    assert code == "StackSetNotEmptyException"

    operation_id = cfn.delete_stack_instances(
        StackSetName=STACK_SET,
        DeploymentTargets={"OrganizationalUnitIds": [org.ous["Production"]]},
        Regions=REGIONS,
        RetainStacks=False,
        **DELEGATED,
    )["OperationId"]

    operation = cfn.describe_stack_set_operation(StackSetName=STACK_SET, OperationId=operation_id, **DELEGATED)
    assert (operation["StackSetOperation"]["Action"], operation["StackSetOperation"]["Status"]) == (
        "DELETE",
        "SUCCEEDED",
    )
    assert operation["StackSetOperation"]["RetainStacks"] is False
    assert instances(cfn) == {}
    for account in (org.accounts["prod-web"], org.accounts["prod-data"]):
        for region in REGIONS:
            assert member_stack(org, account, region) is None
    # AND no longer targeted, a new account in the OU gets nothing
    new = create_account(org.client("organizations"), "prod-late", "Production")
    assert instances(cfn, StackInstanceAccount=new) == {}
    cfn.delete_stack_set(StackSetName=STACK_SET, **DELEGATED)
    code, _ = error_of(lambda: cfn.describe_stack_set(StackSetName=STACK_SET, **DELEGATED))
    assert code == "StackSetNotFoundException"


def test_self_managed_stack_sets_stay_moto_s(org: Org) -> None:
    cfn = org.central("cloudformation")

    cfn.create_stack_set(StackSetName="self-managed", TemplateBody=MEMBER_TEMPLATE, Parameters=parameters(org))

    assert cfn.describe_stack_set(StackSetName="self-managed")["StackSet"]["PermissionModel"] == "SELF_MANAGED"


def test_a_member_stack_lists_exactly_the_resources_its_region_has(org: Org) -> None:
    deploy(org, "Production/Web")
    account = org.accounts["prod-web"]

    listed = {}
    for region in REGIONS:
        cfn = org.client("cloudformation", account, region=region)
        stack = member_stack(org, account, region)
        assert stack is not None
        summaries = cfn.list_stack_resources(StackName=stack["StackName"])["StackResourceSummaries"]
        listed[region] = sorted(s["LogicalResourceId"] for s in summaries)

    assert listed["us-east-1"] == ["CanaryParameter", "ForwardRole", "ForwardRule", "MemberRole"]
    assert listed["eu-west-1"] == ["CanaryParameter", "ForwardRole", "ForwardRule"]


def test_update_stack_instances_overrides_a_parameter_for_one_ou_only(org: Org) -> None:
    cfn, _ = deploy(org, "Production")

    cfn.update_stack_instances(
        StackSetName=STACK_SET,
        DeploymentTargets={"OrganizationalUnitIds": [org.ous["Production/Web"]]},
        Regions=["eu-west-1"],
        ParameterOverrides=[{"ParameterKey": "CentralBusName", "ParameterValue": "web-central"}],
        **DELEGATED,
    )

    central = org.accounts["security"]
    buses = {
        (account, region): default_bus_rules(org, account, region)[0]["Targets"][0]["Arn"].rsplit("/", 1)[1]
        for account, region in instances(cfn)
    }
    assert buses == {
        (org.accounts["prod-web"], "us-east-1"): "session-warden-central",
        (org.accounts["prod-web"], "eu-west-1"): "web-central",
        (org.accounts["prod-data"], "us-east-1"): "session-warden-central",
        (org.accounts["prod-data"], "eu-west-1"): "session-warden-central",
    }
    described = cfn.describe_stack_instance(
        StackSetName=STACK_SET,
        StackInstanceAccount=org.accounts["prod-web"],
        StackInstanceRegion="eu-west-1",
        **DELEGATED,
    )["StackInstance"]
    assert described["ParameterOverrides"] == [{"ParameterKey": "CentralBusName", "ParameterValue": "web-central"}]
    assert central in default_bus_rules(org, org.accounts["prod-web"], "eu-west-1")[0]["Targets"][0]["Arn"]


def test_an_account_removed_from_the_organization_loses_its_instances_and_a_closed_one_keeps_them(org: Org) -> None:
    cfn, _ = deploy(org, "Production")
    organizations = org.client("organizations")

    organizations.close_account(AccountId=org.accounts["prod-web"])
    organizations.remove_account_from_organization(AccountId=org.accounts["prod-data"])

    assert {account for account, _ in instances(cfn)} == {org.accounts["prod-web"]}
    for region in REGIONS:
        assert member_stack(org, org.accounts["prod-data"], region) is None
        assert member_stack(org, org.accounts["prod-web"], region) is not None


# -- the member template and `warden org deploy`, on the emulated organization -------------------------------


@pytest.fixture
def org_cloud() -> Iterator[LocalCloud]:
    """The central stack in organization mode, in the emulated organization of the contract."""
    with LocalCloud(start_at=START, organization=True) as cloud:
        yield cloud


def test_warden_org_deploy_puts_the_member_stack_in_every_account_of_the_ous_and_a_new_account_gets_it(
    org_cloud: LocalCloud, capsys: pytest.CaptureFixture[str]
) -> None:
    from warden_cli.aws import Connection
    from warden_cli.main import main

    org = org_cloud.org
    assert org is not None
    # GIVEN the prerequisites the README names, done in the management account
    management = org.account(org.management_account).client("organizations")
    management.enable_aws_service_access(ServicePrincipal=STACKSETS_PRINCIPAL)
    management.register_delegated_administrator(AccountId=org.central_account, ServicePrincipal=STACKSETS_PRINCIPAL)
    connection = Connection(
        endpoint_url=org_cloud.endpoint,
        region="us-east-1",
        access_key_id="testing",
        secret_access_key="testing",
        stack=org_cloud.stack_name,
    )

    # WHEN the operator runs `warden org deploy` in the central account, as the README says for AWS
    code = main(["org", "deploy", "--ou", "Production", "Development"], connection=connection)

    # THEN every member account of those OUs has the member stack in both regions, none failed
    out = capsys.readouterr().out
    assert code == 0, out
    members = {"222222222222", "333333333333", "444444444444"}
    cfn = org.account(org.central_account).client("cloudformation")
    name = f"{org_cloud.stack_name}-members"
    listed = {
        (s["Account"], s["Region"]): s
        for s in cfn.list_stack_instances(StackSetName=name, CallAs="DELEGATED_ADMIN")["Summaries"]
    }
    assert set(listed) == {(account, region) for account in members for region in org.regions}
    assert {s["Status"] for s in listed.values()} == {"CURRENT"}
    for account in members:
        view = org.account(account)
        role = view.client("iam").get_role(RoleName="session-warden-member")["Role"]
        assert role["Arn"] == f"arn:aws:iam::{account}:role/session-warden-member"
        for region in org.regions:
            rule = view.client("events", region=region).describe_rule(Name=f"{org_cloud.stack_name}-forward")
            assert rule["State"] == "ENABLED"
    # AND the management account has none
    assert all(account != org.management_account for account, _ in listed)
    # AND the relay in the central account's other region has what the member template gives a relay, nothing else
    relay = org.account(org.central_account).client("cloudformation", region="eu-west-1")
    summaries = relay.list_stack_resources(StackName=f"{org_cloud.stack_name}-relay")["StackResourceSummaries"]
    assert sorted(s["LogicalResourceId"] for s in summaries) == [
        "CanaryParameter",
        "ForwardRole",
        "ForwardRule",
        "WarningDocument",
    ]

    # WHEN an administrator creates an account in Production/Web
    new = org.create_account("prod-api", "Production/Web")

    # THEN it has the member stack in both regions with no further call
    mine = cfn.list_stack_instances(StackSetName=name, CallAs="DELEGATED_ADMIN", StackInstanceAccount=new)
    assert {(s["Region"], s["Status"]) for s in mine["Summaries"]} == {(region, "CURRENT") for region in org.regions}
    assert (
        org.account(new)
        .client("iam")
        .get_role(RoleName="session-warden-member")["Role"]["Arn"]
        .startswith(f"arn:aws:iam::{new}:role/")
    )
    assert {a.id: a.ou_path for a in org.accounts()}[new] == "Production/Web"


def test_a_stack_from_yaml_decides_a_negated_condition_and_lists_only_the_resources_it_has(org: Org) -> None:
    template = """
Parameters:
  Flag: {Type: String, Default: "yes"}
Conditions:
  IsOn: !Equals [!Ref Flag, "yes"]
  IsOff: !Not [!Condition IsOn]
Resources:
  WhenOn:
    Type: AWS::SSM::Parameter
    Condition: IsOn
    Properties: {Name: /when-on, Type: String, Value: "1"}
  WhenOff:
    Type: AWS::SSM::Parameter
    Condition: IsOff
    Properties: {Name: /when-off, Type: String, Value: "1"}
"""
    cfn = org.client("cloudformation", org.accounts["dev"])

    cfn.create_stack(StackName="plain", TemplateBody=template)

    summaries = cfn.list_stack_resources(StackName="plain")["StackResourceSummaries"]
    assert [s["LogicalResourceId"] for s in summaries] == ["WhenOn"]
    cfn.create_stack(StackName="negated", TemplateBody=template.replace('"yes"}', '"no"}'))
    summaries = cfn.list_stack_resources(StackName="negated")["StackResourceSummaries"]
    assert [s["LogicalResourceId"] for s in summaries] == ["WhenOff"]
