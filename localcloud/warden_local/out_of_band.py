"""Writes straight into moto's backends, for what on AWS happens without an API call CloudTrail records: the policy
parameter's value as the template stores it, and the state a just-deployed stack is in (created at the emulated
time, its alert e-mail subscription confirmed by the security team following the link)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from . import sns_ext


def store_parameter(account_id: str, region: str, name: str, text: str) -> None:
    """Overwrite SSM parameter ``name`` with ``text`` (a String); no CloudTrail record, no validation."""
    from moto.ssm.models import ssm_backends

    ssm_backends[account_id][region].put_parameter(
        name=name,
        description="",
        value=text,
        parameter_type="String",
        allowed_pattern="",
        keyid="",
        overwrite=True,
        tags=[],
        data_type="text",
        tier=None,
        policies=None,
    )


def as_deployed_at(account_id: str, region: str, stack_name: str, when: datetime, alerts_topic: str | None) -> None:
    """The stack was created at ``when`` (its age is what `warden status` judges), and every subscription of its
    alerts topic is confirmed (on AWS the owners follow the link in the confirmation message)."""
    from moto.cloudformation.models import cloudformation_backends

    backend = cloudformation_backends[account_id][region]
    for stack in backend.stacks.values():
        if stack.name == stack_name:
            stack.creation_time = when.astimezone(UTC).replace(tzinfo=None)  # moto's are naive UTC
    if alerts_topic:
        sns_ext.confirm(account_id, region, alerts_topic)


def aws_event(
    source: str, detail_type: str, detail: dict[str, Any], account: str, region: str, at: datetime
) -> dict[str, Any]:
    """The envelope EventBridge gives an event of ``source`` in ``account`` and ``region`` received ``at``."""
    import uuid

    from warden.timefmt import cloudtrail_time

    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": detail_type,
        "source": source,
        "account": account,
        "time": cloudtrail_time(at),
        "region": region,
        "resources": [],
        "detail": detail,
    }
