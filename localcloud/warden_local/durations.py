"""Duration strings (``10m``, ``2h``, ``1h30m``, ``1d``): the policy's parser when the layer has it, else ours."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta

_DURATION = re.compile(r"(?:(?P<d>\d+)d)?(?:(?P<h>\d+)h)?(?:(?P<m>\d+)m)?(?:(?P<s>\d+)s)?")


def _parse_duration_fallback(text: str) -> timedelta:
    match = _DURATION.fullmatch(text.strip())
    if match is None or not any(match.groupdict().values()):
        raise ValueError(f"invalid duration {text!r}: expected e.g. 30m, 2h, 1h30m or 1d")
    parts = {unit: int(amount) for unit, amount in match.groupdict().items() if amount}
    duration = timedelta(days=parts.get("d", 0), hours=parts.get("h", 0), minutes=parts.get("m", 0))
    duration += timedelta(seconds=parts.get("s", 0))
    if duration <= timedelta(0):
        raise ValueError(f"invalid duration {text!r}: must be longer than zero")
    return duration


def _policy_parser() -> Callable[[str], timedelta]:
    # One grammar for the whole product: the CLI and the policy must read "1h30m" the same way.
    try:
        from warden.policy.durations import parse_duration as policy_parse
    except ImportError:
        return _parse_duration_fallback
    return policy_parse


def parse_duration(text: str) -> timedelta:
    """Parse ``10m``, ``2h``, ``1h30m``, ``1d``; raise ``ValueError`` naming the value otherwise."""
    return _policy_parser()(text)
