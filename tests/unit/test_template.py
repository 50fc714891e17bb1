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
    assert set(functions) == {"SessionStartedFunction", "SessionEndedFunction", "SweeperFunction"}
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


def test_session_end_rule_ignores_the_wardens_own_roles() -> None:
    pattern = RESOURCES["SessionEndedFunction"]["Properties"]["Events"]["SessionEnded"]["Properties"]["Pattern"]
    [condition] = pattern["detail"]["userIdentity"]["arn"]
    prefix = condition["anything-but"]["prefix"]["Sub"]
    assert prefix.endswith(":assumed-role/${AWS::StackName}-warden-")
    for role in ("SessionStartedRole", "SessionEndedRole", "SweeperRole"):
        assert RESOURCES[role]["Properties"]["RoleName"]["Sub"].startswith("${AWS::StackName}-warden-")


def test_stateful_tables_keep_point_in_time_recovery() -> None:
    for table in ("GrantsTable", "LedgerTable"):
        properties = RESOURCES[table]["Properties"]
        assert properties["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
        assert RESOURCES[table]["DeletionPolicy"] == "Retain"
