"""One-time markers and the sweeper lease, kept in the idempotency table under a ``warden#`` prefix."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from warden.adapters.dynamo import condition_failed, to_value
from warden.ports import Clock

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

# The owner of a ``first`` marker: nobody in particular, so ``forget`` can remove it.
_NO_OWNER = "-"


class DynamoOnceStore:
    """Conditional writes on the idempotency table (key ``id``, TTL attribute ``expiration``).

    Times come from the clock port, not the host clock, so leases follow the emulated clock in the local cloud.
    DynamoDB TTL deletes lazily (up to days later), so every condition compares ``expiration`` itself.
    """

    def __init__(self, dynamodb: DynamoDBClient, table: str, clock: Clock) -> None:
        self._db = dynamodb
        self._table = table
        self._clock = clock

    def first(self, key: str, ttl_seconds: int) -> bool:
        return self._put(key, _NO_OWNER, ttl_seconds, "attribute_not_exists(id) OR expiration <= :now")

    def forget(self, key: str) -> None:
        self.release(key, _NO_OWNER)

    def acquire(self, key: str, owner: str, seconds: int) -> bool:
        return self._put(key, owner, seconds, "attribute_not_exists(id) OR expiration <= :now OR #owner = :owner")

    def release(self, key: str, owner: str) -> None:
        try:
            self._db.delete_item(
                TableName=self._table,
                Key={"id": to_value(f"warden#{key}")},
                ConditionExpression="#owner = :owner",
                ExpressionAttributeNames={"#owner": "owner"},
                ExpressionAttributeValues={":owner": to_value(owner)},
            )
        except ClientError as error:
            if not condition_failed(error):
                raise

    def _put(self, key: str, owner: str, seconds: int, condition: str) -> bool:
        now = int(self._clock.now().timestamp())
        names = {"#owner": "owner"} if "#owner" in condition else None
        values = {":now": to_value(now)}
        if names:
            values[":owner"] = to_value(owner)
        request: dict[str, Any] = {
            "TableName": self._table,
            "Item": {
                "id": to_value(f"warden#{key}"),
                "owner": to_value(owner),
                "expiration": to_value(now + seconds),
            },
            "ConditionExpression": condition,
            "ExpressionAttributeValues": values,
        }
        if names:
            request["ExpressionAttributeNames"] = names
        try:
            self._db.put_item(**request)
        except ClientError as error:
            if condition_failed(error):
                return False
            raise
        return True
