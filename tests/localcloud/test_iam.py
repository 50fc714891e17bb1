"""IAM for the functions: each call a handler makes is checked against its own role, as AWS would."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from tests.localcloud.conftest import APP_TEMPLATE, START
from tests.localcloud.test_routing import drain
from warden_local import Fidelity, LocalCloud
from warden_local.iam import ALLOWED, EXPLICIT_DENY, IMPLICIT_DENY, evaluate, glob_match, parse_policy
from warden_local.resources import Arns, required

ARNS = Arns("123456789012", "us-east-1")


def policy(*statements: dict[str, object]) -> list[object]:
    return parse_policy(json.dumps({"Version": "2012-10-17", "Statement": list(statements)}))  # type: ignore[arg-type]


# -- the evaluator --------------------------------------------------------------------------------------------


def test_an_action_no_statement_lists_is_denied_and_a_glob_allows_what_it_covers() -> None:
    statements = policy({"Effect": "Allow", "Action": ["dynamodb:Get*", "ssm:DescribeSessions"], "Resource": "*"})

    assert evaluate(statements, "dynamodb:GetItem", ARNS.table("Ledger")) == ALLOWED
    assert evaluate(statements, "DynamoDB:getitem", ARNS.table("Ledger")) == ALLOWED  # actions ignore case
    assert evaluate(statements, "dynamodb:PutItem", ARNS.table("Ledger")) == IMPLICIT_DENY


def test_a_table_statement_does_not_cover_its_indexes_nor_other_tables() -> None:
    statements = policy({"Effect": "Allow", "Action": "dynamodb:Query", "Resource": ARNS.table("Grants")})

    assert evaluate(statements, "dynamodb:Query", ARNS.table("Grants")) == ALLOWED
    assert evaluate(statements, "dynamodb:Query", ARNS.table("Grants", "by-state-expiry")) == IMPLICIT_DENY
    assert evaluate(statements, "dynamodb:Query", ARNS.table("Grants2")) == IMPLICIT_DENY


def test_an_explicit_deny_beats_an_allow_and_not_action_not_resource_invert() -> None:
    statements = policy(
        {"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"},
        {"Effect": "Deny", "Action": "ssm:TerminateSession", "NotResource": ARNS.session("ops-*")},
    )

    assert evaluate(statements, "ssm:TerminateSession", ARNS.session("ops-1a2b")) == ALLOWED
    assert evaluate(statements, "ssm:TerminateSession", ARNS.session("alice-1a2b")) == EXPLICIT_DENY
    assert evaluate(statements, "iam:GetRole", "arn:aws:iam::123456789012:role/x") == IMPLICIT_DENY


def test_globs_are_iam_wildcards_not_regular_expressions() -> None:
    assert glob_match("arn:aws:ssm:*:*:parameter/warden/*", "arn:aws:ssm:us-east-1:1:parameter/warden/policy")
    assert glob_match("arn:aws:sqs:us-east-1:1:q?", "arn:aws:sqs:us-east-1:1:q1")
    assert not glob_match("arn:aws:sqs:us-east-1:1:q.", "arn:aws:sqs:us-east-1:1:qX")
    assert not glob_match("arn:aws:sqs:us-east-1:1:Q1", "arn:aws:sqs:us-east-1:1:q1")  # ARNs keep case


def test_each_call_names_the_resource_arn_aws_authorizes() -> None:
    assert required("dynamodb", "Query", {"TableName": "G", "IndexName": "by-x"}, ARNS) == [
        ("dynamodb:Query", "arn:aws:dynamodb:us-east-1:123456789012:table/G/index/by-x")
    ]
    assert required("dynamodb", "TransactWriteItems", {"TransactItems": [{"Put": {"TableName": "L"}}]}, ARNS) == [
        ("dynamodb:PutItem", "arn:aws:dynamodb:us-east-1:123456789012:table/L")
    ]
    assert required("ssm", "GetParameter", {"Name": "/warden/policy"}, ARNS) == [
        ("ssm:GetParameter", "arn:aws:ssm:us-east-1:123456789012:parameter/warden/policy")
    ]
    assert required("ssm", "TerminateSession", {"SessionId": "alice-x"}, ARNS) == [
        ("ssm:TerminateSession", "arn:aws:ssm:us-east-1:123456789012:session/alice-x")
    ]
    assert required("ssm", "GetDocument", {"Name": "AWS-StartSSHSession"}, ARNS) == [
        ("ssm:GetDocument", "arn:aws:ssm:us-east-1::document/AWS-StartSSHSession")
    ]
    assert required("ssm", "ListTagsForResource", {"ResourceType": "ManagedInstance", "ResourceId": "mi-1"}, ARNS) == [
        ("ssm:ListTagsForResource", "arn:aws:ssm:us-east-1:123456789012:managed-instance/mi-1")
    ]
    assert required("ec2", "DescribeTags", {}, ARNS) == [("ec2:DescribeTags", "*")]
    assert required("sts", "GetCallerIdentity", {}, ARNS) == []
    # A rule on the default bus is rule/NAME, on another bus rule/BUS/NAME (named or by ARN).
    assert required("events", "DescribeRule", {"Name": "sw-forward", "EventBusName": "default"}, ARNS) == [
        ("events:DescribeRule", "arn:aws:events:us-east-1:123456789012:rule/sw-forward")
    ]
    assert required("events", "ListTargetsByRule", {"Rule": "sw-forward"}, ARNS) == [
        ("events:ListTargetsByRule", "arn:aws:events:us-east-1:123456789012:rule/sw-forward")
    ]
    bus = "arn:aws:events:us-east-1:123456789012:event-bus/sw-central"
    assert required("events", "DisableRule", {"Name": "sw-org-canary", "EventBusName": bus}, ARNS) == [
        ("events:DisableRule", "arn:aws:events:us-east-1:123456789012:rule/sw-central/sw-org-canary")
    ]
    assert required("events", "ListRules", {"EventBusName": "sw-central"}, ARNS) == [("events:ListRules", "*")]


# -- enforced on the real handler ---------------------------------------------------------------------------


@pytest.fixture
def enforced() -> Iterator[LocalCloud]:
    with LocalCloud(template=APP_TEMPLATE, start_at=START, stack_name="warden-test", fidelity=Fidelity()) as cloud:
        yield cloud


def _recorder_role(cloud: LocalCloud) -> str:
    function = cloud.client("lambda").get_function(FunctionName=cloud.stack_outputs()["RecorderFunctionName"])
    return str(function["Configuration"]["Role"]).rsplit("/", 1)[-1]


def _set_role_policy(cloud: LocalCloud, *statements: dict[str, object]) -> None:
    document = json.dumps({"Version": "2012-10-17", "Statement": list(statements)})
    cloud.client("iam").put_role_policy(RoleName=_recorder_role(cloud), PolicyName="report", PolicyDocument=document)


def _run_handler(cloud: LocalCloud) -> None:
    cloud.client("ssm").start_session(Target=cloud.add_instance({}))
    cloud.settle()


def test_the_handler_runs_when_its_role_allows_each_call(enforced: LocalCloud) -> None:
    _run_handler(enforced)

    assert [report["greeting"] for report in drain(enforced, enforced.stack_outputs()["SeenQueueUrl"])] == ["hello"]
    assert enforced.iam_denials == []
    assert [d.action for d in enforced.iam_decisions] == ["sqs:SendMessage"]


def test_a_call_the_role_does_not_list_is_access_denied(enforced: LocalCloud) -> None:
    # GIVEN the recorder's role without sqs:SendMessage
    _set_role_policy(enforced, {"Effect": "Allow", "Action": "sqs:ReceiveMessage", "Resource": "*"})

    # WHEN its handler runs
    _run_handler(enforced)

    # THEN its SendMessage failed with AWS's AccessDenied (on each attempt), naming the action and the queue's ARN
    queue_arn = "arn:aws:sqs:us-east-1:123456789012:" + enforced.stack_outputs()["SeenQueueUrl"].rsplit("/", 1)[1]
    assert {(d.action, d.resource) for d in enforced.iam_denials} == {("sqs:SendMessage", queue_arn)}
    failed = [i for i in enforced.invocations if not i.ok]
    assert failed and all("AccessDenied" in str(i.error) and "sqs:SendMessage" in str(i.error) for i in failed)
    assert drain(enforced, enforced.stack_outputs()["SeenQueueUrl"]) == []


def test_a_resource_outside_the_statement_is_access_denied(enforced: LocalCloud) -> None:
    _set_role_policy(
        enforced,
        {"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": "arn:aws:sqs:us-east-1:123456789012:other"},
    )

    _run_handler(enforced)

    assert {d.action for d in enforced.iam_denials} == {"sqs:SendMessage"}
    assert not any(i.ok for i in enforced.invocations)


def test_an_explicit_deny_wins_over_the_allow(enforced: LocalCloud) -> None:
    _set_role_policy(
        enforced,
        {"Effect": "Allow", "Action": "sqs:*", "Resource": "*"},
        {"Effect": "Deny", "Action": "sqs:SendMessage", "Resource": "*"},
    )

    _run_handler(enforced)

    assert {d.outcome for d in enforced.iam_denials} == {EXPLICIT_DENY}
    assert "explicit deny" in enforced.iam_denials[0].message()


def test_the_harness_and_people_are_not_restricted_by_the_functions_roles(enforced: LocalCloud) -> None:
    _set_role_policy(enforced, {"Effect": "Deny", "Action": "*", "Resource": "*"})

    enforced.client("sqs").send_message(QueueUrl=enforced.stack_outputs()["SeenQueueUrl"], MessageBody="{}")
    alice = enforced.client("ssm", credentials=enforced.user_credentials("alice"))
    alice.describe_sessions(State="Active")

    assert enforced.iam_decisions == []


def test_a_sam_policy_template_is_enforced_as_the_translator_expands_it(enforced: LocalCloud) -> None:
    # GIVEN a function whose role SAM generated from SQSSendMessagePolicy on the queue it reports to
    ssm = enforced.client("ssm")
    session_id = ssm.start_session(Target=enforced.add_instance({}))["SessionId"]

    # WHEN a resume runs it
    ssm.resume_session(SessionId=session_id)
    enforced.settle()

    # THEN its SendMessage was checked against the expanded statement and allowed
    greetings = sorted(report["greeting"] for report in drain(enforced, enforced.stack_outputs()["SeenQueueUrl"]))
    assert greetings == ["hello", "resumed"]
    resumed = [d for d in enforced.iam_decisions if "ResumeRecorder" in d.function_name]
    assert [(d.action, d.allowed) for d in resumed] == [("sqs:SendMessage", True)]


def test_sqs_batch_calls_need_the_single_message_actions_as_on_aws() -> None:
    url = "https://sqs.us-east-1.amazonaws.com/123456789012/sweep"
    for operation, action in (
        ("SendMessageBatch", "sqs:SendMessage"),
        ("DeleteMessageBatch", "sqs:DeleteMessage"),
        ("ChangeMessageVisibilityBatch", "sqs:ChangeMessageVisibility"),
    ):
        [(needed, _)] = required("sqs", operation, {"QueueUrl": url}, ARNS)
        assert needed == action
