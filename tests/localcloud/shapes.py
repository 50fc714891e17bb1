"""Checks the local cloud's raw JSON answers against botocore's service model, the way AWS's would parse."""

from __future__ import annotations

import json
from typing import Any

import botocore.session
from botocore.model import Shape

_JSON_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "timestamp": (int, float),
    "integer": (int,),
    "long": (int,),
    "boolean": (bool,),
    "double": (int, float),
    "float": (int, float),
}


def capture_raw(client: Any) -> dict[str, Any]:
    """Record the raw JSON body of every response the client receives, by operation name."""
    raw: dict[str, Any] = {}

    def keep(operation_model: Any, response_dict: dict[str, Any], **_: Any) -> None:
        raw[operation_model.name] = json.loads(response_dict["body"] or b"{}")

    client.meta.events.register("before-parse.*.*", keep)
    return raw


def problems(service: str, operation: str, payload: Any) -> list[str]:
    """Every way ``payload`` departs from the operation's output shape (empty when it conforms)."""
    model = botocore.session.get_session().get_service_model(service).operation_model(operation)
    found: list[str] = []
    _check(model.output_shape, payload, operation, found)
    return found


def _check(shape: Shape, value: Any, path: str, found: list[str]) -> None:
    kind = shape.type_name
    if kind == "structure":
        if not isinstance(value, dict):
            found.append(f"{path}: expected an object, got {type(value).__name__}")
            return
        members = shape.members  # type: ignore[attr-defined]
        for key, item in value.items():
            if key not in members:
                found.append(f"{path}.{key}: not in the {shape.name} shape")
            else:
                _check(members[key], item, f"{path}.{key}", found)
        for key in shape.required_members:  # type: ignore[attr-defined]
            if key not in value:
                found.append(f"{path}.{key}: required, missing")
    elif kind == "list":
        if not isinstance(value, list):
            found.append(f"{path}: expected a list")
            return
        for index, item in enumerate(value):
            _check(shape.member, item, f"{path}[{index}]", found)  # type: ignore[attr-defined]
    elif kind == "map":
        if not isinstance(value, dict):
            found.append(f"{path}: expected a map")
            return
        for key, item in value.items():
            _check(shape.value, item, f"{path}.{key}", found)  # type: ignore[attr-defined]
    else:
        expected = _JSON_TYPES.get(kind, (object,))
        if isinstance(value, bool) and kind not in ("boolean",):
            found.append(f"{path}: boolean where {kind} is expected")
        elif not isinstance(value, expected):
            found.append(f"{path}: {type(value).__name__} where {kind} is expected")
        if kind == "string" and isinstance(value, str):
            low, high = shape.metadata.get("min"), shape.metadata.get("max")
            if (low is not None and len(value) < low) or (high is not None and len(value) > high):
                found.append(f"{path}: length {len(value)} outside {low}..{high}")
            enum = getattr(shape, "enum", None)
            if enum and value not in enum:
                found.append(f"{path}: {value!r} not one of {enum}")
