"""The policy document (section 2 of the spec) and just-in-time grants, validated and precompiled."""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Annotated, Any, Literal, Self

from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    PlainValidator,
    PrivateAttr,
    WithJsonSchema,
    model_validator,
)

from warden.policy.documents import SESSION_TYPES, DocumentMatcher, SessionType
from warden.policy.durations import format_duration, parse_duration
from warden.policy.errors import PolicyError, PolicyIssue
from warden.policy.globs import compile_globs, globs_overlap
from warden.policy.hosts import host_entry_problem
from warden.policy.principals import Principal, PrincipalMatcher, validate_principal_pattern
from warden.policy.reasons import ReasonPattern
from warden.policy.windows import Window, check_time_zone
from warden.timefmt import iso_offset

if TYPE_CHECKING:
    from warden.policy.compiled import CompiledPolicy

__all__ = [
    "Grant",
    "GrantLimits",
    "GrantSettings",
    "Policy",
    "Rule",
    "Targets",
    "cross_reference_issues",
    "require_aware",
]

SUPPORTED_VERSION = 1


def require_aware(moment: datetime, label: str) -> None:
    """Raise ``ValueError`` unless ``moment`` is a timezone-aware datetime."""
    if not isinstance(moment, datetime) or moment.utcoffset() is None:
        raise ValueError(f"{label} must be a timezone-aware datetime, got {moment!r}")


def _choice(label: str, choices: tuple[str, ...]) -> Callable[[object], str]:
    def check(value: object) -> str:
        if isinstance(value, str) and value.strip().lower() in choices:
            return value.strip().lower()
        raise ValueError(f"unknown {label} {value!r}: expected {' or '.join(choices)}")

    return check


def _non_empty(value: object) -> object:
    if isinstance(value, str) and not value.strip():
        raise ValueError("must not be empty")
    return value


def _principal_pattern(value: object) -> object:
    if isinstance(value, str):
        validate_principal_pattern(value)
    return value


def _duration(value: object) -> object:
    if value is None or isinstance(value, timedelta):
        return value
    return parse_duration(value)  # type: ignore[arg-type]  # parse_duration reports non-strings itself


def _one_or_many(value: object) -> object:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list | tuple):
        return value
    raise ValueError(f"tag value {value!r} must be a string or a list of strings")


def _reason(value: object) -> ReasonPattern:
    if isinstance(value, ReasonPattern):
        return value
    if isinstance(value, re.Pattern):
        value = value.pattern
    return ReasonPattern(value)  # type: ignore[arg-type]  # ReasonPattern reports non-strings itself


def _session_type(value: object) -> SessionType:
    if isinstance(value, str) and value.strip().lower() in SESSION_TYPES:
        return value.strip().lower()  # type: ignore[return-value]  # checked just above
    raise ValueError(f"unknown session type {value!r}: expected {', '.join(SESSION_TYPES[:-1])} or {SESSION_TYPES[-1]}")


NonEmptyStr = Annotated[str, BeforeValidator(_non_empty)]
PrincipalPattern = Annotated[str, BeforeValidator(_principal_pattern)]
TagGlobs = Annotated[tuple[str, ...], BeforeValidator(_one_or_many), Field(min_length=1)]
Reason = Annotated[
    ReasonPattern,
    PlainValidator(_reason),
    PlainSerializer(lambda pattern: pattern.pattern, return_type=str),
    WithJsonSchema({"type": "string", "format": "regex"}),
]
SessionTypeName = Annotated[SessionType, BeforeValidator(_session_type)]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    def __eq__(self, other: object) -> bool:
        # pydantic also compares private attributes, and compiled matchers never compare equal:
        # two models are equal when their fields are.
        if not isinstance(other, BaseModel):
            return NotImplemented
        return type(self) is type(other) and self.__dict__ == other.__dict__

    def __hash__(self) -> int:
        # Like pydantic's own frozen hash: by field values (a mapping field makes it unhashable).
        return hash((type(self), *self.__dict__.values()))


class TargetMatcher:
    """Compiled :class:`Targets`: one regex for the ids, one per tag key.

    Pydantic private attributes are looked up through ``__getattr__``, which costs about a
    microsecond; hot paths hold plain objects like this one instead.
    """

    __slots__ = ("_ids", "_tags")

    def __init__(self, targets: Targets) -> None:
        self._ids = compile_globs(targets.ids) if targets.ids else None
        tags: list[tuple[str, re.Pattern[str]]] = []
        for key, globs in (targets.tags or {}).items():
            compiled = compile_globs(globs)
            if compiled is not None:
                tags.append((key, compiled))
        self._tags = tuple(tags)

    def __call__(self, target: str, tags: Mapping[str, str]) -> bool:
        """Tell whether the target id and tags satisfy every constraint."""
        if self._ids is not None and self._ids.fullmatch(target) is None:
            return False
        for key, globs in self._tags:
            value = tags.get(key)
            if value is None or globs.fullmatch(value) is None:
                return False
        return True


class Targets(_Model):
    """Which targets a rule or grant covers.

    Attributes
    ----------
    tags : Mapping[str, tuple[str, ...]] or None
        Per tag key, globs of which one must match the target's value; every key must match and
        a key missing on the target never matches. A single string in the document is one glob.
    ids : tuple[str, ...] or None
        Globs on instance or managed-node ids.

    Notes
    -----
    With both, a target must satisfy both; with neither, every target matches.
    """

    tags: Annotated[Mapping[NonEmptyStr, TagGlobs], Field(min_length=1)] | None = None
    ids: Annotated[tuple[NonEmptyStr, ...], Field(min_length=1)] | None = None

    _matcher: TargetMatcher = PrivateAttr()

    def model_post_init(self, context: Any, /) -> None:
        """Compile the globs once."""
        self._matcher = TargetMatcher(self)

    @property
    def matcher(self) -> TargetMatcher:
        """The compiled matcher (faster to call repeatedly than :meth:`matches`)."""
        return self._matcher

    def matches(self, target: str, tags: Mapping[str, str]) -> bool:
        """Tell whether a target (its id and its current tags) is covered.

        Parameters
        ----------
        target : str
            The instance or managed-node id.
        tags : Mapping[str, str]
            The target's tags.

        Returns
        -------
        bool
            Whether every constraint holds.
        """
        return self._matcher(target, tags)

    @property
    def is_empty(self) -> bool:
        """Whether neither ids nor tags constrain the target."""
        return not self.ids and not self.tags

    def to_document(self) -> dict[str, object]:
        """Return the targets as plain data (a single glob per tag key as a string)."""
        document: dict[str, object] = {}
        if self.tags is not None:
            document["tags"] = {key: globs[0] if len(globs) == 1 else list(globs) for key, globs in self.tags.items()}
        if self.ids is not None:
            document["ids"] = list(self.ids)
        return document


class Rule(_Model):
    """One rule of the policy.

    Attributes
    ----------
    name : str
        Unique, non-empty.
    effect : {"allow", "deny"}
        ``allow`` by default.
    principals : tuple[str, ...]
        Principal patterns; ``("*",)`` when omitted.
    targets : Targets or None
        ``None``: every target.
    documents : tuple[str, ...] or None
        Document names or globs (the session account's own document or an AWS-provided one),
        or ``arn:`` globs (any account's document named by ARN); ``None``: any document.
    session_types : tuple[SessionType, ...] or None
        What the session's document does: ``shell``, ``port``, ``remote-port``, ``command``;
        ``None``: any. An allow rule never matches a session whose type is unknown, a deny rule does.
    hosts : tuple[str, ...] or None
        The remote hosts of a ``remote-port`` session: CIDR blocks or addresses (matching only a
        host given as an address), ``*``, or DNS-name globs whose ``*`` and ``?`` stay within one
        label (a leading ``*.`` is one or more labels); see :mod:`warden.policy.hosts`. Sessions of
        the other types the rule covers are not limited by it. An allow rule never matches a
        remote-port session (or one of unknown type) whose host is unknown; a deny rule does. A
        deny rule with ``hosts`` is easy to get around (any other DNS name for the same host):
        prefer allow rules (``policy validate`` warns).
    windows : tuple[str, ...] or None
        Names of the policy's windows; ``None``: any time.
    max_duration : timedelta or None
        An allowed session stops holding this long after it started (allow rules only).
    require_reason : ReasonPattern or None
        An RE2 regex searched in the session's reason; no reason never matches (allow rules only).
    """

    name: NonEmptyStr
    effect: Annotated[Literal["allow", "deny"], BeforeValidator(_choice("effect", ("allow", "deny")))] = "allow"
    principals: Annotated[tuple[PrincipalPattern, ...], Field(min_length=1)] = ("*",)
    targets: Targets | None = None
    documents: Annotated[tuple[NonEmptyStr, ...], Field(min_length=1)] | None = None
    session_types: Annotated[tuple[SessionTypeName, ...], Field(min_length=1)] | None = None
    hosts: Annotated[tuple[NonEmptyStr, ...], Field(min_length=1)] | None = None
    windows: Annotated[tuple[NonEmptyStr, ...], Field(min_length=1)] | None = None
    max_duration: Annotated[timedelta | None, BeforeValidator(_duration)] = None
    require_reason: Reason | None = None

    _principals: PrincipalMatcher = PrivateAttr()
    _documents: DocumentMatcher | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _check_effect(self) -> Self:
        issues: list[PolicyIssue] = []
        if self.effect == "deny":
            issues.extend(
                PolicyIssue(field, value, f"{field} is only meaningful on allow rules")
                for field, value in (
                    ("max_duration", self.max_duration and format_duration(self.max_duration)),
                    ("require_reason", self.require_reason and self.require_reason.pattern),
                )
                if value is not None
            )
        if self.hosts is not None:
            hosts = list(self.hosts)
            issues.extend(
                PolicyIssue(f"hosts[{position}]", entry, problem)
                for position, entry in enumerate(hosts)
                if (problem := host_entry_problem(entry)) is not None
            )
            if self.session_types is not None and "remote-port" not in self.session_types:
                message = "hosts limits remote-port sessions, and session_types does not include remote-port"
                issues.append(PolicyIssue("hosts", hosts, message))
            elif self.session_types is None and self.effect == "deny":
                # Sessions of other types are not limited by hosts: without session_types this deny
                # rule would deny every shell and tunnel, which is not what a list of hosts says.
                message = "a deny rule with hosts must name its session_types (e.g. [remote-port])"
                issues.append(PolicyIssue("hosts", hosts, message))
        if issues:
            raise PolicyError(issues)
        return self

    def model_post_init(self, context: Any, /) -> None:
        """Compile the principal patterns and documents once."""
        self._principals = PrincipalMatcher(self.principals)
        self._documents = DocumentMatcher(self.documents) if self.documents is not None else None

    def matches_principal(self, principal: Principal) -> bool:
        """Tell whether one of the rule's principal patterns matches."""
        return self._principals(principal)

    def matches_document(self, document: str, account: str | None = None) -> bool:
        """Tell whether the rule covers a session's document (name or ARN) in ``account``."""
        return self._documents is None or self._documents(document, account)

    def to_document(self) -> dict[str, object]:
        """Return the rule as plain, JSON-ready data with the document's keys."""
        document: dict[str, object] = {"name": self.name, "effect": self.effect, "principals": list(self.principals)}
        if self.targets is not None:
            document["targets"] = self.targets.to_document()
        if self.documents is not None:
            document["documents"] = list(self.documents)
        if self.session_types is not None:
            document["session_types"] = list(self.session_types)
        if self.hosts is not None:
            document["hosts"] = list(self.hosts)
        if self.windows is not None:
            document["windows"] = list(self.windows)
        if self.max_duration is not None:
            document["max_duration"] = format_duration(self.max_duration)
        if self.require_reason is not None:
            document["require_reason"] = self.require_reason.pattern
        return document


class GrantSettings(_Model):
    """Policy settings for just-in-time grants.

    Attributes
    ----------
    max_duration : timedelta or None
        The longest a grant may last (enforced when a grant is created).
    require_reason : ReasonPattern or None
        Searched (RE2, linear time) in a new grant's reason; a grant whose reason does not match is refused.
    forbid : GrantLimits or None
        Principal, target and tag patterns no grant may cover.
    """

    max_duration: Annotated[timedelta | None, BeforeValidator(_duration)] = None
    require_reason: Reason | None = None
    forbid: GrantLimits | None = None

    def refusal(self, principal: str, targets: Targets, reason: str) -> str | None:
        """Why the policy refuses a grant of ``principal`` on ``targets`` for ``reason``, or None when it may be made.

        Patterns are compared as patterns: a grant is refused when some principal or target could match both its
        pattern and a forbidden one (``*`` overlaps everything).
        """
        if self.require_reason is not None and not self.require_reason.search(reason):
            return f"the reason {reason!r} does not match grants.require_reason {self.require_reason.pattern!r}"
        return self.forbid.refusal(principal, targets) if self.forbid is not None else None

    def to_document(self) -> dict[str, object]:
        """The settings as a policy document's ``grants`` mapping."""
        document: dict[str, object] = {}
        if self.max_duration is not None:
            document["max_duration"] = format_duration(self.max_duration)
        if self.require_reason is not None:
            document["require_reason"] = self.require_reason.pattern
        if self.forbid is not None:
            document["forbid"] = self.forbid.to_document()
        return document


class GrantLimits(_Model):
    """What no grant may cover (``grants.forbid``).

    Attributes
    ----------
    principals : tuple[str, ...]
        Principal patterns; a grant whose principal pattern overlaps one is refused.
    targets : tuple[str, ...]
        Target id globs; a grant by ids of which one overlaps is refused (so is a grant on every target).
    tags : Mapping[str, tuple[str, ...]]
        Per tag key, value globs; a grant by tags naming the key with an overlapping value is refused.
    """

    principals: tuple[PrincipalPattern, ...] = ()
    targets: tuple[NonEmptyStr, ...] = ()
    tags: Mapping[NonEmptyStr, TagGlobs] = {}

    def refusal(self, principal: str, targets: Targets) -> str | None:
        """Why a grant of ``principal`` on ``targets`` is forbidden, or None."""
        for pattern in self.principals:
            if globs_overlap(principal, pattern):
                return f"principal {principal!r} overlaps grants.forbid.principals {pattern!r}"
        ids = targets.ids if targets.ids is not None else (() if targets.tags is not None else ("*",))
        for target in ids:
            for pattern in self.targets:
                if globs_overlap(target, pattern):
                    return f"target {target!r} overlaps grants.forbid.targets {pattern!r}"
        for key, values in (targets.tags or {}).items():
            for value in values:
                for forbidden in self.tags.get(key, ()):
                    if globs_overlap(value, forbidden):
                        return f"tag {key}={value} overlaps grants.forbid.tags {key}={forbidden}"
        return None

    def to_document(self) -> dict[str, object]:
        document: dict[str, object] = {}
        if self.principals:
            document["principals"] = list(self.principals)
        if self.targets:
            document["targets"] = list(self.targets)
        if self.tags:
            document["tags"] = {key: list(values) for key, values in self.tags.items()}
        return document


def _empty_if_none(value: object) -> object:
    # A key with everything under it commented out reads as null in YAML: treat it as empty.
    return {} if value is None else value


def _empty_tuple_if_none(value: object) -> object:
    return () if value is None else value


def _version(value: object) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and value == SUPPORTED_VERSION:
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        raise ValueError(f"unsupported version {value}, expected {SUPPORTED_VERSION}")
    raise ValueError(f"unsupported version {value!r}, expected {SUPPORTED_VERSION}")


def _suggest(name: str, known: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, list(known), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def cross_reference_issues(
    rules: Sequence[tuple[object, object]], window_names: Iterable[str] | None
) -> list[PolicyIssue]:
    """Find duplicate rule names and references to unknown windows.

    Parameters
    ----------
    rules : Sequence[tuple[object, object]]
        Per rule, in order, its ``name`` and ``windows`` as given (anything is tolerated).
    window_names : Iterable[str] or None
        The defined windows; ``None`` skips the window check (the windows themselves are invalid).

    Returns
    -------
    list[PolicyIssue]
        The problems, in document order.
    """
    known = None if window_names is None else set(window_names)
    seen: dict[str, int] = {}
    issues: list[PolicyIssue] = []
    for index, (name, windows) in enumerate(rules):
        if isinstance(name, str) and name.strip():
            if name in seen:
                issues.append(
                    PolicyIssue(
                        f"rules[{index}].name", name, f"duplicate rule name {name!r} (also rules[{seen[name]}])"
                    )
                )
            else:
                seen[name] = index
        if known is None or not isinstance(windows, list | tuple):
            continue
        for position, window in enumerate(windows):
            if isinstance(window, str) and window.strip() and window not in known:
                message = f"unknown window {window!r}{_suggest(window, known)}"
                issues.append(PolicyIssue(f"rules[{index}].windows[{position}]", window, message))
    return issues


class Policy(_Model):
    """A validated policy document (spec section 2), with matchers compiled for :func:`decide`.

    Attributes
    ----------
    version : int
        Always 1.
    mode : {"enforce", "monitor"}
        ``monitor`` decides and alerts but never terminates.
    default : {"deny", "allow"}
        What decides a session that no rule or grant allows.
    timezone : str
        IANA zone for windows that name none.
    windows : Mapping[str, Window]
        Named recurring windows.
    rules : tuple[Rule, ...]
        The rules, in document order.
    grants : GrantSettings or None
        Optional limits on just-in-time grants.

    Notes
    -----
    Build it with :func:`load_policy` or ``Policy.model_validate``: validation is what compiles
    the rules, so ``model_construct`` and ``model_copy(update=...)`` give a policy that
    :func:`decide` evaluates wrongly or not at all.
    """

    version: Annotated[int, BeforeValidator(_version)]
    mode: Annotated[Literal["enforce", "monitor"], BeforeValidator(_choice("mode", ("enforce", "monitor")))] = "enforce"
    default: Annotated[Literal["deny", "allow"], BeforeValidator(_choice("default", ("deny", "allow")))] = "deny"
    timezone: Annotated[str, BeforeValidator(check_time_zone)] = "UTC"
    windows: Annotated[Mapping[NonEmptyStr, Window], BeforeValidator(_empty_if_none)] = Field(default_factory=dict)
    rules: Annotated[tuple[Rule, ...], BeforeValidator(_empty_tuple_if_none)] = ()
    grants: GrantSettings | None = None

    _compiled: CompiledPolicy = PrivateAttr()

    @model_validator(mode="after")
    def _check_references(self) -> Self:
        issues = cross_reference_issues([(rule.name, rule.windows) for rule in self.rules], self.windows)
        if issues:
            raise PolicyError(issues)
        from warden.policy.compiled import CompiledPolicy  # the index is built from these models

        self._compiled = CompiledPolicy(self)
        return self

    @property
    def compiled(self) -> CompiledPolicy:
        """The precompiled form :func:`decide` evaluates."""
        # Straight from the private-attribute slot: pydantic's __getattr__ path costs a microsecond.
        private = self.__pydantic_private__
        return private["_compiled"] if private is not None else self._compiled

    def to_document(self) -> dict[str, object]:
        """Return the policy as plain, JSON-ready data that :func:`load_policy` reads back unchanged.

        Returns
        -------
        dict
            Keys as in the document (``from``, ``except``), durations as ``1h30m``, regexes as
            their source, dates as ``YYYY-MM-DD``.
        """
        document: dict[str, object] = {
            "version": self.version,
            "mode": self.mode,
            "default": self.default,
            "timezone": self.timezone,
            "windows": {name: window.to_document() for name, window in self.windows.items()},
            "rules": [rule.to_document() for rule in self.rules],
        }
        if self.grants is not None:
            document["grants"] = self.grants.to_document()
        return document


class Grant(_Model):
    """A just-in-time grant.

    Unknown fields are ignored rather than rejected: grants are stored records, and storage may
    carry bookkeeping attributes of its own.

    Attributes
    ----------
    id : str
        Unique id.
    principal : str
        A principal pattern (``user:alice@example.com``, ``arn:...``).
    targets : Targets
        Must name ``ids`` or ``tags``: a grant for every target is refused.
    starts_at, expires_at : datetime
        Timezone-aware; ``starts_at`` inclusive, ``expires_at`` exclusive and after ``starts_at``.
    reason, created_by : str
        Why, and who created it.
    created_at : datetime or None
        When it was written.
    state : {"active", "revoked", "expired"}
        ``revoked`` ends the grant; ``expired`` is bookkeeping only (the times decide).
    revoked_at : datetime or None
        When it was revoked.
    revoked_by : str or None
        Who revoked it.
    """

    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=False)

    id: NonEmptyStr
    principal: PrincipalPattern
    targets: Targets
    starts_at: AwareDatetime
    expires_at: AwareDatetime
    reason: str
    created_by: str
    created_at: AwareDatetime | None = None
    state: Literal["active", "revoked", "expired"] = "active"
    revoked_at: AwareDatetime | None = None
    revoked_by: str | None = None

    _matchers: tuple[PrincipalMatcher, TargetMatcher] = PrivateAttr()

    @model_validator(mode="after")
    def _check(self) -> Self:
        issues: list[PolicyIssue] = []
        if self.targets.is_empty:
            issues.append(PolicyIssue("targets", self.targets.to_document(), "a grant must name target ids or tags"))
        if self.expires_at <= self.starts_at:
            message = f"expires_at {iso_offset(self.expires_at)} is not after starts_at {iso_offset(self.starts_at)}"
            issues.append(PolicyIssue("expires_at", iso_offset(self.expires_at), message))
        if issues:
            raise PolicyError(issues, source="grant")
        return self

    def model_post_init(self, context: Any, /) -> None:
        """Compile the principal pattern once."""
        self._matchers = (PrincipalMatcher((self.principal,)), self.targets.matcher)

    def active_at(self, now: datetime) -> bool:
        """Tell whether the grant is in force at ``now``.

        Parameters
        ----------
        now : datetime
            Timezone-aware.

        Returns
        -------
        bool
            ``starts_at <= now < expires_at`` and not revoked.

        Raises
        ------
        ValueError
            If ``now`` is naive.
        """
        require_aware(now, "now")
        return self.state != "revoked" and self.starts_at <= now < self.expires_at

    def covers(self, principal: Principal, target: str, tags: Mapping[str, str]) -> bool:
        """Tell whether the grant names this principal and target (whatever the time).

        Parameters
        ----------
        principal : Principal
            Who.
        target : str
            The instance or managed-node id.
        tags : Mapping[str, str]
            The target's tags.

        Returns
        -------
        bool
            Whether the principal pattern and the targets match.
        """
        private = self.__pydantic_private__
        principal_matches, target_matches = private["_matchers"] if private is not None else self._matchers
        return principal_matches(principal) and target_matches(target, tags)

    def to_document(self) -> dict[str, object]:
        """Return the grant as plain, JSON-ready data (times in ISO 8601 with offset)."""
        document: dict[str, object] = self.model_dump(mode="json", exclude_none=True)
        document["targets"] = self.targets.to_document()
        return document
