"""boto3 session and client construction: standard retries, bounded timeouts, one place."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from typing import TYPE_CHECKING, Any, Literal, overload

import boto3
import botocore.session
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from botocore.loaders import Loader

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


def new_session(
    *,
    profile: str | None = None,
    region: str | None = None,
    access_key_id: str | None = None,
    secret_access_key: str | None = None,
    session_token: str | None = None,
) -> boto3.session.Session:
    """A boto3 session that shares the process's parsed service models (see :func:`new_botocore_session`).

    Raises ``botocore.exceptions.ProfileNotFound`` at once for an unknown *profile*, as boto3's own does.
    """
    core = new_botocore_session()
    if profile is not None:
        core.set_config_variable("profile", profile)
        core.get_scoped_config()  # ProfileNotFound now, not at the first call
    return boto3.session.Session(
        aws_access_key_id=access_key_id,
        aws_secret_access_key=secret_access_key,
        aws_session_token=session_token,
        region_name=region,
        botocore_session=core,
    )


def new_botocore_session() -> botocore.session.Session:
    """A botocore session whose data loader is the process's one.

    Each new session otherwise parses every service model it makes a client for again (EC2's and SSM's are
    megabytes of JSON): about 0.2 s of CPU per session. A sweep that acts in many accounts makes one session per
    account, so the models are parsed once per process instead. The loader only reads botocore's data files.
    """
    session = botocore.session.Session()
    session.register_component("data_loader", _shared_loader())
    return session


@cache
def _shared_loader() -> Loader:
    loader: Loader = botocore.session.Session().get_component("data_loader")
    return loader


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
