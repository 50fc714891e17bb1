"""Just-in-time grant records: what a valid grant is, and how invalid ones are reported."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from warden.policy import Grant, PolicyIssue, issues_from_validation_error

from .support import grant


def _issues(**overrides: Any) -> list[PolicyIssue]:
    with pytest.raises(ValidationError) as raised:
        grant(**overrides)
    return issues_from_validation_error(raised.value, model=Grant)


def test_a_grant_parses_iso_times_with_offsets() -> None:
    created = grant(starts_at="2026-11-24T11:00:00+01:00", created_at="2026-11-24T09:59:00Z")
    assert created.starts_at.utcoffset() is not None
    assert created.state == "active"
    assert created.active_at(created.starts_at)


def test_a_grant_round_trips_through_its_document() -> None:
    original = grant(targets={"tags": {"Environment": "prod"}}, revoked_by=None)
    document = original.to_document()
    assert document["targets"] == {"tags": {"Environment": "prod"}}
    assert document["starts_at"] == "2026-11-24T10:00:00Z"
    assert "revoked_at" not in document
    assert Grant.model_validate(document) == original


def test_stored_bookkeeping_fields_are_ignored() -> None:
    assert grant(ttl=1764000000, pk="GRANT#g-123").id == "g-123"


@pytest.mark.parametrize(
    ("overrides", "path", "message"),
    [
        ({"targets": {}}, "targets", "a grant must name target ids or tags"),
        (
            {"expires_at": "2026-11-24T10:00:00Z"},
            "expires_at",
            "expires_at 2026-11-24T10:00:00+00:00 is not after starts_at 2026-11-24T10:00:00+00:00",
        ),
        ({"starts_at": "2026-11-24T10:00:00"}, "starts_at", "expected a date-time with a UTC offset"),
        ({"expires_at": "tomorrow"}, "expires_at", "expected an ISO 8601 date-time with a UTC offset"),
        ({"principal": "alice"}, "principal", "unknown principal pattern 'alice'"),
        ({"id": ""}, "id", "must not be empty"),
        ({"state": "paused"}, "state", "unknown value 'paused'"),
        ({"targets": {"ids": ["i-1"], "tag": {"a": "b"}}}, "targets.tag", "unknown field 'tag' (did you mean 'tags'?)"),
        ({"reason": None}, "reason", "expected a string, got null"),
    ],
)
def test_invalid_grants_are_reported_by_field(overrides: dict[str, Any], path: str, message: str) -> None:
    # GIVEN a grant record with one problem
    # WHEN it is validated
    issues = _issues(**overrides)
    # THEN one issue names the field and the problem
    (issue,) = [issue for issue in issues if issue.path == path]
    assert message in issue.message


def test_a_missing_field_is_named() -> None:
    with pytest.raises(ValidationError) as raised:
        Grant.model_validate({"id": "g-1"})
    paths = {issue.path for issue in issues_from_validation_error(raised.value)}
    assert paths == {"principal", "targets", "starts_at", "expires_at", "reason", "created_by"}
