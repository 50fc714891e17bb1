"""Every AWS call a function makes is allowed by its own role in template.yaml.

The local cloud checks each call signed with a function role's credentials against that role's statements
(``warden_local.iam``: action and resource ARN, tables and indexes included) and denies what they do not allow,
so a missing permission fails the test that exercises it. This test takes a day through every path (allowed,
denied, failed call, resume, end, grant expiry and revocation, adoption, re-tag, a rejected policy) and checks
that each function was checked and nothing was denied.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.functional.conftest import Stack
from tests.functional.test_sweeper import grant

pytestmark = pytest.mark.functional

FUNCTIONS = ("SessionStartedFunction", "SessionEndedFunction", "SweeperFunction", "tamper-watch")
POLICY_AROUND_CLI = "version: 1\ndefault: deny\n"
SHELL = '{"schemaVersion": "1.0", "sessionType": "Standard_Stream", "inputs": {"idleSessionTimeout": "20"}}'
TUNNEL = (
    '{"schemaVersion": "1.0", "sessionType": "Port", "parameters": {"portNumber": {"type": "String"}},'
    ' "properties": {"portNumber": "{{ portNumber }}", "type": "LocalPortForwarding"}}'
)


def test_every_call_of_every_function_is_allowed_by_its_role(stack: Stack) -> None:
    # GIVEN a day that takes every path through the three functions
    alice, bob = stack.person("alice"), stack.person("bob")
    analytics = stack.cloud.add_instance({"Department": "Analytics"})
    prod = stack.cloud.add_instance({"Environment": "prod"})
    node = stack.cloud.add_managed_node({"Department": "Analytics"})
    with pytest.raises(alice.exceptions.TargetNotConnected):
        alice.start_session(Target="i-0000000000000dead")
    kept = stack.start(alice, analytics)
    stack.start(alice, node)
    stack.start(bob, prod)  # denied: terminated, alerted
    alice.resume_session(SessionId=kept)
    grant(stack, "g-expires", hours=1)
    grant(stack, "g-revoked", hours=4)
    granted = stack.start(bob, prod)
    stack.cloud.faults.drop_next_event("StartSession")
    stack.start(stack.person("carol"), prod)  # adopted and ended by the sweeper
    stack.cloud.faults.drop_next_event("StartSession")
    analyst = stack.cloud.sso_user("dana@example.com", permission_set="Analyst").client("ssm")
    stack.start(analyst, analytics)  # adopted: the owner's role path comes from IAM GetRole
    ssm = stack.cloud.client("ssm")
    ssm.create_document(Name="Team-Tunnel", DocumentType="Session", DocumentFormat="JSON", Content=TUNNEL)
    stack.start(alice, analytics, DocumentName="Team-Tunnel", Parameters={"portNumber": ["80"]})  # GetDocument
    stack.cloud.advance("5m")
    stack.grants.revoke("g-revoked", by="oncall-lead", now=stack.cloud.clock.now())
    stack.cloud.client("ec2").create_tags(Resources=[analytics], Tags=[{"Key": "Department", "Value": "Finance"}])
    stack.cloud.put_policy("version: 1\nrules:\n  - name: x\n    efect: allow\n")
    # The tamper watch: a change to a rule, a policy written around the CLI, the Session Manager preferences
    # changed (GetDocument of two versions), the canary's round trips (the sweeper writes it every 5 minutes).
    stack.cloud.client("events").disable_rule(Name=f"{stack.cloud.stack_name}-session-ended-by-role")
    ssm.put_parameter(Name=stack.outputs["PolicyParameterName"], Value=POLICY_AROUND_CLI, Type="String", Overwrite=True)
    ssm.create_document(Name="SSM-SessionManagerRunShell", DocumentType="Session", DocumentFormat="JSON", Content=SHELL)
    ssm.update_document(
        Name="SSM-SessionManagerRunShell", Content=SHELL.replace('"20"', '"60"'), DocumentVersion="$LATEST"
    )
    stack.cloud.advance(timedelta(hours=1, minutes=5))
    alice.terminate_session(SessionId=stack.start(alice, node))
    stack.cloud.settle()
    assert granted not in stack.active()
    # WHEN the local cloud checked each call against the caller's own role (as deployed from template.yaml)
    decisions = stack.cloud.iam_decisions
    # THEN every function made calls, each one allowed, and none escaped the check
    assert {logical for decision in decisions for logical in FUNCTIONS if logical in decision.function_name} == set(
        FUNCTIONS
    )
    assert [(d.function_name, d.action, d.resource) for d in decisions if not d.allowed] == []
    assert stack.cloud.authorizer.unchecked == []
    assert {d.action for d in decisions} >= {"dynamodb:PutItem", "ssm:TerminateSession", "sns:Publish"}
    # AND the calls that read what AWS vouches for were made where they are needed, and allowed
    made = {(logical, d.action) for d in decisions for logical in FUNCTIONS if logical in d.function_name}
    assert {
        ("SessionStartedFunction", "ssm:GetDocument"),
        ("SweeperFunction", "ssm:GetDocument"),
        ("SweeperFunction", "iam:GetRole"),
        ("SweeperFunction", "ssm:PutParameter"),
        ("tamper-watch", "ssm:GetDocument"),
        ("tamper-watch", "ssm:GetParameter"),
        ("tamper-watch", "sns:Publish"),
    } <= made
