"""Helper module of the test function."""

from __future__ import annotations

from typing import Any


def describe(event: Any) -> str:
    if isinstance(event, dict):
        return str(event.get("detail-type", "custom input"))
    return type(event).__name__
