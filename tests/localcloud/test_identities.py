"""The identities AWS reports: federated users, web identities and IAM Identity Center users, in the session
APIs and in the CloudTrail events the local cloud emits for them."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.localcloud.conftest import EventTap
from warden_local import LocalCloud

pytestmark = pytest.mark.functional

ACCOUNT = "123456789012"


def start_event(tap: EventTap) -> dict[str, Any]:
    [event] = [e for e in tap.events() if e["detail"]["eventName"] == "StartSession"]
    return event["detail"]["userIdentity"]  # type: ignore[no-any-return]


def test_a_federated_user_is_reported_as_federated_user_issued_by_the_iam_user(
    bare_cloud: LocalCloud, tap: EventTap
) -> None:
    # GIVEN IAM user broker who called GetFederationToken(Name="bob") (the caller chooses the name)
    credentials = bare_cloud.federated_credentials("broker", "bob")
    ssm = bare_cloud.client("ssm", credentials=credentials)

    # WHEN the federated user starts a session
    session_id = ssm.start_session(Target=bare_cloud.add_instance({}))["SessionId"]
    who = bare_cloud.client("sts", credentials=credentials).get_caller_identity()

    # THEN STS, DescribeSessions and CloudTrail all report federated-user/bob, issued by the IAM user
    assert who["Arn"] == f"arn:aws:sts::{ACCOUNT}:federated-user/bob"
    assert re.fullmatch(r"bob-[a-z2-9]{26}", session_id)
    [owner] = [s["Owner"] for s in ssm.describe_sessions(State="Active")["Sessions"]]
    assert owner == f"arn:aws:sts::{ACCOUNT}:federated-user/bob"
    identity = start_event(tap)
    assert (identity["type"], identity["arn"], identity["principalId"]) == (
        "FederatedUser",
        f"arn:aws:sts::{ACCOUNT}:federated-user/bob",
        f"{ACCOUNT}:bob",
    )
    issuer = identity["sessionContext"]["sessionIssuer"]
    assert (issuer["type"], issuer["arn"], issuer["userName"]) == (
        "IAMUser",
        f"arn:aws:iam::{ACCOUNT}:user/broker",
        "broker",
    )
    assert issuer["principalId"].startswith("AIDA")


def test_a_web_identity_session_is_an_assumed_role_with_its_provider(bare_cloud: LocalCloud, tap: EventTap) -> None:
    # GIVEN a CI job that exchanged an OIDC token for the deploy role, choosing its session name
    credentials = bare_cloud.web_identity_credentials(
        "ci-deploy", "repo:acme/app:ref:refs/heads/main", session_name="alice"
    )
    ssm = bare_cloud.client("ssm", credentials=credentials)

    # WHEN it starts a session
    ssm.start_session(Target=bare_cloud.add_instance({}))

    # THEN CloudTrail reports the assumed role with the identity provider that vouched for it
    identity = start_event(tap)
    assert (identity["type"], identity["arn"]) == (
        "AssumedRole",
        f"arn:aws:sts::{ACCOUNT}:assumed-role/ci-deploy/alice",
    )
    federation = identity["sessionContext"]["webIdFederationData"]
    assert (
        federation["federatedProvider"] == f"arn:aws:iam::{ACCOUNT}:oidc-provider/token.actions.githubusercontent.com"
    )
    assert identity["sessionContext"]["sessionIssuer"]["arn"] == f"arn:aws:iam::{ACCOUNT}:role/ci-deploy"


def test_an_identity_center_user_is_an_sso_role_session_named_after_the_user(
    bare_cloud: LocalCloud, tap: EventTap
) -> None:
    # GIVEN alice signed in through IAM Identity Center with the Analyst permission set
    session = bare_cloud.sso_user("alice@example.com", permission_set="Analyst")

    # WHEN she starts a session
    session_id = session.client("ssm").start_session(Target=bare_cloud.add_instance({}))["SessionId"]

    # THEN the assumed-role ARN has no path, the issuer's ARN has the Identity Center path
    identity = start_event(tap)
    role = identity["sessionContext"]["sessionIssuer"]
    assert re.fullmatch(r"AWSReservedSSO_Analyst_[0-9a-z]{16}", role["userName"])
    assert identity["arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/{role['userName']}/alice@example.com"
    assert role["arn"] == f"arn:aws:iam::{ACCOUNT}:role/aws-reserved/sso.amazonaws.com/{role['userName']}"
    assert identity["sessionContext"]["webIdFederationData"] == {}
    assert session_id.startswith("alice@example.com-")
    # and the same user signing in again gets the same permission set role
    again = bare_cloud.sso_user("alice@example.com", permission_set="Analyst").client("sts").get_caller_identity()
    assert again["Arn"] == identity["arn"]
