"""Plain dicts <-> DynamoDB attribute values, and the conditional-write failure code."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Any, TypeVar

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from warden.adapters.aws import aws_call, error_code
from warden.errors import AwsCallFailed
from warden.observability import count, logger

_T = TypeVar("_T")

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


def condition_failed(error: AwsCallFailed) -> bool:
    """The failed call was a conditional write whose condition did not hold (not a fault: someone else won)."""
    return error_code(error) == "ConditionalCheckFailedException"


def read_pages(
    call: Callable[..., Any],
    operation: str,
    request: dict[str, Any],
    parse: Callable[[dict[str, Any]], _T],
    *,
    what: str,
) -> list[_T]:
    """Every item a Query or Scan returns, page after page, each parsed (one that cannot be read: :func:`readable`)."""
    found: list[_T] = []
    while True:
        with aws_call(operation):
            page = call(**request)
        found.extend(readable(page.get("Items", []), parse, what=what))
        if "LastEvaluatedKey" not in page:
            return found
        request = {**request, "ExclusiveStartKey": page["LastEvaluatedKey"]}


def readable(items: Iterable[dict[str, Any]], parse: Callable[[dict[str, Any]], _T], *, what: str) -> list[_T]:
    """Parse each item; one that cannot be read (written by hand, of another shape) is skipped, logged and counted.

    One bad item must not stop every sweep: the sweeper then judges its session on AWS's facts alone (the ledger
    is a record, not an authority), and a grant that cannot be read allows nothing (fail closed).
    """
    parsed: list[_T] = []
    for item in items:
        try:
            parsed.append(parse(item))
        except (KeyError, TypeError, ValueError) as error:
            count("ItemUnreadable")
            key = {name: item[name] for name in ("session_id", "id") if name in item}
            logger.error(f"skipped an unreadable {what} item", extra={"key": str(key), "problem": str(error)})
    return parsed
