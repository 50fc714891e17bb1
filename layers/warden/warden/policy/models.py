"""The policy document (section 2 of the spec): its rules and the policy itself, validated and precompiled.

Grants and the ``grants`` settings are in :mod:`warden.policy.grants`, targets in :mod:`warden.policy.targets`,
the shared field types and validators in :mod:`warden.policy.fields`.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Annotated, Literal, Self

from pydantic import BeforeValidator, Field, PrivateAttr, StrictBool, model_validator

from warden.policy.documents import DocumentMatcher
from warden.policy.durations import format_duration
from warden.policy.errors import PolicyError, PolicyIssue
from warden.policy.fields import (
    DEFAULT_WARN_BEFORE,
    DurationField,
    FrozenModel,
    NonEmptyStr,
    PrincipalPattern,
    Reason,
    SessionLimit,
    SessionTypeName,
    WarnBefore,
    choice,
    empty_if_none,
    empty_tuple_if_none,
)
from warden.policy.grants import GrantSettings
from warden.policy.hosts import host_entry_problem
from warden.policy.places import AccountList, RegionList
from warden.policy.principals import Principal, PrincipalMatcher
from warden.policy.targets import Targets
from warden.policy.windows import Window, check_time_zone

if TYPE_CHECKING:
    from warden.policy.compiled import CompiledPolicy

__all__ = ["Policy", "Rule", "cross_reference_issues"]

SUPPORTED_VERSION = 1


class Rule(FrozenModel):
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
    max_sessions : int or None
        A principal may hold at most this many open sessions on the targets the rule matches; a session
        the rule matches beyond them is denied, whatever else allows it (allow rules only).
    require_logging : bool
        The rule allows only sessions Session Manager logs (allow rules only; see
        :mod:`warden.policy.session_logs`).
    accounts : tuple[str, ...] or None
        Organization mode: the accounts the session runs in, as 12-digit ids, ``ou:PATH`` (directly in that OU)
        or ``ou:PATH/*`` (in it or any OU below it); see :mod:`warden.policy.places`. ``None``: any account. An
        allow rule never matches a session whose account (for ``ou:`` entries, OU path) is unknown; a deny rule does.
    regions : tuple[str, ...] or None
        Organization mode: region names or globs (``eu-*``); ``None``: any region. Unknown as for ``accounts``.
    """

    name: NonEmptyStr
    effect: Annotated[Literal["allow", "deny"], BeforeValidator(choice("effect", ("allow", "deny")))] = "allow"
    principals: Annotated[tuple[PrincipalPattern, ...], Field(min_length=1)] = ("*",)
    targets: Targets | None = None
    documents: Annotated[tuple[NonEmptyStr, ...], Field(min_length=1)] | None = None
    session_types: Annotated[tuple[SessionTypeName, ...], Field(min_length=1)] | None = None
    hosts: Annotated[tuple[NonEmptyStr, ...], Field(min_length=1)] | None = None
    windows: Annotated[tuple[NonEmptyStr, ...], Field(min_length=1)] | None = None
    max_duration: DurationField = None
    require_reason: Reason | None = None
    max_sessions: SessionLimit | None = None
    require_logging: StrictBool = False
    accounts: AccountList | None = None
    regions: RegionList | None = None

    # Compiled on first use: decide() reads the policy's index, and compiling each rule's own regexes up front
    # would double the time a policy of hundreds of rules takes to load.
    _principals: PrincipalMatcher | None = PrivateAttr(default=None)
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
                    ("require_logging", True if self.require_logging else None),
                )
                if value is not None
            )
            if self.max_sessions is not None:
                # A deny rule already ends every session it matches: there is nothing left for a limit to count.
                message = (
                    f"max_sessions {self.max_sessions} is only meaningful on allow rules: a deny rule already "
                    "denies every session it matches, so there is nothing left for a limit to count"
                )
                issues.append(PolicyIssue("max_sessions", self.max_sessions, message))
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

    def matches_principal(self, principal: Principal) -> bool:
        """Tell whether one of the rule's principal patterns matches."""
        if self._principals is None:
            self._principals = PrincipalMatcher(self.principals)
        return self._principals(principal)

    def matches_document(self, document: str, account: str | None = None) -> bool:
        """Tell whether the rule covers a session's document (name or ARN) in ``account``."""
        if self.documents is None:
            return True
        if self._documents is None:
            self._documents = DocumentMatcher(self.documents)
        return self._documents(document, account)

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
        if self.max_sessions is not None:
            document["max_sessions"] = self.max_sessions
        if self.require_logging:
            document["require_logging"] = True
        if self.accounts is not None:
            document["accounts"] = list(self.accounts)
        if self.regions is not None:
            document["regions"] = list(self.regions)
        return document


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


class Policy(FrozenModel):
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
    max_sessions_per_target : int or None
        At most this many open sessions on one target, from anyone; a session beyond them is denied.
    warn_before : tuple[timedelta, ...]
        How long before an allowed session's deadline its user is warned, longest first (default 10 and 2
        minutes; empty: never).
    require_logging : bool
        Deny every session Session Manager does not log (preferences that log nowhere, port and remote-port
        sessions, preferences that cannot be read).

    Notes
    -----
    Build it with :func:`load_policy` or ``Policy.model_validate``: validation is what compiles
    the rules, so ``model_construct`` and ``model_copy(update=...)`` give a policy that
    :func:`decide` evaluates wrongly or not at all.
    """

    version: Annotated[int, BeforeValidator(_version)]
    mode: Annotated[Literal["enforce", "monitor"], BeforeValidator(choice("mode", ("enforce", "monitor")))] = "enforce"
    default: Annotated[Literal["deny", "allow"], BeforeValidator(choice("default", ("deny", "allow")))] = "deny"
    timezone: Annotated[str, BeforeValidator(check_time_zone)] = "UTC"
    windows: Annotated[Mapping[NonEmptyStr, Window], BeforeValidator(empty_if_none)] = Field(default_factory=dict)
    rules: Annotated[tuple[Rule, ...], BeforeValidator(empty_tuple_if_none)] = ()
    grants: GrantSettings | None = None
    max_sessions_per_target: SessionLimit | None = None
    warn_before: WarnBefore = DEFAULT_WARN_BEFORE
    require_logging: StrictBool = False

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
        if self.max_sessions_per_target is not None:
            document["max_sessions_per_target"] = self.max_sessions_per_target
        if self.warn_before != DEFAULT_WARN_BEFORE:
            document["warn_before"] = [format_duration(duration) for duration in self.warn_before]
        if self.require_logging:
            document["require_logging"] = True
        return document
