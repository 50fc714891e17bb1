"""Principal patterns name only what AWS vouches for: each pattern kind against each kind of identity."""

from __future__ import annotations

from typing import Any

import pytest

from warden.policy import (
    IDENTITY_CENTER_PATH,
    Principal,
    decide,
    pattern_warnings,
    principal_from_arn,
    principal_from_identity,
)

from .support import ACCOUNT, grant, policy, request

EMAIL = "alice@example.com"
SSO_ROLE = "AWSReservedSSO_Analyst_0123456789abcdef"
SSO_ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/aws-reserved/sso.amazonaws.com/eu-west-1/{SSO_ROLE}"


def assumed(role: str, session: str, role_arn: str, **extra: Any) -> dict[str, Any]:
    """A CloudTrail AssumedRole userIdentity with its session issuer (the role ARN, path included)."""
    return {
        "type": "AssumedRole",
        "principalId": f"AROAEXAMPLE:{session}",
        "arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/{role}/{session}",
        "accountId": ACCOUNT,
        "sessionContext": {
            "sessionIssuer": {
                "type": "Role",
                "principalId": "AROAEXAMPLE",
                "arn": role_arn,
                "accountId": ACCOUNT,
                "userName": role,
            },
            **extra,
        },
    }


# Every kind of identity that can start a session, each named alice@example.com where it has a name.
IDENTITIES: dict[str, dict[str, Any]] = {
    "IAM user": {
        "type": "IAMUser",
        "principalId": "AIDAEXAMPLE",
        "arn": f"arn:aws:iam::{ACCOUNT}:user/{EMAIL}",
        "accountId": ACCOUNT,
        "userName": EMAIL,
    },
    "root": {"type": "Root", "principalId": ACCOUNT, "arn": f"arn:aws:iam::{ACCOUNT}:root", "accountId": ACCOUNT},
    "Identity Center user": assumed(SSO_ROLE, EMAIL, SSO_ROLE_ARN),
    "Identity Center user, global path": assumed(
        SSO_ROLE, EMAIL, f"arn:aws:iam::{ACCOUNT}:role/aws-reserved/sso.amazonaws.com/{SSO_ROLE}"
    ),
    "ordinary role session named like an e-mail": assumed(
        "OktaEngineers", EMAIL, f"arn:aws:iam::{ACCOUNT}:role/OktaEngineers"
    ),
    "web identity role session": assumed(
        "OktaEngineers",
        EMAIL,
        f"arn:aws:iam::{ACCOUNT}:role/OktaEngineers",
        webIdFederationData={"federatedProvider": "accounts.google.com", "attributes": {}},
    ),
    "look-alike AWSReservedSSO_ role at the root path": assumed(
        SSO_ROLE, EMAIL, f"arn:aws:iam::{ACCOUNT}:role/{SSO_ROLE}"
    ),
    "look-alike AWSReservedSSO_ role under another path": assumed(
        SSO_ROLE, EMAIL, f"arn:aws:iam::{ACCOUNT}:role/copy/aws-reserved/sso.amazonaws.com/{SSO_ROLE}"
    ),
    "federated user": {
        "type": "FederatedUser",
        "principalId": f"{ACCOUNT}:{EMAIL}",
        "arn": f"arn:aws:sts::{ACCOUNT}:federated-user/{EMAIL}",
        "accountId": ACCOUNT,
        "sessionContext": {"sessionIssuer": {"type": "IAMUser", "arn": f"arn:aws:iam::{ACCOUNT}:user/bob"}},
    },
    "web identity user": {
        "type": "WebIdentityUser",
        "principalId": f"accounts.google.com:app.apps.googleusercontent.com:{EMAIL}",
        "userName": EMAIL,
        "identityProvider": "accounts.google.com",
        "accountId": ACCOUNT,
    },
    "SAML user": {
        "type": "SAMLUser",
        "principalId": f"c2FtbGhhc2g=:{EMAIL}",
        "userName": EMAIL,
        "identityProvider": "c2FtbGhhc2g=",
        "accountId": ACCOUNT,
    },
}

PATTERNS = (
    f"user:{EMAIL}",
    "user:root",
    "permission-set:Analyst",
    "role:AWSReservedSSO_Analyst_*",
    "role:OktaEngineers",
    f"arn:aws:sts::*:assumed-role/OktaEngineers/{EMAIL}",
    f"arn:aws:iam::*:role{IDENTITY_CENTER_PATH}*",
    f"account:{ACCOUNT}",
    "*",
)

# What each identity is matched by; every other pattern of PATTERNS must not match it.
EXPECTED: dict[str, set[str]] = {
    "IAM user": {f"user:{EMAIL}", f"account:{ACCOUNT}", "*"},
    "root": {"user:root", f"account:{ACCOUNT}", "*"},
    "Identity Center user": {
        f"user:{EMAIL}",
        "permission-set:Analyst",
        "role:AWSReservedSSO_Analyst_*",
        f"arn:aws:iam::*:role{IDENTITY_CENTER_PATH}*",
        f"account:{ACCOUNT}",
        "*",
    },
    "ordinary role session named like an e-mail": {
        "role:OktaEngineers",
        f"arn:aws:sts::*:assumed-role/OktaEngineers/{EMAIL}",
        f"account:{ACCOUNT}",
        "*",
    },
    "web identity role session": {
        "role:OktaEngineers",
        f"arn:aws:sts::*:assumed-role/OktaEngineers/{EMAIL}",
        f"account:{ACCOUNT}",
        "*",
    },
    # role: names a role by name only, as it always did: the look-alike matches it, and nothing else.
    "look-alike AWSReservedSSO_ role at the root path": {"role:AWSReservedSSO_Analyst_*", f"account:{ACCOUNT}", "*"},
    "look-alike AWSReservedSSO_ role under another path": {"role:AWSReservedSSO_Analyst_*", f"account:{ACCOUNT}", "*"},
    "federated user": {f"account:{ACCOUNT}", "*"},
    "web identity user": {f"account:{ACCOUNT}", "*"},
    "SAML user": {f"account:{ACCOUNT}", "*"},
}
EXPECTED["Identity Center user, global path"] = EXPECTED["Identity Center user"]

CELLS = [
    pytest.param(identity, pattern, pattern in EXPECTED[identity], id=f"{identity} ~ {pattern}")
    for identity in IDENTITIES
    for pattern in PATTERNS
]


@pytest.mark.parametrize(("identity", "pattern", "expected"), CELLS)
def test_each_pattern_kind_matches_only_identities_aws_vouches_for(identity: str, pattern: str, expected: bool) -> None:
    # GIVEN a CloudTrail identity and a principal pattern
    principal = principal_from_identity(IDENTITIES[identity])
    # WHEN the pattern is matched, alone and inside a policy's compiled index
    alone = principal.matches(pattern)
    subject = policy(f"rules:\n  - {{name: r, principals: ['{pattern}']}}\n")
    indexed = decide(subject, request(principal=principal), [], request().started).allowed
    # THEN both agree with the table
    assert (alone, indexed) == (expected, expected)


@pytest.mark.parametrize(("identity", "pattern", "expected"), CELLS)
def test_a_grant_covers_exactly_whom_its_pattern_matches(identity: str, pattern: str, expected: bool) -> None:
    # GIVEN a grant for one pattern and a session of the identity on the granted target
    principal = principal_from_identity(IDENTITIES[identity])
    subject = policy("rules: []\n")
    given = grant(principal=pattern)
    session = request(principal=principal, started="2026-11-24T10:30:00+00:00")
    # WHEN it is decided while the grant is active
    decision = decide(subject, session, [given], session.started)
    # THEN the grant allows it exactly when the pattern matches the identity
    assert given.covers(principal, session.target, session.tags) is expected
    assert decision.allowed is expected


def test_a_grant_for_user_bob_does_not_cover_a_role_session_named_bob() -> None:
    # GIVEN a grant for user:bob, the IAM user bob, and someone's role session named bob
    given = grant(principal="user:bob")
    iam_bob = principal_from_arn(f"arn:aws:iam::{ACCOUNT}:user/bob")
    session_bob = principal_from_arn(f"arn:aws:sts::{ACCOUNT}:assumed-role/AnyRole/bob")
    # THEN only the IAM user is covered
    assert given.covers(iam_bob, "i-0abc", {})
    assert not given.covers(session_bob, "i-0abc", {})


def test_what_each_identity_type_becomes() -> None:
    # GIVEN the identities above, WHEN parsed, THEN kind, shown name and vouched name are as AWS vouches
    seen = {
        name: (principal.kind, principal.display, principal.vouched_user, principal.permission_set)
        for name, principal in ((name, principal_from_identity(identity)) for name, identity in IDENTITIES.items())
    }
    assert seen == {
        "IAM user": ("IAMUser", EMAIL, EMAIL, None),
        "root": ("Root", "root", "root", None),
        "Identity Center user": ("AssumedRole", EMAIL, EMAIL, "Analyst"),
        "Identity Center user, global path": ("AssumedRole", EMAIL, EMAIL, "Analyst"),
        "ordinary role session named like an e-mail": ("AssumedRole", f"OktaEngineers/{EMAIL}", None, None),
        "web identity role session": ("AssumedRole", f"OktaEngineers/{EMAIL}", None, None),
        "look-alike AWSReservedSSO_ role at the root path": ("AssumedRole", f"{SSO_ROLE}/{EMAIL}", None, None),
        "look-alike AWSReservedSSO_ role under another path": ("AssumedRole", f"{SSO_ROLE}/{EMAIL}", None, None),
        "federated user": ("FederatedUser", EMAIL, None, None),
        "web identity user": ("WebIdentityUser", EMAIL, None, None),
        "SAML user": ("SAMLUser", EMAIL, None, None),
    }


@pytest.mark.parametrize(
    ("identity", "expected"),
    [
        pytest.param(
            {
                "type": "IdentityCenterUser",
                "accountId": ACCOUNT,
                "onBehalfOf": {
                    "userId": "544894e8-80c1-707f-60e3-3ba6510dfac1",
                    "identityStoreArn": f"arn:aws:identitystore::{ACCOUNT}:identitystore/d-9067642ac7",
                },
                "credentialId": "EXAMPLEVHULjJdTUdPJfofVa1sufHDoj7aYcOYcxFVllWR_Whr1fEXAMPLE",
            },
            Principal("", ACCOUNT, "IdentityCenterUser", "544894e8-80c1-707f-60e3-3ba6510dfac1"),
            id="Identity Center user acting through an application",
        ),
        pytest.param(
            {"type": "AWSAccount", "principalId": "AIDAEXAMPLE", "accountId": "444455556666"},
            Principal("", "444455556666", "AWSAccount"),
            id="another AWS account",
        ),
        pytest.param(
            {"type": "AWSService", "invokedBy": "ssm.amazonaws.com"},
            Principal("ssm.amazonaws.com", None, "AWSService"),
            id="AWS service",
        ),
        pytest.param({"type": 42, "arn": None}, Principal(""), id="garbage gives an unknown principal"),
    ],
)
def test_the_other_identity_types_parse_without_raising(identity: dict[str, Any], expected: Principal) -> None:
    assert principal_from_identity(identity) == expected


def test_the_sweeper_judges_an_owner_arn_with_the_issuer_role_path() -> None:
    # GIVEN DescribeSessions' Owner for an Identity Center session, which carries no role path
    owner = f"arn:aws:sts::{ACCOUNT}:assumed-role/{SSO_ROLE}/{EMAIL}"
    # WHEN the principal is built with and without the path GetRole gives
    with_path = principal_from_arn(owner, role_arn=SSO_ROLE_ARN)
    without = principal_from_arn(owner)
    # THEN only the full identity is the Identity Center user; the same as the event path saw
    assert with_path == principal_from_identity(IDENTITIES["Identity Center user"])
    assert (with_path.identity_center, with_path.matches(f"user:{EMAIL}")) == (True, True)
    assert (without.identity_center, without.matches(f"user:{EMAIL}"), without.matches("permission-set:*")) == (
        False,
        False,
        False,
    )


@pytest.mark.parametrize(
    "role_arn",
    [
        f"arn:aws:iam::{ACCOUNT}:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Admin_0123456789abcdef",
        f"arn:aws:iam::999999999999:role/aws-reserved/sso.amazonaws.com/{SSO_ROLE}",
        f"arn:aws:iam::{ACCOUNT}:user/{SSO_ROLE}",
        "not an arn",
    ],
)
def test_principal_from_arn_refuses_a_role_arn_of_another_role(role_arn: str) -> None:
    with pytest.raises(ValueError, match=r"ARN|role_arn"):
        principal_from_arn(f"arn:aws:sts::{ACCOUNT}:assumed-role/{SSO_ROLE}/{EMAIL}", role_arn=role_arn)


def test_a_principal_rebuilt_from_its_fields_is_judged_the_same() -> None:
    # GIVEN an Identity Center principal, WHEN rebuilt from its stored fields, THEN the derived facts follow
    original = principal_from_identity(IDENTITIES["Identity Center user"])
    rebuilt = Principal(
        arn=original.arn,
        account=original.account,
        kind=original.kind,
        user=original.user,
        role=original.role,
        role_arn=original.role_arn,
    )
    assert (rebuilt, rebuilt.vouched_user, rebuilt.permission_set) == (original, EMAIL, "Analyst")


@pytest.mark.parametrize(
    ("pattern", "says"),
    [
        (f"user:{EMAIL}", f"'arn:aws:sts::*:assumed-role/ROLE/{EMAIL}'"),
        ("user:*@example.com", "looks like an e-mail address"),
        ("role:AWSReservedSSO_Analyst_*", "'permission-set:Analyst'"),
        ("role:AWSReservedSSO_*", "'permission-set:NAME'"),
        ("role:teams/ops-admin", "without its path"),
        ("permission-set:AWSReservedSSO_Analyst_0123456789abcdef", "('permission-set:Analyst')"),
        ("arn:aws:sts::*:assumed-role/AWSReservedSSO_Analyst_*/*", "an assumed-role ARN carries no path"),
        ("arn:aws:iam::*:role/AWSReservedSSO_Analyst_*", "without the path /aws-reserved/sso.amazonaws.com/"),
        ("arn:aws:sts::*:assumed-role/*/alice", "binds the session name 'alice' to any role"),
    ],
)
def test_pattern_warnings_explain_what_a_pattern_no_longer_matches(pattern: str, says: str) -> None:
    warnings = pattern_warnings(pattern)
    assert len(warnings) == 1
    assert says in warnings[0]


@pytest.mark.parametrize(
    "pattern",
    [
        "*",
        "user:bob",
        "user:root",
        "permission-set:Analyst",
        "role:ops-break-glass",
        f"account:{ACCOUNT}",
        f"arn:aws:sts::*:assumed-role/OktaEngineers/{EMAIL}",
        f"arn:aws:iam::*:role/aws-reserved/sso.amazonaws.com/*/{SSO_ROLE}",
        "group:admins",
    ],
)
def test_pattern_warnings_are_silent_for_patterns_that_mean_what_they_say(pattern: str) -> None:
    assert pattern_warnings(pattern) == []
