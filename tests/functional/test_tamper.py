"""Tamper watch on the local cloud: each change to what the warden depends on raises one `enforcer-tampered` alert
naming who did what on which resource, and what it means; the warden's own deploy and `warden policy push` do not."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from boto3.dynamodb.types import TypeDeserializer

from tests.cli.conftest import POLICY as CLI_POLICY
from tests.cli.conftest import cli_env, run_warden
from tests.functional.conftest import TUESDAY_MORNING, Stack
from warden_local.inbox import Mail
from warden_local.trail_recorder import ACCOUNT_TRAIL

pytestmark = pytest.mark.functional

TAMPERED = "enforcer-tampered"
MALLORY = "mallory"


def tampered(stack: Stack) -> list[Mail]:
    return [mail for mail in stack.inbox.mails() if mail.kind == TAMPERED]


def mallory(stack: Stack, service: str) -> Any:
    return stack.cloud.client(service, credentials=stack.cloud.user_credentials(MALLORY))


def rule(stack: Stack, suffix: str) -> str:
    return f"{stack.cloud.stack_name}-{suffix}"


def function_name(stack: Stack, logical: str) -> str:
    [name] = [name for name in stack.cloud.functions if logical in name]
    return name


def tamper_items(stack: Stack) -> list[dict[str, Any]]:
    items = stack.cloud.client("dynamodb").query(
        TableName=stack.outputs["StateTableName"],
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": "tamper"}},
    )["Items"]
    deserializer = TypeDeserializer()
    return [{key: deserializer.deserialize(value) for key, value in item.items()} for item in items]


def test_the_warden_stack_deploy_raises_no_tamper_alert(stack: Stack) -> None:
    # GIVEN a freshly deployed stack (CloudFormation created its rules and parameters)
    # WHEN its CloudTrail events have been delivered
    stack.cloud.settle()
    # THEN the tamper watch saw them as the stack's own deploy: no alert, no tamper record
    watch = [i for i in stack.cloud.invocations if "tamper" in i.function_name]
    assert watch, "the tamper watch received the deploy's events"
    assert all(i.ok for i in watch)
    assert tampered(stack) == []
    assert tamper_items(stack) == []


def test_disabling_the_session_start_rule_raises_one_alert_saying_what_it_means(stack: Stack) -> None:
    # GIVEN the deployed stack
    stack.cloud.settle()
    # WHEN an IAM user disables the session-start rule
    mallory(stack, "events").disable_rule(Name=rule(stack, "session-started"))
    # THEN one HIGH alert names who, which call on what, and what it means
    [mail] = tampered(stack)
    assert mail.severity == "HIGH"
    assert "DisableRule" in mail.subject and "mallory" in mail.subject
    lines = [line.split(":", 1) for line in mail.body.splitlines() if ":" in line]
    fields = {label.strip(): value.strip() for label, value in lines}
    assert "mallory" in fields["Who"]
    assert fields["Call"] == "DisableRule"
    assert fields["Resource"] == rule(stack, "session-started")
    assert fields["When"].startswith("2026-11-24 09:0")
    assert (
        "the session-start rule is disabled: new sessions are checked only by the sweeper, up to a minute late"
        in mail.body
    )
    # AND the event is kept in the state table for `warden status`
    [item] = tamper_items(stack)
    assert item["event_name"] == "DisableRule"
    assert item["resource"] == rule(stack, "session-started")
    assert "mallory" in item["actor"]
    assert item["sk"].startswith("2026-11-24T09:0") and item["sk"].split("#", 1)[1]
    assert 0 <= item["at"] - int(TUESDAY_MORNING.timestamp()) < 600


def _delete_rule(stack: Stack, name: str) -> None:
    # EventBridge deletes a rule only once its targets are gone: the RemoveTargets is one alert of its own.
    events = mallory(stack, "events")
    ids = [target["Id"] for target in events.list_targets_by_rule(Rule=name)["Targets"]]
    events.remove_targets(Rule=name, Ids=ids)
    stack.cloud.settle()
    stack.inbox.received.clear()
    stack.inbox.receive()
    stack.inbox.received.clear()
    events.delete_rule(Name=name)


# A script of the caller's, as a new version of the warning document (what SSM would run as root on a node).
CALLERS_SCRIPT = json.dumps(
    {
        "schemaVersion": "2.2",
        "description": "anything at all",
        "mainSteps": [{"action": "aws:runShellScript", "name": "run", "inputs": {"runCommand": ["id"]}}],
    }
)


def _new_warning_version(stack: Stack, ssm: Any) -> str:
    """A version 2 of the warning document whose script is the caller's; its name."""
    name = str(stack.outputs["WarningDocumentName"])
    ssm.update_document(Name=name, Content=CALLERS_SCRIPT, DocumentFormat="JSON", DocumentVersion="$LATEST")
    return name


def _default_to_version_2(stack: Stack) -> None:
    # The new version is an alert of its own; what is asked here is the default version's.
    name = _new_warning_version(stack, stack.cloud.client("ssm"))
    stack.cloud.settle()
    stack.inbox.received.clear()
    stack.inbox.receive()
    stack.inbox.received.clear()
    mallory(stack, "ssm").update_document_default_version(Name=name, DocumentVersion="2")


CALLS: list[tuple[str, Callable[[Stack], None], str, str]] = [
    (
        "RemoveTargets",
        lambda s: mallory(s, "events").remove_targets(Rule=rule(s, "session-ended-by-user"), Ids=["x"]),
        "session-ended-by-user",
        "no longer invokes its function",
    ),
    (
        "PutTargets",
        lambda s: mallory(s, "events").put_targets(
            Rule=rule(s, "session-started"),
            Targets=[
                {
                    "Id": "SessionStartedFunction",
                    "Arn": f"arn:aws:sqs:{s.cloud.region}:{s.cloud.account_id}:elsewhere",
                    "InputTransformer": {"InputTemplate": '{"errorCode": "AccessDenied"}'},
                }
            ],
        ),
        "session-started",
        "the session-start rule now delivers to whatever the caller named",
    ),
    (
        "DeleteRule",
        lambda s: _delete_rule(s, rule(s, "sweep-every-minute")),
        "sweep-every-minute",
        "the sweep schedule is deleted: open sessions are no longer re-checked",
    ),
    (
        "PutRule",
        lambda s: mallory(s, "events").put_rule(
            Name=rule(s, "session-started"), EventPattern=json.dumps({"source": ["nothing"]})
        ),
        "session-started",
        "the session-start rule was redefined",
    ),
    (
        "StopLogging",
        lambda s: mallory(s, "cloudtrail").stop_logging(Name=ACCOUNT_TRAIL),
        ACCOUNT_TRAIL,
        f"trail {ACCOUNT_TRAIL} stopped logging",
    ),
    (
        "DeleteTrail",
        lambda s: mallory(s, "cloudtrail").delete_trail(Name=ACCOUNT_TRAIL),
        ACCOUNT_TRAIL,
        f"trail {ACCOUNT_TRAIL} is deleted",
    ),
    (
        "PutEventSelectors",
        lambda s: mallory(s, "cloudtrail").put_event_selectors(
            TrailName=ACCOUNT_TRAIL,
            EventSelectors=[{"ReadWriteType": "ReadOnly", "IncludeManagementEvents": True}],
        ),
        ACCOUNT_TRAIL,
        "no longer records write management events",
    ),
    (
        "UpdateTrail",
        lambda s: mallory(s, "cloudtrail").update_trail(Name=ACCOUNT_TRAIL, IncludeGlobalServiceEvents=False),
        ACCOUNT_TRAIL,
        "settings changed",
    ),
    (
        "UpdateDocument",
        lambda s: _new_warning_version(s, mallory(s, "ssm")) and None,
        "warning document",
        "changed: the sweeper runs only its version 1, but",
    ),
    (
        "UpdateDocumentDefaultVersion",
        _default_to_version_2,
        "warning document",
        "now defaults to version 2: the sweeper runs only its version 1, but",
    ),
    (
        "DeleteDocument",
        lambda s: mallory(s, "ssm").delete_document(Name=s.outputs["WarningDocumentName"]),
        "warning document",
        "is deleted: no warning reaches a session before its deadline",
    ),
    (
        "DeleteParameter",
        lambda s: mallory(s, "ssm").delete_parameter(Name=s.outputs["PolicyParameterName"]),
        "policy",
        "the policy parameter is deleted",
    ),
    (
        "PutParameter",
        lambda s: mallory(s, "ssm").put_parameter(
            Name=s.outputs["PolicyParameterName"], Value="version: 1\ndefault: allow\n", Type="String", Overwrite=True
        ),
        "policy",
        "the policy was written outside `warden policy push`",
    ),
    (
        "UpdateFunctionConfiguration20150331v2",
        lambda s: mallory(s, "lambda").update_function_configuration(
            FunctionName=function_name(s, "SessionStartedFunction"), Timeout=3
        ),
        "SessionStartedFunction",
        "the session-start function's configuration changed",
    ),
    (
        "UpdateFunctionCode20150331v2",
        lambda s: mallory(s, "lambda").update_function_code(
            FunctionName=function_name(s, "SweeperFunction"), ZipFile=b"PK\x05\x06" + b"\x00" * 18
        ),
        "SweeperFunction",
        "the code of the sweeper function was replaced",
    ),
    (
        "PutFunctionConcurrency20171031",
        lambda s: mallory(s, "lambda").put_function_concurrency(
            FunctionName=function_name(s, "SessionStartedFunction"), ReservedConcurrentExecutions=0
        ),
        "SessionStartedFunction",
        "the session-start function's reserved concurrency is 0: it no longer runs at all",
    ),
    (
        "PutFunctionEventInvokeConfig",
        lambda s: mallory(s, "lambda").put_function_event_invoke_config(
            FunctionName=function_name(s, "SweeperFunction"), MaximumEventAgeInSeconds=60, MaximumRetryAttempts=0
        ),
        "SweeperFunction",
        "how the sweeper function is retried changed",
    ),
    (
        "UpdateFunctionEventInvokeConfig",
        lambda s: mallory(s, "lambda").update_function_event_invoke_config(
            FunctionName=function_name(s, "SessionEndedFunction"), MaximumRetryAttempts=0
        ),
        "SessionEndedFunction",
        "how the session-end function is retried changed",
    ),
    (
        "DeleteTable",
        lambda s: mallory(s, "dynamodb").delete_table(TableName=s.outputs["GrantsTableName"]),
        "Grants",
        "the grants table",
    ),
    (
        "DeleteTable",
        lambda s: mallory(s, "dynamodb").delete_table(TableName=s.outputs["IdempotencyTableName"]),
        "Idempotency",
        "the idempotency and sweeper lease table",
    ),
    (
        "DeleteTable",
        lambda s: mallory(s, "dynamodb").delete_table(TableName=s.outputs["StateTableName"]),
        "State",
        "the warden state (policy copy, alert outbox, heartbeat, canary) table",
    ),
]


@pytest.mark.parametrize(("event_name", "call", "resource", "meaning"), CALLS, ids=[f"{c[0]}-{c[2]}" for c in CALLS])
def test_each_tamper_call_raises_exactly_one_alert_with_its_meaning(
    stack: Stack, event_name: str, call: Callable[[Stack], None], resource: str, meaning: str
) -> None:
    # GIVEN the deployed stack, its deploy events delivered
    stack.cloud.settle()
    # WHEN someone makes the call
    call(stack)
    # THEN exactly one alert names the call, the resource and what it means
    mails = tampered(stack)
    assert len(mails) == 1, [m.subject for m in mails]
    [mail] = mails
    assert mail.severity == "HIGH"
    assert event_name in mail.body
    assert resource in mail.body
    assert meaning in mail.body
    assert "mallory" in mail.body


def test_removing_eventbridges_permission_on_a_function_is_tampering(stack: Stack) -> None:
    # GIVEN the session-start function's resource policy, which lets its rule invoke it
    stack.cloud.settle()
    lam = mallory(stack, "lambda")
    name = function_name(stack, "SessionStartedFunction")
    statement = json.loads(stack.cloud.client("lambda").get_policy(FunctionName=name)["Policy"])["Statement"][0]
    # WHEN someone removes it
    lam.remove_permission(FunctionName=name, StatementId=statement["Sid"])
    # THEN one alert says EventBridge may no longer invoke it
    [mail] = tampered(stack)
    assert "RemovePermission20150331v2" in mail.body
    assert "EventBridge may no longer invoke the session-start function" in mail.body


def test_disabling_the_tamper_watch_rule_is_seen_by_the_canary_rule(stack: Stack) -> None:
    # GIVEN the deployed stack
    stack.cloud.settle()
    # WHEN someone disables the tamper-watch rule itself
    mallory(stack, "events").disable_rule(Name=rule(stack, "tamper-watch"))
    # THEN the canary rule, which watches it, still brings the event: one alert
    [mail] = tampered(stack)
    assert "the tamper-watch rule is disabled" in mail.body


SHELL_PREFERENCES = {
    "schemaVersion": "1.0",
    "description": "Session Manager preferences",
    "sessionType": "Standard_Stream",
    "inputs": {
        "s3BucketName": "audit-transcripts",
        "s3KeyPrefix": "sessions",
        "s3EncryptionEnabled": True,
        "cloudWatchLogGroupName": "/ssm/sessions",
        "cloudWatchEncryptionEnabled": True,
        "kmsKeyId": "alias/sessions",
        "idleSessionTimeout": "20",
        "maxSessionDuration": "60",
        "runAsEnabled": False,
    },
}


def test_weakened_session_manager_preferences_are_named_setting_by_setting(stack: Stack) -> None:
    # GIVEN Session Manager preferences that log to S3 and CloudWatch, encrypted, with tight timeouts
    ssm = stack.cloud.client("ssm")
    ssm.create_document(
        Name="SSM-SessionManagerRunShell",
        DocumentType="Session",
        DocumentFormat="JSON",
        Content=json.dumps(SHELL_PREFERENCES),
    )
    stack.cloud.settle()
    weakened = json.loads(json.dumps(SHELL_PREFERENCES))
    weakened["inputs"].update(
        {
            "s3BucketName": "",
            "cloudWatchEncryptionEnabled": False,
            "kmsKeyId": "",
            "idleSessionTimeout": "60",
            "maxSessionDuration": "",
        }
    )
    # WHEN someone turns logging off, removes encryption and raises the timeouts
    mallory(stack, "ssm").update_document(
        Name="SSM-SessionManagerRunShell", Content=json.dumps(weakened), DocumentVersion="$LATEST"
    )
    # THEN one alert says exactly which setting changed from what to what
    [mail] = tampered(stack)
    assert "UpdateDocument" in mail.body
    assert "version 1 -> 2" in mail.body
    assert "S3 transcripts turned off: s3BucketName 'audit-transcripts' -> none" in mail.body
    assert "CloudWatch Logs transcript encryption removed: cloudWatchEncryptionEnabled true -> false" in mail.body
    assert "KMS encryption of session data removed: kmsKeyId 'alias/sessions' -> none" in mail.body
    assert "idle timeout raised: idleSessionTimeout 20 -> 60 minutes" in mail.body
    assert "maximum session duration raised: maxSessionDuration 60 minutes -> none (no maximum)" in mail.body
    assert "cloudWatchLogGroupName" not in mail.body  # unchanged settings are not listed


def test_warden_policy_push_raises_no_alert_but_the_same_text_written_later_does(stack: Stack, tmp_path: Any) -> None:
    # GIVEN the deployed stack and a valid policy file
    stack.cloud.settle()
    path = tmp_path / "policy.yaml"
    path.write_text(CLI_POLICY, encoding="utf-8")
    # WHEN it is pushed with the CLI's validated path
    result = run_warden("policy", "push", str(path), env=cli_env(stack.cloud))
    assert result.code == 0, result.stderr
    # THEN no tamper alert goes out
    assert tampered(stack) == []
    # WHEN someone writes the very same text again around the CLI
    mallory(stack, "ssm").put_parameter(
        Name=stack.outputs["PolicyParameterName"], Value=CLI_POLICY, Type="String", Overwrite=True
    )
    # THEN that write is tampering: the push record names another version
    [mail] = tampered(stack)
    assert "the policy was written outside `warden policy push`" in mail.body


def test_calls_on_what_the_warden_does_not_own_raise_nothing(stack: Stack) -> None:
    # GIVEN a rule and a parameter of someone else's
    stack.cloud.settle()
    events, ssm = mallory(stack, "events"), mallory(stack, "ssm")
    events.put_rule(Name="team-rule", ScheduleExpression="rate(1 hour)")
    # WHEN they are changed
    events.disable_rule(Name="team-rule")
    ssm.put_parameter(Name="/team/config", Value="x", Type="String")
    # THEN the watch says nothing
    assert tampered(stack) == []
