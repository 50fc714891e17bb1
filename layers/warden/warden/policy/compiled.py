"""The rules of a validated policy as bitmask indexes: which rules apply to a session, in a few look-ups."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from warden.policy.documents import SESSION_TYPES, SessionType, document_ref
from warden.policy.globs import GlobIndex
from warden.policy.hosts import HostIndex, canonical_host
from warden.policy.places import AccountIndex, RegionIndex
from warden.policy.principals import Principal, PrincipalIndex
from warden.policy.targets import Targets
from warden.policy.windows import Schedule, WindowGroup

if TYPE_CHECKING:
    from warden.policy.models import Policy, Rule
    from warden.policy.reasons import ReasonPattern

__all__ = ["CompiledPolicy", "CompiledRule", "host_key"]

_SELECTION_LIMIT = 1024


class CompiledRule:
    """A rule with its windows resolved, ready for evaluation.

    Parameters
    ----------
    rule : Rule
        The rule.
    windows : WindowGroup or None
        Its windows, bound to their time zones; ``None`` when the rule has none.
    kind : int
        Equal for rules with the same windows, maximum duration, reason pattern and ``require_logging``.
    """

    __slots__ = ("deny", "kind", "logging", "max_seconds", "name", "reason", "rule", "schedules", "windows")

    def __init__(self, rule: Rule, windows: WindowGroup | None, kind: int = 0) -> None:
        self.rule = rule
        # Rules of one kind share windows, maximum duration and reason pattern: they hold alike.
        self.kind = kind
        self.name = rule.name
        self.deny = rule.effect == "deny"
        self.windows = windows
        self.schedules: tuple[Schedule, ...] = windows.schedules if windows is not None else ()
        self.max_seconds = rule.max_duration.total_seconds() if rule.max_duration is not None else None
        self.reason: ReasonPattern | None = rule.require_reason
        self.logging = rule.require_logging

    def open_at(self, timestamp: float) -> bool:
        """Tell whether one of the rule's windows (if any) is open at a POSIX timestamp."""
        return self.windows is None or self.windows.open_at(timestamp)


def host_key(host: str) -> str | None:
    """A host as compared with ``hosts`` (see :func:`warden.policy.hosts.canonical_host`); ``None``: unknown."""
    return canonical_host(host.strip())


def _bits(flags: Iterable[bool]) -> int:
    return sum(1 << position for position, flag in enumerate(flags) if flag)


class CompiledPolicy:
    """The rules as bitmask indexes over principal, target id, tags, document, session type, host, account and region.

    Each field answers with the set of rules it admits (memoised per value), and the rules that
    apply to a session are the intersection: a handful of dictionary look-ups however many rules
    there are.

    Parameters
    ----------
    policy : Policy
        A validated policy.
    """

    __slots__ = (
        "_accounts",
        "_allow",
        "_deny",
        "_document_arns",
        "_document_names",
        "_host_free",
        "_hosts",
        "_ids",
        "_placed",
        "_principals",
        "_regions",
        "_rules",
        "_selections",
        "_session_types",
        "_tags",
        "_unknown_session_type",
        "limited",
        "schedules",
    )

    def __init__(self, policy: Policy) -> None:
        self.schedules = {name: Schedule(name, window, policy.timezone) for name, window in policy.windows.items()}
        rules = policy.rules
        groups: dict[tuple[str, ...], WindowGroup] = {}
        for rule in rules:
            if rule.windows:
                names = tuple(dict.fromkeys(rule.windows))
                groups.setdefault(names, WindowGroup(tuple(self.schedules[name] for name in names)))
        kinds: dict[tuple[object, ...], int] = {}
        compiled: list[CompiledRule] = []
        for rule in rules:
            group = groups[tuple(dict.fromkeys(rule.windows))] if rule.windows else None
            pattern = rule.require_reason.pattern if rule.require_reason is not None else None
            kind = kinds.setdefault((id(group), rule.max_duration, pattern, rule.require_logging), len(kinds))
            compiled.append(CompiledRule(rule, group, kind))
        self._rules = tuple(compiled)
        # Whether any session limit exists: without one, decide() never looks at open sessions.
        self.limited = policy.max_sessions_per_target is not None or any(rule.max_sessions for rule in rules)
        self._selections: dict[int, tuple[CompiledRule, ...]] = {}
        self._deny = _bits(rule.deny for rule in self._rules)
        self._allow = _bits(not rule.deny for rule in self._rules)
        self._principals = PrincipalIndex([rule.principals for rule in rules])
        targets = [rule.targets or Targets() for rule in rules]
        self._ids = GlobIndex(
            ((position, glob) for position, target in enumerate(targets) for glob in target.ids or ()),
            base=_bits(not target.ids for target in targets),
        )
        keys = sorted({key for target in targets for key in target.tags or {}})
        self._tags = tuple(
            (
                key,
                GlobIndex(
                    (
                        (position, glob)
                        for position, target in enumerate(targets)
                        for glob in (target.tags or {}).get(key, ())
                    ),
                    base=_bits(key not in (target.tags or {}) for target in targets),
                ),
            )
            for key in keys
        )
        any_document = _bits(rule.documents is None for rule in rules)
        entries = [
            (position, document.strip()) for position, rule in enumerate(rules) for document in rule.documents or ()
        ]
        self._document_names = GlobIndex(
            ((position, name) for position, name in entries if not name.startswith("arn:")), base=any_document
        )
        self._document_arns = GlobIndex(
            ((position, arn) for position, arn in entries if arn.startswith("arn:")), base=any_document
        )
        any_type = _bits(rule.session_types is None for rule in rules)
        self._session_types: dict[SessionType, int] = {
            name: any_type | _bits(name in (rule.session_types or ()) for rule in rules) for name in SESSION_TYPES
        }
        # A session whose type is unknown: an allow rule that names types cannot know it holds, so it
        # does not (fail closed); a deny rule that names types may apply, so it does (also fail closed).
        self._unknown_session_type = any_type | (self._deny & ~any_type)
        self._host_free = _bits(rule.hosts is None for rule in rules)
        self._hosts = HostIndex(
            ((position, entry) for position, rule in enumerate(rules) for entry in rule.hosts or ()),
            base=self._host_free,
        )
        # Where the session runs: unknown matches deny rules that name it and no allow rule (fail closed both ways).
        self._accounts = AccountIndex([rule.accounts for rule in rules], fail_closed=self._deny)
        self._regions = RegionIndex([rule.regions for rule in rules], fail_closed=self._deny)
        self._placed = bool(self._accounts.named or self._regions.named)

    @property
    def names_places(self) -> bool:
        """Whether any rule names ``accounts`` or ``regions``."""
        return self._placed

    def applicable(
        self,
        principal: Principal,
        target: str,
        tags: Mapping[str, str],
        document: str,
        *,
        account: str | None = None,
        session_type: SessionType | None = None,
        host: str | None = None,
        region: str | None = None,
        account_path: str | None = None,
        placed: bool = True,
    ) -> tuple[tuple[CompiledRule, ...], tuple[CompiledRule, ...]]:
        """Return the deny rules and the allow rules that match the session.

        Parameters
        ----------
        principal : Principal
            Who.
        target : str
            The instance or managed-node id.
        tags : Mapping[str, str]
            The target's tags.
        document : str
            The session's document: a name or an ARN (see :func:`normalise_document`).
        account : str or None
            The account the session runs in (a bare document name is this account's or AWS's);
            ``None``: the principal's.
        session_type : SessionType or None
            What the document does; ``None`` when unknown.
        host : str or None
            The remote host of a ``remote-port`` session; ``None`` when unknown or not one.
        region : str or None
            The region the session runs in; ``None`` when unknown.
        account_path : str or None
            The OU path of the account; ``None`` when unknown.
        placed : bool, default True
            ``False`` leaves out the ``accounts`` and ``regions`` conditions (to explain which rules they rule out).

        Returns
        -------
        tuple[tuple[CompiledRule, ...], tuple[CompiledRule, ...]]
            Deny rules and allow rules, each in document order.
        """
        matching = self._principals(principal) & self._ids(target)
        account = account if account is not None else principal.account
        if matching and placed and self._placed:
            matching &= self._accounts(account, account_path) & self._regions(region)
        if matching:
            matching &= self._document_mask(document, account)
        if matching:
            matching &= self._session_type_mask(session_type, host)
        for key, index in self._tags:
            if not matching:
                break
            matching &= index(tags.get(key))
        return self._select(matching & self._deny), self._select(matching & self._allow)

    def _document_mask(self, document: str, account: str | None) -> int:
        ref = document_ref(document)
        # A bare name in a rule means this account's document or AWS's: never another account's.
        names = self._document_names(ref.name if ref.local_to(account) else None)
        return names | self._document_arns(ref.arn)

    def _session_type_mask(self, session_type: SessionType | None, host: str | None) -> int:
        if session_type is None:
            # It may be a tunnel to any host: allow rules that limit hosts do not hold, deny rules do.
            return self._unknown_session_type & (self._host_free | self._deny)
        types = self._session_types.get(session_type, self._unknown_session_type)
        if session_type != "remote-port":
            return types  # hosts limit remote-port sessions only
        canonical = host_key(host) if host is not None else None
        if canonical is None:
            # No host, or one no resolver reads one way: a tunnel to anywhere, as above.
            return types & (self._host_free | self._deny)
        return types & self._hosts(canonical)

    def _select(self, mask: int) -> tuple[CompiledRule, ...]:
        selected = self._selections.get(mask)
        if selected is None:
            rules: list[CompiledRule] = []
            remaining = mask
            while remaining:
                lowest = remaining & -remaining
                rules.append(self._rules[lowest.bit_length() - 1])
                remaining ^= lowest
            selected = tuple(rules)
            # The same few rule sets come up again and again; bound the memo for the odd churn.
            if len(self._selections) >= _SELECTION_LIMIT:
                self._selections.clear()
            self._selections[mask] = selected
        return selected
