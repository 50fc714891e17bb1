"""Just-in-time grants and the policy's limits on them (the ``grants`` section: settings and ``forbid``)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal, Self

from pydantic import AwareDatetime, ConfigDict, PrivateAttr, model_validator

from warden.policy.durations import format_duration
from warden.policy.errors import PolicyError, PolicyIssue
from warden.policy.fields import (
    DurationField,
    FrozenModel,
    NonEmptyStr,
    PrincipalPattern,
    Reason,
    TagGlobs,
    require_aware,
)
from warden.policy.globs import globs_overlap
from warden.policy.places import AccountList, PlaceMatcher, RegionList
from warden.policy.principals import Principal, PrincipalMatcher
from warden.policy.targets import TargetMatcher, Targets
from warden.timefmt import iso_offset

__all__ = ["Grant", "GrantLimits", "GrantSettings"]


class GrantSettings(FrozenModel):
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

    max_duration: DurationField = None
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


class GrantLimits(FrozenModel):
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


class Grant(FrozenModel):
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
    accounts : tuple[str, ...] or None
        Organization mode: account ids or ``ou:`` paths, as in a rule (see :mod:`warden.policy.places`); the grant
        covers sessions in those accounts only. ``None``: every account.
    regions : tuple[str, ...] or None
        Organization mode: region names or globs; ``None``: every region. A grant that names accounts or regions
        never covers a session whose account or region is unknown.
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
    accounts: AccountList | None = None
    regions: RegionList | None = None

    _matchers: tuple[PrincipalMatcher, TargetMatcher, PlaceMatcher] = PrivateAttr()

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
        """Compile the principal pattern and the places once."""
        places = PlaceMatcher(self.accounts, self.regions, fail_closed=False)
        self._matchers = (PrincipalMatcher((self.principal,)), self.targets.matcher, places)

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

    def covers(
        self,
        principal: Principal,
        target: str,
        tags: Mapping[str, str],
        *,
        account: str | None = None,
        region: str | None = None,
        account_path: str | None = None,
    ) -> bool:
        """Tell whether the grant names ``principal`` and the target (its id and current tags), whatever the time.

        ``account`` (``None``: the principal's), its OU path ``account_path`` and ``region`` are where the session
        runs; ``None`` is unknown, which a grant naming ``accounts`` or ``regions`` does not cover.
        """
        private = self.__pydantic_private__
        principal_matches, target_matches, places = private["_matchers"] if private is not None else self._matchers
        if not places.free and not places(principal.account if account is None else account, account_path, region):
            return False
        return principal_matches(principal) and target_matches(target, tags)

    def to_document(self) -> dict[str, object]:
        """Return the grant as plain, JSON-ready data (times in ISO 8601 with offset)."""
        document: dict[str, object] = self.model_dump(mode="json", exclude_none=True)
        document["targets"] = self.targets.to_document()
        return document
