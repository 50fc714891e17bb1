"""Documents judged by what they are (SPEC section 2): session types from the content, hosts, other accounts."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from tests.functional.conftest import Stack
from warden.sweeper import ADOPTION_GRACE

pytestmark = pytest.mark.functional

POLICY = """\
version: 1
mode: enforce
default: deny
rules:
  - name: dev-tunnels
    principals: ["user:alice"]
    targets: {tags: {Environment: dev}}
    session_types: [remote-port]
    hosts: ["*.dev.internal"]
  - name: analytics-shell
    principals: ["user:alice"]
    targets: {tags: {Department: Analytics}}
    documents: [SSM-SessionManagerRunShell]
"""

# The content of AWS-StartPortForwardingSessionToRemoteHost, as GetDocument returns it.
REMOTE_HOST_TUNNEL = {
    "schemaVersion": "1.0",
    "description": "Document to start port forwarding session over Session Manager to a remote host",
    "sessionType": "Port",
    "parameters": {
        "portNumber": {"type": "String", "description": "(Optional) Port number of the server", "default": "80"},
        "localPortNumber": {"type": "String", "description": "(Optional) Port number on local machine", "default": "0"},
        "host": {"type": "String", "description": "(Required) The IP address or DNS name of the remote host"},
    },
    "properties": {
        "portNumber": "{{ portNumber }}",
        "type": "LocalPortForwarding",
        "localPortNumber": "{{ localPortNumber }}",
        "host": "{{ host }}",
    },
}
COPY = "Team-DatabaseTunnel"


@pytest.fixture
def alice(stack: Stack) -> Any:
    stack.cloud.put_policy(POLICY)
    stack.cloud.client("ssm").create_document(
        Name=COPY, DocumentType="Session", DocumentFormat="JSON", Content=json.dumps(REMOTE_HOST_TUNNEL)
    )
    return stack.person("alice")


def tunnel(host: str) -> dict[str, Any]:
    return {"DocumentName": COPY, "Parameters": {"host": [host], "portNumber": ["5432"], "localPortNumber": ["15432"]}}


def test_copy_of_the_remote_host_document_is_a_remote_port_session(stack: Stack, alice: Any) -> None:
    # GIVEN a copy of AWS-StartPortForwardingSessionToRemoteHost under another name, and a rule for remote-port
    dev = stack.cloud.add_instance({"Environment": "dev"})
    # WHEN alice opens a tunnel with it to a host the rule allows
    session = stack.start(alice, dev, **tunnel("db.dev.internal"))
    stack.cloud.advance("1m")
    # THEN it is judged by its content on both paths: a remote-port session to an allowed host, still open
    assert session in stack.active()
    row = stack.row(session)
    assert (row.decision, row.rule, row.document, row.host) == ("allow", "dev-tunnels", COPY, "db.dev.internal")
    assert not stack.inbox.kinds()


def test_hosts_limit_where_a_tunnel_may_go(stack: Stack, alice: Any) -> None:
    # GIVEN the rule allows tunnels to *.dev.internal only
    dev = stack.cloud.add_instance({"Environment": "dev"})
    # WHEN alice opens the same tunnel to a production database
    session = stack.start(alice, dev, **tunnel("db.prod.internal"))
    # THEN it is denied and ended
    assert session not in stack.active()
    assert stack.row(session).decision == "deny"
    assert "session-terminated" in stack.inbox.kinds()


def test_tunnel_whose_start_event_was_lost_has_an_unknown_host_and_is_not_allowed_by_hosts(
    stack: Stack, alice: Any
) -> None:
    # GIVEN a tunnel to an allowed host whose StartSession event never arrives (DescribeSessions lists no host)
    dev = stack.cloud.add_instance({"Environment": "dev"})
    stack.cloud.faults.drop_next_event("StartSession")
    session = stack.start(alice, dev, **tunnel("db.dev.internal"))
    # WHEN the sweeper adopts it
    stack.cloud.advance(ADOPTION_GRACE + timedelta(minutes=1))
    # THEN an unknown host is not one the rule allows: ended (fail closed)
    assert session not in stack.active()
    assert stack.row(session).decision == "deny"


def test_document_of_another_account_does_not_match_a_bare_name(stack: Stack, alice: Any) -> None:
    # GIVEN a rule that allows the shell document SSM-SessionManagerRunShell of this account
    analytics = stack.cloud.add_instance({"Department": "Analytics"})
    # WHEN alice starts one session with it and one with another account's document of that name
    ours = stack.start(alice, analytics)
    theirs = stack.start(
        alice, analytics, DocumentName="arn:aws:ssm:us-east-1:999999999999:document/SSM-SessionManagerRunShell"
    )
    # THEN only hers stays open; the other account's document is not this account's, whatever its name
    assert ours in stack.active() and theirs not in stack.active()
    assert stack.row(theirs).document == "arn:aws:ssm:us-east-1:999999999999:document/SSM-SessionManagerRunShell"
    assert stack.row(theirs).decision == "deny"
