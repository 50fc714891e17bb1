"""Every scope's sweep heartbeat and its outage, read and noted by the dispatcher in the state table (organization
mode): BatchGetItem of the heartbeat items (100 keys a call), one Query of the ``sweeps-stopped`` partition."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from warden.adapters.aws import aws_call
from warden.adapters.dynamo import condition_failed, from_item, read_pages, to_item, to_value
from warden.adapters.state import heartbeat_key
from warden.errors import AwsCallFailed
from warden.scope import Scope
from warden.scope_liveness import ScopeBeat

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

_OUTAGES = "sweeps-stopped"
_BATCH = 100  # BatchGetItem takes at most 100 keys
_ROUNDS = 5  # UnprocessedKeys (throttling) are asked for again this many times in all


class DynamoScopeBeats:
    """Implements :class:`~warden.scope_liveness.ScopeBeats` on the state table."""

    def __init__(self, dynamodb: DynamoDBClient, table: str) -> None:
        self._db = dynamodb
        self._table = table

    def beats(self, scopes: Sequence[Scope]) -> dict[Scope, ScopeBeat]:
        by_key = {heartbeat_key(scope): scope for scope in scopes}
        keys = list(by_key)
        found: dict[Scope, ScopeBeat] = {}
        for start in range(0, len(keys), _BATCH):
            for item in self._get_batch(keys[start : start + _BATCH]):
                scope = by_key.get((str(item.get("pk")), str(item.get("sk"))))
                if scope is not None:
                    found[scope] = _beat(item)
        return found

    def beat(self, scope: Scope) -> ScopeBeat | None:
        """One scope's heartbeat item (GetItem: the read-only CLI's way), None when it has none."""
        pk, sk = heartbeat_key(scope)
        with aws_call("GetItem"):
            response = self._db.get_item(
                TableName=self._table, Key={"pk": to_value(pk), "sk": to_value(sk)}, ConsistentRead=True
            )
        item = from_item(response["Item"]) if "Item" in response else None
        return None if item is None else _beat(item)

    def watch_from(self, scopes: Sequence[Scope], at: datetime) -> None:
        for scope in scopes:
            pk, sk = heartbeat_key(scope)
            try:
                with aws_call("UpdateItem"):
                    self._db.update_item(
                        TableName=self._table,
                        Key={"pk": to_value(pk), "sk": to_value(sk)},
                        UpdateExpression="SET watched = :at",
                        # Not "and no `at`": an item whose `at` is unreadable (edited) must get its grace too.
                        ConditionExpression="attribute_not_exists(watched)",
                        ExpressionAttributeValues={":at": to_value(int(at.timestamp()))},
                    )
            except AwsCallFailed as error:
                if not condition_failed(error):
                    raise

    def outages(self) -> dict[str, datetime]:
        request: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": to_value(_OUTAGES)},
            "ConsistentRead": True,
        }
        items = read_pages(self._db.query, "Query", request, from_item, what="sweep outage")
        return {str(item["sk"]): since for item in items if (since := _time(item.get("since"))) is not None}

    def outage_began(self, scope: Scope, since: datetime) -> None:
        with aws_call("PutItem"):
            self._db.put_item(
                TableName=self._table,
                Item=to_item({"pk": _OUTAGES, "sk": scope.label, "since": int(since.timestamp())}),
            )

    def outage_ended(self, label: str) -> None:
        with aws_call("DeleteItem"):
            self._db.delete_item(TableName=self._table, Key={"pk": to_value(_OUTAGES), "sk": to_value(label)})

    def _get_batch(self, keys: list[tuple[str, str]]) -> list[dict[str, Any]]:
        request: dict[str, Any] = {
            self._table: {
                "Keys": [{"pk": to_value(pk), "sk": to_value(sk)} for pk, sk in keys],
                "ConsistentRead": True,
            }
        }
        items: list[dict[str, Any]] = []
        for _ in range(_ROUNDS):
            with aws_call("BatchGetItem"):
                response = self._db.batch_get_item(RequestItems=request)
            items += [from_item(item) for item in response.get("Responses", {}).get(self._table, [])]
            request = response.get("UnprocessedKeys") or {}
            if not request:
                return items
        left = len(request.get(self._table, {}).get("Keys", []))
        raise AwsCallFailed("BatchGetItem", RuntimeError(f"{left} sweep heartbeat(s) still unprocessed (throttled)"))


def _beat(item: dict[str, Any]) -> ScopeBeat:
    return ScopeBeat(last_sweep=_time(item.get("at")), watched_since=_time(item.get("watched")))


def _time(value: object) -> datetime | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return datetime.fromtimestamp(value, tz=UTC)
