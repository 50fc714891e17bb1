r"""Where a session runs (organization mode): the ``accounts`` and ``regions`` of rules and grants.

An ``accounts`` entry is a 12-digit account id, ``ou:PATH`` (accounts directly in that OU) or ``ou:PATH/*`` (in that
OU or any OU below it). An OU path is the OU names from the organization's root down, joined by ``/`` (the root
itself not written): ``Production/Web``. A ``regions`` entry is a region name or a glob (``eu-*``).

AWS lets an OU name hold any character, ``/`` included: an OU named ``Production/Web`` directly under the root would
otherwise have the same path as the OU ``Web`` inside ``Production``, and whoever may rename OUs could make an account
match rules meant for another OU. So a ``/`` or ``\`` inside a name is written escaped, ``\/`` and ``\\``, in the paths
the warden builds (:func:`join_ou_path`) and in the policy: ``'ou:Production\/Web'`` names that one OU, and
``ou:Production/Web`` never does. (In YAML, write such an entry plain or in single quotes: double quotes read ``\/``
as ``/``.)

Unknown is never a match for an allowance and always one for a denial: an allow rule or a grant that names accounts
does not hold for a session whose account (or, for ``ou:`` entries, OU path) is unknown; a deny rule does.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Annotated

from pydantic import BeforeValidator, Field

from warden.policy.globs import GlobIndex, compile_globs

__all__ = [
    "AccountEntry",
    "AccountIndex",
    "AccountList",
    "PlaceMatcher",
    "RegionEntry",
    "RegionIndex",
    "RegionList",
    "account_entry_problem",
    "join_ou_path",
    "ou_path_problem",
    "region_entry_problem",
    "split_ou_path",
]

OU_PREFIX = "ou:"
SUBTREE = "/*"
_ACCOUNT_ID = re.compile(r"[0-9]{12}")
# AWS region names: us-east-1, eu-central-2, us-gov-west-1, ap-southeast-4, cn-northwest-1.
_REGION = re.compile(r"[a-z]{2}(?:-[a-z]+)+-[0-9]+")
_REGION_GLOB = re.compile(r"[a-z0-9*?-]+")


def account_entry_problem(entry: str) -> str | None:
    """Say what is wrong with one ``accounts`` entry, or ``None`` when it is fine."""
    if _ACCOUNT_ID.fullmatch(entry):
        return None
    if not entry.startswith(OU_PREFIX):
        if entry.isdigit():
            return (
                f"{entry!r} is not an account id: an account id has exactly 12 digits, not {len(entry)} "
                "(quote an id that begins with 0)"
            )
        return f"{entry!r} is not an account id (12 digits) or an OU path (ou:Production, ou:Production/*)"
    names = entry[len(OU_PREFIX) :].removesuffix(SUBTREE)
    if not names:
        return f"{entry!r} names no OU: write ou:NAME/NAME (e.g. ou:Production/Web), or ou:NAME/* for a subtree"
    problem = ou_path_problem(names)
    return f"{entry!r}: {problem}" if problem is not None else None


ESCAPE = "\\"


def join_ou_path(names: Iterable[str]) -> str:
    """The OU path of OU names from the root down: ``/`` between them, and a ``/`` or ``\\`` inside a name escaped."""
    return "/".join(name.replace(ESCAPE, ESCAPE * 2).replace("/", ESCAPE + "/") for name in names)


def _segments(path: str) -> list[tuple[str, str]] | None:
    """The path's names, split at each unescaped ``/``: (as written, escapes kept; the name itself). None for a
    ``\\`` that escapes neither ``/`` nor ``\\``."""
    segments: list[tuple[str, str]] = []
    raw: list[str] = []
    name: list[str] = []
    index = 0
    while index < len(path):
        char = path[index]
        if char == ESCAPE:
            following = path[index + 1 : index + 2]
            if following not in ("/", ESCAPE):
                return None
            raw.append(char + following)
            name.append(following)
            index += 2
            continue
        if char == "/":
            segments.append(("".join(raw), "".join(name)))
            raw, name = [], []
        else:
            raw.append(char)
            name.append(char)
        index += 1
    segments.append(("".join(raw), "".join(name)))
    return segments


def split_ou_path(path: str) -> list[str] | None:
    """The OU names of an OU path (escapes undone), root first; None when an escape is malformed."""
    segments = _segments(path)
    return None if segments is None else [name for _, name in segments]


def ou_path_problem(path: str) -> str | None:
    """Say what is wrong with an OU path (``Production/Web``: OU names from the root down), or ``None``."""
    if not path:
        return "an empty OU path: OU names from the root down, separated by '/' (e.g. Production/Web)"
    names = split_ou_path(path)
    if names is None:
        return "a '\\' in an OU path escapes only '/' or '\\' (write an OU name that contains them as \\/ or \\\\)"
    for name in names:
        if not name.strip():
            return "an empty OU name: an OU path is OU names separated by single '/'"
        if name != name.strip():
            return f"the OU name {name!r} begins or ends with a space"
        if "*" in name or "?" in name:
            return "an OU path takes no globs except a trailing /* (that OU and every OU below it)"
    return None


def region_entry_problem(entry: str) -> str | None:
    """Say what is wrong with one ``regions`` entry, or ``None`` when it is fine."""
    if "*" in entry or "?" in entry:
        if _REGION_GLOB.fullmatch(entry):
            return None
        return f"{entry!r} is not a region glob: lower-case letters, digits, '-', '*' and '?' only (e.g. eu-*)"
    if _REGION.fullmatch(entry):
        return None
    return f"{entry!r} is not a region name: expected e.g. us-east-1, or a glob such as eu-*"


def _account_entry(value: object) -> object:
    # YAML reads an unquoted 123456789012 as a number; an id is its 12 digits.
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if isinstance(value, str):
        problem = account_entry_problem(value.strip())
        if problem is not None:
            raise ValueError(problem)
        return value.strip()
    return value


def _region_entry(value: object) -> object:
    if isinstance(value, str):
        problem = region_entry_problem(value.strip())
        if problem is not None:
            raise ValueError(problem)
        return value.strip()
    return value


AccountEntry = Annotated[str, BeforeValidator(_account_entry)]
RegionEntry = Annotated[str, BeforeValidator(_region_entry)]
AccountList = Annotated[tuple[AccountEntry, ...], Field(min_length=1)]
RegionList = Annotated[tuple[RegionEntry, ...], Field(min_length=1)]


def _ancestors(path: str) -> Iterable[str]:
    """``A/B/C``, ``A/B``, ``A``: the OUs whose subtree holds an account directly in ``path`` (an escaped ``\\/``
    is part of a name, never a level)."""
    raw = [written for written, _ in _segments(path) or ()] if path else []
    for depth in range(len(raw), 0, -1):
        yield "/".join(raw[:depth])


class AccountIndex:
    """Many owners' ``accounts`` lists, answered as a bitmask of the owners that hold an account.

    Parameters
    ----------
    lists : Sequence[Sequence[str] or None]
        Per owner (bit ``1 << position``), its validated entries; ``None``: every account.
    fail_closed : int
        Owners for which an unknown account or OU path matches (deny rules); for the others it does not.
    """

    __slots__ = ("_free", "_ids", "_memo", "_ou_exact", "_ou_named", "_ou_subtree", "_unknown", "named")

    def __init__(self, lists: Sequence[Sequence[str] | None], fail_closed: int = 0) -> None:
        self._free = 0
        self._ids: dict[str, int] = {}
        self._ou_exact: dict[str, int] = {}
        self._ou_subtree: dict[str, int] = {}
        self._ou_named = 0
        for position, entries in enumerate(lists):
            bit = 1 << position
            if entries is None:
                self._free |= bit
                continue
            for entry in entries:
                if not entry.startswith(OU_PREFIX):
                    self._ids[entry] = self._ids.get(entry, 0) | bit
                    continue
                self._ou_named |= bit
                path = entry[len(OU_PREFIX) :]
                table = self._ou_subtree if path.endswith(SUBTREE) else self._ou_exact
                key = path.removesuffix(SUBTREE)
                table[key] = table.get(key, 0) | bit
        everyone = (1 << len(lists)) - 1
        self.named = everyone & ~self._free
        self._unknown = self._free | (self.named & fail_closed)
        self._ou_named &= fail_closed
        self._memo: dict[tuple[str, str | None], int] = {}

    def __call__(self, account: str | None, path: str | None) -> int:
        """The owners holding ``account`` (``None``: unknown) whose OU path is ``path`` (``None``: unknown)."""
        if account is None:
            return self._unknown
        key = (account, path)
        found = self._memo.get(key)
        if found is None:
            found = self._free | self._ids.get(account, 0)
            if path is None:
                found |= self._ou_named  # an OU the account may be in: deny rules hold, allowances do not
            else:
                found |= self._ou_exact.get(path, 0)
                for ancestor in _ancestors(path):
                    found |= self._ou_subtree.get(ancestor, 0)
            if len(self._memo) >= 4096:
                self._memo.clear()
            self._memo[key] = found
        return found


class RegionIndex:
    """Many owners' ``regions`` lists as a bitmask, like :class:`AccountIndex`."""

    __slots__ = ("_globs", "_unknown", "named")

    def __init__(self, lists: Sequence[Sequence[str] | None], fail_closed: int = 0) -> None:
        free = sum(1 << position for position, entries in enumerate(lists) if entries is None)
        self.named = ((1 << len(lists)) - 1) & ~free
        self._unknown = free | (self.named & fail_closed)
        self._globs = GlobIndex(
            ((position, entry) for position, entries in enumerate(lists) for entry in entries or ()), base=free
        )

    def __call__(self, region: str | None) -> int:
        """The owners holding ``region`` (``None``: unknown)."""
        return self._unknown if region is None else self._globs(region)


class PlaceMatcher:
    """One owner's ``accounts`` and ``regions`` (a grant's, or a rule's when explaining), compiled.

    Parameters
    ----------
    accounts, regions : Sequence[str] or None
        Validated entries; ``None``: everywhere.
    fail_closed : bool
        ``True`` for a deny rule: what is unknown matches. ``False`` for an allowance: it does not.
    """

    __slots__ = ("_accounts", "_fail_closed", "_regions", "free")

    def __init__(self, accounts: Sequence[str] | None, regions: Sequence[str] | None, *, fail_closed: bool) -> None:
        self._accounts = AccountIndex([accounts], fail_closed=int(fail_closed)) if accounts is not None else None
        self._regions = compile_globs(regions) if regions is not None else None
        self._fail_closed = fail_closed
        self.free = accounts is None and regions is None

    def account_holds(self, account: str | None, path: str | None) -> bool:
        """Whether the entries name the account (whose OU path is ``path``); ``True`` without ``accounts``."""
        return self._accounts is None or bool(self._accounts(account, path))

    def region_holds(self, region: str | None) -> bool:
        """Whether the entries name the region; ``True`` without ``regions``."""
        if self._regions is None:
            return True
        if region is None:
            return self._fail_closed
        return self._regions.fullmatch(region) is not None

    def __call__(self, account: str | None, path: str | None, region: str | None) -> bool:
        """Whether both hold."""
        return self.free or (self.account_holds(account, path) and self.region_holds(region))
