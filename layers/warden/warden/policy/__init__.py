"""The pure policy engine: the policy document, principals, windows, grants and decide()."""

from warden.policy.decision import Basis, Decision, Lapse, LapseReason, SessionRequest, decide
from warden.policy.documents import DEFAULT_DOCUMENT, normalise_document
from warden.policy.durations import format_duration, parse_duration
from warden.policy.errors import PolicyError, PolicyIssue
from warden.policy.loader import issues_from_validation_error, load_policy
from warden.policy.models import Grant, GrantLimits, GrantSettings, Policy, Rule, Targets
from warden.policy.principals import (
    Principal,
    PrincipalKind,
    principal_from_arn,
    principal_from_identity,
    validate_principal_pattern,
)
from warden.policy.windows import WeeklyEntry, Window

__all__ = [
    "DEFAULT_DOCUMENT",
    "Basis",
    "Decision",
    "Grant",
    "GrantLimits",
    "GrantSettings",
    "Lapse",
    "LapseReason",
    "Policy",
    "PolicyError",
    "PolicyIssue",
    "Principal",
    "PrincipalKind",
    "Rule",
    "SessionRequest",
    "Targets",
    "WeeklyEntry",
    "Window",
    "decide",
    "format_duration",
    "issues_from_validation_error",
    "load_policy",
    "normalise_document",
    "parse_duration",
    "principal_from_arn",
    "principal_from_identity",
    "validate_principal_pattern",
]
