"""The newest valid version in the policy parameter's history: what stays in force while the stored one is invalid."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, NamedTuple

from warden.policy import Policy, PolicyError, load_policy


class ValidVersion(NamedTuple):
    """A version of the policy parameter whose document validates."""

    version: int
    policy: Policy


def _load_policy(text: str, source: str) -> Policy:
    return load_policy(text, source=source)


def newest_valid_version(
    versions: Iterable[Mapping[str, Any]], *, source: str, load: Callable[[str, str], Policy] = _load_policy
) -> ValidVersion | None:
    """The highest-numbered version that validates, or None when none does.

    Parameters
    ----------
    versions
        ``GetParameterHistory`` entries (``Version``, ``Value``), in any order and across pages.
    source
        What the policy errors name (the parameter name).
    load
        ``(text, source) -> Policy``, raising :class:`PolicyError` for a version that does not validate.
    """
    for entry in sorted(versions, key=version_number, reverse=True):
        try:
            policy = load(str(entry.get("Value", "")), source)
        except PolicyError:
            continue
        return ValidVersion(version_number(entry), policy)
    return None


def version_number(entry: Mapping[str, Any]) -> int:
    """The entry's ``Version`` (Parameter Store numbers versions 1, 2, ...; a missing one sorts last)."""
    return int(entry.get("Version") or 0)
