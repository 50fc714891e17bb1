"""boto3 session and client construction: standard retries, bounded timeouts, one place."""

from __future__ import annotations

from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

# Every AWS call is retried with botocore's standard mode (exponential backoff with jitter, throttling and 5xx).
RETRY_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 5},
    connect_timeout=3,
    read_timeout=10,
    user_agent_extra="session-warden",
)


def new_session(*, profile: str | None = None, region: str | None = None) -> boto3.session.Session:
    return boto3.session.Session(profile_name=profile, region_name=region)


def client(session: boto3.session.Session, service: str) -> Any:
    """A client with the warden's retry config; ``AWS_ENDPOINT_URL`` (the local cloud) is honoured by boto3."""
    return session.client(service, config=RETRY_CONFIG)  # type: ignore[call-overload]


def error_code(error: BaseException) -> str | None:
    """The AWS error code of a failed call (``ThrottlingException``, ...), None for non-AWS errors."""
    if isinstance(error, ClientError):
        return str(error.response.get("Error", {}).get("Code") or "") or None
    return None


def is_aws_error(error: BaseException) -> bool:
    return isinstance(error, ClientError | BotoCoreError)
