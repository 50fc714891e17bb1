"""The SAM template keeps its promises: example policy in sync, outputs, DLQs, least privilege, no self-trigger."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]


class _CfnLoader(yaml.SafeLoader):
    """Reads CloudFormation short-form tags (!Ref, !Sub, ...) as plain values."""


def _tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        return {suffix: loader.construct_scalar(node)}
    if isinstance(node, yaml.SequenceNode):
        return {suffix: loader.construct_sequence(node)}
    return {suffix: loader.construct_mapping(node)}  # type: ignore[arg-type]


_CfnLoader.add_multi_constructor("!", _tag)
TEMPLATE = yaml.load((ROOT / "template.yaml").read_text(), Loader=_CfnLoader)
RESOURCES = TEMPLATE["Resources"]


def test_default_policy_parameter_is_the_example_policy() -> None:
    value = RESOURCES["PolicyParameter"]["Properties"]["Value"]
    assert value == (ROOT / "policies" / "example.yaml").read_text()


def test_outputs_the_cli_relies_on_exist() -> None:
    assert {"AlertsTopicArn", "GrantsTableName", "LedgerTableName", "PolicyParameterName"} <= set(TEMPLATE["Outputs"])


def test_every_function_has_a_dead_letter_queue_for_its_rule_and_its_async_invocations() -> None:
    functions = {name: r for name, r in RESOURCES.items() if r["Type"] == "AWS::Serverless::Function"}
    assert set(functions) == {
        "SessionStartedFunction",
        "SessionEndedFunction",
        "SweeperFunction",
        "TamperWatchFunction",
    }
    for name, function in functions.items():
        properties = function["Properties"]
        assert properties["EventInvokeConfig"]["DestinationConfig"]["OnFailure"]["Type"] == "SQS", name
        for event in properties["Events"].values():
            assert "DeadLetterConfig" in event["Properties"], name


def test_only_the_enforcing_roles_may_terminate_sessions_and_only_session_arns() -> None:
    def actions(role: str) -> dict[str, Any]:
        statements = RESOURCES[role]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
        return {action: s["Resource"] for s in statements for action in s["Action"]}

    for role in ("SessionStartedRole", "SweeperRole"):
        assert actions(role)["ssm:TerminateSession"] == {
            "Sub": "arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:session/*"
        }
    assert "ssm:TerminateSession" not in actions("SessionEndedRole")


def test_session_end_rules_ignore_exactly_the_roles_that_terminate_sessions() -> None:
    # The rule used to ignore every role named "<stack>-warden-*": anyone who could create such a role hid their
    # terminations. Now non-role callers match one rule, and role sessions of every role but exactly the warden's
    # two terminating roles the other.
    events = RESOURCES["SessionEndedFunction"]["Properties"]["Events"]
    by_user = events["SessionEndedByUser"]["Properties"]["Pattern"]["detail"]["userIdentity"]
    assert by_user == {"type": [{"anything-but": ["AssumedRole"]}]}
    by_role = events["SessionEndedByRole"]["Properties"]["Pattern"]["detail"]["userIdentity"]
    assert by_role["type"] == ["AssumedRole"]
    [condition] = by_role["sessionContext"]["sessionIssuer"]["arn"]
    assert condition["anything-but"] == [{"GetAtt": "SessionStartedRole.Arn"}, {"GetAtt": "SweeperRole.Arn"}]
    terminating = {
        name
        for name, resource in RESOURCES.items()
        if resource["Type"] == "AWS::IAM::Role"
        and any(
            "ssm:TerminateSession" in statement["Action"]
            for policy in resource["Properties"].get("Policies", [])
            for statement in policy["PolicyDocument"]["Statement"]
        )
    }
    assert terminating == {"SessionStartedRole", "SweeperRole"}  # exactly the roles the rule ignores


def test_event_delivery_dead_letters_come_only_from_the_wardens_own_rules() -> None:
    [statement] = RESOURCES["EventDeliveryDLQPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    sources = [arn["Sub"] for arn in statement["Condition"]["ArnEquals"]["aws:SourceArn"]]
    names = []
    for function in ("SessionStartedFunction", "SessionEndedFunction", "SweeperFunction", "TamperWatchFunction"):
        for event in RESOURCES[function]["Properties"]["Events"].values():
            properties = event["Properties"]
            names.append((properties.get("RuleName") or properties.get("Name"))["Sub"])
            assert properties["DeadLetterConfig"]["Arn"] == {"GetAtt": "EventDeliveryDLQ.Arn"}
    assert sorted(sources) == sorted(
        f"arn:${{AWS::Partition}}:events:${{AWS::Region}}:${{AWS::AccountId}}:rule/{name}" for name in names
    )


def test_a_sweep_lease_never_outlives_the_sweepers_timeout() -> None:
    from warden.sweeper import LEASE_SECONDS

    assert RESOURCES["SweeperFunction"]["Properties"]["Timeout"] > LEASE_SECONDS


def test_heartbeat_alarm_fires_when_no_sweep_completed_for_three_minutes() -> None:
    alarm = RESOURCES["SweeperHeartbeatAlarm"]["Properties"]
    assert (alarm["Namespace"], alarm["MetricName"]) == ("SessionWarden", "SweepCompleted")
    assert alarm["Period"] * alarm["EvaluationPeriods"] == 180
    assert (alarm["ComparisonOperator"], alarm["Threshold"], alarm["TreatMissingData"]) == (
        "LessThanThreshold",
        1,
        "breaching",
    )


def test_stateful_tables_keep_point_in_time_recovery() -> None:
    for table in ("GrantsTable", "LedgerTable"):
        properties = RESOURCES[table]["Properties"]
        assert properties["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
        assert RESOURCES[table]["DeletionPolicy"] == "Retain"
