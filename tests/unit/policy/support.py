"""Builders shared by the policy tests: policies from YAML snippets, principals, requests, grants."""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from warden.policy import (
    Grant,
    Policy,
    Principal,
    SessionRequest,
    load_policy,
    normalise_document,
    principal_from_identity,
)

ACCOUNT = "111122223333"

ALICE = principal_from_identity(
    {
        "type": "AssumedRole",
        "principalId": "AROAEXAMPLE:alice@example.com",
        "arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/AWSReservedSSO_Analyst_0123456789abcdef/alice@example.com",
        "accountId": ACCOUNT,
        "sessionContext": {
            "sessionIssuer": {
                "type": "Role",
                "principalId": "AROAEXAMPLE",
                "arn": (
                    f"arn:aws:iam::{ACCOUNT}:role/aws-reserved/sso.amazonaws.com/eu-west-1/"
                    "AWSReservedSSO_Analyst_0123456789abcdef"
                ),
                "accountId": ACCOUNT,
                "userName": "AWSReservedSSO_Analyst_0123456789abcdef",
            }
        },
    }
)

BOB = principal_from_identity(
    {
        "type": "IAMUser",
        "principalId": "AIDAEXAMPLE",
        "arn": f"arn:aws:iam::{ACCOUNT}:user/bob",
        "accountId": ACCOUNT,
        "userName": "bob",
    }
)


def at(text: str) -> datetime:
    """Parse an ISO 8601 instant that carries its offset (``Z`` allowed)."""
    moment = datetime.fromisoformat(text)
    assert moment.tzinfo is not None, f"test instants need an offset: {text}"
    return moment


def policy(body: str) -> Policy:
    """Load a policy from an indented YAML snippet; ``version: 1`` is added when missing."""
    text = textwrap.dedent(body)
    if "version" not in text:
        text = "version: 1\n" + text
    return load_policy(text, source="test.yaml")


def request(
    *,
    principal: Principal = ALICE,
    target: str = "i-0abc",
    tags: Mapping[str, str] | None = None,
    document: str | None = "SSM-SessionManagerRunShell",
    reason: str | None = None,
    started: str | datetime = "2026-11-24T09:00:00+00:00",
) -> SessionRequest:
    """Build a session request with sensible defaults."""
    return SessionRequest(
        principal=principal,
        target=target,
        tags=dict(tags or {}),
        document=normalise_document(document),
        reason=reason,
        started=at(started) if isinstance(started, str) else started,
    )


def grant(**overrides: Any) -> Grant:
    """Build a grant for alice on i-0abc, 2026-11-24 10:00 to 12:00 UTC, with overrides."""
    fields: dict[str, Any] = {
        "id": "g-123",
        "principal": "user:alice@example.com",
        "targets": {"ids": ["i-0abc"]},
        "starts_at": "2026-11-24T10:00:00+00:00",
        "expires_at": "2026-11-24T12:00:00+00:00",
        "reason": "INC-1234 disk full",
        "created_by": "arn:aws:iam::111122223333:user/bob",
    }
    fields.update(overrides)
    return Grant.model_validate(fields)
