"""The session ledger in DynamoDB: one row per session, conditional writes so events may arrive in any order."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from warden.adapters.aws import aws_call
from warden.adapters.dynamo import condition_failed, from_item, read_pages, to_item, to_value
from warden.errors import AwsCallFailed
from warden.records import WARDEN_ACTOR, AlertMarker, LedgerEntry
from warden.scope import Scope
from warden.timefmt import iso, iso_day, parse_iso

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

OPEN_INDEX = "open-sessions"
DAY_INDEX = "by-day"
_TIME_FIELDS = ("started_at", "deadline", "decided_at", "ended_at")
# Written by the start of a session; the end event owns ended_at / ended_by / end_reason / duration_seconds.
_START_FIELDS = (
    "principal_arn", "principal", "identity", "target", "target_name", "tags", "document", "reason", "host",
    "started_at", "decision", "basis", "rule", "grant", "deadline", "why", "mode", "action", "adopted", "decided_at",
    "event_id", "transcript", "transcript_links",
)  # fmt: skip
_DECISION_FIELDS = (
    "target_name",
    "tags",
    "decision",
    "basis",
    "rule",
    "grant",
    "deadline",
    "why",
    "decided_at",
    "action",
    "transcript",
    "transcript_links",
)
# A re-decision can clear these (a session once allowed by a grant, now denied by default, has no grant):
# they are removed from the row rather than left stale.
_CLEARABLE = ("rule", "grant", "deadline")


# Today's value of the open-sessions index key: single-account rows keep it.
_OPEN = "open"


class DynamoLedger:
    """The ledger of one scope.

    Single-account mode (no scope, or a scope that is not an organization's): rows exactly as they always were. In
    organization mode a row's key is ``<account>/<region>/<session id>``, it carries ``aws_session_id`` (the real
    id), ``account`` and ``region``, and its open-sessions index value is ``<account>/<region>``: each scope's open
    sessions are one index query. Rows read back carry the real session id.
    """

    def __init__(
        self, dynamodb: DynamoDBClient, table: str, *, retention_days: int = 400, scope: Scope | None = None
    ) -> None:
        self._db = dynamodb
        self._table = table
        self._retention = timedelta(days=retention_days)
        self._scope = scope if scope is not None and scope.org else None
        self._open = self._scope.label if self._scope else _OPEN

    def get(self, session_id: str) -> LedgerEntry | None:
        with aws_call("GetItem"):
            response = self._db.get_item(TableName=self._table, Key=self._item_key(session_id))
        item = response.get("Item")
        return entry_from_item(item) if item else None

    def record_start(self, entry: LedgerEntry, *, first: bool = False) -> LedgerEntry:
        fields = self._start_fields(entry)
        cleared = _cleared(entry)
        # first: the start of a StartSession event, written only while no other event's start is recorded (a row
        # the sweeper adopted, or closed before its start, names no event): the first record wins, atomically.
        guard = "(attribute_not_exists(event_id) OR event_id = :event_id)" if first and entry.event_id else None
        guard_values = {":event_id": entry.event_id} if guard and entry.event_id else None
        try:
            return self._update(
                entry.session_id,
                self._open_fields(entry, fields),
                remove=cleared,
                condition="attribute_not_exists(ended_at)" + (f" AND {guard}" if guard else ""),
                condition_values=guard_values,
            )
        except AwsCallFailed as error:
            if not condition_failed(error):
                raise
        # The end arrived first: fill in who/what/decision, but the row stays closed (never resurrected).
        closed = self.get(entry.session_id)
        if closed and guard and closed.event_id not in (None, entry.event_id):
            return closed  # another event's start is recorded: left as it is
        if closed and closed.ended_at and entry.started_at:
            fields["duration_seconds"] = _seconds(entry.started_at, closed.ended_at)
        try:
            return self._update(
                entry.session_id, fields, remove=cleared, condition=guard, condition_values=guard_values
            )
        except AwsCallFailed as error:
            if not condition_failed(error):
                raise
        found = self.get(entry.session_id)
        return found if found is not None else entry

    def open_item(self, entry: LedgerEntry) -> dict[str, Any]:
        """The item :meth:`record_start` writes for a new open session, keyed and indexed as this scope's ledger
        does: for a bulk load (BatchWriteItem) of rows it would have written one at a time."""
        return {**to_item(self._open_fields(entry, self._start_fields(entry))), **self._item_key(entry.session_id)}

    def _start_fields(self, entry: LedgerEntry) -> dict[str, Any]:
        """What a session's start sets: its start fields and its index fields."""
        return {**_values(entry, _START_FIELDS), **self._index_fields(entry.started_at)}

    def _open_fields(self, entry: LedgerEntry, fields: dict[str, Any]) -> dict[str, Any]:
        """The start fields of a row that is open: whose it is, its status, its open-sessions index value."""
        return {**fields, **self._where(entry.session_id), "status": "open", "open": self._open}

    def record_failed_call(self, entry: LedgerEntry) -> None:
        item = entry_item(entry)
        item.update(to_item({**self._index_fields(entry.started_at), **self._where(entry.session_id)}))
        item.update(self._item_key(entry.session_id))
        with aws_call("PutItem"):
            self._db.put_item(TableName=self._table, Item=item)

    def update_decision(self, entry: LedgerEntry) -> None:
        try:
            self._update(
                entry.session_id,
                _values(entry, _DECISION_FIELDS),
                remove=_cleared(entry),
                condition="attribute_exists(#open)",
            )
        except AwsCallFailed as error:
            if not condition_failed(error):  # closed meanwhile: nothing to update
                raise

    def claim(self, session_id: str, marker: AlertMarker) -> bool:
        name = marker.value
        try:
            with aws_call("UpdateItem"):
                self._db.update_item(
                    TableName=self._table,
                    Key=self._item_key(session_id),
                    UpdateExpression="ADD markers :marker",
                    ConditionExpression="attribute_exists(session_id) AND NOT contains(markers, :name)",
                    ExpressionAttributeValues={":marker": {"SS": [name]}, ":name": to_value(name)},
                )
        except AwsCallFailed as error:
            if condition_failed(error):
                return False
            raise
        return True

    def record_terminated(self, entry: LedgerEntry, *, ended_at: datetime, reason: str, marker: AlertMarker) -> bool:
        name = marker.value
        fields = _values(entry, _START_FIELDS)
        fields.update(self._index_fields(entry.started_at))
        fields.update(self._where(entry.session_id))
        fields.update({"status": "ended", "ended_at": iso(ended_at), "ended_by": WARDEN_ACTOR, "end_reason": reason})
        if entry.started_at:
            fields["duration_seconds"] = _seconds(entry.started_at, ended_at)
        for claim in (True, False):
            try:
                self._update(
                    entry.session_id,
                    fields,
                    remove=("open", *_cleared(entry)),
                    add=(("markers", name),) if claim else (),
                    condition="NOT contains(markers, :marker)" if claim else None,
                    condition_values={":marker": name} if claim else None,
                )
            except AwsCallFailed as error:
                if not condition_failed(error):
                    raise
                continue  # someone already acted on this session: record, but do not claim again
            return claim
        return False

    def release(self, session_id: str, marker: AlertMarker) -> None:
        with aws_call("UpdateItem"):
            self._db.update_item(
                TableName=self._table,
                Key=self._item_key(session_id),
                UpdateExpression="DELETE markers :marker",
                ExpressionAttributeValues={":marker": {"SS": [marker.value]}},
            )

    def close(
        self, session_id: str, *, ended_at: datetime, ended_by: str | None, reason: str, started_at: datetime | None
    ) -> bool:
        fields: dict[str, Any] = {"status": "ended", "ended_at": iso(ended_at), "end_reason": reason}
        if ended_by:
            fields["ended_by"] = ended_by
        if started_at:
            fields["duration_seconds"] = _seconds(started_at, ended_at)
        fields["purge_at"] = int((ended_at + self._retention).timestamp())
        fields.update(self._where(session_id))
        try:
            self._update(session_id, fields, remove=("open",), condition="attribute_not_exists(ended_at)")
        except AwsCallFailed as error:
            if condition_failed(error):
                return False
            raise
        return True

    def record_warning(self, session_id: str, key: str, record: Mapping[str, str]) -> None:
        # Two writes: DynamoDB refuses to create a map and set one of its keys in the same update.
        for expression in ("SET #w = if_not_exists(#w, :empty)", "SET #w.#k = :record"):
            try:
                with aws_call("UpdateItem"):
                    self._db.update_item(
                        TableName=self._table,
                        Key=self._item_key(session_id),
                        UpdateExpression=expression,
                        ConditionExpression="attribute_exists(#open)",
                        ExpressionAttributeNames={
                            "#w": "warnings",
                            "#open": "open",
                            **({"#k": key} if "#k" in expression else {}),
                        },
                        ExpressionAttributeValues={":empty": {"M": {}}}
                        if ":empty" in expression
                        else {":record": to_value(dict(record))},
                    )
            except AwsCallFailed as error:
                if condition_failed(error):  # closed meanwhile: the row keeps what it had
                    return
                raise

    def open_entries(self) -> list[LedgerEntry]:
        return self.query_index(OPEN_INDEX, "open", self._open)

    def query_index(self, index: str, key: str, value: str, *, since: datetime | None = None) -> list[LedgerEntry]:
        condition = "#key = :value" + (" AND started_at >= :since" if since else "")
        values = {":value": to_value(value)}
        if since:
            values[":since"] = to_value(iso(since))
        request: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": index,
            "KeyConditionExpression": condition,
            "ExpressionAttributeNames": {"#key": key},
            "ExpressionAttributeValues": values,
        }
        return read_pages(self._db.query, "Query", request, entry_from_item, what="ledger")

    def _item_key(self, session_id: str) -> dict[str, Any]:
        return {"session_id": to_value(self._scope.key(session_id) if self._scope else session_id)}

    def _where(self, session_id: str) -> dict[str, Any]:
        """The attributes that say whose row it is, in organization mode (none in single-account mode)."""
        if self._scope is None:
            return {}
        return {"aws_session_id": session_id, "account": self._scope.account, "region": self._scope.region}

    def _index_fields(self, started_at: datetime | None) -> dict[str, Any]:
        if started_at is None:
            return {}
        return {"day": iso_day(started_at.astimezone(UTC)), "purge_at": int((started_at + self._retention).timestamp())}

    def _update(
        self,
        session_id: str,
        fields: dict[str, Any],
        *,
        remove: tuple[str, ...] = (),
        add: tuple[tuple[str, str], ...] = (),
        condition: str | None = None,
        condition_values: dict[str, str] | None = None,
    ) -> LedgerEntry:
        names = {f"#{index}": name for index, name in enumerate(fields)}
        setters = [f"#{index} = :{index}" for index in range(len(fields))]
        values = {f":{index}": to_value(value) for index, value in enumerate(fields.values())}
        removers = [f"#r{index}" for index in range(len(remove))]
        names.update({f"#r{index}": name for index, name in enumerate(remove)})
        expression = "SET " + ", ".join(setters) + (" REMOVE " + ", ".join(removers) if removers else "")
        for index, (name, member) in enumerate(add):
            names[f"#a{index}"] = name
            values[f":a{index}"] = {"SS": [member]}
            expression += f" ADD #a{index} :a{index}"
        for placeholder, value in (condition_values or {}).items():
            values[placeholder] = to_value(value)
        request: dict[str, Any] = {
            "TableName": self._table,
            "Key": self._item_key(session_id),
            "UpdateExpression": expression,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
            "ReturnValues": "ALL_NEW",
        }
        if condition:
            request["ConditionExpression"] = condition
            if "#open" in condition:
                names["#open"] = "open"
        with aws_call("UpdateItem"):
            response = self._db.update_item(**request)
        return entry_from_item(response["Attributes"])


def _values(entry: LedgerEntry, names: tuple[str, ...]) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for name in names:
        value = getattr(entry, name)
        if value is None or value in ({}, []):
            continue
        data[name] = iso(value) if name in _TIME_FIELDS else value
    return data


def _cleared(entry: LedgerEntry) -> tuple[str, ...]:
    return tuple(name for name in _CLEARABLE if getattr(entry, name) is None)


def _seconds(start: datetime, end: datetime) -> int:
    return max(0, int((end - start).total_seconds()))


def entry_item(entry: LedgerEntry) -> dict[str, Any]:
    data = {name: getattr(entry, name) for name in LedgerEntry.__dataclass_fields__}
    for name in _TIME_FIELDS:
        if data[name] is not None:
            data[name] = iso(data[name])
    data["adopted"] = data["adopted"] or None
    return to_item(data)


def entry_from_item(item: dict[str, Any]) -> LedgerEntry:
    """The row as a ledger entry; an organization-mode row's ``session_id`` is its real id (``aws_session_id``)."""
    data = from_item(item)
    known = {name: data[name] for name in LedgerEntry.__dataclass_fields__ if name in data}
    if isinstance(data.get("aws_session_id"), str):
        known["session_id"] = data["aws_session_id"]
    for name in _TIME_FIELDS:
        if isinstance(known.get(name), str):
            known[name] = parse_iso(known[name])
    return LedgerEntry(**known)
