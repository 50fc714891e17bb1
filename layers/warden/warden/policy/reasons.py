"""``require_reason`` patterns, run by RE2: a search takes linear time whatever the reason says."""

from __future__ import annotations

from typing import Any

import re2

__all__ = ["ReasonPattern"]

_MEMO_LIMIT = 1024
_OPTIONS = re2.Options()
# RE2 logs every pattern it cannot compile to stderr; the error is reported to whoever wrote it instead.
_OPTIONS.log_errors = False


def _message(error: BaseException) -> str:
    detail: Any = error.args[0] if error.args else error
    return detail.decode("utf-8", "replace") if isinstance(detail, bytes) else str(detail)


class ReasonPattern:
    """A regex searched (not full-matched) in a session's reason, with RE2 semantics.

    Python's :mod:`re` backtracks: ``^([A-Z]+-?)+[0-9]+$`` against a 30-character reason that
    a user typed outlasts the Lambda timeout, and the session is never decided. RE2 has no
    backreferences or lookaround and matches in time linear in the reason's length.

    Parameters
    ----------
    pattern : str
        The regex as written in the policy.

    Raises
    ------
    ValueError
        If RE2 cannot compile it (backreferences, lookaround, a repetition over 1000, ...).
    """

    __slots__ = ("_memo", "_regex", "pattern")

    def __init__(self, pattern: str) -> None:
        if not isinstance(pattern, str):
            raise ValueError(f"invalid regex {pattern!r}: expected a string")
        try:
            self._regex: Any = re2.compile(pattern, _OPTIONS)
        except re2.error as error:
            raise ValueError(
                f"invalid regex {pattern!r}: {_message(error)} "
                "(require_reason uses RE2 syntax: no backreferences or lookaround)"
            ) from None
        self.pattern = pattern
        self._memo: dict[str, bool] = {}

    def search(self, text: str) -> bool:
        """Tell whether the pattern occurs anywhere in ``text``."""
        # The sweeper re-decides the same sessions every minute; a search through the binding costs
        # microseconds, a dictionary look-up a tenth of one.
        found = self._memo.get(text)
        if found is None:
            found = self._regex.search(text) is not None
            if len(self._memo) >= _MEMO_LIMIT:
                self._memo.clear()
            self._memo[text] = found
        return found

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ReasonPattern):
            return NotImplemented
        return self.pattern == other.pattern

    def __hash__(self) -> int:
        return hash((ReasonPattern, self.pattern))

    def __repr__(self) -> str:
        return f"ReasonPattern({self.pattern!r})"
