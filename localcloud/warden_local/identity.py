"""Who made a request: the SigV4 access key resolved against moto's IAM and STS, as CloudTrail records it."""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from warden.timefmt import cloudtrail_time

DEFAULT_USER = "local-user"
_CREDENTIAL = re.compile(r"Credential=([^/,\s]+)/")
_ID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"


@dataclass(frozen=True)
class Credentials:
    """Access keys for a principal of the local cloud."""

    access_key_id: str
    secret_access_key: str
    session_token: str | None = None

    def client_kwargs(self) -> dict[str, str]:
        """Keyword arguments for ``boto3.client``."""
        kwargs = {"aws_access_key_id": self.access_key_id, "aws_secret_access_key": self.secret_access_key}
        if self.session_token:
            kwargs["aws_session_token"] = self.session_token
        return kwargs

    def env(self) -> dict[str, str]:
        """Environment variables for a subprocess (the ``warden`` CLI, say)."""
        env = {"AWS_ACCESS_KEY_ID": self.access_key_id, "AWS_SECRET_ACCESS_KEY": self.secret_access_key}
        if self.session_token:
            env["AWS_SESSION_TOKEN"] = self.session_token
        return env


@dataclass(frozen=True)
class Caller:
    """The principal behind a request, with the ``userIdentity`` CloudTrail writes for it."""

    kind: str  # IAMUser | AssumedRole | FederatedUser
    name: str  # the part of a session id before the dash: user name, role session name or federated user name
    arn: str
    principal_id: str
    account_id: str
    access_key_id: str
    role_name: str | None = None
    role_arn: str | None = None
    role_id: str | None = None
    session_created: datetime | None = None
    issuer_type: str = "Role"  # sessionIssuer.type: Role for assumed roles, IAMUser for federated users
    web_identity: tuple[str, dict[str, str]] | None = None  # (federatedProvider, attributes) of a web identity

    def user_identity(self) -> dict[str, Any]:
        identity: dict[str, Any] = {
            "type": self.kind,
            "principalId": self.principal_id,
            "arn": self.arn,
            "accountId": self.account_id,
            "accessKeyId": self.access_key_id,
        }
        if self.kind == "IAMUser":
            identity["userName"] = self.name
            return identity
        identity["sessionContext"] = {
            "sessionIssuer": {
                "type": self.issuer_type,
                "principalId": self.role_id,
                "arn": self.role_arn,
                "accountId": self.account_id,
                "userName": self.role_name,
            },
            "webIdFederationData": (
                {"federatedProvider": self.web_identity[0], "attributes": dict(self.web_identity[1])}
                if self.web_identity
                else {}
            ),
            "attributes": {
                "creationDate": cloudtrail_time(self.session_created) if self.session_created else None,
                "mfaAuthenticated": "false",
            },
        }
        return identity


def access_key_from_authorization(header: str | None) -> str | None:
    """The access key id of a SigV4 ``Authorization`` header."""
    if not header:
        return None
    match = _CREDENTIAL.search(header)
    return match.group(1) if match else None


def stable_id(prefix: str, seed: str) -> str:
    """An AWS-looking unique id (``AIDA...``, ``AROA...``) that stays the same for the same seed."""
    digest = hashlib.sha256(seed.encode()).digest()
    return prefix + "".join(_ID_ALPHABET[byte % 32] for byte in digest[:17])


class IdentityResolver:
    """Maps access keys to callers through moto's IAM users and STS assumed roles.

    moto does not remember when a role was assumed; the resolver notes the emulated time it first sees a
    role session (or when the local cloud assumed it) for ``sessionContext.attributes.creationDate``.
    """

    def __init__(self, account_id: str, now: Callable[[], datetime], *, any_account: bool = False) -> None:
        self._account_id = account_id
        # Across accounts (an organization): a key acts in the account moto issued it in (an IAM user's, or the
        # assumed role's); keys moto never issued stay in ``account_id``.
        self._any_account = any_account
        self._now = now
        self._created: dict[str, datetime] = {}
        self._federated: dict[str, Caller] = {}
        self._web: dict[str, tuple[str, dict[str, str]]] = {}
        self._lock = threading.Lock()

    def note_federated_user(self, access_key_id: str, name: str, issuer: Caller) -> Caller:
        """Keys from GetFederationToken: their calls are ``federated-user/NAME``, issued by an IAM user."""
        account_id = issuer.account_id
        caller = Caller(
            kind="FederatedUser",
            name=name,
            arn=f"arn:aws:sts::{account_id}:federated-user/{name}",
            principal_id=f"{account_id}:{name}",
            account_id=account_id,
            access_key_id=access_key_id,
            role_name=issuer.name,
            role_arn=issuer.arn,
            role_id=issuer.principal_id,
            session_created=self._now(),
            issuer_type="IAMUser",
        )
        with self._lock:
            self._federated[access_key_id] = caller
        return caller

    def note_web_identity(self, access_key_id: str, provider: str, attributes: dict[str, str]) -> None:
        """Keys from AssumeRoleWithWebIdentity: ``webIdFederationData`` names the identity provider."""
        with self._lock:
            self._web[access_key_id] = (provider, dict(attributes))
            self._created.setdefault(access_key_id, self._now())

    def note_session_created(self, access_key_id: str, when: datetime) -> None:
        with self._lock:
            self._created[access_key_id] = when

    def resolve(self, access_key_id: str | None) -> Caller:
        from moto.iam.models import iam_backends
        from moto.sts.models import sts_backends

        key = access_key_id or "AKIAEXAMPLE"
        with self._lock:
            federated = self._federated.get(key)
        if federated is not None:
            return federated
        account_id = self.account_of(key)
        assumed = sts_backends[account_id]["aws"].get_assumed_role_from_access_key(key)
        if assumed is not None:
            return self._assumed_role(assumed, key, account_id)
        user = iam_backends[account_id]["aws"].get_user_from_access_key_id(key)
        if user is not None:
            return Caller(
                kind="IAMUser",
                name=user.name,
                arn=user.arn,
                principal_id=user.id,
                account_id=account_id,
                access_key_id=key,
            )
        # Keys moto never issued (the usual "testing" ones): a fixed IAM user, so sessions still have an owner.
        return Caller(
            kind="IAMUser",
            name=DEFAULT_USER,
            arn=f"arn:aws:iam::{self._account_id}:user/{DEFAULT_USER}",
            principal_id=stable_id("AIDA", DEFAULT_USER),
            account_id=self._account_id,
            access_key_id=key,
        )

    def account_of(self, access_key_id: str) -> str:
        """The account a key acts in: where moto issued it (across accounts only), else the resolver's own."""
        if not self._any_account:
            return self._account_id
        with self._lock:
            federated = self._federated.get(access_key_id)
        if federated is not None:
            return federated.account_id
        from moto.iam.models import iam_backends

        for account_id, backend in list(iam_backends.items()):
            if access_key_id in backend["aws"].access_keys:
                return str(account_id)
        return self._account_id

    def _assumed_role(self, assumed: Any, key: str, account_id: str) -> Caller:
        from moto.iam.models import iam_backends

        role_name = str(assumed.role_arn).split("/")[-1]
        role_arn = str(assumed.role_arn)
        try:
            role = iam_backends[account_id]["aws"].get_role_by_arn(arn=role_arn)
        except Exception:
            role = None
        if role is None:
            try:
                role = iam_backends[account_id]["aws"].get_role(role_name)
            except Exception:
                role = None
        role_id = role.id if role is not None else stable_id("AROA", role_arn)
        if role is not None:
            role_arn = role.arn  # the issuer ARN carries the role's path; the assumed-role ARN does not
        with self._lock:
            created = self._created.setdefault(key, self._now())
        return Caller(
            kind="AssumedRole",
            name=assumed.session_name,
            arn=f"arn:aws:sts::{account_id}:assumed-role/{role_name}/{assumed.session_name}",
            principal_id=f"{role_id}:{assumed.session_name}",
            account_id=account_id,
            access_key_id=key,
            role_name=role_name,
            role_arn=role_arn,
            role_id=role_id,
            session_created=created,
            web_identity=self._web.get(key),
        )


def web_identity_user(provider: str, application_id: str, subject: str) -> dict[str, Any]:
    """The ``userIdentity`` CloudTrail records for an AssumeRoleWithWebIdentity call itself."""
    return {
        "type": "WebIdentityUser",
        "principalId": f"{provider}:{application_id}:{subject}",
        "userName": subject,
        "identityProvider": provider,
    }
