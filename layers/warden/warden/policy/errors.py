"""Errors raised when a policy document does not validate."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from warden.errors import WardenError

__all__ = ["PolicyError", "PolicyIssue"]


@dataclass(frozen=True, slots=True)
class PolicyIssue:
    """One problem found in a policy document.

    Attributes
    ----------
    path : str
        Where the problem is, as a field path: ``rules[0].windows[1]`` or
        ``windows.business-hours.weekly[0].from``. Empty for the whole document.
    value : object
        The offending value (for an unknown field: the field's name; ``None`` when a field is missing).
    message : str
        What is wrong, in words, naming the value where that helps: ``unknown window 'busness-hours'``.
    line : int or None
        1-based line in the source document, when known.
    """

    path: str
    value: object
    message: str
    line: int | None = None

    def __str__(self) -> str:
        where = f"line {self.line}: " if self.line is not None else ""
        if self.path:
            return f"{where}{self.path}: {self.message}"
        return f"{where}{self.message}"


class PolicyError(WardenError, ValueError):
    """A policy document is invalid; carries every problem found, not just the first.

    A :class:`~warden.errors.WardenError`, and a ``ValueError`` as it always was.

    Parameters
    ----------
    issues : Iterable[PolicyIssue]
        The problems, at least one, in document order.
    source : str, default "policy"
        The file name (or another label) to prefix messages with.

    Attributes
    ----------
    issues : tuple[PolicyIssue, ...]
        Every problem found.
    source : str
        The file name or ``"policy"``.
    """

    def __init__(self, issues: Iterable[PolicyIssue], source: str = "policy") -> None:
        self.issues: tuple[PolicyIssue, ...] = tuple(issues)
        if not self.issues:
            raise ValueError("a PolicyError needs at least one issue")
        self.source = source
        super().__init__(str(self))

    def __str__(self) -> str:
        first = f"{self.source}: {self.issues[0]}"
        more = len(self.issues) - 1
        return f"{first} (and {more} more)" if more else first

    def __reduce__(self) -> tuple[type[PolicyError], tuple[tuple[PolicyIssue, ...], str]]:
        # The default reduce replays ``args`` (the message) into __init__, which expects issues.
        return (type(self), (self.issues, self.source))
