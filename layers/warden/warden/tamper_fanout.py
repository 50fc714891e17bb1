"""Tamper watch, organization mode: the sweep fan-out's own resources (the sweep queue, its dead-letter queue and the
sweep worker's event source mapping), how CloudTrail names them, and what a change to each means.

SQS records SetQueueAttributes, PurgeQueue and DeleteQueue as management events, with the ``queueUrl`` the caller
gave; Lambda records UpdateEventSourceMapping and DeleteEventSourceMapping with its API version in the event name
(``UpdateEventSourceMapping20150331``) and the mapping's configuration, whose ``eventSourceArn`` is the queue, in
``responseElements``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from warden.tamper import ControlCall

QUEUE_CHANGES = frozenset({"SetQueueAttributes", "PurgeQueue", "DeleteQueue"})
MAPPING_CHANGES = frozenset({"UpdateEventSourceMapping", "DeleteEventSourceMapping"})
SWEEP_QUEUE = "sweep queue"
SWEEP_DLQ = "sweep dead-letter queue"
NOT_SWEPT = (
    "no account or region is swept: sessions there are not re-checked (an expired grant or a closed window does "
    "not end them); each account and region's sweeps-stopped alert follows within minutes"
)


def queue_name(url: str | None, account: str | None) -> str | None:
    """The queue name of a queue URL (``https://sqs.<region>.amazonaws.com/<account>/<name>``), when the URL is of
    *account* (or the account is unknown)."""
    if not url:
        return None
    parts = url.rstrip("/").split("/")
    if len(parts) < 2:
        return None
    owner, name = parts[-2], parts[-1]
    return name if account is None or owner == account else None


def fanout_resource(call: ControlCall, queues: Mapping[str, str], account: str | None) -> tuple[str, str] | None:
    """(kind, name) of the fan-out resource the call changes (``queue``: its name; ``event source mapping``: its id
    and queue), None when it is none of them."""
    if not queues:
        return None
    if call.event_source == "sqs.amazonaws.com" and call.short_name in QUEUE_CHANGES:
        name = queue_name(call.text("queueUrl", "QueueUrl"), account)
        return ("queue", name) if name is not None and name in queues else None
    if call.event_source == "lambda.amazonaws.com" and call.short_name in MAPPING_CHANGES:
        source = call.response.get("eventSourceArn")
        name = source.rsplit(":", 1)[-1] if isinstance(source, str) else None
        if name is None or name not in queues:
            return None
        mapping = _uuid(call.request) or _uuid(call.response) or "(id not recorded)"
        return "event source mapping", f"{mapping} ({queues[name]} {name} -> sweep worker)"
    return None


def fanout_meaning(call: ControlCall, kind: str, name: str, queues: Mapping[str, str]) -> str:
    """One sentence: what this change to the fan-out does to enforcement."""
    verb = call.short_name
    if kind == "event source mapping":
        if verb == "DeleteEventSourceMapping":
            return f"the sweep worker's event source mapping {name} is deleted: {NOT_SWEPT} (until `sam deploy`)"
        enabled = call.request.get("enabled", call.request.get("Enabled"))
        if enabled in (False, "false", "False"):
            return f"the sweep worker's event source mapping {name} is disabled: no sweep order is taken, {NOT_SWEPT}"
        changed = ", ".join(sorted(str(key) for key in call.request if str(key).lower() != "uuid")[:8]) or "settings"
        return (
            f"the sweep worker's event source mapping {name} changed ({changed}): orders may no longer reach the "
            f"sweep worker, or reach another function; if so {NOT_SWEPT}"
        )
    what = queues.get(name, "queue")
    if what == SWEEP_DLQ:
        if verb == "PurgeQueue":
            return f"the {what} {name} was purged: the record of the account-regions whose sweeps kept failing is gone"
        if verb == "DeleteQueue":
            return (
                f"the {what} {name} is deleted: a sweep order that keeps failing is lost instead of kept (and "
                "unreadable orders can no longer be kept): nobody sees which account and region went unswept"
            )
        return f"the {what} {name}'s attributes changed ({_attributes(call.request)}): orders kept there may be lost"
    if verb == "PurgeQueue":
        return (
            f"the {what} {name} was purged: the sweep orders in it are gone, so those accounts and regions are not "
            "swept until the next minute's orders (purged every minute, they are never swept)"
        )
    if verb == "DeleteQueue":
        return (
            f"the {what} {name} is deleted: the sweeper can send no order (it fails, the heartbeat alarm fires) and "
            f"{NOT_SWEPT}"
        )
    return (
        f"the {what} {name}'s attributes changed ({_attributes(call.request)}): a changed policy may let others send "
        "or take sweep orders, a changed visibility timeout, retention or redrive policy may drop orders or hand one "
        "to two workers; if orders stop reaching the sweep worker, " + NOT_SWEPT
    )


def _uuid(values: Mapping[str, Any]) -> str | None:
    for key in ("uUID", "uuid", "UUID"):
        value = values.get(key)
        if isinstance(value, str) and value:
            return value[:64]
    return None


def _attributes(request: Mapping[str, Any]) -> str:
    attributes = request.get("attributes") or request.get("Attributes")
    if not isinstance(attributes, Mapping) or not attributes:
        return "attributes not recorded"
    return ", ".join(sorted(str(key)[:40] for key in attributes)[:8])
