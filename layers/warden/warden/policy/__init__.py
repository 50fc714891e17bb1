"""The pure policy engine: the policy document, principals, windows, grants and decide()."""

from warden.policy.decision import decide
from warden.policy.documents import (
    DEFAULT_DOCUMENT,
    SESSION_TYPES,
    SessionType,
    aws_document_session_type,
    normalise_document,
    session_host,
    session_target_from_content,
    session_type_from_content,
)
from warden.policy.durations import format_duration, parse_duration
from warden.policy.errors import PolicyError, PolicyIssue
from warden.policy.grants import Grant, GrantLimits, GrantSettings
from warden.policy.hosts import canonical_host, host_warnings
from warden.policy.identities import principal_from_arn, principal_from_identity
from warden.policy.issues import issues_from_validation_error
from warden.policy.loader import MAX_POLICY_BYTES, load_policy
from warden.policy.models import Policy, Rule
from warden.policy.places import (
    PlaceMatcher,
    account_entry_problem,
    join_ou_path,
    ou_path_problem,
    region_entry_problem,
    split_ou_path,
)
from warden.policy.principals import (
    IDENTITY_CENTER_PATH,
    Principal,
    PrincipalKind,
    pattern_warnings,
    validate_principal_pattern,
)
from warden.policy.session_logs import (
    LoggingState,
    SessionLogging,
    Transcript,
    aws_document_logging,
    document_logging,
    logging_warnings,
    not_saved_logging,
    port_logging,
    preferences_logging,
    stated_logging,
    transcript_summary,
    transcripts,
    unreadable_logging,
)
from warden.policy.targets import Targets
from warden.policy.verdicts import (
    HOLDING_STATUSES,
    Basis,
    Deadline,
    DeadlineReason,
    Decision,
    Lapse,
    LapseReason,
    LimitScope,
    OpenSession,
    SessionRequest,
)
from warden.policy.windows import WeeklyEntry, Window
from warden.policy.yaml_text import MAX_POLICY_DEPTH

__all__ = [
    "DEFAULT_DOCUMENT",
    "HOLDING_STATUSES",
    "IDENTITY_CENTER_PATH",
    "MAX_POLICY_BYTES",
    "MAX_POLICY_DEPTH",
    "SESSION_TYPES",
    "Basis",
    "Deadline",
    "DeadlineReason",
    "Decision",
    "Grant",
    "GrantLimits",
    "GrantSettings",
    "Lapse",
    "LapseReason",
    "LimitScope",
    "LoggingState",
    "OpenSession",
    "PlaceMatcher",
    "Policy",
    "PolicyError",
    "PolicyIssue",
    "Principal",
    "PrincipalKind",
    "Rule",
    "SessionLogging",
    "SessionRequest",
    "SessionType",
    "Targets",
    "Transcript",
    "WeeklyEntry",
    "Window",
    "account_entry_problem",
    "aws_document_logging",
    "aws_document_session_type",
    "canonical_host",
    "decide",
    "document_logging",
    "format_duration",
    "host_warnings",
    "issues_from_validation_error",
    "join_ou_path",
    "load_policy",
    "logging_warnings",
    "normalise_document",
    "not_saved_logging",
    "ou_path_problem",
    "parse_duration",
    "pattern_warnings",
    "port_logging",
    "preferences_logging",
    "principal_from_arn",
    "principal_from_identity",
    "region_entry_problem",
    "session_host",
    "session_target_from_content",
    "session_type_from_content",
    "split_ou_path",
    "stated_logging",
    "transcript_summary",
    "transcripts",
    "unreadable_logging",
    "validate_principal_pattern",
]
