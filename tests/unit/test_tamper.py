"""The tamper watch's pure parts: which resource a CloudTrail record changes, and which preferences changed."""

from __future__ import annotations

from typing import Any

import pytest

from warden.preferences import preference_changes
from warden.tamper import NotAControlCall, Owned, meaning_of, parse_control_event, resource_of

OWNED = Owned(
    stack="sw",
    rules={"sw-session-started": "session-start rule"},
    functions={"sw-SessionStartedFunction-ABC": "session-start function"},
    tables={"sw-GrantsTable-XYZ": "grants"},
    policy_parameter="/session-warden/sw/policy",
    canary_parameter="/session-warden/sw/canary",
    warning_document="sw-WarningDocument-QRS",
)


def event(source: str, name: str, request: dict[str, Any], **identity: Any) -> dict[str, Any]:
    return {
        "detail-type": "AWS API Call via CloudTrail",
        "source": "aws." + source.split(".", 1)[0],
        "detail": {
            "eventSource": source,
            "eventName": name,
            "eventID": "e-1",
            "eventTime": "2026-11-24T09:00:00Z",
            "userIdentity": {"type": "IAMUser", "arn": "arn:aws:iam::123456789012:user/mallory", **identity},
            "requestParameters": request,
        },
    }


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (event("events.amazonaws.com", "DisableRule", {"name": "sw-session-started"}), ("rule", "sw-session-started")),
        (
            event("events.amazonaws.com", "RemoveTargets", {"rule": "sw-session-started"}),
            ("rule", "sw-session-started"),
        ),
        (
            event(
                "events.amazonaws.com",
                "PutTargets",
                {"rule": "sw-session-started", "targets": [{"id": "x", "arn": "arn:aws:sqs:r:1:elsewhere"}]},
            ),
            ("rule", "sw-session-started"),
        ),
        (event("events.amazonaws.com", "PutTargets", {"rule": "someone-elses", "targets": []}), None),
        (event("events.amazonaws.com", "DisableRule", {"name": "someone-elses"}), None),
        (
            event("cloudtrail.amazonaws.com", "StopLogging", {"name": "arn:aws:cloudtrail:r:1:trail/t1"}),
            ("trail", "t1"),
        ),
        (
            event(
                "lambda.amazonaws.com",
                "DeleteFunction20150331",
                {"functionName": "arn:aws:lambda:r:1:function:sw-SessionStartedFunction-ABC"},
            ),
            ("function", "sw-SessionStartedFunction-ABC"),
        ),
        (
            event(
                "dynamodb.amazonaws.com", "DeleteTable", {"tableName": "arn:aws:dynamodb:r:1:table/sw-GrantsTable-XYZ"}
            ),
            ("table", "sw-GrantsTable-XYZ"),
        ),
        (
            event("ssm.amazonaws.com", "PutParameter", {"name": "arn:aws:ssm:r:1:parameter/session-warden/sw/policy"}),
            ("policy", "/session-warden/sw/policy"),
        ),
        (
            event("ssm.amazonaws.com", "PutParameter", {"name": "/session-warden/sw/canary"}),
            ("canary", "/session-warden/sw/canary"),
        ),
        (
            event("ssm.amazonaws.com", "UpdateDocument", {"name": "SSM-SessionManagerRunShell"}),
            ("preferences", "SSM-SessionManagerRunShell"),
        ),
        (
            event("ssm.amazonaws.com", "UpdateDocumentDefaultVersion", {"name": "sw-WarningDocument-QRS"}),
            ("warning document", "sw-WarningDocument-QRS"),
        ),
        (
            event("ssm.amazonaws.com", "DeleteDocument", {"name": "arn:aws:ssm:r:1:document/sw-WarningDocument-QRS"}),
            ("warning document", "sw-WarningDocument-QRS"),
        ),
        (event("ssm.amazonaws.com", "UpdateDocument", {"name": "Team-Shell"}), None),
    ],
)
def test_the_resource_a_call_changes_is_named_by_name_or_arn(raw: dict[str, Any], expected: Any) -> None:
    # GIVEN a CloudTrail record WHEN it is parsed THEN the warden resource it changes (if any) is found
    assert resource_of(parse_control_event(raw), OWNED) == expected


def test_cloudformation_is_told_by_invoked_by_which_only_aws_sets() -> None:
    # GIVEN a record of a call CloudFormation made for a stack, and one a user made with a CloudFormation user agent
    deployed = parse_control_event(
        event("events.amazonaws.com", "PutRule", {"name": "x"}, invokedBy="cloudformation.amazonaws.com")
    )
    raw = event("events.amazonaws.com", "PutRule", {"name": "x"})
    raw["detail"]["userAgent"] = "cloudformation.amazonaws.com"
    # THEN only the first counts as CloudFormation's
    assert deployed.deployed_by_cloudformation
    assert not parse_control_event(raw).deployed_by_cloudformation


def test_an_event_of_another_kind_is_refused() -> None:
    with pytest.raises(NotAControlCall, match="detail-type"):
        parse_control_event({"detail-type": "Scheduled Event", "source": "aws.events", "detail": {}})


def test_weakened_preferences_are_named_and_harmless_changes_listed_plainly() -> None:
    # GIVEN preferences that log and encrypt, and a version that does less
    before = {
        "inputs": {"s3BucketName": "b", "s3EncryptionEnabled": True, "idleSessionTimeout": "20", "runAsEnabled": False}
    }
    after = {
        "inputs": {"s3BucketName": "", "s3EncryptionEnabled": False, "idleSessionTimeout": "", "runAsEnabled": True}
    }
    # WHEN compared
    changes = preference_changes(before, after)
    # THEN logging off and encryption removed are named; an empty idle timeout is the default 20 (no change)
    assert changes == [
        "S3 transcripts turned off: s3BucketName 'b' -> none",
        "S3 transcript encryption removed: s3EncryptionEnabled true -> false",
        "idleSessionTimeout: '20' -> none",
        "runAsEnabled: false -> true",
    ]


def test_a_maximum_duration_set_where_there_was_none_is_not_a_raise() -> None:
    changes = preference_changes({"inputs": {"maxSessionDuration": ""}}, {"inputs": {"maxSessionDuration": "60"}})
    assert changes == ["maxSessionDuration: none -> '60'"]


def test_replacing_a_rules_targets_says_where_it_now_delivers_and_that_its_input_is_rewritten() -> None:
    # GIVEN a PutTargets on the session-start rule that sends its events elsewhere, rewritten
    target = {"id": "x", "arn": "arn:aws:sqs:r:1:elsewhere", "inputTransformer": {"inputTemplate": "{}"}}
    call = parse_control_event(
        event("events.amazonaws.com", "PutTargets", {"rule": "sw-session-started", "targets": [target]})
    )
    # WHEN its meaning is told
    meaning = meaning_of(call, "rule", "sw-session-started", OWNED)
    # THEN it names the rule, the new target and the rewriting
    assert meaning.startswith("the session-start rule now delivers to whatever the caller named")
    assert "arn:aws:sqs:r:1:elsewhere (its input rewritten)" in meaning


def test_a_new_default_version_of_the_warning_document_says_the_sweeper_still_runs_version_1() -> None:
    call = parse_control_event(
        event(
            "ssm.amazonaws.com",
            "UpdateDocumentDefaultVersion",
            {"name": "sw-WarningDocument-QRS", "documentVersion": "2"},
        )
    )
    meaning = meaning_of(call, "warning document", "sw-WarningDocument-QRS", OWNED)
    assert meaning.startswith("the warning document sw-WarningDocument-QRS now defaults to version 2: ")
    assert "the sweeper runs only its version 1" in meaning


@pytest.mark.parametrize(
    ("name", "request_parameters", "meaning"),
    [
        (
            "PutFunctionConcurrency20171031",
            {"reservedConcurrentExecutions": 0},
            "the session-start function's reserved concurrency is 0: it no longer runs at all",
        ),
        (
            "PutFunctionEventInvokeConfig",
            {"maximumEventAgeInSeconds": 60, "maximumRetryAttempts": 0},
            "how the session-start function is retried changed",
        ),
        ("UpdateFunctionEventInvokeConfig", {"maximumRetryAttempts": 0}, "events it fails on may now be dropped"),
    ],
)
def test_concurrency_and_retry_changes_to_a_warden_function_are_tampering(
    name: str, request_parameters: dict[str, Any], meaning: str
) -> None:
    # GIVEN a call that can stop a warden function or drop its events
    raw = event("lambda.amazonaws.com", name, {"functionName": "sw-SessionStartedFunction-ABC", **request_parameters})
    call = parse_control_event(raw)
    # WHEN the watch looks at it THEN it changes the function, and says how
    assert resource_of(call, OWNED) == ("function", "sw-SessionStartedFunction-ABC")
    assert meaning in meaning_of(call, "function", "sw-SessionStartedFunction-ABC", OWNED)


@pytest.mark.parametrize(
    "name", ["sw-session-notice-1", "arn:aws:ssm:eu-west-1:222222222222:document/sw-session-notice-1"]
)
def test_in_organization_mode_a_change_to_a_member_stacks_warning_document_is_the_warning_documents(name: str) -> None:
    # GIVEN organization mode, whose member stacks carry the warning document sw-session-notice-1
    owned = Owned(**{**OWNED.__dict__, "member_warning_document": "sw-session-notice-1"})
    # WHEN someone deletes it in a member account THEN it is the warning document, and what that means is said
    call = parse_control_event(event("ssm.amazonaws.com", "DeleteDocument", {"name": name}))
    assert resource_of(call, owned) == ("warning document", "sw-session-notice-1")
    assert meaning_of(call, "warning document", "sw-session-notice-1", owned).startswith(
        "the warning document sw-session-notice-1 is deleted: no warning reaches a session before its deadline"
    )
    # AND in single-account mode that name is nobody's
    assert resource_of(call, OWNED) is None
