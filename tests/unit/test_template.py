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
# Functions AppConfig invokes synchronously (organization mode's policy validator): a failure is the refusal that
# `warden policy push` prints, never an event lost in the background, so no DLQ, no alarm, no dashboard line.
SYNCHRONOUS = frozenset({"PolicyValidatorFunction"})
# Organization mode's sweep worker: its event source is the sweep queue, whose redrive is its dead-letter queue;
# its alarms are its own (a one-account dashboard and alarm cannot name a function that stack does not have).
ORG_QUEUE_WORKERS = frozenset({"SweepWorkerFunction"})


def test_default_policy_parameter_is_the_example_policy() -> None:
    value = RESOURCES["PolicyParameter"]["Properties"]["Value"]
    assert value == (ROOT / "policies" / "example.yaml").read_text()


def test_outputs_the_cli_relies_on_exist() -> None:
    assert {"AlertsTopicArn", "GrantsTableName", "LedgerTableName", "PolicyParameterName"} <= set(TEMPLATE["Outputs"])


def test_every_function_has_a_dead_letter_queue_for_its_rule_and_its_async_invocations() -> None:
    functions = {
        name: r
        for name, r in RESOURCES.items()
        if r["Type"] == "AWS::Serverless::Function" and name not in ORG_QUEUE_WORKERS
    }
    for name in SYNCHRONOUS:
        assert "Events" not in functions.pop(name)["Properties"], name
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
    # The second statement exists in organization mode only: the same rules on the central bus.
    [statement, org] = RESOURCES["EventDeliveryDLQPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    sources = [arn["Sub"] for arn in statement["Condition"]["ArnEquals"]["aws:SourceArn"]]
    condition, org_statement, otherwise = org["If"]
    assert (condition, otherwise) == ("OrgMode", {"Ref": "AWS::NoValue"})
    org_rules = [r["Properties"] for r in RESOURCES.values() if r["Type"] == "AWS::Events::Rule"]
    dead_letters = [target["DeadLetterConfig"]["Arn"] for rule in org_rules for target in rule["Targets"]]
    assert dead_letters == [{"GetAtt": "EventDeliveryDLQ.Arn"}] * len(org_rules)
    assert sorted(arn["Sub"] for arn in org_statement["Condition"]["ArnEquals"]["aws:SourceArn"]) == sorted(
        f"arn:${{AWS::Partition}}:events:${{AWS::Region}}:${{AWS::AccountId}}:rule/${{AWS::StackName}}-central/{r['Name']['Sub']}"
        for r in org_rules
    )
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
    queries = {query["Id"]: query for query in alarm["Metrics"]}
    completed = queries["completed"]["MetricStat"]
    assert (completed["Metric"]["Namespace"], completed["Metric"]["MetricName"]) == ("SessionWarden", "SweepCompleted")
    assert completed["Period"] * alarm["EvaluationPeriods"] == 180
    assert (alarm["ComparisonOperator"], alarm["Threshold"], alarm["TreatMissingData"]) == (
        "LessThanThreshold",
        1,
        "breaching",
    )


def test_a_heartbeat_anyone_can_publish_cannot_keep_the_liveness_alarm_quiet_without_lambdas_own_metrics() -> None:
    # SweepCompleted (namespace SessionWarden) can be put by anyone with cloudwatch:PutMetricData; AWS/Lambda's
    # Invocations and Errors of the sweeper only by Lambda. A minute is alive only when all three agree.
    alarm = RESOURCES["SweeperHeartbeatAlarm"]["Properties"]
    queries = {query["Id"]: query for query in alarm["Metrics"]}
    for query_id, metric in (("invocations", "Invocations"), ("errors", "Errors")):
        stat = queries[query_id]["MetricStat"]
        assert (stat["Metric"]["Namespace"], stat["Metric"]["MetricName"]) == ("AWS/Lambda", metric)
        assert stat["Metric"]["Dimensions"] == [{"Name": "FunctionName", "Value": {"Ref": "SweeperFunction"}}]
    [returned] = [query for query in alarm["Metrics"] if query.get("ReturnData")]
    expression = returned["Expression"]
    assert "completed" in expression and "invocations" in expression and "errors" in expression
    assert " AND " in expression


def test_stateful_tables_keep_point_in_time_recovery() -> None:
    for table in ("GrantsTable", "LedgerTable"):
        properties = RESOURCES[table]["Properties"]
        assert properties["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
        assert RESOURCES[table]["DeletionPolicy"] == "Retain"


def test_the_stack_says_which_warden_version_it_is() -> None:
    import tomllib

    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert TEMPLATE["Outputs"]["WardenVersion"]["Value"] == version


def test_the_dashboard_shows_errors_and_throttles_of_every_function() -> None:
    # One body; organization mode's widgets (the sweep worker's among them) are put in through ${OrgWidgets}.
    body, variables = RESOURCES["OperationsDashboard"]["Properties"]["DashboardBody"]["Sub"]
    org_body, none = variables["OrgWidgets"]["If"][1:]
    assert "${OrgWidgets}" in body and none == ""
    body += org_body["Sub"]
    functions = [name for name, resource in RESOURCES.items() if resource["Type"] == "AWS::Serverless::Function"]
    for name in set(functions) - SYNCHRONOUS:
        for metric in ("Errors", "Throttles"):
            assert f'["AWS/Lambda", "{metric}", "FunctionName", "${{{name}}}"' in body, f"{name} {metric}"


def _warning_document() -> dict[str, Any]:
    document: dict[str, Any] = RESOURCES["WarningDocument"]["Properties"]
    return document


def test_the_warning_document_runs_the_script_in_the_repository_unchanged() -> None:
    content = _warning_document()["Content"]
    (step,) = content["mainSteps"]
    assert step["action"] == "aws:runShellScript"
    assert step["precondition"] == {"StringEquals": ["platformType", "Linux"]}
    assert step["inputs"]["runCommand"] == [(ROOT / "functions" / "sweeper" / "session_notice.sh").read_text()]


def test_the_warning_documents_parameters_are_data_with_the_patterns_the_sweeper_keeps_to() -> None:
    from warden.policy.notices import MESSAGE_PATTERN, SESSION_ID_PATTERN

    document = _warning_document()
    assert document["DocumentType"] == "Command"
    content = document["Content"]
    assert content["schemaVersion"] == "2.2"
    parameters = content["parameters"]
    assert set(parameters) == {"SessionId", "Message"}
    assert parameters["SessionId"]["allowedPattern"] == SESSION_ID_PATTERN
    assert parameters["Message"]["allowedPattern"] == MESSAGE_PATTERN
    # Passed as environment variables, and never spliced into the script as {{ }} text.
    assert all(parameter["interpolationType"] == "ENV_VAR" for parameter in parameters.values())
    assert "{{" not in content["mainSteps"][0]["inputs"]["runCommand"][0]


def test_send_command_is_allowed_only_with_the_warning_document_on_instances_and_managed_nodes() -> None:
    granted: dict[str, list[Any]] = {}
    for resource in RESOURCES.values():
        if resource.get("Condition") == "OrgMode":  # organization mode's (tests/unit/test_template_org.py)
            continue
        properties = resource.get("Properties", {})
        documents = [p["PolicyDocument"] for p in properties.get("Policies", []) if isinstance(p, dict)]
        if resource["Type"] == "AWS::IAM::Policy":
            documents.append(properties["PolicyDocument"])
        for document in documents:
            for statement in document["Statement"]:
                actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
                if any(action.lower() in ("ssm:sendcommand", "ssm:*", "*") for action in actions):
                    granted.setdefault(str(properties.get("Roles")), []).append(statement["Resource"])
    assert granted == {
        str([{"Ref": "SweeperRole"}]): [
            [
                {"Sub": "arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:document/${WarningDocument}"},
                {"Sub": "arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}:instance/*"},
                {"Sub": "arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:managed-instance/*"},
            ]
        ]
    }
    assert RESOURCES["SweeperFunction"]["Properties"]["Environment"]["Variables"]["WARDEN_WARNING_DOCUMENT"] == {
        "Ref": "WarningDocument"
    }


def _tamper_patterns() -> list[dict[str, Any]]:
    events = RESOURCES["TamperWatchFunction"]["Properties"]["Events"]
    return [item for event in events.values() for item in event["Properties"]["Pattern"]["$or"]]


def test_the_warning_document_is_replaced_on_change_so_its_version_1_is_always_the_stacks_script() -> None:
    # The sweeper runs DocumentVersion 1 only: that is the template's script only while CloudFormation replaces
    # the document (the default UpdateMethod) instead of adding versions to it.
    assert _warning_document().get("UpdateMethod", "Replace") == "Replace"


def test_the_tamper_watch_sees_put_targets_and_changes_to_the_warning_document() -> None:
    patterns = _tamper_patterns()
    targets = [p for p in patterns if "PutTargets" in p["detail"].get("eventName", [])]
    assert len(targets) == 2 and all("rule" in p["detail"]["requestParameters"] for p in targets)
    [documents] = [p for p in patterns if "UpdateDocumentDefaultVersion" in p["detail"].get("eventName", [])]
    assert set(documents["detail"]["eventName"]) == {"UpdateDocument", "UpdateDocumentDefaultVersion", "DeleteDocument"}
    assert {"Ref": "WarningDocument"} in documents["detail"]["requestParameters"]["name"]
    variables = RESOURCES["TamperWatchFunction"]["Properties"]["Environment"]["Variables"]
    assert variables["WARDEN_WARNING_DOCUMENT"] == {"Ref": "WarningDocument"}


def test_the_tamper_watch_sees_concurrency_and_retry_changes_to_every_warden_function() -> None:
    # The patterns on the functions (organization mode adds one on the sweep worker's event source mapping).
    lambdas = [
        p
        for p in _tamper_patterns()
        if p["detail"]["eventSource"] == ["lambda.amazonaws.com"]
        and "functionName" in p["detail"].get("requestParameters", {})
    ]
    assert len(lambdas) == 2
    for pattern in lambdas:
        names = pattern["detail"]["eventName"]
        assert "PutFunctionConcurrency20171031" in names
        assert {"prefix": "PutFunctionEventInvokeConfig"} in names
        assert {"prefix": "UpdateFunctionEventInvokeConfig"} in names


def test_the_throttles_alarm_counts_every_function() -> None:
    metrics = RESOURCES["ThrottlesAlarm"]["Properties"]["Metrics"]
    counted = {
        metric["MetricStat"]["Metric"]["Dimensions"][0]["Value"]["Ref"] for metric in metrics if "MetricStat" in metric
    }
    functions = {name for name, r in RESOURCES.items() if r["Type"] == "AWS::Serverless::Function"}
    assert counted == functions - SYNCHRONOUS - ORG_QUEUE_WORKERS
    [total] = [metric for metric in metrics if metric.get("ReturnData")]
    assert set(total["Expression"].replace(" ", "").split("+")) == {m["Id"] for m in metrics if "MetricStat" in m}
