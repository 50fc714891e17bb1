"""Just-in-time grants in DynamoDB, read through the ``by-state-expiry`` index (never a scan on a hot path)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from warden.adapters.aws import aws_call
from warden.adapters.dynamo import condition_failed, from_item, read_pages, to_item, to_value
from warden.errors import AwsCallFailed, GrantConflict
from warden.policy import Grant
from warden.timefmt import iso, parse_iso

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

INDEX = "by-state-expiry"
_PURGE_AFTER = timedelta(days=400)  # grants stay for audit well past expiry, then DynamoDB TTL removes them


@dataclass(frozen=True)
class GrantExtension:
    """One extension of a grant, as the item's ``extensions`` list keeps it: who moved the expiry, when, why."""

    by: str
    at: datetime
    reason: str
    previous_expires_at: datetime
    expires_at: datetime

    def to_document(self) -> dict[str, str]:
        return {
            "by": self.by,
            "at": iso(self.at),
            "reason": self.reason,
            "previous_expires_at": iso(self.previous_expires_at),
            "expires_at": iso(self.expires_at),
        }

    @classmethod
    def from_document(cls, data: dict[str, Any]) -> GrantExtension:
        return cls(
            by=str(data["by"]),
            at=parse_iso(str(data["at"])),
            reason=str(data["reason"]),
            previous_expires_at=parse_iso(str(data["previous_expires_at"])),
            expires_at=parse_iso(str(data["expires_at"])),
        )


class DynamoGrantStore:
    def __init__(self, dynamodb: DynamoDBClient, table: str) -> None:
        self._db = dynamodb
        self._table = table

    # -- read by the event path and the sweeper
    def active(self, now: datetime) -> list[Grant]:
        return self._query("expires_at > :now", now)

    def due_for_expiry(self, now: datetime) -> list[Grant]:
        return self._query("expires_at <= :now", now)

    def mark_expired(self, grant: Grant, now: datetime) -> bool:
        return self._move_state(
            grant.id,
            "SET #state = :expired, expired_at = :now",
            "#state = :active AND expires_at <= :now",
            {":expired": "expired", ":active": "active", ":now": iso(now)},
        )

    def unmark_expired(self, grant: Grant) -> None:
        self._move_state(
            grant.id,
            "SET #state = :active REMOVE expired_at",
            "#state = :expired",
            {":active": "active", ":expired": "expired"},
        )

    def _move_state(self, grant_id: str, update: str, condition: str, values: dict[str, str]) -> bool:
        """One conditional write of the grant's state; False when the condition did not hold (someone else won)."""
        try:
            with aws_call("UpdateItem"):
                self._db.update_item(
                    TableName=self._table,
                    Key={"id": to_value(grant_id)},
                    UpdateExpression=update,
                    ConditionExpression=condition,
                    ExpressionAttributeNames={"#state": "state"},
                    ExpressionAttributeValues={name: to_value(value) for name, value in values.items()},
                )
        except AwsCallFailed as error:
            if condition_failed(error):
                return False
            raise
        return True

    # -- written by the CLI
    def create(self, grant: Grant) -> None:
        try:
            with aws_call("PutItem"):
                self._db.put_item(
                    TableName=self._table, Item=grant_item(grant), ConditionExpression="attribute_not_exists(id)"
                )
        except AwsCallFailed as error:
            if condition_failed(error):
                raise GrantConflict(f"grant {grant.id} already exists") from error
            raise

    def revoke(self, grant_id: str, *, by: str, now: datetime) -> Grant:
        try:
            with aws_call("UpdateItem"):
                response = self._db.update_item(
                    TableName=self._table,
                    Key={"id": to_value(grant_id)},
                    UpdateExpression="SET #state = :revoked, revoked_at = :now, revoked_by = :by",
                    ConditionExpression="attribute_exists(id) AND #state = :active",
                    ExpressionAttributeNames={"#state": "state"},
                    ExpressionAttributeValues={
                        ":revoked": to_value("revoked"),
                        ":active": to_value("active"),
                        ":now": to_value(iso(now)),
                        ":by": to_value(by),
                    },
                    ReturnValues="ALL_NEW",
                )
        except AwsCallFailed as error:
            if condition_failed(error):
                current = self.get(grant_id)
                if current is None:
                    raise GrantConflict(f"no grant {grant_id}") from error
                raise GrantConflict(f"grant {grant_id} is already {current.state}") from error
            raise
        return grant_from_item(response["Attributes"])

    def extend(
        self, grant: Grant, *, until: datetime, by: str, reason: str, now: datetime
    ) -> tuple[Grant, list[GrantExtension]]:
        """Move ``grant``'s expiry to ``until`` and record who did it and why; the grant and its extensions after.

        The write holds only if the grant is still active, unexpired, and expires when ``grant`` says: a revoke, an
        expiry or another extension that lands first is never overwritten (GrantConflict says which happened).
        """
        if until <= grant.expires_at:
            raise ValueError(f"an extension must move the expiry later than {iso(grant.expires_at)}")
        entry = GrantExtension(by=by, at=now, reason=reason, previous_expires_at=grant.expires_at, expires_at=until)
        try:
            with aws_call("UpdateItem"):
                response = self._db.update_item(
                    TableName=self._table,
                    Key={"id": to_value(grant.id)},
                    UpdateExpression=(
                        "SET expires_at = :until, purge_at = :purge, "
                        "extensions = list_append(if_not_exists(extensions, :none), :entry)"
                    ),
                    ConditionExpression=(
                        "attribute_exists(id) AND #state = :active AND expires_at = :was AND expires_at > :now"
                    ),
                    ExpressionAttributeNames={"#state": "state"},
                    ExpressionAttributeValues={
                        ":until": to_value(iso(until)),
                        ":purge": to_value(int((until + _PURGE_AFTER).timestamp())),
                        ":none": to_value([]),
                        ":entry": to_value([entry.to_document()]),
                        ":active": to_value("active"),
                        ":was": to_value(iso(grant.expires_at)),
                        ":now": to_value(iso(now)),
                    },
                    ReturnValues="ALL_NEW",
                )
        except AwsCallFailed as error:
            if condition_failed(error):
                raise GrantConflict(self._why_not_extended(grant, now)) from error
            raise
        item = response["Attributes"]
        return grant_from_item(item), grant_extensions(item)

    def _why_not_extended(self, grant: Grant, now: datetime) -> str:
        current = self.get(grant.id)
        if current is None:
            return f"no grant {grant.id}"
        if current.state == "revoked":
            by = f" by {current.revoked_by}" if current.revoked_by else ""
            return f"grant {grant.id} was revoked at {_iso_or_unknown(current.revoked_at)}{by}"
        if current.state == "expired" or now >= current.expires_at:
            return f"grant {grant.id} expired at {iso(current.expires_at)}"
        if current.expires_at != grant.expires_at:
            return f"grant {grant.id} was changed meanwhile: it now expires at {iso(current.expires_at)}"
        return f"grant {grant.id} changed meanwhile"

    def get(self, grant_id: str) -> Grant | None:
        with aws_call("GetItem"):
            response = self._db.get_item(TableName=self._table, Key={"id": to_value(grant_id)}, ConsistentRead=True)
        item = response.get("Item")
        return grant_from_item(item) if item else None

    def all(self) -> list[Grant]:
        """Every grant (the CLI's ``grant list``; an operator command, not a hot path)."""
        grants = read_pages(self._db.scan, "Scan", {"TableName": self._table}, grant_from_item, what="grant")
        return sorted(grants, key=lambda grant: grant.starts_at)

    def _query(self, condition: str, now: datetime) -> list[Grant]:
        request: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": INDEX,
            "KeyConditionExpression": f"#state = :active AND {condition}",
            "ExpressionAttributeNames": {"#state": "state"},
            "ExpressionAttributeValues": {":active": to_value("active"), ":now": to_value(iso(now))},
        }
        return read_pages(self._db.query, "Query", request, grant_from_item, what="grant")


def grant_item(grant: Grant) -> dict[str, Any]:
    return to_item(
        {
            "id": grant.id,
            "principal": grant.principal,
            "targets": grant.targets.model_dump(mode="json", exclude_none=True),
            "starts_at": iso(grant.starts_at),
            "expires_at": iso(grant.expires_at),
            "reason": grant.reason,
            "created_by": grant.created_by,
            "created_at": iso(grant.created_at) if grant.created_at else None,
            "state": grant.state,
            "revoked_at": iso(grant.revoked_at) if grant.revoked_at else None,
            "revoked_by": grant.revoked_by,
            "purge_at": int((grant.expires_at + _PURGE_AFTER).timestamp()),
            "accounts": list(grant.accounts) if grant.accounts is not None else None,
            "regions": list(grant.regions) if grant.regions is not None else None,
        }
    )


def grant_from_item(item: dict[str, Any]) -> Grant:
    data = from_item(item)
    for bookkeeping in ("purge_at", "expired_at", "extensions"):
        data.pop(bookkeeping, None)
    return Grant.model_validate(data)


def grant_extensions(item: dict[str, Any]) -> list[GrantExtension]:
    """The item's extension history, oldest first (none for a grant never extended)."""
    history = from_item(item).get("extensions") or []
    return [GrantExtension.from_document(entry) for entry in history]


def _iso_or_unknown(moment: datetime | None) -> str:
    return iso(moment) if moment else "an unknown time"
