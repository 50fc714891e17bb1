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


def forward(
    view: AccountView,
    region: str,
    bus_arn: str,
    *,
    with_role: bool = True,
    rule: str = "forward",
    trust_condition: dict[str, Any] | None = None,
) -> None:
    """A rule on the account's default bus sending session calls to ``bus_arn`` (with a role that may)."""
    target: dict[str, Any] = {"Id": "central", "Arn": bus_arn}
    if with_role:
        iam = view.client("iam")
        statement = {"Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"}, "Action": "sts:AssumeRole"}
        if trust_condition:
            statement["Condition"] = trust_condition
        trust = {"Version": "2012-10-17", "Statement": [statement]}
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


@pytest.mark.parametrize(("source_account", "delivered"), [(PROD_WEB, True), (PROD_DATA, False)])
def test_the_forward_roles_trust_conditions_are_evaluated_for_the_rule(
    org_cloud: LocalCloud, source_account: str, delivered: bool
) -> None:
    # GIVEN a forward role that EventBridge may assume only for rules of one account
    bus = central_bus(org_cloud, "eu-west-1", policy=None)
    org(org_cloud).account(CENTRAL).client("events", region="eu-west-1").put_permission(
        EventBusName="warden-central", Policy=json.dumps(org_policy(bus))
    )
    central = Tap(org(org_cloud).account(CENTRAL), "eu-west-1", SESSION_CALLS, bus="warden-central")
    member = org(org_cloud).account(PROD_WEB)
    forward(member, "eu-west-1", bus, trust_condition={"StringEquals": {"aws:SourceAccount": source_account}})

    # WHEN a session starts in prod-web
    start_session(member, "eu-west-1")

    # THEN the event crosses only when the condition holds for prod-web's rule
    assert len(central.events(org_cloud)) == (1 if delivered else 0)
    assert [failure.error_code for failure in org_cloud.failed_deliveries] == ([] if delivered else ["NO_PERMISSIONS"])


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


def member_role_trust(org_id: str = ORG_ID) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": "*"},
                "Action": "sts:AssumeRole",
                "Condition": {"StringEquals": {"aws:PrincipalOrgID": org_id}},
            }
        ],
    }


def test_assume_role_needs_the_role_and_its_trust_policy(org_cloud: LocalCloud) -> None:
    # GIVEN a role in prod-web trusting the organization only
    web = org(org_cloud).account(PROD_WEB)
    arn = web.client("iam").create_role(RoleName="org-only", AssumeRolePolicyDocument=json.dumps(member_role_trust()))[
        "Role"
    ]["Arn"]
    outsider = org(org_cloud).outsider()

    # WHEN the central account, an outside account, and the central account for a role that does not exist ask STS
    inside = org_cloud.client("sts").assume_role(RoleArn=arn, RoleSessionName="probe")
    sts_outside = outsider.client("sts")
    with pytest.raises(sts_outside.exceptions.ClientError) as outside:
        sts_outside.assume_role(RoleArn=arn, RoleSessionName="probe")
    with pytest.raises(sts_outside.exceptions.ClientError) as missing:
        org_cloud.client("sts").assume_role(RoleArn=f"arn:aws:iam::{PROD_DATA}:role/org-only", RoleSessionName="probe")

    # THEN only the organization's principal gets keys, as on AWS
    assert inside["AssumedRoleUser"]["Arn"] == f"arn:aws:sts::{PROD_WEB}:assumed-role/org-only/probe"
    assert outside.value.response["Error"]["Code"] == "AccessDenied"
    assert "999999999999" in outside.value.response["Error"]["Message"]
    assert missing.value.response["Error"]["Code"] == "AccessDenied"


def test_a_functions_member_role_session_is_authorized_by_the_member_roles_policies(org_cloud: LocalCloud) -> None:
    # GIVEN a central function role allowed to assume a member role that may only describe sessions
    iam = org_cloud.client("iam")
    lambda_trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "lambda.amazonaws.com", "AWS": f"arn:aws:iam::{CENTRAL}:root"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    function_role = iam.create_role(RoleName="fn-role", AssumeRolePolicyDocument=json.dumps(lambda_trust))["Role"][
        "Arn"
    ]
    member_arn = f"arn:aws:iam::{PROD_WEB}:role/session-warden-member"
    assume = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": member_arn}],
    }
    iam.put_role_policy(RoleName="fn-role", PolicyName="assume", PolicyDocument=json.dumps(assume))
    web = org(org_cloud).account(PROD_WEB)
    web.client("iam").create_role(
        RoleName="session-warden-member", AssumeRolePolicyDocument=json.dumps(member_role_trust())
    )
    describe = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "ssm:DescribeSessions", "Resource": "*"}],
    }
    web.client("iam").put_role_policy(
        RoleName="session-warden-member", PolicyName="d", PolicyDocument=json.dumps(describe)
    )
    function_keys = _credentials(
        org_cloud.client("sts").assume_role(RoleArn=function_role, RoleSessionName="fn")["Credentials"]
    )
    org_cloud.authorizer.register(function_keys.access_key_id, function_role, "fn")

    # WHEN the function assumes the member role and calls SSM in prod-web with it
    sts = org_cloud.client("sts", credentials=function_keys)
    member_keys = _credentials(sts.assume_role(RoleArn=member_arn, RoleSessionName="session-warden")["Credentials"])
    ssm = web.client("ssm", credentials=member_keys)
    listed = ssm.describe_sessions(State="Active")["Sessions"]
    with pytest.raises(ssm.exceptions.ClientError) as denied:
        ssm.terminate_session(SessionId="alice-0123456789abcdefg")

    # THEN what the member role allows passes, the rest is denied, named as that member role's session
    assert listed == []
    assert denied.value.response["Error"]["Code"] == "AccessDeniedException"
    [denial] = org_cloud.iam_denials
    assert denial.caller_arn == f"arn:aws:sts::{PROD_WEB}:assumed-role/session-warden-member/session-warden"
    assert (denial.action, denial.resource) == (
        "ssm:TerminateSession",
        f"arn:aws:ssm:us-east-1:{PROD_WEB}:session/alice-0123456789abcdefg",
    )


def test_put_events_on_the_central_bus_is_admitted_for_the_organization_only(org_cloud: LocalCloud) -> None:
    # GIVEN the central bus admitting the organization, with a tap
    bus = central_bus(org_cloud, "us-east-1", policy=None)
    org_cloud.client("events").put_permission(EventBusName="warden-central", Policy=json.dumps(org_policy(bus)))
    central = Tap(org(org_cloud).account(CENTRAL), "us-east-1", {"source": ["test"]}, bus="warden-central")
    entry = {"Source": "test", "DetailType": "probe", "Detail": "{}", "EventBusName": bus}

    # WHEN a member and an outside account put an event on it directly
    put = org(org_cloud).account(PROD_DATA).client("events").put_events(Entries=[entry])
    outsider = org(org_cloud).outsider().client("events")
    with pytest.raises(outsider.exceptions.ClientError) as refused:
        outsider.put_events(Entries=[entry])

    # THEN the member's event arrives naming its account; the outsider's call is refused
    assert put["FailedEntryCount"] == 0
    assert [event["account"] for event in central.events(org_cloud)] == [PROD_DATA]
    assert refused.value.response["Error"]["Code"] == "AccessDeniedException"


def test_a_new_account_and_a_new_region_get_their_trails() -> None:
    with LocalCloud(template=None, start_at=START, organization=True) as cloud:
        # WHEN the management account creates an account in Development
        account_id = org(cloud).create_account("dev-two", "Development")

        # THEN it is listed in its OU, and its trails deliver in every region
        listed = {account.id: account.ou_path for account in org(cloud).accounts()}
        assert listed[account_id] == "Development"
        view = org(cloud).account(account_id)
        assert view.trails_deliver("us-east-1") and view.trails_deliver("eu-west-1")
        assert view.client("sts").get_caller_identity()["Account"] == account_id

        # AND a region added later is guarded in every account, the new one included
        org(cloud).add_region("eu-central-1")
        assert org(cloud).regions == ("us-east-1", "eu-west-1", "eu-central-1")
        assert view.trails_deliver("eu-central-1") and org(cloud).account(PROD_WEB).trails_deliver("eu-central-1")


def test_the_central_stack_deploys_in_organization_mode() -> None:
    # GIVEN the repository's template deployed into the organization's central account
    with LocalCloud(start_at=START, organization=True) as cloud:
        outputs = cloud.stack_outputs()

        # THEN the central bus admits the organization only, and carries the organization's rules
        events = cloud.client("events")
        policy = json.loads(events.describe_event_bus(Name=outputs["CentralEventBusName"])["Policy"])
        [statement] = policy["Statement"]
        assert statement["Condition"] == {"StringEquals": {"aws:PrincipalOrgID": ORG_ID}}
        assert outputs["OrganizationId"] == ORG_ID
        rules = events.list_rules(EventBusName=outputs["CentralEventBusName"])["Rules"]
        assert len(rules) >= 5
        assert cloud.unemulated_resources == []


def test_the_control_api_ends_a_member_session_and_gives_a_members_user(org_cloud: LocalCloud) -> None:
    # GIVEN a session of prod-web in eu-west-1
    member = org(org_cloud).account(PROD_WEB)
    session_id = start_session(member, "eu-west-1")

    # WHEN `warden local end-session --account --region` and `identity` with an account reach the control API
    ended = org_cloud.control(
        "POST", "end-session", {"session_id": session_id, "account": PROD_WEB, "region": "eu-west-1"}
    )
    keys = org_cloud.control("POST", "identity", {"kind": "user", "name": "erin", "account": PROD_DATA})

    # THEN the member's session ended (no API call), and the user is prod-data's
    assert (ended["session_id"], ended["status"]) == (session_id, "Terminated")
    assert member.session(session_id, region="eu-west-1").status == "Terminated"
    with pytest.raises(LookupError, match=session_id):
        org_cloud.control("POST", "end-session", {"session_id": session_id, "account": PROD_WEB, "region": "us-east-1"})
    assert keys["AWS_ACCESS_KEY_ID"] != "testing"
    caller = org_cloud.client("sts", credentials=_credentials_of(keys)).get_caller_identity()
    assert caller["Arn"] == f"arn:aws:iam::{PROD_DATA}:user/erin"


def _credentials_of(env: dict[str, str]) -> Any:
    from warden_local import Credentials

    return Credentials(env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"])
