"""Organization mode in the templates: the central stack's org resources exist only in org mode, the member stack
forwards everything the central bus's rules want, and its role allows exactly what the contract lists."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest

from warden.policy.forward_rule import uncovered
from warden_cli.org_stack import ORG_OUTPUT_KEYS, member_parameters, org_outputs_of
from warden_local.conditions import apply_conditions, evaluate_conditions
from warden_local.stack import load_template, package

ROOT = Path(__file__).resolve().parents[2]
CENTRAL = load_template(ROOT / "template.yaml")
MEMBER = load_template(ROOT / "org" / "member.yaml")
STACK, CENTRAL_ACCOUNT, HOME, ORG_ID = "session-warden", "123456789012", "us-east-1", "o-warden0001"
MEMBER_ACCOUNT, OTHER_REGION = "222222222222", "eu-west-1"
ORG_PARAMETERS = {"AlertEmail": "security@example.com", "OrganizationId": ORG_ID, "GuardedRegions": OTHER_REGION}

# The default-bus rule (function, event) each central-bus rule copies, by its name suffix.
COPIES = {
    "session-started": ("SessionStartedFunction", "SessionStarted"),
    "session-ended-by-user": ("SessionEndedFunction", "SessionEndedByUser"),
    "session-ended-by-role": ("SessionEndedFunction", "SessionEndedByRole"),
    "tamper-watch": ("TamperWatchFunction", "TamperWatch"),
    "canary": ("TamperWatchFunction", "Canary"),
}
MEMBER_ROLE_ACTIONS = {
    "ssm:DescribeSessions",
    "ssm:TerminateSession",
    "ssm:GetDocument",
    "ssm:DescribeInstanceInformation",
    "ssm:ListTagsForResource",
    "ec2:DescribeInstances",
    "ec2:DescribeTags",
    "iam:GetRole",
    "ssm:PutParameter",
    "ssm:GetParameter",
    "cloudtrail:DescribeTrails",
    "cloudtrail:GetTrailStatus",
    "cloudtrail:GetEventSelectors",
    "events:DescribeRule",
    "events:ListTargetsByRule",
    # Warnings before a session's deadline (SPEC section 9): the member stack's warning document, what the node said.
    "ssm:SendCommand",
    "ssm:GetCommandInvocation",
}
CONTRACT_OUTPUTS = set(ORG_OUTPUT_KEYS)  # what `warden org deploy` and `warden org status` read


# --- a small CloudFormation resolver: the values a deployment would give (names as CloudFormation makes them) ---


class Resolver:
    def __init__(self, template: dict[str, Any], values: dict[str, Any]) -> None:
        self.template = template
        self.resources = template["Resources"]
        self.values = values

    def physical(self, logical: str) -> str:
        resource = self.resources[logical]
        properties = resource.get("Properties", {})
        for key in ("RoleName", "FunctionName", "Name"):
            if key in properties:
                return str(self.resolve(properties[key]))
        return f"{self.values['AWS::StackName']}-{logical}-1A2B3C4D5E6F"

    def arn(self, logical: str) -> str:
        kind, name = self.resources[logical]["Type"], self.physical(logical)
        region, account = self.values["AWS::Region"], self.values["AWS::AccountId"]
        service, resource = {
            "AWS::IAM::Role": ("iam", f"role/{name}"),
            "AWS::Serverless::Function": ("lambda", f"function:{name}"),
            "AWS::DynamoDB::Table": ("dynamodb", f"table/{name}"),
            "AWS::Events::EventBus": ("events", f"event-bus/{name}"),
            "AWS::Events::Rule": ("events", f"rule/{name}"),
            "AWS::SQS::Queue": ("sqs", name),
        }[kind]
        return f"arn:aws:{service}:{'' if service == 'iam' else region}:{account}:{resource}"

    def ref(self, name: str) -> Any:
        if name in self.values:
            return self.values[name]
        declared = self.template.get("Parameters", {}).get(name)
        if declared is not None:
            default = declared.get("Default", "")
            return default.split(",") if "List" in declared["Type"] and default else default
        return self.physical(name)

    def condition(self, name: str) -> bool:
        return evaluate_conditions(self.template, self.values)[name]

    def resolve(self, node: Any) -> Any:
        if isinstance(node, list):
            return [self.resolve(item) for item in node]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            [(function, argument)] = node.items()
            if function == "Ref":
                return self.ref(argument)
            if function == "Fn::GetAtt":
                logical, attribute = argument
                assert attribute in ("Arn", "Name"), attribute
                return self.arn(logical) if attribute == "Arn" else self.physical(logical)
            if function == "Fn::Sub":
                return re.sub(r"\$\{([^}]+)\}", lambda m: self._sub(m.group(1)), argument)
            if function == "Fn::Join":
                separator, items = argument
                return separator.join(str(item) for item in self.resolve(items))
            if function == "Fn::If":
                name, when_true, when_false = argument
                return self.resolve(when_true if self.condition(name) else when_false)
        return {key: self.resolve(value) for key, value in node.items()}

    def _sub(self, name: str) -> str:
        if name.endswith(".Arn"):
            return self.arn(name[: -len(".Arn")])
        if name.endswith(".QueueName"):
            return self.physical(name[: -len(".QueueName")])
        return str(self.ref(name))


CENTRAL_VALUES = {
    "AWS::StackName": STACK,
    "AWS::AccountId": CENTRAL_ACCOUNT,
    "AWS::Region": HOME,
    "AWS::Partition": "aws",
    "OrganizationId": ORG_ID,
    "GuardedRegions": [OTHER_REGION],
}


def central() -> Resolver:
    return Resolver(CENTRAL, dict(CENTRAL_VALUES))


def central_outputs() -> dict[str, str]:
    resolver = central()
    return {name: str(resolver.resolve(output["Value"])) for name, output in CENTRAL["Outputs"].items()}


def member(account: str = MEMBER_ACCOUNT, region: str = OTHER_REGION, *, relay: bool = False) -> Resolver:
    parameters = member_parameters(org_outputs_of(STACK, central_outputs()), relay=relay)
    values: dict[str, Any] = {"AWS::AccountId": account, "AWS::Region": region, "AWS::Partition": "aws", **parameters}
    values["AWS::StackName"] = f"StackSet-{STACK}-members-0f1e2d3c"
    values["CentralRoleArns"] = parameters["CentralRoleArns"].split(",")
    return Resolver(MEMBER, values)


def org_rules() -> dict[str, dict[str, Any]]:
    return {logical: r for logical, r in CENTRAL["Resources"].items() if r["Type"] == "AWS::Events::Rule"}


# --- pattern coverage: every event a central rule matches, the forward rule matches too (the judgement the sweep
# worker makes of each member's forward rule, warden.policy.forward_rule) ---------------------------------------


def deployed_template(parameters: dict[str, str]) -> dict[str, Any]:
    """The central template SAM-translated with its conditions applied, as the local cloud creates it."""
    packaged = package(
        ROOT / "template.yaml", stack_name=STACK, region=HOME, account_id=CENTRAL_ACCOUNT, parameters=parameters
    )
    return packaged.template


def forward_pattern() -> dict[str, Any]:
    resolver = member()
    pattern: dict[str, Any] = resolver.resolve(MEMBER["Resources"]["ForwardRule"]["Properties"]["EventPattern"])
    return pattern


# --- the central stack -------------------------------------------------------------------------------------------


def test_org_mode_is_switched_on_by_the_organization_id_and_off_by_default() -> None:
    parameters = CENTRAL["Parameters"]
    assert parameters["OrganizationId"]["Default"] == ""
    assert parameters["OrganizationId"]["AllowedPattern"] == "^$|^o-[a-z0-9]{10,32}$"
    assert parameters["GuardedRegions"] == {**parameters["GuardedRegions"], "Type": "CommaDelimitedList", "Default": ""}
    assert parameters["MemberRoleName"]["Default"] == "session-warden-member"
    assert CENTRAL["Conditions"]["OrgMode"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "OrganizationId"}, ""]}]}


def test_every_organization_resource_and_output_exists_in_org_mode_only() -> None:
    resources = CENTRAL["Resources"]
    org = {logical for logical, resource in resources.items() if resource.get("Condition") == "OrgMode"}
    assert {"CentralEventBus", "CentralEventBusPolicy"} <= org
    assert {logical for logical in resources if logical.startswith(("Org", "Central"))} <= org
    outputs = {name for name, output in CENTRAL["Outputs"].items() if output.get("Condition") == "OrgMode"}
    assert outputs >= CONTRACT_OUTPUTS


def test_with_no_organization_id_the_deployed_template_has_no_organization_resource_and_empty_org_settings() -> None:
    # What the local cloud deploys (SAM-translated, conditions applied), as CloudFormation would create it.
    single = deployed_template({"AlertEmail": "security@example.com"})
    org = deployed_template(ORG_PARAMETERS)
    types = [r["Type"] for r in single["Resources"].values()]
    assert "AWS::Events::EventBus" not in types
    assert "AWS::Events::EventBusPolicy" not in types
    assert not [n for n, r in single["Resources"].items() if r.get("Properties", {}).get("EventBusName")]
    assert not CONTRACT_OUTPUTS & set(single["Outputs"])
    org_only = {logical for logical, r in CENTRAL["Resources"].items() if r.get("Condition") == "OrgMode"}
    # What SAM makes of an organization-mode function (its role, its event source mapping) is org-only too.
    org_functions = [
        logical for logical in org_only if CENTRAL["Resources"][logical]["Type"].startswith("AWS::Serverless")
    ]
    added = set(org["Resources"]) - set(single["Resources"])
    assert {
        logical for logical in added if not any(logical != f and logical.startswith(f) for f in org_functions)
    } == org_only
    assert org_only <= added
    # Nothing else differs: a one-account stack gets exactly the resources it had (the same definitions).
    shared = set(single["Resources"]) & set(org["Resources"])
    changed = {logical for logical in shared if single["Resources"][logical] != org["Resources"][logical]}
    functions = {logical for logical, r in single["Resources"].items() if r["Type"] == "AWS::Lambda::Function"}
    # The org settings in their environment; the DLQ policy; the tamper rule, which also watches the AppConfig
    # policy store and the sweep fan-out in organization mode; the dashboard, which also shows the sweep fan-out.
    assert changed == functions | {"EventDeliveryDLQPolicy", "TamperWatchFunctionTamperWatch", "OperationsDashboard"}
    for logical in functions:
        variables = single["Resources"][logical]["Properties"]["Environment"]["Variables"]
        assert (variables["WARDEN_ORGANIZATION_ID"], variables["WARDEN_GUARDED_REGIONS"]) == ("", "")
        assert variables["WARDEN_MEMBER_ROLE_NAME"] == ""
    [statement] = single["Resources"]["EventDeliveryDLQPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Sid"] == "EventBridgeDeadLetters"


def test_in_org_mode_every_function_knows_the_organization_its_regions_and_the_member_role() -> None:
    resolver = central()
    variables = resolver.resolve(CENTRAL["Globals"]["Function"]["Environment"]["Variables"])
    assert variables["WARDEN_ORGANIZATION_ID"] == ORG_ID
    assert variables["WARDEN_GUARDED_REGIONS"] == f"{HOME},{OTHER_REGION}"  # the home region first, always
    assert variables["WARDEN_MEMBER_ROLE_NAME"] == "session-warden-member"
    alone = Resolver(CENTRAL, {**CENTRAL_VALUES, "GuardedRegions": []})
    assert alone.resolve(CENTRAL["Globals"]["Function"]["Environment"]["Variables"])["WARDEN_GUARDED_REGIONS"] == HOME
    assert central_outputs()["GuardedRegionList"] == variables["WARDEN_GUARDED_REGIONS"]


def test_only_accounts_of_the_organization_may_put_events_on_the_central_bus() -> None:
    resolver = central()
    assert resolver.physical("CentralEventBus") == f"{STACK}-central"
    policy = resolver.resolve(CENTRAL["Resources"]["CentralEventBusPolicy"]["Properties"])
    assert policy["EventBusName"] == f"{STACK}-central"
    assert policy["Statement"] == {
        "Effect": "Allow",
        "Principal": "*",
        "Action": "events:PutEvents",
        "Resource": f"arn:aws:events:{HOME}:{CENTRAL_ACCOUNT}:event-bus/{STACK}-central",
        "Condition": {"StringEquals": {"aws:PrincipalOrgID": ORG_ID}},
    }


@pytest.mark.parametrize("suffix", sorted(COPIES))
def test_each_central_bus_rule_copies_its_default_bus_rule_pattern_target_retries_and_dead_letters(suffix: str) -> None:
    function, event = COPIES[suffix]
    [(logical, rule)] = [
        (logical, r)
        for logical, r in org_rules().items()
        if r["Properties"]["Name"] == {"Fn::Sub": f"${{AWS::StackName}}-org-{suffix}"}
    ]
    original = CENTRAL["Resources"][function]["Properties"]["Events"][event]["Properties"]
    properties = rule["Properties"]
    assert properties["EventBusName"] == {"Fn::GetAtt": ["CentralEventBus", "Name"]}
    assert properties["State"] == "ENABLED"
    [target] = properties["Targets"]
    assert target["Arn"] == {"Fn::GetAtt": [function, "Arn"]}
    assert target["RetryPolicy"] == original["RetryPolicy"]
    assert target["DeadLetterConfig"] == original["DeadLetterConfig"]
    if suffix == "session-ended-by-role":
        # The same pattern, and not the warden's own terminations under the member role either.
        expected = copy.deepcopy(original["Pattern"])
        issuer = expected["detail"]["userIdentity"]["sessionContext"]["sessionIssuer"]
        issuer["userName"] = [{"anything-but": [{"Ref": "MemberRoleName"}]}]
        assert properties["EventPattern"] == expected
    else:
        assert properties["EventPattern"] == original["Pattern"]
    [permission] = [
        r["Properties"]
        for r in CENTRAL["Resources"].values()
        if r["Type"] == "AWS::Lambda::Permission"
        and r["Properties"].get("SourceArn") == {"Fn::GetAtt": [logical, "Arn"]}
    ]
    assert permission == {
        "Action": "lambda:InvokeFunction",
        "FunctionName": {"Ref": function},
        "Principal": "events.amazonaws.com",
        "SourceArn": {"Fn::GetAtt": [logical, "Arn"]},
    }


def test_the_tamper_watch_also_watches_the_central_bus_rules() -> None:
    watched = CENTRAL["Resources"]["TamperWatchFunction"]["Properties"]["Events"]["TamperWatch"]["Properties"]
    names = [
        branch["detail"]["requestParameters"]
        for branch in watched["Pattern"]["$or"]
        if branch["source"] == ["aws.events"]
    ]
    for rule in org_rules().values():
        assert all(rule["Properties"]["Name"] in (branch.get("name") or branch.get("rule")) for branch in names)


def test_the_functions_assume_only_the_member_role_and_only_inside_the_organization() -> None:
    resolver = central()
    policy = CENTRAL["Resources"]["OrgMemberAccessPolicy"]
    statements = resolver.resolve(policy["Properties"]["PolicyDocument"]["Statement"])
    assume = [s for s in statements if "sts:AssumeRole" in s["Action"]]
    assert assume == [
        {
            "Sid": "AssumeMemberRoles",
            "Effect": "Allow",
            "Action": ["sts:AssumeRole"],
            "Resource": "arn:aws:iam::*:role/session-warden-member",
            "Condition": {"StringEquals": {"aws:ResourceOrgID": ORG_ID}},
        }
    ]
    reads = {action for s in statements for action in s["Action"] if action.startswith("organizations:")}
    assert reads == {
        "organizations:ListAccounts",
        "organizations:ListParents",
        "organizations:DescribeOrganizationalUnit",
    }
    # The roles that may assume it are exactly those the member role trusts (CentralRoleArns).
    roles = [resolver.arn(ref["Ref"]) for ref in policy["Properties"]["Roles"]]
    assert central_outputs()["CentralRoleArns"].split(",") == roles


def test_no_role_outside_org_mode_can_assume_anything_and_central_regions_are_the_guarded_ones() -> None:
    for logical, resource in CENTRAL["Resources"].items():
        if resource["Type"] != "AWS::IAM::Policy":
            continue
        actions = {a for s in resource["Properties"]["PolicyDocument"]["Statement"] for a in s["Action"]}
        if "sts:AssumeRole" in actions or any(a.startswith("organizations:") for a in actions):
            assert resource.get("Condition") == "OrgMode", logical
        for statement in resource["Properties"]["PolicyDocument"]["Statement"]:
            resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
            if any(":ssm:*:" in json.dumps(r) for r in resources):
                assert statement["Condition"] == {"StringEquals": {"aws:RequestedRegion": {"Ref": "GuardedRegions"}}}


def test_the_org_outputs_are_what_warden_org_deploy_reads() -> None:
    outputs = central_outputs()
    org = org_outputs_of(STACK, outputs)
    assert (org.central_account, org.home_region, org.bus_name) == (CENTRAL_ACCOUNT, HOME, f"{STACK}-central")
    assert org.guarded_regions == (HOME, OTHER_REGION)
    assert org.organization_id == ORG_ID


# --- the member stack --------------------------------------------------------------------------------------------


def test_the_member_template_is_plain_cloudformation_and_every_parameter_comes_from_the_central_stack() -> None:
    assert "Transform" not in MEMBER
    parameters = member_parameters(org_outputs_of(STACK, central_outputs()))
    required = {name for name, declared in MEMBER["Parameters"].items() if "Default" not in declared}
    assert required <= set(parameters)
    assert set(parameters) == set(MEMBER["Parameters"])


@pytest.mark.parametrize(
    ("logical", "suffix"), [(logical, r["Properties"]["Name"]["Fn::Sub"]) for logical, r in org_rules().items()]
)
def test_the_forward_rule_forwards_everything_each_central_bus_rule_matches(logical: str, suffix: str) -> None:
    pattern = central().resolve(CENTRAL["Resources"][logical]["Properties"]["EventPattern"])
    # The policy store (AppConfig) and the sweep fan-out (its queues and the worker's event source mapping) live in
    # the central account only: no member has one to forward calls on.
    missing = [
        part
        for part in uncovered(forward_pattern(), pattern)
        if part.get("source") not in (["aws.appconfig"], ["aws.sqs"])
        and "responseElements" not in part.get("detail", {})
    ]
    assert missing == [], suffix


def test_the_coverage_check_notices_a_pattern_the_forward_rule_does_not_cover() -> None:
    # The check itself: a TerminateSession of the central pattern is covered; a call the forward rule drops is not.
    forward = forward_pattern()
    wider = {
        "source": ["aws.ssm"],
        "detail-type": ["AWS API Call via CloudTrail"],
        "detail": {"eventSource": ["ssm.amazonaws.com"], "eventName": ["SendCommand"]},
    }
    assert uncovered(forward, wider) == [wider]
    unnamed = {
        "source": ["aws.ssm"],
        "detail-type": ["AWS API Call via CloudTrail"],
        "detail": {"eventSource": ["ssm.amazonaws.com"], "eventName": ["PutParameter"]},
    }
    assert uncovered(forward, unnamed) == [unnamed]  # every PutParameter is not forwarded, the warden's are


def test_events_forwarded_from_a_member_reach_the_central_rules_by_the_patterns_eventbridge_evaluates() -> None:
    from moto.events.models import EventPattern

    forward = EventPattern.load(json.dumps(forward_pattern()))
    canary = EventPattern.load(
        json.dumps(central().resolve(CENTRAL["Resources"]["OrgCanaryRule"]["Properties"]["EventPattern"]))
    )
    start = EventPattern.load(
        json.dumps(central().resolve(CENTRAL["Resources"]["OrgSessionStartedRule"]["Properties"]["EventPattern"]))
    )

    def put_parameter(name: str) -> dict[str, Any]:
        return {
            "source": "aws.ssm",
            "detail-type": "AWS API Call via CloudTrail",
            "account": MEMBER_ACCOUNT,
            "region": OTHER_REGION,
            "detail": {
                "eventSource": "ssm.amazonaws.com",
                "eventName": "PutParameter",
                "requestParameters": {"name": name},
            },
        }

    ours = put_parameter(f"/session-warden/{STACK}/canary")
    assert forward.matches_event(ours) and canary.matches_event(ours)
    someone_elses = put_parameter("/app/database-url")
    assert not forward.matches_event(someone_elses)
    started = json.loads((ROOT / "events" / "start-session-iam-user.json").read_text())
    assert forward.matches_event(started) and start.matches_event(started)


def test_the_forward_rule_targets_the_central_bus_with_a_role_that_may_only_put_events_there() -> None:
    resolver = member()
    home_bus = f"arn:aws:events:{HOME}:{CENTRAL_ACCOUNT}:event-bus/{STACK}-central"
    [target] = resolver.resolve(MEMBER["Resources"]["ForwardRule"]["Properties"]["Targets"])
    assert target["Arn"] == home_bus == central_outputs()["CentralEventBusArn"]
    assert target["RoleArn"] == resolver.arn("ForwardRole")
    role = resolver.resolve(MEMBER["Resources"]["ForwardRole"]["Properties"])
    [trust] = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "events.amazonaws.com"}
    [policy] = role["Policies"]
    assert policy["PolicyDocument"]["Statement"] == [
        {"Sid": "PutOnTheCentralBus", "Effect": "Allow", "Action": "events:PutEvents", "Resource": home_bus}
    ]


def test_the_member_role_allows_exactly_the_contracts_actions_and_trusts_only_the_central_roles_in_the_org() -> None:
    resolver = member(region=HOME)
    role = resolver.resolve(MEMBER["Resources"]["MemberRole"]["Properties"])
    assert role["RoleName"] == "session-warden-member"
    [trust] = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"AWS": central_outputs()["CentralRoleArns"].split(",")}
    assert trust["Condition"] == {"StringEquals": {"aws:PrincipalOrgID": ORG_ID}}
    statements = [s for p in role["Policies"] for s in p["PolicyDocument"]["Statement"]]
    assert {action for s in statements for action in s["Action"]} == MEMBER_ROLE_ACTIONS
    assert all(s["Effect"] == "Allow" for s in statements)
    [canary] = [s for s in statements if "ssm:PutParameter" in s["Action"]]
    assert canary["Resource"] == f"arn:aws:ssm:*:{MEMBER_ACCOUNT}:parameter/session-warden/{STACK}/canary"
    [forward] = [s for s in statements if "events:DescribeRule" in s["Action"]]
    # Every region's forward rule of this account (the role is made once, in the home region), and only that rule.
    assert forward["Resource"] == f"arn:aws:events:*:{MEMBER_ACCOUNT}:rule/{STACK}-forward"
    assert forward["Resource"].rsplit(":", 1)[1] == f"rule/{member().physical('ForwardRule')}"
    [terminate] = [s for s in statements if "ssm:TerminateSession" in s["Action"]]
    assert terminate["Resource"] == f"arn:aws:ssm:*:{MEMBER_ACCOUNT}:session/*"
    # SendCommand with the member stack's warning document only, on this account's instances and managed nodes
    [send] = [s for s in statements if "ssm:SendCommand" in s["Action"]]
    assert send["Action"] == ["ssm:SendCommand"]
    assert send["Resource"] == [
        f"arn:aws:ssm:*:{MEMBER_ACCOUNT}:document/{STACK}-session-notice-1",
        f"arn:aws:ec2:*:{MEMBER_ACCOUNT}:instance/*",
        f"arn:aws:ssm:*:{MEMBER_ACCOUNT}:managed-instance/*",
    ]
    [answers] = [s for s in statements if "ssm:GetCommandInvocation" in s["Action"]]
    assert (answers["Action"], answers["Resource"]) == (["ssm:GetCommandInvocation"], "*")
    canary_parameter = resolver.resolve(MEMBER["Resources"]["CanaryParameter"]["Properties"])
    assert (canary_parameter["Name"], canary_parameter["Type"], canary_parameter["Value"]) == (
        f"/session-warden/{STACK}/canary",
        "String",
        "unset",
    )


@pytest.mark.parametrize(
    ("account", "region", "relay", "created"),
    [
        (
            MEMBER_ACCOUNT,
            HOME,
            False,
            {"ForwardRule", "ForwardRole", "CanaryParameter", "WarningDocument", "MemberRole"},
        ),
        (MEMBER_ACCOUNT, OTHER_REGION, False, {"ForwardRule", "ForwardRole", "CanaryParameter", "WarningDocument"}),
        # The StackSet in the central account (in a targeted OU) creates nothing: no event reaches the warden twice.
        (CENTRAL_ACCOUNT, HOME, False, {"NothingToDoHere"}),
        (CENTRAL_ACCOUNT, OTHER_REGION, False, {"NothingToDoHere"}),
        # The relay stack in the central account's other regions forwards, with no member role.
        (CENTRAL_ACCOUNT, OTHER_REGION, True, {"ForwardRule", "ForwardRole", "CanaryParameter", "WarningDocument"}),
    ],
)
def test_what_the_member_template_creates_in_each_account_and_region(
    account: str, region: str, relay: bool, created: set[str]
) -> None:
    template = copy.deepcopy(MEMBER)
    apply_conditions(template, member(account, region, relay=relay).values)
    assert set(template["Resources"]) == created


def test_the_member_template_passes_cfn_lint() -> None:
    lint = ROOT / ".tools" / "sam" / "bin" / "cfn-lint"
    if not lint.exists():
        pytest.skip("cfn-lint is not installed in .tools/sam")
    import subprocess

    result = subprocess.run([str(lint), str(ROOT / "org" / "member.yaml")], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_sweep_worker_takes_one_order_at_a_time_reports_failed_items_and_dead_letters_after_three_tries() -> None:
    resources = CENTRAL["Resources"]
    worker = resources["SweepWorkerFunction"]
    assert worker["Condition"] == "OrgMode"
    [source] = worker["Properties"]["Events"].values()
    assert source["Type"] == "SQS"
    properties = source["Properties"]
    assert properties["Queue"] == {"Fn::GetAtt": ["SweepQueue", "Arn"]}
    assert (properties["BatchSize"], properties["FunctionResponseTypes"]) == (1, ["ReportBatchItemFailures"])
    assert properties["ScalingConfig"]["MaximumConcurrency"] >= 2
    queue = resources["SweepQueue"]["Properties"]
    assert queue["VisibilityTimeout"] > worker["Properties"]["Timeout"]
    assert queue["RedrivePolicy"]["deadLetterTargetArn"] == {"Fn::GetAtt": ["SweepDeadLetterQueue", "Arn"]}
    alarm = resources["SweepDeadLetterQueueAlarm"]["Properties"]
    assert alarm["Dimensions"] == [
        {"Name": "QueueName", "Value": {"Fn::GetAtt": ["SweepDeadLetterQueue", "QueueName"]}}
    ]
    # The worker's terminations are the sweeper role's, which the session-end rules ignore; the member role trusts it.
    assert worker["Properties"]["Role"] == {"Fn::GetAtt": ["SweeperRole", "Arn"]}
    # Only the sweeper sends orders; the sweeper knows the queue.
    sweeper_env = resources["SweeperFunction"]["Properties"]["Environment"]["Variables"]
    assert sweeper_env["WARDEN_SWEEP_QUEUE_URL"] == {"Fn::If": ["OrgMode", {"Ref": "SweepQueue"}, ""]}
    assert CENTRAL["Outputs"]["SweepQueueUrl"]["Value"] == {"Ref": "SweepQueue"}


def test_an_organization_stack_deploys_the_example_policy_as_its_first_appconfig_version() -> None:
    resources = CENTRAL["Resources"]
    version, deployment = resources["PolicyInitialVersion"], resources["PolicyInitialDeployment"]
    # GIVEN the template WHEN org mode is on THEN version 1 is the very text a one-account stack starts with
    assert (version["Type"], version["Condition"]) == ("AWS::AppConfig::HostedConfigurationVersion", "OrgMode")
    example = (ROOT / "policies" / "example.yaml").read_text()
    assert version["Properties"]["Content"] == resources["PolicyParameter"]["Properties"]["Value"] == example
    assert version["Properties"]["ContentType"] == "application/x-yaml"
    assert version["Properties"]["ApplicationId"] == {"Ref": "PolicyApplication"}
    assert version["Properties"]["ConfigurationProfileId"] == {"Ref": "PolicyProfile"}
    # AND it is deployed with the warden's own strategy to the environment the functions read
    assert (deployment["Type"], deployment["Condition"]) == ("AWS::AppConfig::Deployment", "OrgMode")
    assert deployment["Properties"] == {
        **deployment["Properties"],
        "ApplicationId": {"Ref": "PolicyApplication"},
        "EnvironmentId": {"Ref": "PolicyEnvironment"},
        "ConfigurationProfileId": {"Ref": "PolicyProfile"},
        "ConfigurationVersion": {"Ref": "PolicyInitialVersion"},
        "DeploymentStrategyId": {"Ref": "PolicyDeploymentStrategy"},
    }
    # AND only once AppConfig may invoke the validator, which runs at StartDeployment
    assert deployment["DependsOn"] == "PolicyValidatorPermission"
    validator = resources["PolicyProfile"]["Properties"]["Validators"]
    assert validator == [{"Type": "LAMBDA", "Content": {"Fn::GetAtt": ["PolicyValidatorFunction", "Arn"]}}]
    assert resources["PolicyValidatorPermission"]["Properties"]["Principal"] == "appconfig.amazonaws.com"


def test_a_one_account_stack_has_no_appconfig_version_or_deployment() -> None:
    single = deployed_template({"AlertEmail": "security@example.com"})
    kinds = {resource["Type"] for resource in single["Resources"].values()}
    assert not {kind for kind in kinds if kind.startswith("AWS::AppConfig::")}
    assert single["Resources"]["PolicyParameter"]["Properties"]["Value"] == (ROOT / "policies/example.yaml").read_text()
