"""Session logs (SPEC section 7): transcript links in the ledger and alerts, and `require_logging`, on the local cloud.

The account's Session Manager preferences are set up as an operator does: ``ssm.create_document`` of
``SSM-SessionManagerRunShell`` (AWS creates it when preferences are first saved in the console), then
``ssm.update_document`` + ``update_document_default_version`` to change them.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.functional.conftest import Stack

pytestmark = pytest.mark.functional

PREFERENCES = "SSM-SessionManagerRunShell"
REGION = "us-east-1"
NOWHERE = (
    "require_logging: Session Manager preferences log nowhere "
    "(SSM-SessionManagerRunShell has no s3BucketName or cloudWatchLogGroupName)"
)

POLICY = """\
version: 1
default: deny
{top}
rules:
  - name: analysts
    principals: ["user:alice"]
    targets: {{tags: {{Department: Analytics}}}}
"""


def preferences(**inputs: Any) -> str:
    return json.dumps(
        {
            "schemaVersion": "1.0",
            "description": "Document to hold regional settings for Session Manager",
            "sessionType": "Standard_Stream",
            "inputs": {"s3EncryptionEnabled": True, "idleSessionTimeout": "20", **inputs},
        }
    )


def save_preferences(stack: Stack, **inputs: Any) -> None:
    """Save the account's preferences as the console does: create the document, or update it and make it default."""
    ssm = stack.cloud.client("ssm")
    content = preferences(**inputs)
    try:
        ssm.get_document(Name=PREFERENCES)
    except ssm.exceptions.InvalidDocument:
        ssm.create_document(Name=PREFERENCES, DocumentType="Session", DocumentFormat="JSON", Content=content)
        return
    version = ssm.update_document(Name=PREFERENCES, Content=content, DocumentVersion="$LATEST", DocumentFormat="JSON")
    ssm.update_document_default_version(
        Name=PREFERENCES, DocumentVersion=version["DocumentDescription"]["DocumentVersion"]
    )


@pytest.fixture
def analytics(stack: Stack) -> str:
    return stack.cloud.add_instance({"Department": "Analytics"})


def test_an_s3_transcript_is_linked_in_the_ledger_row(stack: Stack, analytics: str) -> None:
    # GIVEN preferences that send session logs to S3 under a prefix
    stack.cloud.put_policy(POLICY.format(top=""))
    save_preferences(stack, s3BucketName="audit-logs", s3KeyPrefix="ssm/")
    # WHEN alice opens an allowed shell
    session = stack.start(stack.person("alice"), analytics)
    # THEN the row names the S3 object <prefix>/<session-id>.log and links it in the console
    row = stack.row(session)
    assert row.decision == "allow"
    assert row.transcript == f"s3://audit-logs/ssm/{session}.log"
    assert row.transcript_links == [
        f"https://{REGION}.console.aws.amazon.com/s3/object/audit-logs?region={REGION}&prefix=ssm%2F{session}.log"
    ]


def test_a_cloudwatch_transcript_is_linked_in_the_row_and_the_alert_email(stack: Stack, analytics: str) -> None:
    # GIVEN preferences that stream session logs to CloudWatch Logs, and a policy that denies alice later
    stack.cloud.put_policy(POLICY.format(top=""))
    save_preferences(stack, cloudWatchLogGroupName="/ssm/sessions", cloudWatchStreamingEnabled=True)
    session = stack.start(stack.person("alice"), analytics)
    link = (
        f"https://{REGION}.console.aws.amazon.com/cloudwatch/home?region={REGION}#logsV2:log-groups/log-group/"
        f"$252Fssm$252Fsessions/log-events/{session}"
    )
    assert stack.row(session).transcript_links == [link]
    # WHEN the target is re-tagged and the sweeper ends the session
    stack.cloud.client("ec2").create_tags(Resources=[analytics], Tags=[{"Key": "Department", "Value": "Finance"}])
    stack.cloud.advance("1m")
    # THEN the termination e-mail links the transcript: the stream named by the session id
    (mail,) = stack.inbox.about(session)
    assert mail.kind == "session-terminated"
    assert f"\nTranscript: {link}\n" in mail.body
    assert f"(CloudWatch Logs /ssm/sessions stream {session})" in mail.body
    row = stack.row(session)
    assert (row.status, row.transcript) == ("ended", f"CloudWatch Logs /ssm/sessions stream {session}")


def test_a_port_session_row_says_it_is_never_logged(stack: Stack) -> None:
    # GIVEN logging preferences and a rule that allows tunnels
    stack.cloud.put_policy(
        "version: 1\nrules:\n  - {name: tunnels, principals: ['user:alice'], session_types: [port]}\n"
    )
    save_preferences(stack, s3BucketName="audit-logs")
    node = stack.cloud.add_instance({})
    # WHEN alice opens a port forwarding session
    session = stack.start(stack.person("alice"), node, DocumentName="AWS-StartPortForwardingSession")
    # THEN the row says Session Manager does not log it
    row = stack.row(session)
    assert (row.decision, row.transcript) == (
        "allow",
        "not logged (port forwarding is never logged by Session Manager)",
    )
    assert row.transcript_links == []


def test_require_logging_denies_a_session_when_preferences_log_nowhere(stack: Stack, analytics: str) -> None:
    # GIVEN require_logging and saved preferences with no bucket and no log group
    stack.cloud.put_policy(POLICY.format(top="require_logging: true"))
    save_preferences(stack)
    # WHEN alice opens a shell a rule would allow
    session = stack.start(stack.person("alice"), analytics)
    # THEN it is ended, and the row and the alert say exactly why
    assert session not in stack.active()
    row = stack.row(session)
    assert (row.decision, row.basis, row.why) == ("deny", "require-logging", [NOWHERE])
    assert row.transcript == f"not logged ({NOWHERE.removeprefix('require_logging: ')})"
    (mail,) = stack.inbox.about(session)
    assert "Decision: deny (session not logged)" in mail.body and NOWHERE in mail.body
    assert f"Transcript: {row.transcript}" in mail.body


def test_require_logging_denies_when_preferences_were_never_saved(stack: Stack, analytics: str) -> None:
    # GIVEN require_logging in an account that never saved Session Manager preferences (no document)
    stack.cloud.put_policy(POLICY.format(top="require_logging: true"))
    # WHEN alice opens a shell
    session = stack.start(stack.person("alice"), analytics)
    # THEN it is denied: nothing would record it
    assert session not in stack.active()
    assert stack.row(session).why == [
        "require_logging: Session Manager preferences log nowhere "
        "(there is no SSM-SessionManagerRunShell: preferences were never saved)"
    ]


def test_require_logging_denies_a_port_session_and_allows_a_logged_shell(stack: Stack, analytics: str) -> None:
    # GIVEN require_logging, preferences that log to S3, and a rule that allows any session type
    stack.cloud.put_policy(POLICY.format(top="require_logging: true"))
    save_preferences(stack, s3BucketName="audit-logs")
    alice = stack.person("alice")
    # WHEN alice opens a shell and a port forwarding session
    shell = stack.start(alice, analytics)
    tunnel = stack.start(alice, analytics, DocumentName="AWS-StartPortForwardingSession")
    # THEN the shell is allowed and the tunnel denied, saying port forwarding is never logged
    active = stack.active()
    assert shell in active and tunnel not in active
    assert stack.row(shell).decision == "allow"
    assert stack.row(tunnel).why == [
        "require_logging: port forwarding is never logged by Session Manager "
        "(AWS-StartPortForwardingSession is a Port session document)"
    ]
    assert stack.errors() == []


def test_a_rule_with_require_logging_allows_only_logged_sessions(stack: Stack, analytics: str) -> None:
    # GIVEN a rule that requires logging, and preferences that log nowhere
    stack.cloud.put_policy(POLICY.format(top="").replace("    targets:", "    require_logging: true\n    targets:", 1))
    save_preferences(stack)
    # WHEN alice opens a shell
    session = stack.start(stack.person("alice"), analytics)
    # THEN the rule does not hold, so the default denies it, naming the rule's reason
    assert session not in stack.active()
    assert f"rule analysts: {NOWHERE}" in stack.row(session).why


def test_turning_logging_off_mid_session_ends_sessions_that_require_it(stack: Stack, analytics: str) -> None:
    # GIVEN require_logging and a shell allowed while the preferences log to S3
    stack.cloud.put_policy(POLICY.format(top="require_logging: true"))
    save_preferences(stack, s3BucketName="audit-logs")
    session = stack.start(stack.person("alice"), analytics)
    assert session in stack.active()
    # WHEN someone saves preferences that log nowhere while it is open
    save_preferences(stack)
    stack.cloud.advance("1m")
    # THEN the next sweep ends it, and the alert names the reason and the transcript it was started with
    assert session not in stack.active()
    (mail,) = stack.inbox.about(session)
    assert mail.kind == "session-terminated" and NOWHERE in mail.body
    assert f"Transcript: https://{REGION}.console.aws.amazon.com/s3/object/audit-logs?" in mail.body
    assert stack.row(session).transcript == f"s3://audit-logs/{session}.log"


def test_a_session_naming_its_own_shell_document_is_logged_by_that_document(stack: Stack, analytics: str) -> None:
    # GIVEN account preferences that log nowhere, and a custom shell document that logs to its own bucket
    stack.cloud.put_policy(POLICY.format(top="require_logging: true"))
    save_preferences(stack)
    stack.cloud.client("ssm").create_document(
        Name="Team-Shell", DocumentType="Session", DocumentFormat="JSON", Content=preferences(s3BucketName="team-logs")
    )
    # WHEN alice opens a session with that document
    session = stack.start(stack.person("alice"), analytics, DocumentName="Team-Shell")
    stack.cloud.advance("1m")
    # THEN it is logged there and allowed, by the event path and the sweeper alike
    assert session in stack.active()
    assert stack.row(session).transcript == f"s3://team-logs/{session}.log"
