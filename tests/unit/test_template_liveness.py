"""Organization mode's sweep fan-out defended in the template: the tamper watch sees its worker, validator, event
source mapping and queues (by the records CloudTrail writes), only the sweeper and the worker use the queue, the
dashboard shows the worker, and an alarm from AWS/Lambda's own counts fires when the worker stops."""

from __future__ import annotations

import json
from typing import Any

import pytest
from moto.events.models import EventPattern

from tests.unit.test_template_org import CENTRAL, CENTRAL_ACCOUNT, HOME, Resolver, central

RESOURCES = CENTRAL["Resources"]
QUEUE = f"{central().physical('SweepQueue')}"
DLQ = f"{central().physical('SweepDeadLetterQueue')}"


def single() -> Resolver:
    values = {"AWS::StackName": "session-warden", "AWS::AccountId": CENTRAL_ACCOUNT, "AWS::Region": HOME}
    return Resolver(CENTRAL, {**values, "AWS::Partition": "aws", "OrganizationId": "", "GuardedRegions": []})


def tamper_pattern(resolver: Resolver) -> EventPattern:
    pattern = resolver.resolve(RESOURCES["TamperWatchFunction"]["Properties"]["Events"]["TamperWatch"]["Properties"])
    return EventPattern.load(json.dumps(pattern["Pattern"]))


def recorded(source: str, name: str, request: dict[str, Any], response: dict[str, Any] | None = None) -> Any:
    return {
        "source": f"aws.{source}",
        "detail-type": "AWS API Call via CloudTrail",
        "account": CENTRAL_ACCOUNT,
        "region": HOME,
        "detail": {
            "eventSource": f"{source}.amazonaws.com",
            "eventName": name,
            "requestParameters": request,
            "responseElements": response,
        },
    }


def mapping_call(name: str, queue: str) -> Any:
    arn = f"arn:aws:sqs:{HOME}:{CENTRAL_ACCOUNT}:{queue}"
    response = {"uUID": "14e0db71-1111-2222-3333-444455556666", "eventSourceArn": arn, "state": "Disabling"}
    return recorded("lambda", name, {"uUID": response["uUID"], "enabled": False}, response)


@pytest.mark.parametrize(
    ("event", "watched"),
    [
        (mapping_call("UpdateEventSourceMapping20150331", QUEUE), True),
        (mapping_call("DeleteEventSourceMapping20150331", QUEUE), True),
        (mapping_call("UpdateEventSourceMapping", QUEUE), True),
        (mapping_call("UpdateEventSourceMapping20150331", "someone-elses-queue"), False),
        (
            recorded("sqs", "PurgeQueue", {"queueUrl": f"https://sqs.{HOME}.amazonaws.com/{CENTRAL_ACCOUNT}/{QUEUE}"}),
            True,
        ),
        (
            recorded(
                "sqs", "SetQueueAttributes", {"queueUrl": f"https://queue.amazonaws.com/{CENTRAL_ACCOUNT}/{QUEUE}"}
            ),
            True,
        ),
        (
            recorded("sqs", "DeleteQueue", {"queueUrl": f"https://sqs.{HOME}.amazonaws.com/{CENTRAL_ACCOUNT}/{DLQ}"}),
            True,
        ),
        (
            recorded("sqs", "PurgeQueue", {"queueUrl": f"https://sqs.{HOME}.amazonaws.com/{CENTRAL_ACCOUNT}/other"}),
            False,
        ),
        (recorded("sqs", "PurgeQueue", {"queueUrl": f"https://sqs.{HOME}.amazonaws.com/999999999999/{QUEUE}"}), False),
    ],
    ids=[
        "mapping-disabled",
        "mapping-deleted",
        "mapping-unversioned-name",
        "another-queues-mapping",
        "queue-purged",
        "queue-changed-legacy-endpoint",
        "dlq-deleted",
        "another-queue",
        "same-name-another-account",
    ],
)
def test_the_tamper_rule_matches_changes_to_the_sweep_fan_out_as_cloudtrail_records_them(
    event: Any, watched: bool
) -> None:
    # GIVEN the central stack's tamper-watch pattern in organization mode; WHEN CloudTrail delivers the call
    # THEN it reaches the tamper watch exactly when it changes the warden's own mapping or queues
    assert tamper_pattern(central()).matches_event(event) is watched


def test_in_one_account_the_fan_out_patterns_match_nothing() -> None:
    # GIVEN the one-account stack (no sweep queue); WHEN calls on queues of that name and a mapping are recorded
    pattern = tamper_pattern(single())
    url = f"https://sqs.{HOME}.amazonaws.com/{CENTRAL_ACCOUNT}/{QUEUE}"
    # THEN none reaches the tamper watch
    assert not pattern.matches_event(recorded("sqs", "PurgeQueue", {"queueUrl": url}))
    assert not pattern.matches_event(mapping_call("UpdateEventSourceMapping20150331", QUEUE))


def test_the_sweep_worker_and_the_policy_validator_are_watched_functions_in_organization_mode() -> None:
    # GIVEN the tamper watch's environment, in organization mode and in one account
    variables = RESOURCES["TamperWatchFunction"]["Properties"]["Environment"]["Variables"]
    org, one = central().resolve(variables), single().resolve(variables)
    # THEN organization mode names the worker, the validator and both sweep queues; one account names neither
    worker, validator = central().physical("SweepWorkerFunction"), central().physical("PolicyValidatorFunction")
    assert f"sweep-worker={worker}" in org["WARDEN_WATCHED_FUNCTIONS"]
    assert f"policy-validator={validator}" in org["WARDEN_WATCHED_FUNCTIONS"]
    assert org["WARDEN_SWEEP_QUEUE_URL"] == QUEUE and org["WARDEN_SWEEP_DLQ_URL"] == DLQ
    assert "sweep-worker" not in one["WARDEN_WATCHED_FUNCTIONS"]
    assert (one["WARDEN_SWEEP_QUEUE_URL"], one["WARDEN_SWEEP_DLQ_URL"]) == ("", "")
    names = tamper_pattern(central())
    for function in (worker, validator):
        call = recorded("lambda", "UpdateFunctionCode20150331v2", {"functionName": function})
        assert names.matches_event(call), function


def test_only_the_sweeper_role_sends_and_takes_orders_nobody_purges_and_cloudformation_still_manages_the_queue() -> (
    None
):
    statements = {
        statement["Sid"]: statement
        for statement in RESOURCES["SweepQueuePolicy"]["Properties"]["PolicyDocument"]["Statement"]
    }
    sweeper = {"ArnNotEquals": {"aws:PrincipalArn": {"Fn::GetAtt": ["SweeperRole", "Arn"]}}}
    assert statements["OnlyTheSweeperSendsOrders"]["Condition"] == sweeper
    takes = statements["OnlyTheSweepWorkerTakesOrders"]
    assert set(takes["Action"]) == {"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility"}
    assert takes["Condition"] == sweeper
    # The worker's event source mapping polls with the function's execution role: the sweeper's.
    assert RESOURCES["SweepWorkerFunction"]["Properties"]["Role"] == {"Fn::GetAtt": ["SweeperRole", "Arn"]}
    purge = statements["NobodyPurgesOrders"]
    assert (purge["Action"], "Condition" in purge) == ("sqs:PurgeQueue", False)
    denied = {action for statement in statements.values() for action in _list(statement["Action"])}
    assert not denied & {"sqs:SetQueueAttributes", "sqs:DeleteQueue", "sqs:*"}
    assert all(statement["Effect"] == "Deny" for statement in statements.values())


def test_the_sweeper_may_read_every_scopes_heartbeat_in_batches() -> None:
    statements = RESOURCES["SweeperFanOutPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    [batch] = [statement for statement in statements if statement["Sid"] == "ReadScopeHeartbeats"]
    assert (batch["Action"], batch["Resource"]) == (["dynamodb:BatchGetItem"], {"Fn::GetAtt": ["StateTable", "Arn"]})


def test_the_dashboard_shows_the_sweep_worker_and_per_scope_sweeps_in_organization_mode_only() -> None:
    body = RESOURCES["OperationsDashboard"]["Properties"]["DashboardBody"]
    org = json.loads(central().resolve({"Fn::Sub": _substituted(body, central())}))
    one = json.loads(single().resolve({"Fn::Sub": _substituted(body, single())}))
    titles = {widget["properties"]["title"]: widget for widget in org["widgets"]}
    worker = central().physical("SweepWorkerFunction")
    lines = [line[:4] for line in titles["Sweep worker (organization mode)"]["properties"]["metrics"]]
    for metric in ("Invocations", "Errors", "Duration"):
        assert ["AWS/Lambda", metric, "FunctionName", worker] in lines
    scoped = [line[1] for line in titles["Sweeps per account and region (organization mode)"]["properties"]["metrics"]]
    assert {"ScopeSweepCompleted", "ScopeSweepStale", "SweepOrdersSent"} <= set(scoped)
    assert len(one["widgets"]) == len(org["widgets"]) - 3
    assert not [w for w in one["widgets"] if "organization mode" in w["properties"]["title"]]


def test_an_alarm_from_aws_lambdas_own_counts_fires_when_no_sweep_worker_invocation_succeeds_for_3_minutes() -> None:
    alarm = RESOURCES["SweepWorkerHeartbeatAlarm"]
    assert alarm["Condition"] == "OrgMode"
    properties = alarm["Properties"]
    stats = {m["Id"]: m["MetricStat"]["Metric"] for m in properties["Metrics"] if "MetricStat" in m}
    assert {metric["Namespace"] for metric in stats.values()} == {"AWS/Lambda"}
    assert {metric["Dimensions"][0]["Value"]["Ref"] for metric in stats.values()} == {"SweepWorkerFunction"}
    assert (properties["EvaluationPeriods"], properties["DatapointsToAlarm"]) == (3, 3)
    assert properties["TreatMissingData"] == "breaching"


def _substituted(body: Any, resolver: Resolver) -> str:
    template, variables = body["Fn::Sub"]
    chosen = resolver.resolve(variables["OrgWidgets"])
    return str(template).replace("${OrgWidgets}", chosen)


def _list(value: Any) -> list[str]:
    return value if isinstance(value, list) else [value]
