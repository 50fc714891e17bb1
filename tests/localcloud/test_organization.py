"""The emulated organization: accounts in OUs, sessions and CloudTrail per account and region, and events that cross
accounts only through rules whose targets name another bus, admitted by its policy, as on AWS."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tests.localcloud.conftest import APP_TEMPLATE, START
from warden_local import LocalCloud
from warden_local.accounts import AccountView

pytestmark = pytest.mark.functional

CENTRAL, PROD_WEB, PROD_DATA = "123456789012", "222222222222", "333333333333"
ORG_ID = "o-warden0001"
SESSION_CALLS = {"source": ["aws.ssm"], "detail": {"eventName": ["StartSession", "TerminateSession"]}}


@pytest.fixture
def org_cloud() -> Iterator[LocalCloud]:
    with LocalCloud(template=None, start_at=START, organization=True) as cloud:
        yield cloud


def org(cloud: LocalCloud) -> Any:
    assert cloud.org is not None
    return cloud.org


class Tap:
    """An SQS queue behind a rule on a bus of one account and region: what a subscriber there receives."""

    def __init__(self, view: AccountView, region: str, pattern: dict[str, Any], *, bus: str = "default") -> None:
        self._sqs = view.client("sqs", region=region)
        name = f"tap-{uuid.uuid4().hex[:8]}"
        self._url = self._sqs.create_queue(QueueName=name)["QueueUrl"]
        arn = self._sqs.get_queue_attributes(QueueUrl=self._url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        events = view.client("events", region=region)
        events.put_rule(Name=name, EventPattern=json.dumps(pattern), EventBusName=bus)
        events.put_targets(Rule=name, EventBusName=bus, Targets=[{"Id": "tap", "Arn": arn}])

    def events(self, cloud: LocalCloud) -> list[dict[str, Any]]:
        cloud.settle()
        received = []
        while messages := self._sqs.receive_message(QueueUrl=self._url, MaxNumberOfMessages=10).get("Messages", []):
            for message in messages:
                received.append(json.loads(message["Body"]))
                self._sqs.delete_message(QueueUrl=self._url, ReceiptHandle=message["ReceiptHandle"])
        return received


def central_bus(cloud: LocalCloud, region: str, *, policy: dict[str, Any] | None) -> str:
    events = (
        cloud.client("events") if region == "us-east-1" else org(cloud).account(CENTRAL).client("events", region=region)
    )
    arn = str(events.create_event_bus(Name="warden-central")["EventBusArn"])
    if policy is not None:
        events.put_permission(EventBusName="warden-central", Policy=json.dumps(policy))
    return arn


def org_policy(bus_arn: str, org_id: str = ORG_ID) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "organization",
                "Effect": "Allow",
                "Principal": "*",
                "Action": "events:PutEvents",
                "Resource": bus_arn,
                "Condition": {"StringEquals": {"aws:PrincipalOrgID": org_id}},
            }
        ],
    }


def forward(view: AccountView, region: str, bus_arn: str, *, with_role: bool = True, rule: str = "forward") -> None:
    """A rule on the account's default bus sending session calls to ``bus_arn`` (with a role that may)."""
    target: dict[str, Any] = {"Id": "central", "Arn": bus_arn}
    if with_role:
        iam = view.client("iam")
        trust = {
            "Statement": [
                {"Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"}, "Action": "sts:AssumeRole"}
            ]
        }
        role_name = f"{rule}-{region}"
        role_arn = iam.create_role(RoleName=role_name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
        allow = {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "events:PutEvents", "Resource": bus_arn}],
        }
        iam.put_role_policy(RoleName=role_name, PolicyName="put", PolicyDocument=json.dumps(allow))
        target["RoleArn"] = role_arn
    events = view.client("events", region=region)
    events.put_rule(Name=rule, EventPattern=json.dumps(SESSION_CALLS))
    events.put_targets(Rule=rule, Targets=[target])


def start_session(view: AccountView, region: str, user: str = "alice") -> str:
    instance = view.add_instance({"Name": "web"}, region=region)
    ssm = view.client("ssm", region=region, credentials=view.user_credentials(user))
    return str(ssm.start_session(Target=instance)["SessionId"])


def test_the_organization_has_the_fixed_accounts_in_their_ous(org_cloud: LocalCloud) -> None:
    # GIVEN the emulated organization
    organization = org(org_cloud)

    # WHEN its accounts are listed, and Organizations is asked from the management account
    accounts = {account.id: (account.name, account.ou_path, account.status) for account in organization.accounts()}
    management = organization.account("111111111111").client("organizations")
    described = management.describe_organization()["Organization"]

    # THEN the ids, names and OU paths are the fixed ones, as Organizations reports them
    assert accounts == {
        "111111111111": ("management", "", "ACTIVE"),
        CENTRAL: ("security", "", "ACTIVE"),
        PROD_WEB: ("prod-web", "Production/Web", "ACTIVE"),
        PROD_DATA: ("prod-data", "Production", "ACTIVE"),
        "444444444444": ("dev", "Development", "ACTIVE"),
    }
    assert (described["Id"], described["MasterAccountId"]) == (ORG_ID, "111111111111")
    assert management.list_roots()["Roots"][0]["Id"] == "r-wrdn"
    [parent] = management.list_parents(ChildId=PROD_WEB)["Parents"]
    assert (
        management.describe_organizational_unit(OrganizationalUnitId=parent["Id"])["OrganizationalUnit"]["Name"]
        == "Web"
    )
    assert (organization.organization_id, organization.regions, organization.home_region) == (
        ORG_ID,
        ("us-east-1", "eu-west-1"),
        "us-east-1",
    )
    with pytest.raises(LookupError, match="999999999999"):
        organization.account("999999999999")


def test_a_member_users_session_is_recorded_in_its_account_and_region_only(org_cloud: LocalCloud) -> None:
    # GIVEN taps on the default bus of prod-web in eu-west-1, of prod-web in us-east-1 and of the central account
    member = org(org_cloud).account(PROD_WEB)
    here = Tap(member, "eu-west-1", SESSION_CALLS)
    other_region = Tap(member, "us-east-1", SESSION_CALLS)
    central = Tap(org(org_cloud).account(CENTRAL), "eu-west-1", SESSION_CALLS)

    # WHEN a user of prod-web starts a session in eu-west-1
    session_id = start_session(member, "eu-west-1")

    # THEN the StartSession record is on prod-web's default bus in eu-west-1, naming that account and region
    [event] = here.events(org_cloud)
    assert (event["account"], event["region"]) == (PROD_WEB, "eu-west-1")
    detail = event["detail"]
    assert (detail["recipientAccountId"], detail["awsRegion"]) == (PROD_WEB, "eu-west-1")
    assert detail["userIdentity"]["arn"] == f"arn:aws:iam::{PROD_WEB}:user/alice"
    assert detail["responseElements"]["sessionId"] == session_id
    assert session_id.startswith("alice-")
    # AND nowhere else: the session lives in that account and region only
    assert other_region.events(org_cloud) == [] and central.events(org_cloud) == []
    assert member.session(session_id, region="eu-west-1").status == "Connected"
    assert member.client("ssm", region="us-east-1").describe_sessions(State="Active")["Sessions"] == []
    assert org_cloud.client("ssm").describe_sessions(State="Active")["Sessions"] == []


def test_a_forwarding_rule_delivers_to_the_central_bus_with_the_org_policy_and_a_role(org_cloud: LocalCloud) -> None:
    # GIVEN the central bus in eu-west-1 admitting the organization, and prod-web forwarding session calls to it
    bus = central_bus(org_cloud, "eu-west-1", policy=None)
    org(org_cloud).account(CENTRAL).client("events", region="eu-west-1").put_permission(
        EventBusName="warden-central", Policy=json.dumps(org_policy(bus))
    )
    central = Tap(org(org_cloud).account(CENTRAL), "eu-west-1", SESSION_CALLS, bus="warden-central")
    member = org(org_cloud).account(PROD_WEB)
    forward(member, "eu-west-1", bus)

    # WHEN a user of prod-web starts a session there
    session_id = start_session(member, "eu-west-1")

    # THEN the central bus got the event, still naming the member's account and region
    [event] = central.events(org_cloud)
    assert (event["account"], event["region"]) == (PROD_WEB, "eu-west-1")
    assert event["detail"]["recipientAccountId"] == PROD_WEB
    assert event["detail"]["responseElements"]["sessionId"] == session_id
    assert org_cloud.failed_deliveries == []


@pytest.mark.parametrize("missing", ["policy", "role"])
def test_without_the_bus_policy_or_the_role_the_forwarding_fails(org_cloud: LocalCloud, missing: str) -> None:
    # GIVEN a central bus without a policy, or a forwarding rule without a role
    bus = central_bus(org_cloud, "eu-west-1", policy=None)
    if missing == "role":
        org(org_cloud).account(CENTRAL).client("events", region="eu-west-1").put_permission(
            EventBusName="warden-central", Policy=json.dumps(org_policy(bus))
        )
    central = Tap(org(org_cloud).account(CENTRAL), "eu-west-1", SESSION_CALLS, bus="warden-central")
    member = org(org_cloud).account(PROD_WEB)
    forward(member, "eu-west-1", bus, with_role=missing != "role")

    # WHEN a session starts in the member account
    start_session(member, "eu-west-1")

    # THEN nothing arrives, and EventBridge reports the failed delivery of the member's rule
    assert central.events(org_cloud) == []
    [failed] = org_cloud.failed_deliveries
    assert failed.rule_arn == f"arn:aws:events:eu-west-1:{PROD_WEB}:rule/forward"
    assert (failed.target_arn, failed.error_code) == (bus, "NO_PERMISSIONS")
    assert ("RoleArn" if missing == "role" else "resource-based policy") in failed.error_message


def test_an_account_outside_the_organization_is_refused_by_the_org_policy(org_cloud: LocalCloud) -> None:
    # GIVEN the central bus admitting the organization, and an outside account forwarding to it with a role
    bus = central_bus(org_cloud, "us-east-1", policy=None)
    org_cloud.client("events").put_permission(EventBusName="warden-central", Policy=json.dumps(org_policy(bus)))
    central = Tap(org(org_cloud).account(CENTRAL), "us-east-1", SESSION_CALLS, bus="warden-central")
    outsider = org(org_cloud).outsider("999999999999")
    forward(outsider, "us-east-1", bus)
    member = org(org_cloud).account(PROD_DATA)
    forward(member, "us-east-1", bus)

    # WHEN a session starts in each
    start_session(outsider, "us-east-1")
    start_session(member, "us-east-1")

    # THEN only the member's event arrives; the outsider's delivery failed on the policy
    assert [event["account"] for event in central.events(org_cloud)] == [PROD_DATA]
    [failed] = org_cloud.failed_deliveries
    assert failed.rule_arn.startswith("arn:aws:events:us-east-1:999999999999:")
    assert failed.error_code == "NO_PERMISSIONS"


def test_an_assumed_member_role_acts_in_that_member_account_only(org_cloud: LocalCloud) -> None:
    # GIVEN sessions in prod-web and prod-data, and a role in prod-web the central account may assume
    web, data = org(org_cloud).account(PROD_WEB), org(org_cloud).account(PROD_DATA)
    web_session = start_session(web, "us-east-1", "bob")
    data_session = start_session(data, "us-east-1", "carol")
    trust = {
        "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{CENTRAL}:root"}, "Action": "sts:AssumeRole"}
        ]
    }
    role = web.client("iam").create_role(RoleName="session-warden-member", AssumeRolePolicyDocument=json.dumps(trust))

    # WHEN the central account assumes it and lists and terminates sessions with its credentials
    assumed = org_cloud.client("sts").assume_role(RoleArn=role["Role"]["Arn"], RoleSessionName="session-warden")
    keys = assumed["Credentials"]
    ssm = web.client("ssm", region="us-east-1", credentials=_credentials(keys))
    listed = [item["SessionId"] for item in ssm.describe_sessions(State="Active")["Sessions"]]
    ssm.terminate_session(SessionId=web_session)
    ssm.terminate_session(SessionId=data_session)  # another account's session: not one this account has

    # THEN they saw and ended prod-web's session only
    assert listed == [web_session]
    assert web.session(web_session, region="us-east-1").status in ("Terminating", "Terminated")
    assert data.session(data_session, region="us-east-1").status == "Connected"
    caller = web.client("sts", credentials=_credentials(keys)).get_caller_identity()
    assert caller["Arn"] == f"arn:aws:sts::{PROD_WEB}:assumed-role/session-warden-member/session-warden"


def test_stop_logging_in_a_member_stops_only_its_own_delivery(org_cloud: LocalCloud) -> None:
    # GIVEN taps on prod-web's default bus in eu-west-1 for CloudTrail's own calls and for sessions
    member = org(org_cloud).account(PROD_WEB)
    trail_calls = Tap(member, "eu-west-1", {"source": ["aws.cloudtrail"]})
    sessions = Tap(member, "eu-west-1", SESSION_CALLS)

    # WHEN prod-web stops its trail in eu-west-1
    member.client("cloudtrail", region="eu-west-1").stop_logging(Name="management-events")

    # THEN that trail recorded its own StopLogging in prod-web, and delivers nothing more there
    [stopped] = trail_calls.events(org_cloud)
    assert (stopped["account"], stopped["detail"]["recipientAccountId"]) == (PROD_WEB, PROD_WEB)
    assert stopped["detail"]["eventName"] == "StopLogging"
    start_session(member, "eu-west-1")
    assert sessions.events(org_cloud) == []
    # AND every other account and region still delivers
    assert not member.trails_deliver("eu-west-1")
    assert member.trails_deliver("us-east-1")
    assert org(org_cloud).account(PROD_DATA).trails_deliver("eu-west-1")
    assert org_cloud.trails_deliver()


def test_a_member_disabling_its_forwarding_rule_is_recorded_in_that_account(org_cloud: LocalCloud) -> None:
    # GIVEN prod-data with a forwarding rule and a tap on its own bus for EventBridge's calls
    member = org(org_cloud).account(PROD_DATA)
    bus = central_bus(org_cloud, "us-east-1", policy=None)
    forward(member, "us-east-1", bus)
    calls = Tap(member, "us-east-1", {"source": ["aws.events"], "detail": {"eventName": ["DisableRule"]}})
    central_calls = Tap(org(org_cloud).account(CENTRAL), "us-east-1", {"source": ["aws.events"]})
    central_calls.events(org_cloud)  # the tap's own PutTargets, recorded in the central account

    # WHEN prod-data's administrator disables the rule
    member.client("events").disable_rule(Name="forward")

    # THEN CloudTrail recorded it in prod-data, not in the central account
    [event] = calls.events(org_cloud)
    assert (event["account"], event["detail"]["recipientAccountId"]) == (PROD_DATA, PROD_DATA)
    assert event["detail"]["requestParameters"] == {"name": "forward"}
    assert event["detail"]["userIdentity"]["arn"] == f"arn:aws:iam::{PROD_DATA}:user/local-user"
    assert central_calls.events(org_cloud) == []


def test_a_rule_on_the_central_bus_runs_the_real_handler_for_a_member_event() -> None:
    # GIVEN the test app in the central account, a rule on a central bus invoking its function, and prod-web
    # forwarding its session calls to that bus
    with LocalCloud(template=APP_TEMPLATE, start_at=START, stack_name="warden-test", organization=True) as cloud:
        bus = central_bus(cloud, "us-east-1", policy=None)
        cloud.client("events").put_permission(EventBusName="warden-central", Policy=json.dumps(org_policy(bus)))
        function = cloud.client("lambda").get_function(FunctionName=cloud.stack_outputs()["RecorderFunctionName"])
        function_arn = function["Configuration"]["FunctionArn"]
        events = cloud.client("events")
        rule_arn = events.put_rule(
            Name="org-sessions", EventBusName="warden-central", EventPattern=json.dumps(SESSION_CALLS)
        )
        events.put_targets(
            Rule="org-sessions", EventBusName="warden-central", Targets=[{"Id": "f", "Arn": function_arn}]
        )
        cloud.client("lambda").add_permission(
            FunctionName=function_arn,
            StatementId="org-sessions",
            Action="lambda:InvokeFunction",
            Principal="events.amazonaws.com",
            SourceArn=rule_arn["RuleArn"],
        )
        member = org(cloud).account(PROD_WEB)
        forward(member, "us-east-1", bus)

        # WHEN a user of prod-web starts a session
        session_id = start_session(member, "us-east-1")
        cloud.settle()

        # THEN the handler ran for the member's event (the default-bus rule of the central account did not fire)
        [invocation] = cloud.invocations
        assert invocation.event["account"] == PROD_WEB
        assert invocation.event["detail"]["responseElements"]["sessionId"] == session_id


def _credentials(keys: dict[str, Any]) -> Any:
    from warden_local import Credentials

    return Credentials(keys["AccessKeyId"], keys["SecretAccessKey"], keys["SessionToken"])
