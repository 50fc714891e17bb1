"""boto3 session and client construction: standard retries, bounded timeouts, one place."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Literal, overload

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from warden.errors import AwsCallFailed

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_ec2 import EC2Client
    from mypy_boto3_iam import IAMClient
    from mypy_boto3_sns import SNSClient
    from mypy_boto3_ssm import SSMClient

# Every AWS call is retried with botocore's standard mode (exponential backoff with jitter, throttling and 5xx).
RETRY_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 5},
    connect_timeout=3,
    read_timeout=10,
    user_agent_extra="session-warden",
)


def new_session(*, profile: str | None = None, region: str | None = None) -> boto3.session.Session:
    return boto3.session.Session(profile_name=profile, region_name=region)


def client(
    session: boto3.session.Session,
    service: str,
    *,
    max_attempts: int | None = None,
    region: str | None = None,
    endpoint_url: str | None = None,
) -> Any:
    """A client with the warden's retry config; ``AWS_ENDPOINT_URL`` (the local cloud) is honoured by boto3.

    *region* and *endpoint_url* override the session's region and boto3's endpoint (organization mode's regional
    STS calls)."""
    config = RETRY_CONFIG
    if max_attempts is not None:
        config = config.merge(Config(retries={"mode": "standard", "max_attempts": max_attempts}))
    extra: dict[str, str] = {}
    if region is not None:
        extra["region_name"] = region
    if endpoint_url is not None:
        extra["endpoint_url"] = endpoint_url
    return session.client(service, config=config, **extra)  # type: ignore[call-overload]


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


@overload
def lazy_client(
    session: boto3.session.Session, service: Literal["dynamodb"], *, max_attempts: int | None = None
) -> DynamoDBClient: ...
@overload
def lazy_client(
    session: boto3.session.Session, service: Literal["ec2"], *, max_attempts: int | None = None
) -> EC2Client: ...
@overload
def lazy_client(
    session: boto3.session.Session, service: Literal["iam"], *, max_attempts: int | None = None
) -> IAMClient: ...
@overload
def lazy_client(
    session: boto3.session.Session, service: Literal["sns"], *, max_attempts: int | None = None
) -> SNSClient: ...
@overload
def lazy_client(
    session: boto3.session.Session, service: Literal["ssm"], *, max_attempts: int | None = None
) -> SSMClient: ...
def lazy_client(session: boto3.session.Session, service: str, *, max_attempts: int | None = None) -> Any:
    """A client of *service* built on first use, typed as that service's client (it forwards every call)."""
    return LazyClient(session, service, max_attempts)


def error_code(error: BaseException) -> str | None:
    """The AWS error code of a failed call (``ThrottlingException``, ...), None for non-AWS errors."""
    if isinstance(error, AwsCallFailed):
        return error.code
    if isinstance(error, ClientError):
        return str(error.response.get("Error", {}).get("Code") or "") or None
    return None


def is_aws_error(error: BaseException) -> bool:
    return isinstance(error, ClientError | BotoCoreError | AwsCallFailed)


@contextmanager
def aws_call(operation: str) -> Iterator[None]:
    """Turn a botocore failure (after botocore's own retries) into :class:`AwsCallFailed`, keeping the cause."""
    try:
        yield
    except (ClientError, BotoCoreError) as error:
        raise AwsCallFailed(operation, error, code=error_code(error)) from error
