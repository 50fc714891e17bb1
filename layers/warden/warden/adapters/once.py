"""One-time markers and the sweeper lease, kept in the idempotency table under a ``warden#`` prefix."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from warden.adapters.aws import aws_call
from warden.adapters.dynamo import condition_failed, to_value
from warden.errors import AwsCallFailed
from warden.ports import Clock
from warden.scope import Scope
from warden.timefmt import utc_seconds

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

# The owner of a ``first`` marker: nobody in particular, so ``forget`` can remove it.
_NO_OWNER = "-"


class DynamoOnceStore:
    """Conditional writes on the idempotency table (key ``id``, TTL attribute ``expiration``).

    Times come from the clock port, not the host clock, so leases follow the emulated clock in the local cloud.
    DynamoDB TTL deletes lazily (up to days later), so every condition compares ``expiration`` itself.
    With an organization *scope*, every key is the scope's (``warden#<account>/<region>/<key>``): markers and
    leases of one account and region never stand in for another's.
    """

    def __init__(self, dynamodb: DynamoDBClient, table: str, clock: Clock, *, scope: Scope | None = None) -> None:
        self._db = dynamodb
        self._table = table
        self._clock = clock
        self._scope = scope

    def _id(self, key: str) -> Any:
        return to_value(f"warden#{self._scope.key(key) if self._scope else key}")

    def first(self, key: str, ttl_seconds: int) -> bool:
        return self._put(key, _NO_OWNER, ttl_seconds, "attribute_not_exists(id) OR expiration <= :now")

    def forget(self, key: str) -> None:
        self.release(key, _NO_OWNER)

    def acquire(self, key: str, owner: str, seconds: int) -> bool:
        return self._put(key, owner, seconds, "attribute_not_exists(id) OR expiration <= :now OR #owner = :owner")

    def take_over_stale(self, key: str, owner: str, seconds: int) -> str | None:
        # A lease is written for at most *seconds* (one sweep's timeout): a stored expiry beyond now + seconds
        # was not written by a sweep. Taking it over is a conditional write, so two sweeps cannot both win.
        now = int(self._clock.now().timestamp())
        try:
            with aws_call("PutItem"):
                response = self._db.put_item(
                    TableName=self._table,
                    Item={
                        "id": self._id(key),
                        "owner": to_value(owner),
                        "expiration": to_value(now + seconds),
                    },
                    # Also an expiry that is missing or not a number: no condition of ``acquire`` could ever free it.
                    ConditionExpression="attribute_exists(id) AND (attribute_not_exists(expiration) OR "
                    "NOT attribute_type(expiration, :number) OR expiration > :limit)",
                    ExpressionAttributeValues={":limit": to_value(now + seconds), ":number": to_value("N")},
                    ReturnValues="ALL_OLD",
                )
        except AwsCallFailed as error:
            if condition_failed(error):
                return None
            raise
        old = response.get("Attributes", {}).get("expiration", {})
        if "N" in old:
            try:
                return utc_seconds(datetime.fromtimestamp(int(old["N"]), tz=UTC))
            except (ValueError, OverflowError, OSError):
                return f"epoch {old['N'][:40]}"
        return f"no usable expiry ({str(old)[:60] or 'none'})"

    def release(self, key: str, owner: str) -> None:
        try:
            with aws_call("DeleteItem"):
                self._db.delete_item(
                    TableName=self._table,
                    Key={"id": self._id(key)},
                    ConditionExpression="#owner = :owner",
                    ExpressionAttributeNames={"#owner": "owner"},
                    ExpressionAttributeValues={":owner": to_value(owner)},
                )
        except AwsCallFailed as error:
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
                "id": self._id(key),
                "owner": to_value(owner),
                "expiration": to_value(now + seconds),
            },
            "ConditionExpression": condition,
            "ExpressionAttributeValues": values,
        }
        if names:
            request["ExpressionAttributeNames"] = names
        try:
            with aws_call("PutItem"):
                self._db.put_item(**request)
        except AwsCallFailed as error:
            if condition_failed(error):
                return False
            raise
        return True
