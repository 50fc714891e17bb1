"""The warden's own state table: the last valid policy, the alert outbox, the sweep heartbeat, unjudged sessions.

One partition per concern (``pk``), items within it by ``sk``, so each read is one Query or GetItem. No item
carries a TTL: what is kept here must outlive cold starts, and the idempotency table's TTL would delete it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from warden.adapters.aws import aws_call
from warden.adapters.dynamo import from_item, to_item, to_value
from warden.errors import AwsCallFailed
from warden.ports import Clock
from warden.records import Alert, ChatCard, StoredPolicy
from warden.scope import Scope
from warden.timefmt import iso_offset

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

_POLICY = ("policy", "last-valid")
_HEARTBEAT = ("heartbeat", "sweep")
_OUTBOX = "outbox"
_UNJUDGED = "unjudged"
_TAMPER = "tamper"
_CANARY = ("canary", "state")
_POLICY_PUSH = "policy-push"
_CONDITION_FAILED = "ConditionalCheckFailedException"


class DynamoState:
    """Implements :class:`~warden.ports.PolicyCopy`, :class:`~warden.ports.Outbox` and :class:`~warden.ports.Liveness`.

    Times come from the clock port (the emulated clock in the local cloud); claims compare them in conditions.
    With an organization *scope*, what belongs to one account and region (heartbeat, unjudged sessions, canary) is
    kept under ``<partition>#<account>/<region>``; the policy copy, outbox, tamper and policy-push records are the
    organization's and stay where they are.
    """

    def __init__(self, dynamodb: DynamoDBClient, table: str, clock: Clock, *, scope: Scope | None = None) -> None:
        self._db = dynamodb
        self._table = table
        self._clock = clock
        suffix = f"#{scope.label}" if scope is not None and scope.org else ""
        self._heartbeat = heartbeat_key(scope)
        self._unjudged = _UNJUDGED + suffix
        self._canary = (_CANARY[0] + suffix, _CANARY[1])

    # ------------------------------------------------------------ policy copy
    def load(self) -> StoredPolicy | None:
        item = self._get(*_POLICY)
        if item is None or not isinstance(item.get("text"), str):
            return None
        return StoredPolicy(text=item["text"], digest=str(item.get("digest", "")), saved_at=_time(item.get("at")))

    def save(self, text: str, digest: str, at: datetime) -> None:
        with aws_call("PutItem"):
            self._db.put_item(
                TableName=self._table,
                Item=to_item({"pk": _POLICY[0], "sk": _POLICY[1], "text": text, "digest": digest, "at": _epoch(at)}),
            )

    # ------------------------------------------------------------ outbox
    def keep(self, key: str, alert: Alert, *, owner: str, seconds: int) -> bool:
        now = _epoch(self._clock.now())
        item = {
            "pk": _OUTBOX,
            "sk": key,
            "kept_at": now,
            "claimed_by": owner,
            "claimed_until": now + seconds,
            "kind": alert.kind,
            "severity": alert.severity,
            "subject": alert.subject,
            "body": alert.body,
            "session_id": alert.session_id,
            "card": json.dumps(alert.card.to_json()) if alert.card else None,
        }
        return self._conditional_put(item, "attribute_not_exists(sk)")

    def pending(self) -> list[tuple[str, Alert]]:
        items = self._query(_OUTBOX)
        kept = sorted(items, key=lambda item: (item.get("kept_at", 0), item["sk"]))
        return [
            (
                item["sk"],
                Alert(
                    kind=str(item.get("kind", "")),
                    severity=item.get("severity", "HIGH"),
                    subject=str(item.get("subject", "")),
                    body=str(item.get("body", "")),
                    session_id=item.get("session_id"),
                    card=_card(item.get("card")),
                ),
            )
            for item in kept
        ]

    def claim(self, key: str, owner: str, seconds: int) -> bool:
        now = _epoch(self._clock.now())
        try:
            with aws_call("UpdateItem"):
                self._db.update_item(
                    TableName=self._table,
                    Key={"pk": to_value(_OUTBOX), "sk": to_value(key)},
                    UpdateExpression="SET claimed_by = :owner, claimed_until = :until",
                    ConditionExpression="attribute_exists(sk) AND "
                    "(attribute_not_exists(claimed_until) OR claimed_until <= :now OR claimed_by = :owner)",
                    ExpressionAttributeValues={
                        ":owner": to_value(owner),
                        ":until": to_value(now + seconds),
                        ":now": to_value(now),
                    },
                )
        except AwsCallFailed as error:
            if error.code == _CONDITION_FAILED:
                return False
            raise
        return True

    def unclaim(self, key: str, owner: str) -> None:
        try:
            with aws_call("UpdateItem"):
                self._db.update_item(
                    TableName=self._table,
                    Key={"pk": to_value(_OUTBOX), "sk": to_value(key)},
                    UpdateExpression="REMOVE claimed_by, claimed_until",
                    ConditionExpression="claimed_by = :owner",
                    ExpressionAttributeValues={":owner": to_value(owner)},
                )
        except AwsCallFailed as error:
            if error.code != _CONDITION_FAILED:
                raise

    def sent(self, key: str) -> None:
        self._delete(_OUTBOX, key)

    # ------------------------------------------------------------ liveness
    def heartbeat(self, at: datetime) -> None:
        with aws_call("PutItem"):
            self._db.put_item(
                TableName=self._table,
                Item=to_item(
                    {"pk": self._heartbeat[0], "sk": self._heartbeat[1], "at": _epoch(at), "iso": iso_offset(at)}
                ),
            )

    def last_heartbeat(self) -> datetime | None:
        item = self._get(*self._heartbeat)
        return _time(item["at"]) if item and "at" in item else None

    def unjudged_since(self, session_id: str, now: datetime, problem: str) -> datetime:
        # Keep the first time (if_not_exists), refresh the problem: the alert names the latest error.
        with aws_call("UpdateItem"):
            response = self._db.update_item(
                TableName=self._table,
                Key={"pk": to_value(self._unjudged), "sk": to_value(session_id)},
                UpdateExpression="SET since = if_not_exists(since, :now), problem = :problem",
                ExpressionAttributeValues={":now": to_value(_epoch(now)), ":problem": to_value(problem[:1000])},
                ReturnValues="ALL_NEW",
            )
        return _time(from_item(response.get("Attributes", {})).get("since"))

    def judged(self, session_ids: Iterable[str]) -> None:
        for session_id in session_ids:
            self._delete(self._unjudged, session_id)

    def unjudged(self) -> dict[str, datetime]:
        return {item["sk"]: _time(item.get("since")) for item in self._query(self._unjudged)}

    # ------------------------------------------------------------ tamper watch and canary
    def record_tamper(self, sk: str, item: Mapping[str, Any]) -> bool:
        """Keep one tamper event (pk ``tamper``, sk ``<ISO time>#<eventID>``); False when it was kept already."""
        return self._conditional_put({"pk": _TAMPER, "sk": sk, **item}, "attribute_not_exists(sk)")

    def record_policy_push(self, digest: str, at: datetime, by: str) -> None:
        """``warden policy push`` announces the text it is about to write (its sha256), before PutParameter."""
        with aws_call("PutItem"):
            self._db.put_item(
                TableName=self._table,
                Item=to_item(
                    {"pk": _POLICY_PUSH, "sk": f"sha256#{digest}", "sha256": digest, "at": _epoch(at), "by": by[:300]}
                ),
            )

    def policy_pushed(self, digest: str, version: int) -> None:
        """The version PutParameter gave the announced text: the same text written again later is not a push."""
        with aws_call("UpdateItem"):
            self._db.update_item(
                TableName=self._table,
                Key={"pk": to_value(_POLICY_PUSH), "sk": to_value(f"sha256#{digest}")},
                UpdateExpression="SET version = :version",
                ExpressionAttributeValues={":version": to_value(version)},
            )

    def policy_push(self, digest: str) -> dict[str, Any] | None:
        return self._get(_POLICY_PUSH, f"sha256#{digest}")

    def canary(self) -> dict[str, Any] | None:
        return self._get(*self._canary)

    def claim_canary_send(self, nonce: str, now: float, every_seconds: float) -> bool:
        """Take the next canary send (a conditional write: two overlapping sweeps send one)."""
        return self._conditional_update(
            "SET nonce = :nonce, sent_at = :now, waiting_since = if_not_exists(waiting_since, :now) "
            "REMOVE send_error, unreachable",
            "attribute_not_exists(sent_at) OR sent_at <= :due",
            {":nonce": nonce, ":now": _decimal(now), ":due": _decimal(now - every_seconds)},
        )

    def canary_send_failed(self, nonce: str, problem: str) -> None:
        self._conditional_update("SET send_error = :problem", "nonce = :nonce", {":nonce": nonce, ":problem": problem})

    def canary_seen(self, nonce: str, now: float) -> dict[str, Any] | None:
        """Note the round trip of canary ``nonce``; the item as it was, or None when it is not the one awaited."""
        try:
            with aws_call("UpdateItem"):
                response = self._db.update_item(
                    TableName=self._table,
                    Key={"pk": to_value(self._canary[0]), "sk": to_value(self._canary[1])},
                    UpdateExpression="SET seen_at = :now REMOVE waiting_since, blind_since",
                    ConditionExpression="nonce = :nonce AND attribute_exists(waiting_since)",
                    ExpressionAttributeValues={":nonce": to_value(nonce), ":now": to_value(_decimal(now))},
                    ReturnValues="ALL_OLD",
                )
        except AwsCallFailed as error:
            if error.code == _CONDITION_FAILED:
                return None
            raise
        old = from_item(response.get("Attributes", {}))
        sent_at = float(old.get("sent_at", now))
        self._conditional_update(
            "SET round_trip_ms = :ms", "nonce = :nonce", {":nonce": nonce, ":ms": max(0, int((now - sent_at) * 1000))}
        )
        return old

    def mark_unreachable(self, now: float, problem: str) -> None:
        """Organization mode: the scope's member role could not be assumed (no canary could be sent); the outage
        starts now unless it already has."""
        self._conditional_update(
            "SET waiting_since = if_not_exists(waiting_since, :now), unreachable = :problem",
            "attribute_not_exists(unreachable) OR attribute_exists(unreachable)",
            {":now": _decimal(now), ":problem": problem[:1000]},
        )

    def mark_blind(self, waiting_since: float, now: float) -> bool:
        return self._conditional_update(
            "SET blind_since = :now",
            "waiting_since = :since AND attribute_not_exists(blind_since)",
            {":since": _decimal(waiting_since), ":now": _decimal(now)},
        )

    def forward_problem_seen(self, problem: str, now: float) -> dict[str, Any] | None:
        """Organization mode: the forward rule no longer forwards what the warden needs. The item after the write
        when this begins the rule's outage (``rule_since`` = *now*); None when it had begun (its text is updated)."""
        values = {":problem": problem[:1000], ":now": _decimal(now)}
        began = self._update_returning(
            "SET rule_problem = :problem, rule_since = :now", "attribute_not_exists(rule_since)", values
        )
        if began is None:
            self._conditional_update("SET rule_problem = :problem", "attribute_exists(rule_since)", values)
        return began

    def forward_problem_cleared(self, since: float) -> dict[str, Any] | None:
        """End the rule's outage that began at *since*; the item after it, None when another sweep ended it."""
        return self._update_returning(
            "REMOVE rule_problem, rule_since", "rule_since = :since", {":since": _decimal(since)}
        )

    def _conditional_update(self, expression: str, condition: str, values: Mapping[str, Any]) -> bool:
        return self._update_returning(expression, condition, values, returns="NONE") is not None

    def _update_returning(
        self, expression: str, condition: str, values: Mapping[str, Any], *, returns: str = "ALL_NEW"
    ) -> dict[str, Any] | None:
        """A conditional update of the canary item; the item after it ({} when not asked for), None when the
        condition failed."""
        try:
            with aws_call("UpdateItem"):
                response = self._db.update_item(
                    TableName=self._table,
                    Key={"pk": to_value(self._canary[0]), "sk": to_value(self._canary[1])},
                    UpdateExpression=expression,
                    ConditionExpression=condition,
                    ExpressionAttributeValues={key: to_value(value) for key, value in values.items()},
                    ReturnValues=returns,  # type: ignore[arg-type]
                )
        except AwsCallFailed as error:
            if error.code == _CONDITION_FAILED:
                return None
            raise
        return from_item(response.get("Attributes", {}))

    # ------------------------------------------------------------ plumbing
    def _get(self, pk: str, sk: str) -> dict[str, Any] | None:
        with aws_call("GetItem"):
            response = self._db.get_item(
                TableName=self._table, Key={"pk": to_value(pk), "sk": to_value(sk)}, ConsistentRead=True
            )
        return from_item(response["Item"]) if "Item" in response else None

    def _query(self, pk: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        request: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": to_value(pk)},
            "ConsistentRead": True,
        }
        while True:
            with aws_call("Query"):
                page = self._db.query(**request)
            items.extend(from_item(item) for item in page.get("Items", []))
            if not page.get("LastEvaluatedKey"):
                return items
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def _conditional_put(self, item: dict[str, Any], condition: str) -> bool:
        try:
            with aws_call("PutItem"):
                self._db.put_item(TableName=self._table, Item=to_item(item), ConditionExpression=condition)
        except AwsCallFailed as error:
            if error.code == _CONDITION_FAILED:
                return False
            raise
        return True

    def _delete(self, pk: str, sk: str) -> None:
        with aws_call("DeleteItem"):
            self._db.delete_item(TableName=self._table, Key={"pk": to_value(pk), "sk": to_value(sk)})


def heartbeat_key(scope: Scope | None) -> tuple[str, str]:
    """(pk, sk) of the sweep heartbeat: ``heartbeat``/``sweep``; one scope's ``heartbeat#<account>/<region>``."""
    suffix = f"#{scope.label}" if scope is not None and scope.org else ""
    return _HEARTBEAT[0] + suffix, _HEARTBEAT[1]


def _decimal(seconds: float) -> Decimal:
    """Epoch seconds to the millisecond, as DynamoDB stores numbers."""
    return Decimal(str(round(seconds, 3)))


def _epoch(moment: datetime) -> int:
    return int(moment.timestamp())


def _time(value: Any) -> datetime:
    return datetime.fromtimestamp(int(value or 0), tz=UTC)


def _card(kept: object) -> ChatCard | None:
    """The chat card an outbox item kept; one that cannot be read is rebuilt from the alert's text when sent."""
    if not isinstance(kept, str):
        return None
    try:
        return ChatCard.from_json(json.loads(kept))
    except ValueError:  # json.JSONDecodeError is a ValueError too
        return None
