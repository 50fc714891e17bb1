"""Documents judged by what they are: their account, their session type and, for tunnels, the host."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from warden.policy import (
    DEFAULT_DOCUMENT,
    PolicyError,
    SessionType,
    aws_document_session_type,
    decide,
    session_host,
    session_type_from_content,
)

from .support import ACCOUNT, policy, request

OTHER = "444455556666"
WHEN = "2026-11-24T09:00Z"


def decided(body: str, *, document: str = DEFAULT_DOCUMENT, **fields: Any) -> bool:
    """Whether a session of ALICE with ``document`` and ``fields`` is allowed by the policy ``body``."""
    session = replace(request(document=document), **fields)
    return decide(policy(body), session, [], session.started).allowed


@pytest.mark.parametrize(
    ("entry", "document", "account", "allowed"),
    [
        ("Custom-Shell", "Custom-Shell", None, True),
        ("Custom-Shell", f"arn:aws:ssm:eu-west-1:{ACCOUNT}:document/Custom-Shell", None, True),
        ("Custom-Shell", f"arn:aws:ssm:eu-west-1:{OTHER}:document/Custom-Shell", None, False),
        # The session runs in the account it names, not necessarily the caller's.
        ("Custom-Shell", f"arn:aws:ssm:eu-west-1:{OTHER}:document/Custom-Shell", OTHER, True),
        ("AWS-StartSSHSession", "arn:aws:ssm:eu-west-1::document/AWS-StartSSHSession", None, True),
        (
            "SSM-SessionManagerRunShell",
            f"arn:aws:ssm:us-east-1:{OTHER}:document/SSM-SessionManagerRunShell",
            None,
            False,
        ),
        ("Custom-*", f"arn:aws:ssm:eu-west-1:{OTHER}:document/Custom-Shell", None, False),
        (
            f"arn:aws:ssm:*:{OTHER}:document/Custom-Shell",
            f"arn:aws:ssm:eu-west-1:{OTHER}:document/Custom-Shell",
            None,
            True,
        ),
        (f"arn:aws:ssm:*:{OTHER}:document/Custom-Shell", "Custom-Shell", None, False),
        (f"arn:aws:ssm:*:{OTHER}:document/*", f"arn:aws:ssm:eu-west-1:{ACCOUNT}:document/Custom-Shell", None, False),
        ("Custom-Shell", "arn:aws:s3:::bucket/Custom-Shell", None, False),
    ],
)
def test_a_bare_document_name_means_this_accounts_or_awss_document(
    entry: str, document: str, account: str | None, allowed: bool
) -> None:
    # GIVEN a rule naming one document (a bare name or an arn: glob), WHEN a session names its document
    # THEN another account's document matches only an arn: glob
    assert decided(f"rules:\n  - {{name: r, documents: ['{entry}']}}\n", document=document, account=account) is allowed


TUNNELS = """\
rules:
  - name: tunnels
    session_types: [port, remote-port]
    hosts: ["*.dev.internal"]
"""
DENY_COMMANDS = """\
rules:
  - {name: no-commands, effect: deny, session_types: [command]}
  - {name: anything}
"""
DENY_PROD_TUNNELS = """\
rules:
  - {name: no-prod-tunnels, effect: deny, session_types: [remote-port], hosts: ["*.prod.internal"]}
  - {name: anything}
"""


@pytest.mark.parametrize(
    ("body", "document", "session_type", "host", "allowed"),
    [
        pytest.param(TUNNELS, "Copy-Of-Port", "port", None, True, id="allow: a port session"),
        pytest.param(TUNNELS, "Copy-Of-Remote", "remote-port", "db.dev.internal", True, id="allow: a tunnel to dev"),
        pytest.param(TUNNELS, "Copy-Of-Remote", "remote-port", "db.prod.internal", False, id="allow: not to prod"),
        pytest.param(TUNNELS, "Copy-Of-Remote", "remote-port", "DB.Dev.Internal.", True, id="allow: DNS case, dot"),
        pytest.param(TUNNELS, "Copy-Of-Remote", "remote-port", "10.0.0.5", False, id="allow: not an address"),
        pytest.param(TUNNELS, "Copy-Of-Remote", "remote-port", None, False, id="allow: not to an unknown host"),
        pytest.param(TUNNELS, "Copy-Of-Shell", "shell", None, False, id="allow: not a shell"),
        pytest.param(TUNNELS, "Custom-Doc", None, None, False, id="allow: not an unknown type"),
        pytest.param(TUNNELS, "Custom-Doc", None, "db.dev.internal", False, id="allow: unknown type, known host"),
        pytest.param(
            TUNNELS, "AWS-StartPortForwardingSession", None, None, True, id="allow: an AWS document's type is known"
        ),
        pytest.param(TUNNELS, "AWS-StartInteractiveCommand", None, None, False, id="allow: an AWS command document"),
        pytest.param(DENY_COMMANDS, "Custom-Doc", "shell", None, True, id="deny: a shell is not a command"),
        pytest.param(DENY_COMMANDS, "Custom-Doc", "command", None, False, id="deny: a command"),
        pytest.param(DENY_COMMANDS, "Custom-Doc", None, None, False, id="deny: an unknown type may be a command"),
        pytest.param(DENY_PROD_TUNNELS, "X", "remote-port", "db.prod.internal", False, id="deny: a tunnel to prod"),
        pytest.param(DENY_PROD_TUNNELS, "X", "remote-port", "db.dev.internal", True, id="deny: not a tunnel to dev"),
        pytest.param(DENY_PROD_TUNNELS, "X", "remote-port", "DB.PROD.internal.", False, id="deny: DNS case, dot"),
        pytest.param(DENY_PROD_TUNNELS, "X", "remote-port", None, False, id="deny: a tunnel to an unknown host"),
        pytest.param(DENY_PROD_TUNNELS, "X", None, None, False, id="deny: an unknown type may be a tunnel"),
        pytest.param(DENY_PROD_TUNNELS, "X", "shell", None, True, id="deny: a shell is no tunnel"),
    ],
)
def test_session_types_and_hosts_fail_closed_when_unknown(
    body: str, document: str, session_type: SessionType | None, host: str | None, allowed: bool
) -> None:
    assert decided(body, document=document, session_type=session_type, host=host) is allowed


def test_a_denial_by_session_type_says_which_type_and_host() -> None:
    session = replace(request(document="Copy-Of-Remote"), session_type="remote-port", host="db.prod.internal")
    decision = decide(policy(DENY_PROD_TUNNELS), session, [], session.started)
    assert decision.reasons == ("denied by rule no-prod-tunnels (session type remote-port; host db.prod.internal)",)


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ("{name: r, session_types: [ssh]}", "unknown session type 'ssh': expected shell, port, remote-port or command"),
        ("{name: r, session_types: []}", "must not be empty"),
        ("{name: r, session_types: [shell], hosts: [db]}", "session_types does not include remote-port"),
        ("{name: r, effect: deny, hosts: [db]}", "a deny rule with hosts must name its session_types"),
        ("{name: r, hosts: ['']}", "must not be empty"),
    ],
)
def test_session_types_and_hosts_are_validated(rule: str, message: str) -> None:
    with pytest.raises(PolicyError) as raised:
        policy(f"rules:\n  - {rule}\n")
    assert any(message in issue.message for issue in raised.value.issues), raised.value.issues


def test_session_types_and_hosts_round_trip_through_the_document() -> None:
    loaded = policy(TUNNELS)
    assert loaded.to_document()["rules"] == [
        {
            "name": "tunnels",
            "effect": "allow",
            "principals": ["*"],
            "session_types": ["port", "remote-port"],
            "hosts": ["*.dev.internal"],
        }
    ]


# Contents as GetDocument returns them for the AWS-provided documents (parameters trimmed to their names).
REMOTE_HOST_CONTENT = {
    "schemaVersion": "1.0",
    "description": "Document to start port forwarding session over Session Manager to a remote host",
    "sessionType": "Port",
    "parameters": {"portNumber": {"type": "String"}, "localPortNumber": {"type": "String"}, "host": {"type": "String"}},
    "properties": {
        "portNumber": "{{ portNumber }}",
        "type": "LocalPortForwarding",
        "localPortNumber": "{{ localPortNumber }}",
        "host": "{{ host }}",
    },
}


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        pytest.param(REMOTE_HOST_CONTENT, "remote-port", id="AWS-StartPortForwardingSessionToRemoteHost or a copy"),
        pytest.param(
            {
                "schemaVersion": "1.0",
                "sessionType": "Port",
                "parameters": {"portNumber": {"type": "String", "default": "22"}},
                "properties": {"portNumber": "{{ portNumber }}"},
            },
            "port",
            id="AWS-StartSSHSession",
        ),
        pytest.param(
            {
                "schemaVersion": "1.0",
                "sessionType": "Port",
                "parameters": {"portNumber": {"type": "String"}, "localPortNumber": {"type": "String"}},
                "properties": {"portNumber": "{{ portNumber }}", "type": "LocalPortForwarding"},
            },
            "port",
            id="AWS-StartPortForwardingSession",
        ),
        pytest.param(
            {"sessionType": "Port", "properties": {"portNumber": "5432", "host": "db.prod.internal"}},
            "remote-port",
            id="a fixed remote host in the properties",
        ),
        pytest.param(
            {"schemaVersion": "1.0", "sessionType": "InteractiveCommands", "properties": {"linux": {"commands": "x"}}},
            "command",
            id="AWS-StartInteractiveCommand",
        ),
        pytest.param({"sessionType": "NonInteractiveCommands"}, "command", id="AWS-StartNonInteractiveCommand"),
        pytest.param({"sessionType": "Standard_Stream", "inputs": {}}, "shell", id="SSM-SessionManagerRunShell"),
        pytest.param({"sessionType": "Teleport"}, None, id="an unknown type"),
        pytest.param({"mainSteps": []}, None, id="not a Session document"),
        pytest.param({"sessionType": ["Port"]}, None, id="malformed"),
    ],
)
def test_the_session_type_is_read_from_the_document_content(
    content: dict[str, Any], expected: SessionType | None
) -> None:
    assert session_type_from_content(content) == expected


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        ("AWS-StartPortForwardingSession", "port"),
        ("AWS-StartPortForwardingSessionToRemoteHost", "remote-port"),
        ("AWS-StartSSHSession", "port"),
        ("AWS-StartInteractiveCommand", "command"),
        ("AWS-StartNonInteractiveCommand", "command"),
        ("arn:aws:ssm:eu-west-1::document/AWS-StartPortForwardingSessionToRemoteHost", "remote-port"),
        # Another account's document is not AWS's, whatever its name; a customer's shell document may change.
        (f"arn:aws:ssm:eu-west-1:{OTHER}:document/AWS-StartPortForwardingSession", None),
        ("SSM-SessionManagerRunShell", None),
        ("Custom-Tunnel", None),
    ],
)
def test_aws_documents_have_a_known_session_type(document: str, expected: SessionType | None) -> None:
    assert aws_document_session_type(document) == expected


@pytest.mark.parametrize(
    ("parameters", "expected"),
    [
        ({"host": ["db.dev.internal"], "portNumber": ["5432"]}, "db.dev.internal"),
        ({"host": " db.dev.internal "}, "db.dev.internal"),
        ({"host": ["a", "b"]}, None),
        ({"host": [""]}, None),
        ({"portNumber": ["22"]}, None),
        (None, None),
        ("HIDDEN_DUE_TO_SECURITY_REASONS", None),
    ],
)
def test_session_host_reads_the_host_parameter(parameters: Any, expected: str | None) -> None:
    assert session_host(parameters) == expected
