"""DynamoDB in the local cloud: atomic conditional writes, and faster response serialisation.

DynamoDB applies each write to an item atomically, condition included: of two concurrent conditional writes
on one item, at most one succeeds. moto checks the condition and then writes, with nothing in between to stop a
second thread, so under concurrent delivery both could "win" and an exactly-once guarantee would pass here and
fail nowhere else. Each DynamoDB request is therefore applied under one process-wide lock.

moto 5.2 serialises every response through a generic, shape-driven serializer that costs about 13 ms per
DynamoDB item; a sweep reading 10,000 ledger rows would spend minutes there. DynamoDB speaks plain JSON
(``application/x-amz-json-1.0``) whose body *is* the result dict moto already holds in wire format
(``{"S": ...}``), so a successful DynamoDB result is written with ``json.dumps`` instead. Errors keep
moto's own path.
"""

from __future__ import annotations

import base64
import json
import threading
from typing import Any, cast

_installed = False
# One DynamoDB request at a time: the in-memory backend holds no locks of its own.
_DYNAMODB_LOCK = threading.RLock()
# Item-bearing operations only: their results hold nothing but attribute values, counts and keys.
_ITEM_OPERATIONS = frozenset(
    {
        "GetItem", "PutItem", "UpdateItem", "DeleteItem", "Query", "Scan",
        "BatchGetItem", "BatchWriteItem", "TransactGetItems", "TransactWriteItems",
    }
)  # fmt: skip


def _wire(value: Any) -> Any:
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, set | frozenset):
        return sorted(value)
    raise TypeError(f"cannot serialise {type(value).__name__}")


def install() -> None:
    """Patch moto's DynamoDB handler once per process (idempotent)."""
    global _installed
    if _installed:
        return
    from moto.dynamodb.responses import DynamoHandler, DynamoResult

    original = DynamoHandler.serialized
    original_call = DynamoHandler.call_action

    def call_action(self: Any) -> Any:
        with _DYNAMODB_LOCK:
            return original_call(self)

    def serialized(self: Any, action_result: Any) -> Any:
        if (
            type(action_result) is not DynamoResult
            or isinstance(action_result.result, Exception)
            or self._get_action() not in _ITEM_OPERATIONS
        ):
            return original(self, action_result)
        payload = cast(dict[str, Any], action_result.result)  # a DynamoResult always holds a dict
        result = {key: value for key, value in payload.items() if value is not None}
        headers = {"Content-Type": "application/x-amz-json-1.0", **self.response_headers}
        return 200, headers, json.dumps(result, default=_wire)

    DynamoHandler.serialized = serialized  # type: ignore[method-assign]
    DynamoHandler.call_action = call_action  # type: ignore[method-assign]
    _installed = True
