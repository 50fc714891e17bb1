"""Plain dicts <-> DynamoDB attribute values, and the conditional-write failure code."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from warden.adapters.aws import error_code

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def to_item(data: dict[str, Any]) -> dict[str, Any]:
    """Serialise, dropping None and empty containers (DynamoDB rejects empty sets and has no use for nulls)."""
    return {key: _serializer.serialize(value) for key, value in data.items() if value not in (None, "", [], {})}


def to_value(value: Any) -> Any:
    return _serializer.serialize(value)


def from_item(item: dict[str, Any]) -> dict[str, Any]:
    return {key: _plain(_deserializer.deserialize(value)) for key, value in item.items()}


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {key: _plain(inner) for key, inner in value.items()}
    if isinstance(value, list):
        return [_plain(inner) for inner in value]
    return value


def condition_failed(error: ClientError) -> bool:
    return error_code(error) == "ConditionalCheckFailedException"
