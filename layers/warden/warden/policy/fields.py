"""What the policy's models share: the frozen base model, field types and the validators behind them."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer, PlainValidator, WithJsonSchema

from warden.policy.documents import SESSION_TYPES, SessionType
from warden.policy.durations import format_duration, parse_duration
from warden.policy.principals import validate_principal_pattern
from warden.policy.reasons import ReasonPattern

__all__ = [
    "DEFAULT_WARN_BEFORE",
    "MAX_WARNINGS",
    "DurationField",
    "FrozenModel",
    "NonEmptyStr",
    "PrincipalPattern",
    "Reason",
    "SessionLimit",
    "SessionTypeName",
    "TagGlobs",
    "WarnBefore",
    "choice",
    "empty_if_none",
    "empty_tuple_if_none",
    "require_aware",
]


def require_aware(moment: datetime, label: str) -> None:
    """Raise ``ValueError`` unless ``moment`` is a timezone-aware datetime."""
    if not isinstance(moment, datetime) or moment.utcoffset() is None:
        raise ValueError(f"{label} must be a timezone-aware datetime, got {moment!r}")


def choice(label: str, choices: tuple[str, ...]) -> Callable[[object], str]:
    def check(value: object) -> str:
        if isinstance(value, str) and value.strip().lower() in choices:
            return value.strip().lower()
        raise ValueError(f"unknown {label} {value!r}: expected {' or '.join(choices)}")

    return check


def _non_empty(value: object) -> object:
    if isinstance(value, str) and not value.strip():
        raise ValueError("must not be empty")
    return value


def _principal_pattern(value: object) -> object:
    if isinstance(value, str):
        validate_principal_pattern(value)
    return value


def _duration(value: object) -> object:
    if value is None or isinstance(value, timedelta):
        return value
    return parse_duration(value)  # type: ignore[arg-type]  # parse_duration reports non-strings itself


def _one_or_many(value: object) -> object:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list | tuple):
        return value
    raise ValueError(f"tag value {value!r} must be a string or a list of strings")


def _reason(value: object) -> ReasonPattern:
    if isinstance(value, ReasonPattern):
        return value
    if isinstance(value, re.Pattern):
        value = value.pattern
    return ReasonPattern(value)  # type: ignore[arg-type]  # ReasonPattern reports non-strings itself


def _session_type(value: object) -> SessionType:
    if isinstance(value, str) and value.strip().lower() in SESSION_TYPES:
        return value.strip().lower()  # type: ignore[return-value]  # checked just above
    raise ValueError(f"unknown session type {value!r}: expected {', '.join(SESSION_TYPES[:-1])} or {SESSION_TYPES[-1]}")


NonEmptyStr = Annotated[str, BeforeValidator(_non_empty)]
PrincipalPattern = Annotated[str, BeforeValidator(_principal_pattern)]
TagGlobs = Annotated[tuple[str, ...], BeforeValidator(_one_or_many), Field(min_length=1)]
Reason = Annotated[
    ReasonPattern,
    PlainValidator(_reason),
    PlainSerializer(lambda pattern: pattern.pattern, return_type=str),
    WithJsonSchema({"type": "string", "format": "regex"}),
]
SessionTypeName = Annotated[SessionType, BeforeValidator(_session_type)]


class FrozenModel(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    def __eq__(self, other: object) -> bool:
        # pydantic also compares private attributes, and compiled matchers never compare equal:
        # two models are equal when their fields are.
        if not isinstance(other, BaseModel):
            return NotImplemented
        return type(self) is type(other) and self.__dict__ == other.__dict__

    def __hash__(self) -> int:
        # Like pydantic's own frozen hash: by field values (a mapping field makes it unhashable).
        return hash((type(self), *self.__dict__.values()))


def empty_if_none(value: object) -> object:
    # A key with everything under it commented out reads as null in YAML: treat it as empty.
    return {} if value is None else value


def empty_tuple_if_none(value: object) -> object:
    return () if value is None else value


DurationField = Annotated[timedelta | None, BeforeValidator(_duration)]


# The sweeper runs every minute: more thresholds than this would only repeat the same notice.
MAX_WARNINGS = 5
DEFAULT_WARN_BEFORE = (timedelta(minutes=10), timedelta(minutes=2))


def _warn_before(value: object) -> tuple[timedelta, ...]:
    if value is None:
        return ()
    if isinstance(value, str | timedelta) or not isinstance(value, list | tuple):
        raise ValueError(f"must be a list of durations, e.g. [10m, 2m], got {value!r}")
    if len(value) > MAX_WARNINGS:
        raise ValueError(f"{len(value)} durations: at most {MAX_WARNINGS}")
    durations: list[timedelta] = []
    for item in value:
        duration = _duration(item)
        if not isinstance(duration, timedelta):
            raise ValueError(f"invalid duration {item!r}: expected e.g. 30m, 2h, 1h30m or 1d")
        if duration in durations:
            raise ValueError(f"names {format_duration(duration)} twice")
        if duration > timedelta(days=1):
            raise ValueError(f"{format_duration(duration)} is more than a day: at most 1d")
        durations.append(duration)
    return tuple(sorted(durations, reverse=True))


WarnBefore = Annotated[tuple[timedelta, ...], PlainValidator(_warn_before)]


def _session_limit(value: object) -> int:
    # Strict: true is not 1, "2" and 2.0 are not counts; a limit of 0 would deny every session (use a deny rule).
    if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
        return value
    raise ValueError(f"{value!r} is not a session limit: expected a whole number of at least 1")


SessionLimit = Annotated[int, PlainValidator(_session_limit), WithJsonSchema({"type": "integer", "minimum": 1})]
