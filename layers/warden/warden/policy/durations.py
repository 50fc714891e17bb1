"""Compact durations such as ``30m``, ``2h``, ``1h30m`` and ``1d``."""

from __future__ import annotations

import re
from datetime import timedelta

__all__ = ["format_duration", "parse_duration"]

_DURATION = re.compile(r"(?:(?P<d>\d+)d)?(?:(?P<h>\d+)h)?(?:(?P<m>\d+)m)?(?:(?P<s>\d+)s)?")
_EXPECTED = "expected e.g. 30m, 2h, 1h30m or 1d"


def parse_duration(text: str) -> timedelta:
    """Parse a compact duration.

    Units are ``d``, ``h``, ``m`` and ``s``, each at most once, largest first, lowercase:
    ``30m``, ``2h``, ``1h30m``, ``1d``, ``1d12h``, ``45s``.

    Parameters
    ----------
    text : str
        The duration; surrounding whitespace is ignored.

    Returns
    -------
    timedelta
        The duration, always positive.

    Raises
    ------
    ValueError
        For anything else (empty, zero, negative, unknown unit, wrong order), with a message that
        names the value and the expected form.
    """
    if not isinstance(text, str):
        raise ValueError(f"invalid duration {text!r}: {_EXPECTED}")
    match = _DURATION.fullmatch(text.strip())
    if match is None or not any(match.groupdict().values()):
        raise ValueError(f"invalid duration {text!r}: {_EXPECTED}")
    parts = {unit: int(amount) for unit, amount in match.groupdict().items() if amount}
    try:
        duration = timedelta(
            days=parts.get("d", 0), hours=parts.get("h", 0), minutes=parts.get("m", 0), seconds=parts.get("s", 0)
        )
    except OverflowError:
        raise ValueError(f"invalid duration {text!r}: too long") from None
    if duration <= timedelta(0):
        raise ValueError(f"invalid duration {text!r}: must be longer than zero")
    return duration


def format_duration(td: timedelta) -> str:
    """Format a duration the way :func:`parse_duration` reads it.

    Parameters
    ----------
    td : timedelta
        A duration that is not negative. Fractions of a second are dropped.

    Returns
    -------
    str
        ``1h30m``, ``2d``, ``45s``; ``0s`` for zero.

    Raises
    ------
    ValueError
        If ``td`` is negative.
    """
    if td < timedelta(0):
        raise ValueError(f"cannot format a negative duration ({td})")
    seconds = td.days * 86_400 + td.seconds
    days, seconds = divmod(seconds, 86_400)
    hours, seconds = divmod(seconds, 3_600)
    minutes, seconds = divmod(seconds, 60)
    text = "".join(
        f"{amount}{unit}" for amount, unit in ((days, "d"), (hours, "h"), (minutes, "m"), (seconds, "s")) if amount
    )
    return text or "0s"
