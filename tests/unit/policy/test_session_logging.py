"""Session logs: where Session Manager writes a transcript, and `require_logging` deciding on it."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest

from warden.policy import (
    DEFAULT_DOCUMENT,
    PolicyError,
    SessionLogging,
    aws_document_logging,
    decide,
    document_logging,
    not_saved_logging,
    port_logging,
    preferences_logging,
    stated_logging,
    transcript_summary,
    transcripts,
    unreadable_logging,
)

from .support import grant, policy, request

SESSION = "alice-0a1b2c3d4e5f6g7h8"
NOWHERE = (
    "require_logging: Session Manager preferences log nowhere "
    "(SSM-SessionManagerRunShell has no s3BucketName or cloudWatchLogGroupName)"
)


def shell(**inputs: Any) -> dict[str, Any]:
    return {"schemaVersion": "1.0", "sessionType": "Standard_Stream", "inputs": inputs}


S3 = preferences_logging(DEFAULT_DOCUMENT, shell(s3BucketName="audit-logs", s3KeyPrefix="ssm/"))
CLOUDWATCH = preferences_logging(DEFAULT_DOCUMENT, shell(cloudWatchLogGroupName="/ssm/sessions"))
NOWHERE_LOGGING = preferences_logging(DEFAULT_DOCUMENT, shell(s3BucketName="", cloudWatchLogGroupName=" "))
PLACEHOLDER = preferences_logging(DEFAULT_DOCUMENT, shell(s3BucketName="{{ ssm:/audit/bucket }}"))


@pytest.mark.parametrize(
    ("content", "state", "bucket", "group"),
    [
        (shell(s3BucketName="audit-logs"), "logged", "audit-logs", None),
        (shell(cloudWatchLogGroupName="/ssm/sessions"), "logged", None, "/ssm/sessions"),
        (shell(s3BucketName="b", cloudWatchLogGroupName="g"), "logged", "b", "g"),
        (shell(s3BucketName="", cloudWatchLogGroupName=""), "unlogged", None, None),
        (shell(idleSessionTimeout="20"), "unlogged", None, None),
        ({"sessionType": "Standard_Stream"}, "unlogged", None, None),
        ({"sessionType": "Standard_Stream", "inputs": None}, "unlogged", None, None),
        ({"sessionType": "Standard_Stream", "inputs": ["s3BucketName"]}, "unknown", None, None),
        ({"sessionType": "Port"}, "unknown", None, None),
        (shell(s3BucketName=["not", "a", "string"]), "unlogged", None, None),
        (shell(s3BucketName="{{ ssm:/audit/bucket }}"), "unknown", None, None),
        (shell(s3BucketName="audit-logs", cloudWatchLogGroupName="{{LogGroup}}"), "unknown", None, None),
    ],
)
def test_preferences_say_where_sessions_are_logged(
    content: dict[str, Any], state: str, bucket: str | None, group: str | None
) -> None:
    found = preferences_logging(DEFAULT_DOCUMENT, content)
    assert (found.state, found.s3_bucket, found.log_group) == (state, bucket, group)


def test_preferences_that_log_nowhere_say_which_document_has_no_destination() -> None:
    assert NOWHERE_LOGGING.why == NOWHERE.removeprefix("require_logging: ")


def test_streaming_is_read_from_a_boolean_or_the_string_true() -> None:
    streamed = preferences_logging(DEFAULT_DOCUMENT, shell(cloudWatchLogGroupName="g", cloudWatchStreamingEnabled=True))
    as_text = preferences_logging(
        DEFAULT_DOCUMENT, shell(cloudWatchLogGroupName="g", cloudWatchStreamingEnabled="true")
    )
    assert streamed.streaming and as_text.streaming and not CLOUDWATCH.streaming


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        ("AWS-StartPortForwardingSession", "port"),
        ("AWS-StartPortForwardingSessionToRemoteHost", "port"),
        ("AWS-StartSSHSession", "port"),  # judged as a shell, but a tunnel: never logged
        ("arn:aws:ssm:eu-west-1::document/AWS-StartSSHSession", "port"),
        ("AWS-StartInteractiveCommand", "preferences"),
        ("AWS-StartNonInteractiveCommand", "preferences"),
        ("AWS-SomethingNew", None),
        ("arn:aws:ssm:eu-west-1:444455556666:document/AWS-StartSSHSession", None),  # not AWS's: read it
        (DEFAULT_DOCUMENT, None),
    ],
)
def test_aws_documents_are_known_without_reading(document: str, expected: str | None) -> None:
    assert aws_document_logging(document) == expected


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ({"sessionType": "Port", "properties": {"portNumber": "22"}}, "unlogged"),
        ({"sessionType": "Port", "properties": {"host": "db"}}, "unlogged"),
        ({"sessionType": "InteractiveCommands"}, "preferences"),
        ({"sessionType": "NonInteractiveCommands"}, "preferences"),
        (shell(s3BucketName="own-bucket"), "logged"),  # a custom shell document logs as its own inputs say
        (shell(), "unlogged"),
        ({"sessionType": "Command"}, "unknown"),
        ({}, "unknown"),
    ],
)
def test_a_session_document_decides_whose_inputs_apply(content: dict[str, Any], expected: str) -> None:
    found = document_logging("Custom-Doc", content)
    assert (found if isinstance(found, str) else found.state) == expected


def test_a_custom_shell_document_logs_to_its_own_bucket() -> None:
    found = document_logging("Team-Shell", shell(s3BucketName="team-bucket"))
    assert isinstance(found, SessionLogging)
    assert (found.source, found.s3_bucket) == ("Team-Shell", "team-bucket")


@pytest.mark.parametrize(
    ("prefix", "key"),
    [
        ("", f"{SESSION}.log"),
        ("ssm", f"ssm/{SESSION}.log"),
        ("ssm/", f"ssm/{SESSION}.log"),
        ("a//b/./", f"a/b/{SESSION}.log"),
        ("/rooted", f"/rooted/{SESSION}.log"),
    ],
)
def test_the_s3_object_is_the_prefix_joined_with_the_session_id_dot_log(prefix: str, key: str) -> None:
    logging = preferences_logging(DEFAULT_DOCUMENT, shell(s3BucketName="audit-logs", s3KeyPrefix=prefix))
    (found,) = transcripts(logging, SESSION, "eu-west-1")
    assert found.location == f"s3://audit-logs/{key}"


def test_the_s3_console_link_opens_the_object_in_its_region() -> None:
    (found,) = transcripts(S3, SESSION, "eu-west-1")
    assert found.link == (
        f"https://eu-west-1.console.aws.amazon.com/s3/object/audit-logs?region=eu-west-1&prefix=ssm%2F{SESSION}.log"
    )


def test_the_cloudwatch_link_opens_the_stream_named_by_the_session_id() -> None:
    (found,) = transcripts(CLOUDWATCH, SESSION, "eu-west-1")
    assert found.location == f"CloudWatch Logs /ssm/sessions stream {SESSION}"
    assert found.link == (
        "https://eu-west-1.console.aws.amazon.com/cloudwatch/home?region=eu-west-1#logsV2:log-groups/log-group/"
        f"$252Fssm$252Fsessions/log-events/{SESSION}"
    )


@pytest.mark.parametrize(
    ("region", "host"),
    [
        ("cn-north-1", "cn-north-1.console.amazonaws.cn"),
        ("us-gov-west-1", "us-gov-west-1.console.amazonaws-us-gov.com"),
    ],
)
def test_console_links_follow_the_partition(region: str, host: str) -> None:
    (found,) = transcripts(S3, SESSION, region)
    assert found.link.startswith(f"https://{host}/s3/object/")


@pytest.mark.parametrize(
    ("logging", "summary", "links"),
    [
        (S3, f"s3://audit-logs/ssm/{SESSION}.log", 1),
        (
            preferences_logging(DEFAULT_DOCUMENT, shell(s3BucketName="b", cloudWatchLogGroupName="g")),
            f"s3://b/{SESSION}.log; CloudWatch Logs g stream {SESSION}",
            2,
        ),
        (
            port_logging("AWS-StartPortForwardingSession"),
            "not logged (port forwarding is never logged by Session Manager)",
            0,
        ),
        (
            not_saved_logging(),
            "not logged (Session Manager preferences log nowhere (there is no "
            "SSM-SessionManagerRunShell: preferences were never saved))",
            0,
        ),
        (
            unreadable_logging(DEFAULT_DOCUMENT, "GetDocument failed: AccessDeniedException"),
            "unknown (cannot tell "
            "whether Session Manager logs the session (SSM-SessionManagerRunShell: GetDocument failed: "
            "AccessDeniedException))",
            0,
        ),
        (None, "unknown (Session Manager preferences were not read)", 0),
    ],
)
def test_the_ledger_words_for_a_transcript(logging: SessionLogging | None, summary: str, links: int) -> None:
    text, found = transcript_summary(logging, SESSION, "eu-west-1")
    assert (text, len(found)) == (summary, links)


@pytest.mark.parametrize(
    ("where", "state"), [("s3", "logged"), ("cloudwatch", "logged"), ("both", "logged"), ("NONE", "unlogged")]
)
def test_logging_stated_offline(where: str, state: str) -> None:
    stated = stated_logging(where)
    assert stated.state == state
    assert transcripts(stated, SESSION, "eu-west-1") == ()  # a stated place has no real name to link to


def test_logging_stated_offline_refuses_an_unknown_place() -> None:
    with pytest.raises(ValueError, match="expected s3, cloudwatch, both or none"):
        stated_logging("syslog")


# --- require_logging in decide() ------------------------------------------------------------------------------

TOP = """
    default: allow
    require_logging: true
"""
PER_RULE = """
    rules:
      - name: logged-shells
        principals: ["*"]
        require_logging: true
"""
PORT = port_logging("AWS-StartPortForwardingSession")
UNREADABLE = unreadable_logging(DEFAULT_DOCUMENT, "GetDocument failed: AccessDeniedException")


@pytest.mark.parametrize(
    ("body", "logging", "allowed", "reason"),
    [
        (TOP, S3, True, "no rule or grant allows"),
        (TOP, CLOUDWATCH, True, "no rule or grant allows"),
        (TOP, NOWHERE_LOGGING, False, NOWHERE),
        (TOP, PORT, False, "require_logging: port forwarding is never logged by Session Manager"),
        (TOP, UNREADABLE, False, "require_logging: cannot tell whether Session Manager logs the session"),
        (TOP, PLACEHOLDER, False, "require_logging: cannot tell where Session Manager logs: the s3BucketName"),
        (TOP, None, False, "require_logging: cannot tell whether Session Manager logs the session (its preferences"),
        ("default: allow", NOWHERE_LOGGING, True, "no rule or grant allows"),
        (PER_RULE, S3, True, "allowed by rule logged-shells"),
        (PER_RULE, NOWHERE_LOGGING, False, f"rule logged-shells: {NOWHERE}"),
        (PER_RULE, PORT, False, "rule logged-shells: require_logging: port forwarding is never logged"),
        (PER_RULE, None, False, "rule logged-shells: require_logging: cannot tell"),
    ],
)
def test_require_logging_decides_on_the_logging_fact(
    body: str, logging: SessionLogging | None, allowed: bool, reason: str
) -> None:
    session = replace(request(), logging=logging)
    decision = decide(policy(body), session, [], session.started)
    assert decision.allowed is allowed
    assert any(line.startswith(reason) for line in decision.reasons), decision.reasons


def test_top_level_require_logging_is_its_own_basis_and_a_grant_does_not_lift_it() -> None:
    session = replace(request(started="2026-11-24T10:30:00+00:00"), logging=PORT)
    decision = decide(policy("require_logging: true"), session, [grant()], session.started)
    assert (decision.allowed, decision.basis, decision.rule, decision.grant) == (False, "require-logging", None, None)


def test_a_deny_rule_still_names_itself_before_require_logging() -> None:
    body = """
        require_logging: true
        rules:
          - {name: no-one, effect: deny, principals: ["*"]}
    """
    session = replace(request(), logging=PORT)
    assert decide(policy(body), session, [], session.started).rule == "no-one"


def test_an_unlogged_session_falls_through_a_logging_rule_to_one_without() -> None:
    body = """
        rules:
          - {name: logged, principals: ["*"], require_logging: true}
          - {name: tunnels, principals: ["*"], session_types: [port]}
    """
    session = replace(request(document="AWS-StartPortForwardingSession"), logging=PORT)
    decision = decide(policy(body), session, [], session.started)
    assert (decision.allowed, decision.rule) == (True, "tunnels")


def test_the_lapse_of_a_logging_rule_says_not_logged() -> None:
    session = replace(request(), logging=NOWHERE_LOGGING)
    decision = decide(policy(PER_RULE), session, [], session.started)
    assert [(lapse.name, lapse.why) for lapse in decision.lapsed] == [("logged-shells", "not-logged")]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            "rules:\n  - {name: d, effect: deny, principals: ['*'], require_logging: true}",
            "require_logging is only meaningful on allow rules",
        ),
        ("require_logging: 'yes'", "require_logging"),
        ("rules:\n  - {name: r, require_logging: 1}", "require_logging"),
    ],
)
def test_require_logging_is_validated(body: str, message: str) -> None:
    with pytest.raises(PolicyError, match=message):
        policy(body)


def test_require_logging_round_trips_through_the_document() -> None:
    loaded = policy(
        """
        require_logging: true
        rules:
          - {name: logged-shells, require_logging: true}
        """
    )
    again = policy(json.dumps(loaded.to_document()))
    assert again.require_logging and again.rules[0].require_logging
    assert again == loaded


@pytest.mark.parametrize(
    ("session_types", "required", "deny", "warned"),
    [
        (("port",), True, False, True),
        (("port", "remote-port"), True, False, True),
        (("port", "shell"), True, False, False),
        (None, True, False, False),
        (("port",), False, False, False),
        (("port",), True, True, False),
    ],
)
def test_a_logging_allow_rule_for_tunnels_only_is_warned_about(
    session_types: tuple[str, ...] | None, required: bool, deny: bool, warned: bool
) -> None:
    from warden.policy import logging_warnings

    assert bool(logging_warnings(session_types, required=required, deny=deny)) is warned
