"""The principals people act as in the local cloud: IAM users, role sessions, federated users, web identities and
IAM Identity Center users, each reported the way AWS reports it."""

from __future__ import annotations

import base64
import contextlib
import json
from collections.abc import Callable
from typing import Any

import boto3

from .identity import Credentials, IdentityResolver, stable_id

SSO_PATH = "/aws-reserved/sso.amazonaws.com/"
DEFAULT_OIDC_ISSUER = "token.actions.githubusercontent.com"


class _LocalSession(boto3.session.Session):
    def __init__(self, credentials: Credentials, *, endpoint: str, region: str) -> None:
        super().__init__(
            aws_access_key_id=credentials.access_key_id,
            aws_secret_access_key=credentials.secret_access_key,
            aws_session_token=credentials.session_token,
            region_name=region,
        )
        self._endpoint = endpoint

    def client(self, *args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("endpoint_url", self._endpoint)
        return super().client(*args, **kwargs)


def local_session(credentials: Credentials, *, endpoint: str, region: str) -> boto3.session.Session:
    """A boto3 session whose clients talk to the local cloud unless given another ``endpoint_url``."""
    return _LocalSession(credentials, endpoint=endpoint, region=region)


class People:
    """Creates principals through the cloud's own IAM and STS APIs."""

    def __init__(
        self,
        *,
        account_id: str,
        client: Callable[..., Any],
        identities: IdentityResolver,
        now: Callable[[], Any],
    ) -> None:
        self._account_id = account_id
        self._client = client
        self._identities = identities
        self._now = now

    def user(self, user_name: str) -> Credentials:
        iam = self._client("iam")
        with contextlib.suppress(iam.exceptions.EntityAlreadyExistsException):
            iam.create_user(UserName=user_name)
        key = iam.create_access_key(UserName=user_name)["AccessKey"]
        return Credentials(key["AccessKeyId"], key["SecretAccessKey"])

    def _role(self, role_name: str, path: str, principal: dict[str, str], action: str) -> str:
        iam = self._client("iam")
        try:
            return str(iam.get_role(RoleName=role_name)["Role"]["Arn"])
        except iam.exceptions.NoSuchEntityException:
            trust = {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Principal": principal, "Action": action}],
            }
            role = iam.create_role(RoleName=role_name, Path=path, AssumeRolePolicyDocument=json.dumps(trust))
            return str(role["Role"]["Arn"])

    def role(self, role_name: str, session_name: str, *, path: str = "/") -> Credentials:
        role_arn = self._role(role_name, path, {"AWS": f"arn:aws:iam::{self._account_id}:root"}, "sts:AssumeRole")
        assumed = self._client("sts").assume_role(RoleArn=role_arn, RoleSessionName=session_name)["Credentials"]
        self._identities.note_session_created(assumed["AccessKeyId"], self._now())
        return Credentials(assumed["AccessKeyId"], assumed["SecretAccessKey"], assumed["SessionToken"])

    def federated(self, issuer: str, name: str) -> Credentials:
        """GetFederationToken, called by IAM user ``issuer``: the caller chooses ``name``."""
        sts = self._client("sts", credentials=self.user(issuer))
        token = sts.get_federation_token(Name=name)["Credentials"]
        return Credentials(token["AccessKeyId"], token["SecretAccessKey"], token["SessionToken"])

    def web_identity(
        self, role_name: str, subject: str, *, session_name: str | None = None, issuer: str = DEFAULT_OIDC_ISSUER
    ) -> Credentials:
        """AssumeRoleWithWebIdentity with a token from ``issuer`` about ``subject``; the caller picks the session
        name (default: the subject)."""
        provider = f"arn:aws:iam::{self._account_id}:oidc-provider/{issuer}"
        role_arn = self._role(role_name, "/", {"Federated": provider}, "sts:AssumeRoleWithWebIdentity")
        token = _unsigned_jwt({"iss": f"https://{issuer}", "sub": subject, "aud": "sts.amazonaws.com"})
        assumed = self._client("sts").assume_role_with_web_identity(
            RoleArn=role_arn, RoleSessionName=session_name or subject[:64], WebIdentityToken=token
        )["Credentials"]
        return Credentials(assumed["AccessKeyId"], assumed["SecretAccessKey"], assumed["SessionToken"])

    def sso(self, user_name: str, permission_set: str) -> Credentials:
        """An IAM Identity Center sign-in: the permission set's role under ``/aws-reserved/sso.amazonaws.com/``,
        its session named by AWS after the user."""
        role_name = f"AWSReservedSSO_{permission_set}_{stable_id('', permission_set)[:16].lower()}"
        saml = f"arn:aws:iam::{self._account_id}:saml-provider/AWSSSO_{stable_id('', 'idp')[:16]}_DO_NOT_DELETE"
        role_arn = self._role(role_name, SSO_PATH, {"Federated": saml}, "sts:AssumeRoleWithSAML")
        from moto.sts.models import sts_backends

        # Identity Center calls AssumeRoleWithSAML itself; the session name is the user's, never the caller's.
        assumed = sts_backends[self._account_id]["aws"].assume_role(
            region_name="us-east-1",
            role_session_name=user_name,
            role_arn=role_arn,
            policy="",
            duration=3600,
            external_id="",
        )
        self._identities.note_session_created(assumed.access_key_id, self._now())
        return Credentials(assumed.access_key_id, assumed.secret_access_key, assumed.session_token)


def _unsigned_jwt(claims: dict[str, str]) -> str:
    def part(data: dict[str, str]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    return f"{part({'alg': 'RS256', 'typ': 'JWT'})}.{part(claims)}.c2lnbmF0dXJl"


class PeopleMethods:
    """The ways a person gets keys for the central account (mixed into the local cloud's facade)."""

    _people: People
    region: str

    @property
    def endpoint(self) -> str:
        raise NotImplementedError

    def user_credentials(self, user_name: str) -> Credentials:
        """Create IAM user ``user_name`` (if needed) and a fresh access key; its calls are that IAMUser's."""
        return self._people.user(user_name)

    def role_credentials(self, role_name: str, session_name: str, *, path: str = "/") -> Credentials:
        """Create role ``role_name`` (if needed) and assume it; its calls are ``assumed-role/ROLE/SESSION``."""
        return self._people.role(role_name, session_name, path=path)

    def federated_credentials(self, issuer: str, name: str) -> Credentials:
        """GetFederationToken(Name=name) called by IAM user ``issuer``: calls are ``federated-user/NAME``."""
        return self._people.federated(issuer, name)

    def web_identity_credentials(self, role_name: str, subject: str, *, session_name: str | None = None) -> Credentials:
        """AssumeRoleWithWebIdentity for an OIDC ``subject``: calls are ``assumed-role/ROLE/SESSION`` with the
        provider in ``webIdFederationData``; the caller picks the session name."""
        return self._people.web_identity(role_name, subject, session_name=session_name)

    def sso_user(self, user_name: str, *, permission_set: str) -> boto3.session.Session:
        """A boto3 session of IAM Identity Center user ``user_name`` signed in with ``permission_set``: the role
        ``AWSReservedSSO_<set>_<id>`` under ``/aws-reserved/sso.amazonaws.com/``, the session named by AWS."""
        credentials = self.sso_credentials(user_name, permission_set=permission_set)
        return local_session(credentials, endpoint=self.endpoint, region=self.region)

    def sso_credentials(self, user_name: str, *, permission_set: str) -> Credentials:
        """The keys of :meth:`sso_user` (for a shell: ``warden local sso``)."""
        return self._people.sso(user_name, permission_set)
