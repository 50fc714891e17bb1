"""Sessions in member accounts (organization mode): the member role, assumed through the regional STS endpoint.

Each account and region gets one boto3 session whose credentials renew themselves 5 minutes before they expire,
by the warden's clock (the emulated one in the local cloud), so the clients built from it stay usable however
long the container lives. The central account itself (where the functions run) uses the functions' own
credentials.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import boto3
import botocore.session
from botocore.credentials import CredentialProvider, CredentialResolver, Credentials, RefreshableCredentials
from botocore.exceptions import BotoCoreError, ClientError

from warden.adapters.aws import client, error_code
from warden.errors import MemberUnreachable
from warden.ports import Clock
from warden.scope import Scope
from warden.timefmt import iso, parse_iso

if TYPE_CHECKING:
    from mypy_boto3_sts import STSClient

# What AWS shows as the caller of the warden's own calls in a member account: assumed-role/<role>/session-warden.
ROLE_SESSION_NAME = "session-warden"
# Renewed this long before they expire (by the clock): a call never starts with credentials about to lapse.
RENEW_BEFORE = timedelta(minutes=5)
# Asked of AssumeRole: the default maximum session duration of a role (one hour).
_DURATION_SECONDS = 3600


class MemberSessions:
    """``session(scope)``: a boto3 session acting in the scope's account and region.

    Parameters
    ----------
    base_session
        The function's own session (the central account).
    role_name
        The member role's name (template parameter ``MemberRoleName``), the same in every member account.
    clock
        When credentials expire is judged by this clock.
    central_account
        The function's own account: its scopes use *base_session*'s credentials. None: every scope assumes the
        role (a central account that is also enrolled as a member still has the member role).
    endpoint_url
        The endpoint every client uses (the local cloud's ``AWS_ENDPOINT_URL``); None on AWS: STS is called at
        ``https://sts.<region>.amazonaws.com``, so one region's STS outage leaves the others working.
    sts
        Makes the STS client of a region (tests hand in a fake); None: a client of *base_session*.
    """

    def __init__(
        self,
        base_session: boto3.session.Session,
        role_name: str,
        clock: Clock,
        *,
        central_account: str | None = None,
        endpoint_url: str | None = None,
        sts: Callable[[str], STSClient] | None = None,
    ) -> None:
        self._base = base_session
        self._role_name = role_name
        self._clock = clock
        self._central = central_account
        self._endpoint = endpoint_url
        self._sts = sts or self._sts_client
        self._sessions: dict[tuple[str, str], boto3.session.Session] = {}
        self._lock = threading.Lock()
        # One loader for every session: service models are read once, not once per account and region.
        self._loader = botocore.session.get_session().get_component("data_loader")

    def role_arn(self, account: str, region: str) -> str:
        """The member role of *account* (its partition from *region*)."""
        return f"arn:{partition(region)}:iam::{account}:role/{self._role_name}"

    def caller_arn(self, account: str, region: str) -> str:
        """How AWS names the warden when it calls in *account*: ``arn:aws:sts::A:assumed-role/ROLE/session-warden``."""
        return f"arn:{partition(region)}:sts::{account}:assumed-role/{self._role_name}/{ROLE_SESSION_NAME}"

    def is_central(self, scope: Scope) -> bool:
        """Whether *scope* is in the function's own account (its own credentials, not the member role)."""
        return self._central is not None and scope.account == self._central

    def session(self, scope: Scope) -> boto3.session.Session:
        """A session acting in the scope's account and region; raises :class:`MemberUnreachable` when the member
        role cannot be assumed there (the same error comes from a later call whose renewal fails)."""
        key = (scope.account, scope.region)
        with self._lock:
            found = self._sessions.get(key)
        if found is not None:
            return found
        if self.is_central(scope):
            made = self._own(scope.region)
        else:
            credentials = self._assumed(scope)
            made = self._session_with(lambda: credentials, scope.region)
        with self._lock:
            return self._sessions.setdefault(key, made)

    def forget(self, scope: Scope) -> None:
        """Drop the scope's session (its role was changed): the next :meth:`session` assumes the role afresh."""
        with self._lock:
            self._sessions.pop((scope.account, scope.region), None)

    # ------------------------------------------------------------ plumbing
    def _own(self, region: str) -> boto3.session.Session:
        if self._base.region_name == region:
            return self._base
        return self._session_with(self._base.get_credentials, region)

    def _session_with(self, load: Callable[[], Credentials | None], region: str) -> boto3.session.Session:
        core = botocore.session.Session()
        core.register_component("data_loader", self._loader)
        core.register_component("credential_provider", CredentialResolver(providers=[_Loaded(load)]))
        return boto3.session.Session(botocore_session=core, region_name=region)

    def _assumed(self, scope: Scope) -> RefreshableCredentials:
        first = self._assume(scope)
        return RefreshableCredentials(
            access_key=first["access_key"],
            secret_key=first["secret_key"],
            token=first["token"],
            expiry_time=parse_iso(first["expiry_time"]),
            refresh_using=lambda: self._assume(scope),
            method="session-warden-member-role",
            time_fetcher=self._clock.now,
            advisory_timeout=int(RENEW_BEFORE.total_seconds()),
            mandatory_timeout=int(RENEW_BEFORE.total_seconds()),
        )

    def _assume(self, scope: Scope) -> dict[str, Any]:
        """AssumeRole in the scope's region; the credentials' metadata, their expiry by the warden's clock.

        STS's ``Expiration`` is in AWS's time; the warden's clock may differ (the local cloud's emulated time), so
        the expiry is counted from the clock: the requested duration after the call began.
        """
        role_arn = self.role_arn(scope.account, scope.region)
        began = self._clock.now()
        try:
            response = self._sts(scope.region).assume_role(
                RoleArn=role_arn, RoleSessionName=ROLE_SESSION_NAME, DurationSeconds=_DURATION_SECONDS
            )
            issued = response["Credentials"]
            metadata = {
                "access_key": issued["AccessKeyId"],
                "secret_key": issued["SecretAccessKey"],
                "token": issued["SessionToken"],
                "expiry_time": iso(_expiry(began, issued.get("Expiration"))),
            }
        except (ClientError, BotoCoreError) as error:
            raise MemberUnreachable(scope.account, scope.region, role_arn, error, code=error_code(error)) from error
        except (KeyError, TypeError) as error:  # an answer without credentials: nothing to act with
            raise MemberUnreachable(scope.account, scope.region, role_arn, error, code=None) from error
        return metadata

    def _sts_client(self, region: str) -> STSClient:
        sts: STSClient = client(self._base, "sts", region=region, endpoint_url=sts_endpoint(region, self._endpoint))
        return sts


class _Loaded(CredentialProvider):
    """Hands botocore the credentials the warden holds (assumed and renewing, or the function's own)."""

    METHOD = "session-warden"
    CANONICAL_NAME = "SessionWarden"

    def __init__(self, load: Callable[[], Credentials | None]) -> None:
        super().__init__()
        self._load = load

    def load(self) -> Credentials | None:
        return self._load()


def sts_endpoint(region: str, endpoint_url: str | None = None) -> str:
    """The STS endpoint of *region* (``https://sts.eu-west-1.amazonaws.com``), or *endpoint_url* when one is set."""
    return endpoint_url or f"https://sts.{region}.{_domain(region)}"


def _expiry(began: datetime, expiration: object) -> datetime:
    """The requested lifetime from when the call began: never later than STS says, when STS is on the clock."""
    lifetime = began + timedelta(seconds=_DURATION_SECONDS)
    if isinstance(expiration, datetime) and began <= expiration < lifetime:
        return expiration
    return lifetime


def partition(region: str) -> str:
    """The ARN partition of *region* (``aws``, ``aws-cn``, ``aws-us-gov``)."""
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


def _domain(region: str) -> str:
    return "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"
