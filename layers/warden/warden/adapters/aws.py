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


def client(session: boto3.session.Session, service: str, *, max_attempts: int | None = None) -> Any:
    """A client with the warden's retry config; ``AWS_ENDPOINT_URL`` (the local cloud) is honoured by boto3."""
    config = RETRY_CONFIG
    if max_attempts is not None:
        config = config.merge(Config(retries={"mode": "standard", "max_attempts": max_attempts}))
    return session.client(service, config=config)  # type: ignore[call-overload]


class LazyClient:
    """A client created on first use: clients only the deny path needs (SNS) cost nothing on the allowed path."""

    def __init__(self, session: boto3.session.Session, service: str, max_attempts: int | None) -> None:
        self._session = session
        self._service = service
        self._max_attempts = max_attempts
        self._client: Any = None

    def __getattr__(self, name: str) -> Any:
        if self._client is None:
            self._client = client(self._session, self._service, max_attempts=self._max_attempts)
        return getattr(self._client, name)


def lazy_client(session: boto3.session.Session, service: str, *, max_attempts: int | None = None) -> Any:
    return LazyClient(session, service, max_attempts)


def error_code(error: BaseException) -> str | None:
    """The AWS error code of a failed call (``ThrottlingException``, ...), None for non-AWS errors."""
    if isinstance(error, ClientError):
        return str(error.response.get("Error", {}).get("Code") or "") or None
    return None


def is_aws_error(error: BaseException) -> bool:
    return isinstance(error, ClientError | BotoCoreError)
