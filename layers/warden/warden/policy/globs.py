"""Case-sensitive globs where only ``*`` and ``?`` are special, compiled once."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable

__all__ = ["GlobIndex", "compile_glob", "compile_globs", "glob_to_regex", "globs_overlap"]


def _segment(text: str, character: str) -> str:
    return "".join(character if char == "?" else re.escape(char) for char in text)


def glob_to_regex(pattern: str, character: str = ".") -> str:
    """Translate a glob to a regular expression (without anchors), for ``fullmatch``.

    Unlike :mod:`fnmatch`, brackets and every other character are literal: tag values and
    e-mail addresses may contain ``[`` and the policy must not surprise anyone.

    The values matched (tag values, session and role names) are chosen by whoever can tag an
    instance or name a session, so a glob such as ``*a*a*a*a*b`` must not backtrack: translated
    naively to ``.*a.*a.*a.*a.*b`` it takes seconds on a 300-character value. Between two stars
    the earliest occurrence of a segment is always a correct choice (a later one leaves less room
    for the rest), so each inner segment is found lazily inside an atomic group and never
    revisited: matching takes time proportional to the value's length times the glob's.

    ``character`` is the regex of what ``?`` (and each character of ``*``) matches: ``[^.]`` keeps
    them within one DNS label, and the argument above still holds (a segment reached without
    crossing a dot is found earliest in the same label).
    """
    parts = pattern.split("*")
    if len(parts) == 1:
        return _segment(pattern, character)
    first, *inner, last = parts
    middle = "".join(f"(?>{character}*?{_segment(part, character)})" for part in inner if part)
    return f"{_segment(first, character)}{middle}{character}*{_segment(last, character)}"


@functools.lru_cache(maxsize=4096)
def compile_glob(pattern: str) -> re.Pattern[str]:
    """Compile one glob; use ``.fullmatch`` on the result."""
    return re.compile(glob_to_regex(pattern), re.DOTALL)


def compile_globs(patterns: Iterable[str]) -> re.Pattern[str] | None:
    """Compile several globs into one alternation, or ``None`` when there are none.

    One regex call per field is far cheaper than one per pattern, which matters at 100 rules.
    """
    unique = sorted(set(patterns))
    if not unique:
        return None
    if len(unique) == 1:
        return compile_glob(unique[0])
    return re.compile("|".join(f"(?:{glob_to_regex(pattern)})" for pattern in unique), re.DOTALL)


def globs_overlap(first: str, second: str) -> bool:
    """Tell whether some text matches both globs (``*`` and ``?`` special, as everywhere in the policy)."""

    @functools.cache
    def overlap(i: int, j: int) -> bool:
        if i == len(first) and j == len(second):
            return True
        if i < len(first) and first[i] == "*":
            return overlap(i + 1, j) or (j < len(second) and overlap(i, j + 1))
        if j < len(second) and second[j] == "*":
            return overlap(i, j + 1) or (i < len(first) and overlap(i + 1, j))
        if i == len(first) or j == len(second):
            return False
        return (first[i] == second[j] or "?" in (first[i], second[j])) and overlap(i + 1, j + 1)

    return overlap(0, 0)


_MEMO_LIMIT = 4096


class GlobIndex:
    """Many owners' globs over one field, answered as a bitmask of the owners that match a value.

    Owners are positions (rule ``i`` is bit ``1 << i``), so intersecting fields is one ``&`` and
    document order is bit order. Literal globs are a dictionary look-up, and each value's answer
    is memoised: at 100 rules, checking rule by rule costs tens of microseconds.

    Parameters
    ----------
    entries : Iterable[tuple[int, str]]
        ``(owner, glob)`` pairs.
    base : int, default 0
        Owners that match whatever the value, even a missing one (those that do not constrain it).
    """

    __slots__ = ("_base", "_exact", "_globs", "_memo")

    def __init__(self, entries: Iterable[tuple[int, str]], base: int = 0) -> None:
        exact: dict[str, int] = {}
        globs: dict[str, int] = {}
        for owner, glob in entries:
            table = globs if "*" in glob or "?" in glob else exact
            table[glob] = table.get(glob, 0) | 1 << owner
        self._base = base
        self._exact = exact
        self._globs = tuple((compile_glob(glob), owners) for glob, owners in globs.items())
        self._memo: dict[str, int] = {}

    def __call__(self, value: str | None) -> int:
        """Return the bitmask of owners matching ``value`` (``None``: only the base owners)."""
        if value is None:
            return self._base
        found = self._memo.get(value)
        if found is None:
            found = self._base | self._exact.get(value, 0)
            for regex, owners in self._globs:
                if regex.fullmatch(value) is not None:
                    found |= owners
            if len(self._memo) >= _MEMO_LIMIT:
                self._memo.clear()
            self._memo[value] = found
        return found
