"""Principals from CloudTrail identities and ARNs, and the patterns that match them."""

from __future__ import annotations

from typing import Any

import pytest

from warden.policy import Principal, Rule, principal_from_arn, principal_from_identity, validate_principal_pattern

from .support import ACCOUNT, ALICE, BOB

SSO_ROLE = "AWSReservedSSO_Analyst_0123456789abcdef"
SSO_ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/aws-reserved/sso.amazonaws.com/eu-west-1/{SSO_ROLE}"

IDENTITIES: list[Any] = [
    pytest.param(
        {
            "type": "IAMUser",
            "principalId": "AIDAEXAMPLE",
            "arn": f"arn:aws:iam::{ACCOUNT}:user/division/bob",
            "accountId": ACCOUNT,
            "accessKeyId": "AKIAEXAMPLE",
            "userName": "bob",
        },
        Principal(f"arn:aws:iam::{ACCOUNT}:user/division/bob", ACCOUNT, "IAMUser", "bob", None, None),
        id="IAM user with a path",
    ),
    pytest.param(
        {
            "type": "AssumedRole",
            "principalId": "AROAEXAMPLE:deploy-42",
            "arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/ops-admin/deploy-42",
            "accountId": ACCOUNT,
            "sessionContext": {
                "sessionIssuer": {
                    "type": "Role",
                    "principalId": "AROAEXAMPLE",
                    "arn": f"arn:aws:iam::{ACCOUNT}:role/teams/platform/ops-admin",
                    "accountId": ACCOUNT,
                    "userName": "ops-admin",
                },
                "attributes": {"creationDate": "2026-11-24T08:00:00Z", "mfaAuthenticated": "false"},
            },
        },
        Principal(
            f"arn:aws:sts::{ACCOUNT}:assumed-role/ops-admin/deploy-42",
            ACCOUNT,
            "AssumedRole",
            "deploy-42",
            "ops-admin",
            f"arn:aws:iam::{ACCOUNT}:role/teams/platform/ops-admin",
        ),
        id="assumed role with a path",
    ),
    pytest.param(
        {
            "type": "AssumedRole",
            "principalId": "AROAEXAMPLE:alice@example.com",
            "arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/{SSO_ROLE}/alice@example.com",
            "accountId": ACCOUNT,
            "sessionContext": {
                "sessionIssuer": {"type": "Role", "arn": SSO_ROLE_ARN, "accountId": ACCOUNT, "userName": SSO_ROLE}
            },
        },
        Principal(
            f"arn:aws:sts::{ACCOUNT}:assumed-role/{SSO_ROLE}/alice@example.com",
            ACCOUNT,
            "AssumedRole",
            "alice@example.com",
            SSO_ROLE,
            SSO_ROLE_ARN,
        ),
        id="IAM Identity Center user",
    ),
    pytest.param(
        {
            "type": "FederatedUser",
            "principalId": f"{ACCOUNT}:carol",
            "arn": f"arn:aws:sts::{ACCOUNT}:federated-user/carol",
            "accountId": ACCOUNT,
            "sessionContext": {
                "sessionIssuer": {
                    "type": "IAMUser",
                    "arn": f"arn:aws:iam::{ACCOUNT}:user/broker",
                    "userName": "broker",
                }
            },
        },
        Principal(f"arn:aws:sts::{ACCOUNT}:federated-user/carol", ACCOUNT, "FederatedUser", "carol", None, None),
        id="federated user",
    ),
    pytest.param(
        {"type": "Root", "principalId": ACCOUNT, "arn": f"arn:aws:iam::{ACCOUNT}:root", "accountId": ACCOUNT},
        Principal(f"arn:aws:iam::{ACCOUNT}:root", ACCOUNT, "Root", "root", None, None),
        id="root",
    ),
    pytest.param(
        {"type": "AWSService", "invokedBy": "ssm.amazonaws.com"},
        Principal("ssm.amazonaws.com", None, "AWSService", None, None, None),
        id="AWS service",
    ),
    pytest.param(
        {"type": "SomethingNew", "principalId": "x", "userName": "someone", "accountId": ACCOUNT},
        Principal("", ACCOUNT, "Unknown", None, None, None),
        id="unknown type gets no user",
    ),
    pytest.param({}, Principal("", None, "Unknown", None, None, None), id="empty identity"),
    pytest.param(
        {"type": "AssumedRole", "principalId": "AROAEXAMPLE:sess", "sessionContext": {"sessionIssuer": None}},
        Principal("", None, "AssumedRole", "sess", None, None),
        id="assumed role without arn or issuer",
    ),
    pytest.param(
        {"type": "AssumedRole", "arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/ops-admin/s1"},
        Principal(
            f"arn:aws:sts::{ACCOUNT}:assumed-role/ops-admin/s1",
            ACCOUNT,
            "AssumedRole",
            "s1",
            "ops-admin",
            f"arn:aws:iam::{ACCOUNT}:role/ops-admin",
        ),
        id="assumed role without session context",
    ),
    pytest.param(
        {"type": "IAMUser", "arn": f"arn:aws:iam::{ACCOUNT}:user/dave", "userName": 42, "accountId": None},
        Principal(f"arn:aws:iam::{ACCOUNT}:user/dave", ACCOUNT, "IAMUser", "dave", None, None),
        id="odd field types are tolerated",
    ),
]


@pytest.mark.parametrize(("identity", "expected"), IDENTITIES)
def test_principal_from_identity_reads_every_cloudtrail_identity_type(
    identity: dict[str, Any], expected: Principal
) -> None:
    # GIVEN a CloudTrail userIdentity, complete or partial
    # WHEN it is read
    # THEN the principal carries the ARN, account, kind, user, role and issuer role ARN it implies
    assert principal_from_identity(identity) == expected


def test_principal_from_identity_tolerates_something_that_is_not_a_mapping() -> None:
    assert principal_from_identity(None).kind == "Unknown"  # type: ignore[arg-type]


ARNS: list[Any] = [
    pytest.param(
        f"arn:aws:iam::{ACCOUNT}:user/bob",
        Principal(f"arn:aws:iam::{ACCOUNT}:user/bob", ACCOUNT, "IAMUser", "bob"),
        id="user",
    ),
    pytest.param(
        f"arn:aws:iam::{ACCOUNT}:user/division/team/bob",
        Principal(f"arn:aws:iam::{ACCOUNT}:user/division/team/bob", ACCOUNT, "IAMUser", "bob"),
        id="user with a path",
    ),
    pytest.param(
        f"arn:aws:sts::{ACCOUNT}:assumed-role/{SSO_ROLE}/alice@example.com",
        Principal(
            f"arn:aws:sts::{ACCOUNT}:assumed-role/{SSO_ROLE}/alice@example.com",
            ACCOUNT,
            "AssumedRole",
            "alice@example.com",
            SSO_ROLE,
            f"arn:aws:iam::{ACCOUNT}:role/{SSO_ROLE}",
        ),
        id="assumed role (role path unknown)",
    ),
    pytest.param(
        f"arn:aws-cn:sts::{ACCOUNT}:assumed-role/ops/s",
        Principal(
            f"arn:aws-cn:sts::{ACCOUNT}:assumed-role/ops/s",
            ACCOUNT,
            "AssumedRole",
            "s",
            "ops",
            f"arn:aws-cn:iam::{ACCOUNT}:role/ops",
        ),
        id="assumed role in another partition",
    ),
    pytest.param(
        SSO_ROLE_ARN,
        Principal(SSO_ROLE_ARN, ACCOUNT, "AssumedRole", None, SSO_ROLE, SSO_ROLE_ARN),
        id="role",
    ),
    pytest.param(
        f"arn:aws:sts::{ACCOUNT}:federated-user/carol",
        Principal(f"arn:aws:sts::{ACCOUNT}:federated-user/carol", ACCOUNT, "FederatedUser", "carol"),
        id="federated user",
    ),
    pytest.param(
        f"arn:aws:iam::{ACCOUNT}:root",
        Principal(f"arn:aws:iam::{ACCOUNT}:root", ACCOUNT, "Root", "root"),
        id="root",
    ),
    pytest.param(
        f"arn:aws:ec2:eu-west-1:{ACCOUNT}:instance/i-0abc",
        Principal(f"arn:aws:ec2:eu-west-1:{ACCOUNT}:instance/i-0abc", ACCOUNT, "Unknown"),
        id="some other ARN",
    ),
]


@pytest.mark.parametrize(("arn", "expected"), ARNS)
def test_principal_from_arn_reads_users_roles_sessions_and_root(arn: str, expected: Principal) -> None:
    assert principal_from_arn(arn) == expected


@pytest.mark.parametrize(
    "text",
    ["alice", "", "arn:aws", "arn:aws:iam::1", "user:alice", f"arn:aws:iam::{ACCOUNT}:user/", "arn::iam::1:root"],
)
def test_principal_from_arn_refuses_what_is_not_a_usable_arn(text: str) -> None:
    with pytest.raises(ValueError, match="ARN"):
        principal_from_arn(text)


def test_a_principal_displays_as_its_user_then_role_then_arn() -> None:
    assert ALICE.display == "alice@example.com"
    assert principal_from_arn(SSO_ROLE_ARN).display == SSO_ROLE
    assert Principal(arn="arn:aws:iam::1:thing/x").display == "arn:aws:iam::1:thing/x"


MATCHES: list[Any] = [
    pytest.param(ALICE, "*", True, id="star matches anyone"),
    pytest.param(ALICE, "user:alice@example.com", True, id="Identity Center e-mail as user"),
    pytest.param(ALICE, "user:*@example.com", True, id="user glob"),
    pytest.param(ALICE, "user:Alice@example.com", False, id="user globs are case-sensitive"),
    pytest.param(ALICE, "role:AWSReservedSSO_Analyst_*", True, id="role glob"),
    pytest.param(ALICE, "role:AWSReservedSSO_Admin_*", False, id="other role"),
    pytest.param(ALICE, "role:aws-reserved/*", False, id="role patterns do not see the path"),
    pytest.param(ALICE, f"account:{ACCOUNT}", True, id="account"),
    pytest.param(ALICE, "account:9999*", False, id="other account"),
    pytest.param(ALICE, f"arn:aws:sts::{ACCOUNT}:assumed-role/*/alice@example.com", True, id="caller ARN"),
    pytest.param(ALICE, f"arn:aws:iam::{ACCOUNT}:role/aws-reserved/sso.amazonaws.com/*", True, id="issuer ARN path"),
    pytest.param(ALICE, "arn:aws:iam::*:role/AWSReservedSSO_*", False, id="issuer ARN glob must span the path"),
    pytest.param(ALICE, "arn:aws:iam::*:role/*AWSReservedSSO_Analyst_*", True, id="star spans slashes"),
    pytest.param(BOB, "user:bob", True, id="IAM user"),
    pytest.param(BOB, "user:bo?", True, id="question mark is one character"),
    pytest.param(BOB, "user:b?", False, id="question mark is exactly one character"),
    pytest.param(BOB, "role:*", False, id="an IAM user has no role"),
    pytest.param(BOB, f"arn:aws:iam::{ACCOUNT}:user/bob", True, id="user ARN"),
    pytest.param(principal_from_arn(f"arn:aws:iam::{ACCOUNT}:root"), "user:root", True, id="root as user"),
    # GetFederationToken's caller picks the name: user: never matches it (spec section 2).
    pytest.param(principal_from_arn(f"arn:aws:sts::{ACCOUNT}:federated-user/carol"), "user:carol", False, id="fed"),
    pytest.param(
        Principal(arn="arn:aws:iam::1:user/[x]", kind="IAMUser", user="[x]"),
        "user:[x]",
        True,
        id="brackets are literal",
    ),
    pytest.param(
        Principal(arn="arn:aws:iam::1:user/x", kind="IAMUser", user="x"), "user:[x]", False, id="brackets are no class"
    ),
    pytest.param(Principal(arn="", kind="Unknown"), "user:*", False, id="unknown principal has no user"),
    pytest.param(ALICE, "group:admins", False, id="unknown pattern kind matches nothing"),
]


@pytest.mark.parametrize(("principal", "pattern", "expected"), MATCHES)
def test_principal_patterns_match_by_kind(principal: Principal, pattern: str, expected: bool) -> None:
    # GIVEN a principal and one pattern
    # WHEN they are compared
    # THEN the pattern matches exactly when its kind and glob say so
    assert principal.matches(pattern) is expected


@pytest.mark.parametrize("pattern", ["*", "arn:aws:iam::*:user/*", "user:a", "role:r*", "account:1?3"])
def test_validate_principal_pattern_accepts_every_kind(pattern: str) -> None:
    validate_principal_pattern(pattern)


@pytest.mark.parametrize(
    ("pattern", "complaint"),
    [
        ("", "empty principal pattern"),
        ("alice", "unknown principal pattern 'alice'"),
        ("group:admins", "unknown principal pattern 'group:admins'"),
        ("User:alice", "unknown principal pattern 'User:alice'"),
        ("user:", "nothing after 'user:'"),
        ("role:", "nothing after 'role:'"),
        ("arn:", "nothing after 'arn:'"),
    ],
)
def test_validate_principal_pattern_names_the_problem(pattern: str, complaint: str) -> None:
    with pytest.raises(ValueError, match="principal pattern") as raised:
        validate_principal_pattern(pattern)
    assert complaint in str(raised.value)


def test_a_rule_answers_for_its_own_principals_and_documents() -> None:
    rule = Rule(name="r", principals=("role:AWSReservedSSO_Analyst_*",), documents=("AWS-StartSSHSession",))
    assert rule.matches_principal(ALICE)
    assert not rule.matches_principal(BOB)
    assert rule.matches_document("AWS-StartSSHSession")
    assert not rule.matches_document("SSM-SessionManagerRunShell")
    assert Rule(name="any").matches_document("anything")
