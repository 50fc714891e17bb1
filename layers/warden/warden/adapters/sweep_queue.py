"""The sweep queue (organization mode): SQS SendMessageBatch of sweep orders, and the dead-letter queue the sweep
worker puts a malformed message in; the organization's management account from DescribeOrganization."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from warden.adapters.aws import aws_call


class SqsSweepQueue:
    """Implements :class:`~warden.fanout.SweepQueue`."""

    def __init__(self, sqs: Any, queue_url: str) -> None:
        self._sqs = sqs
        self._url = queue_url

    def send_batch(self, entries: Sequence[tuple[str, str]]) -> dict[str, str]:
        with aws_call("SendMessageBatch"):
            response = self._sqs.send_message_batch(
                QueueUrl=self._url, Entries=[{"Id": entry, "MessageBody": body} for entry, body in entries]
            )
        return {
            str(failed.get("Id")): f"{failed.get('Code', 'error')}: {failed.get('Message', '')}".strip(": ")
            for failed in response.get("Failed") or []
        }


class SqsDeadLetters:
    """SendMessage of a message the sweep worker cannot read to the sweep queue's dead-letter queue."""

    def __init__(self, sqs: Any, queue_url: str) -> None:
        self._sqs = sqs
        self._url = queue_url

    def put(self, body: str, why: str) -> None:
        with aws_call("SendMessage"):
            self._sqs.send_message(
                QueueUrl=self._url,
                MessageBody=body or "(empty)",
                MessageAttributes={"why": {"DataType": "String", "StringValue": why[:1000] or "malformed"}},
            )


class ManagementAccount:
    """The organization's management account (Organizations DescribeOrganization), read once per container."""

    def __init__(self, organizations: Any) -> None:
        self._api = organizations
        self._found: str | None = None

    def __call__(self) -> str | None:
        if self._found is None:
            with aws_call("DescribeOrganization"):
                response = self._api.describe_organization()
            self._found = str(response["Organization"].get("MasterAccountId") or "") or None
        return self._found
