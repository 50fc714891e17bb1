"""`warden status` reads of what the warden holds: open sessions, active grants, recent tamper events."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from warden_cli.aws import Aws
from warden_cli.output import iso_or_none, plural
from warden_cli.status_report import Report, Stack, clean, epoch_time

TAMPER_WINDOW = timedelta(hours=24)


def open_sessions(report: Report, aws: Aws, table: str) -> None:
    from warden.adapters.ledger import DynamoLedger

    entries = DynamoLedger(aws.client("dynamodb"), table).open_entries()
    report.fields["open_sessions"] = [
        {
            "session_id": entry.session_id,
            "principal": entry.principal or entry.principal_arn,
            "target": entry.target,
            "started_at": iso_or_none(entry.started_at),
            "deadline": iso_or_none(entry.deadline),
        }
        for entry in entries
    ]
    report.line("sessions", f"{len(entries)} open")


def active_grants(report: Report, aws: Aws, table: str) -> None:
    from warden.adapters.grants import DynamoGrantStore

    stored = DynamoGrantStore(aws.client("dynamodb"), table).active(report.moment)
    grants = [grant for grant in stored if grant.active_at(report.moment)]
    report.fields["active_grants"] = [
        {"id": grant.id, "principal": grant.principal, "expires_at": iso_or_none(grant.expires_at)} for grant in grants
    ]
    report.line("grants", f"{len(grants)} active")


def tamper_events(report: Report, aws: Aws, stack: Stack) -> None:
    from warden.adapters.dynamo import from_item, to_value
    from warden.timefmt import iso

    table = stack.outputs.get("StateTableName")
    events: list[dict[str, Any]] = []
    if table:
        request: dict[str, Any] = {
            "TableName": table,
            "KeyConditionExpression": "pk = :pk AND sk >= :since",
            "ExpressionAttributeValues": {
                ":pk": to_value("tamper"),
                ":since": to_value(iso(report.moment - TAMPER_WINDOW)),
            },
        }
        while True:
            page = aws.client("dynamodb").query(**request)
            for raw in page.get("Items", []):
                item = from_item(raw)
                events.append(
                    {
                        "at": iso_or_none(epoch_time(item.get("at"))) or str(item.get("sk", "")).split("#", 1)[0],
                        "event_name": clean(item.get("event_name")),
                        "actor": clean(item.get("actor")),
                        "resource": clean(item.get("resource")),
                        "meaning": clean(item.get("meaning")),
                        "event_id": str(item.get("sk", "")).partition("#")[2],
                    }
                )
            if not page.get("LastEvaluatedKey"):
                break
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    report.fields["tamper_events"] = events
    report.line("tamper", f"{plural(len(events), 'event')} in the last 24 h" if events else "none in the last 24 h")
    for event in events:
        report.problem(
            f"tampering at {event['at']}: {event['actor'] or 'someone'} called {event['event_name'] or 'an API'} "
            f"on {event['resource'] or 'a warden resource'}: {event['meaning'] or 'see the enforcer tampered alert'}; "
            "if that was not a planned change, undo it and find out who holds that permission "
            "(README: enforcer tampered)"
        )
