"""Which account and region a session event is decided in (organization mode), or why it is not acted on.

EventBridge sets an event's ``account`` and ``region``; a member's forwarding rule keeps them when it hands the
event to the central bus, and ``aws.*`` sources cannot be put on a bus by hand. The CloudTrail record inside
names the same account (``recipientAccountId``) and region (``awsRegion``): an event whose two disagree was not
delivered by AWS as it stands, and is refused. So is one from an account the organization does not list as
ACTIVE, or from a region the warden does not guard: it has no member role to act through, or no business there.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from warden.errors import RejectedEvent
from warden.handling import reject_event
from warden.ports import Organization
from warden.scope import Scope, is_account_id, is_region_name
from warden.settings import Settings

__all__ = ["scope_of"]

_ACTIVE = "ACTIVE"


def scope_of(event: Mapping[str, Any], settings: Settings, organization: Organization) -> Scope | None:
    """The scope an EventBridge session event is decided in: None in single-account mode (the function's own).

    Call it after :func:`warden.handling.parse_event` accepted the event's shape.

    Raises
    ------
    RejectedEvent
        Organization mode only: the envelope's account or region is missing or malformed, or disagrees with
        ``detail.recipientAccountId`` / ``detail.awsRegion``; the account is not an ACTIVE account of the
        organization; or the region is not guarded. ``EventRejected`` is counted and the reason logged; the event
        goes to the dead-letter queue.
    AwsCallFailed
        AWS Organizations could not be read (the event is retried).
    """
    if not settings.org:
        return None
    detail = event.get("detail")
    record: Mapping[str, Any] = detail if isinstance(detail, Mapping) else {}
    account, region = event.get("account"), event.get("region")
    if not isinstance(account, str) or not is_account_id(account):
        raise _rejected(event, f"envelope account: expected a 12-digit account id, got {_shown(account)}")
    if not isinstance(region, str) or not is_region_name(region):
        raise _rejected(event, f"envelope region: expected a region name, got {_shown(region)}")
    recipient, called_in = record.get("recipientAccountId"), record.get("awsRegion")
    if recipient != account:
        raise _rejected(event, f"detail.recipientAccountId {_shown(recipient)} is not the envelope's account {account}")
    if called_in != region:
        raise _rejected(event, f"detail.awsRegion {_shown(called_in)} is not the envelope's region {region}")
    member = organization.account(account)
    if member is None:
        raise _rejected(event, f"account {account} is not in organization {settings.organization_id}")
    if member.status != _ACTIVE:
        raise _rejected(
            event, f"account {account} ({member.name}) is {member.status} in organization {settings.organization_id}"
        )
    if not settings.guards(region):
        guarded = ", ".join(settings.guarded_regions or (settings.region,))
        raise _rejected(event, f"region {region} is not guarded (guarded: {guarded})")
    return Scope(account=account, region=region, org=True)


def _rejected(event: Mapping[str, Any], problem: str) -> RejectedEvent:
    reject_event(event, problem)
    return RejectedEvent(f"not acted on: {problem}")


def _shown(value: object) -> str:
    if value is None:
        return "nothing"
    return repr(value[:40]) if isinstance(value, str) else type(value).__name__
