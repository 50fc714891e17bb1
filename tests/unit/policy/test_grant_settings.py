"""The policy's `grants` settings: which grants it refuses (require_reason, forbid) and how they read back."""

from __future__ import annotations

import pytest

from warden.policy import PolicyError, Targets, load_policy
from warden.policy.globs import globs_overlap

POLICY = """
version: 1
grants:
  max_duration: 8h
  require_reason: "^(INC|CHG)-[0-9]+"
  forbid:
    principals: ["role:AWSReservedSSO_Admin_*"]
    targets: ["i-0secret*"]
    tags: {Compliance: pci}
"""


def _settings():  # type: ignore[no-untyped-def]
    grants = load_policy(POLICY).grants
    assert grants is not None
    return grants


@pytest.mark.parametrize(
    ("first", "second", "overlap"),
    [
        ("*", "role:Admin", True),
        ("user:bob", "user:*", True),
        ("user:bob", "user:alice", False),
        ("i-0a?", "i-0ab", True),
        ("i-*", "mi-*", False),
        ("a*c", "ab*", True),
        ("a*c", "b*", False),
    ],
)
def test_globs_overlap_when_some_text_matches_both(first: str, second: str, overlap: bool) -> None:
    assert globs_overlap(first, second) is overlap
    assert globs_overlap(second, first) is overlap


def test_a_grant_within_the_limits_is_not_refused() -> None:
    assert _settings().refusal("user:bob", Targets.model_validate({"tags": {"Environment": "prod"}}), "INC-1") is None


def test_a_reason_that_does_not_match_require_reason_is_refused() -> None:
    refusal = _settings().refusal("user:bob", Targets.model_validate({"ids": ["i-0a"]}), "because")
    assert refusal == "the reason 'because' does not match grants.require_reason '^(INC|CHG)-[0-9]+'"


@pytest.mark.parametrize(
    ("principal", "targets", "named"),
    [
        ("*", {"ids": ["i-0a"]}, "principals 'role:AWSReservedSSO_Admin_*'"),
        ("role:AWSReservedSSO_Admin_abc", {"ids": ["i-0a"]}, "principals"),
        ("user:bob", {"ids": ["i-*"]}, "targets 'i-0secret*'"),
        ("user:bob", {"tags": {"Compliance": "*"}}, "tags Compliance=pci"),
    ],
)
def test_a_grant_overlapping_a_forbidden_pattern_is_refused(principal: str, targets: dict, named: str) -> None:  # type: ignore[type-arg]
    refusal = _settings().refusal(principal, Targets.model_validate(targets), "INC-1")
    assert refusal is not None and f"grants.forbid.{named}" in refusal


def test_the_settings_read_back_as_the_document_gave_them() -> None:
    assert load_policy(POLICY).to_document()["grants"] == {
        "max_duration": "8h",
        "require_reason": "^(INC|CHG)-[0-9]+",
        "forbid": {
            "principals": ["role:AWSReservedSSO_Admin_*"],
            "targets": ["i-0secret*"],
            "tags": {"Compliance": ["pci"]},
        },
    }


@pytest.mark.parametrize(
    ("grants", "field"),
    [
        ('{require_reason: "("}', "grants.require_reason"),
        ("{forbid: {principals: ['bogus:x']}}", "grants.forbid.principals"),
        ("{forbid: {ports: [22]}}", "grants.forbid.ports"),
    ],
)
def test_bad_grants_settings_are_rejected_naming_the_field(grants: str, field: str) -> None:
    with pytest.raises(PolicyError) as raised:
        load_policy(f"version: 1\ngrants: {grants}\n")
    assert any(str(issue.path).startswith(field) for issue in raised.value.issues), raised.value.issues
