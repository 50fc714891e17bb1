"""Pydantic's validation errors as policy issues: a field path a person recognises, the value and a plain message."""

from __future__ import annotations

import difflib
import types
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from warden.policy.errors import PolicyError, PolicyIssue

__all__ = ["REPR_LIMIT", "issues_from_validation_error", "join_path", "short_repr", "value_kind"]

REPR_LIMIT = 60


def join_path(path: str, segment: str | int) -> str:
    if isinstance(segment, int):
        return f"{path}[{segment}]"
    return f"{path}.{segment}" if path else segment


def short_repr(value: object) -> str:
    text = repr(value)
    return text if len(text) <= REPR_LIMIT else f"{text[: REPR_LIMIT - 3]}..."


def value_kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, Mapping):
        return "mapping"
    if isinstance(value, list | tuple):
        return "list"
    if isinstance(value, date):
        return "date"
    return type(value).__name__


def issues_from_validation_error(error: ValidationError, model: type[BaseModel] | None = None) -> list[PolicyIssue]:
    """Translate a pydantic ``ValidationError`` into policy issues with readable paths and messages.

    Parameters
    ----------
    error : ValidationError
        Raised while validating a :class:`Policy`, :class:`Grant` or one of their parts.
    model : type[BaseModel] or None
        The model that was validated, used to suggest the intended name of an unknown field.

    Returns
    -------
    list[PolicyIssue]
        One issue per problem (a check that reports several problems gives several), without lines.
    """
    issues: list[PolicyIssue] = []
    for detail in error.errors():
        loc = detail["loc"]
        path = ""
        for segment in loc:
            if segment != "[key]":
                path = join_path(path, segment)
        nested = detail.get("ctx", {}).get("error")
        if isinstance(nested, PolicyError):
            for issue in nested.issues:
                joined = path if not issue.path else issue.path if not path else f"{path}.{issue.path}"
                issues.append(PolicyIssue(joined, issue.value, issue.message, issue.line))
            continue
        value, message = _message(detail, model)
        issues.append(PolicyIssue(path, value, message))
    # pydantic checks a list's length on the items that validated, so a list whose items are all
    # wrong is also "too short": that says nothing the item errors do not already say.
    return [
        issue
        for issue in issues
        if issue.message != _TOO_SHORT
        or not any(other.path.startswith((f"{issue.path}[", f"{issue.path}.")) for other in issues)
    ]


_TOO_SHORT = "must not be empty"
_TYPE_MESSAGES = {
    "string_type": "expected a string",
    "list_type": "expected a list",
    "tuple_type": "expected a list",
    "dict_type": "expected a mapping",
    "mapping_type": "expected a mapping",
    "model_type": "expected a mapping",
    "model_attributes_type": "expected a mapping",
    "int_type": "expected an integer",
    "int_parsing": "expected an integer",
    "int_from_float": "expected an integer",
    "bool_type": "expected true or false",
    "bool_parsing": "expected true or false",
    "timezone_aware": "expected a date-time with a UTC offset",
    "datetime_type": "expected an ISO 8601 date-time with a UTC offset",
    "datetime_parsing": "expected an ISO 8601 date-time with a UTC offset",
    "datetime_from_date_parsing": "expected an ISO 8601 date-time with a UTC offset",
}


def _message(detail: ErrorDetails, model: type[BaseModel] | None) -> tuple[object, str]:
    kind = detail["type"]
    value = detail.get("input")
    loc = detail["loc"]
    ctx = detail.get("ctx", {})
    if kind == "missing":
        return None, "missing required field"
    if kind == "extra_forbidden":
        name = str(loc[-1])
        known = _field_names(model, loc[:-1]) if model is not None else []
        close = difflib.get_close_matches(name, known, n=1)
        return name, f"unknown field {name!r}" + (f" (did you mean {close[0]!r}?)" if close else "")
    if kind in ("value_error", "assertion_error") and "error" in ctx:
        return value, str(ctx["error"])
    if "[key]" in loc:
        return value, f"names must be strings, got {value_kind(value)} {short_repr(value)}"
    if kind == "too_short":
        return value, _TOO_SHORT
    if kind in _TYPE_MESSAGES:
        return value, f"{_TYPE_MESSAGES[kind]}, got {value_kind(value)} {short_repr(value)}"
    if kind == "literal_error":
        return value, f"unknown value {short_repr(value)}: expected {ctx.get('expected', 'another value')}"
    return value, f"{detail['msg']}, got {short_repr(value)}"


def _field_names(model: type[BaseModel] | None, loc: Sequence[str | int]) -> list[str]:
    """Return the field names (as spelled in the document) of the model found at ``loc``."""
    skip = 0
    for segment in loc:
        if skip:
            skip -= 1
            continue
        if model is None:
            return []
        field = next(
            (info for name, info in model.model_fields.items() if segment in (name, info.alias)),
            None,
        )
        if field is None:
            return []
        model, skip = _inner_model(field.annotation)
    if model is None or skip:
        return []
    return [info.alias or name for name, info in model.model_fields.items()]


def _inner_model(annotation: Any) -> tuple[type[BaseModel] | None, int]:
    """Find the model inside an annotation and how many list or mapping levels wrap it."""
    origin = get_origin(annotation)
    args = get_args(annotation)
    if origin is Annotated:
        return _inner_model(args[0])
    if origin in (Union, types.UnionType):
        for arg in args:
            model, depth = _inner_model(arg)
            if model is not None:
                return model, depth
        return None, 0
    if origin is not None and args and isinstance(origin, type) and issubclass(origin, Sequence | Mapping):
        model, depth = _inner_model(args[-1] if issubclass(origin, Mapping) else args[0])
        return model, depth + 1
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation, 0
    return None, 0
