"""STS the way AWS reports it: GetFederationToken's federated users and web identities in CloudTrail.

moto answers GetFederationToken with fixed example keys and forgets who a web identity was; the local cloud
issues real keys for federated users (their calls are ``federated-user/NAME``, issued by the IAM user who asked)
and notes the identity provider of AssumeRoleWithWebIdentity sessions for ``webIdFederationData``.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
from datetime import timedelta
from typing import Any
from xml.sax.saxutils import escape

from warden.timefmt import cloudtrail_time

from .identity import Caller, IdentityResolver, stable_id

HANDLED = frozenset({"GetFederationToken", "GetCallerIdentity"})
_NAMESPACE = "https://sts.amazonaws.com/doc/2011-06-15/"
_FEDERATED_NAME = re.compile(r"[\w+=,.@-]{2,32}")
_ACCESS_KEY = re.compile(r"<AccessKeyId>([^<]+)</AccessKeyId>")
_PLAIN_PROVIDERS = ("www.amazon.com", "graph.facebook.com", "accounts.google.com", "cognito-identity.amazonaws.com")


class StsError(Exception):
    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


def _response(action: str, result: str, request_id: str) -> str:
    return (
        f'<{action}Response xmlns="{_NAMESPACE}"><{action}Result>{result}</{action}Result>'
        f"<ResponseMetadata><RequestId>{request_id}</RequestId></ResponseMetadata></{action}Response>"
    )


def handles(action: str | None, caller: Caller) -> bool:
    """Whether the local cloud answers this STS call itself rather than moto."""
    # GetCallerIdentity: moto names keys it never issued `sts::ACCOUNT:user/moto`, not an ARN AWS would give.
    return action in HANDLED


def answer(
    action: str, params: dict[str, Any], caller: Caller, identities: IdentityResolver, request_id: str, now: Any
) -> str:
    if action == "GetCallerIdentity":
        result = f"<Arn>{escape(caller.arn)}</Arn><UserId>{escape(caller.principal_id)}</UserId>"
        return _response(action, result + f"<Account>{caller.account_id}</Account>", request_id)
    name = str(params.get("Name", ""))
    if not _FEDERATED_NAME.fullmatch(name):
        raise StsError(
            "ValidationError",
            f"1 validation error detected: Value '{name}' at 'name' failed to satisfy constraint: "
            "Member must satisfy regular expression pattern: [\\w+=,.@-]*",
        )
    if caller.kind != "IAMUser":
        raise StsError("AccessDenied", "Cannot call GetFederationToken with session credentials", 403)
    access_key = stable_id("ASIA", secrets.token_hex(8))[:20]
    secret = base64.b64encode(secrets.token_bytes(30)).decode()
    token = base64.b64encode(secrets.token_bytes(120)).decode()
    federated = identities.note_federated_user(access_key, name, caller)
    duration = int(params.get("DurationSeconds", 43200))
    expiration = cloudtrail_time(now + timedelta(seconds=duration))
    result = (
        f"<Credentials><AccessKeyId>{access_key}</AccessKeyId><SecretAccessKey>{secret}</SecretAccessKey>"
        f"<SessionToken>{token}</SessionToken><Expiration>{expiration}</Expiration></Credentials>"
        f"<FederatedUser><Arn>{escape(federated.arn)}</Arn>"
        f"<FederatedUserId>{escape(federated.principal_id)}</FederatedUserId></FederatedUser>"
        "<PackedPolicySize>0</PackedPolicySize>"
    )
    return _response(action, result, request_id)


def issued_key(response_body: bytes) -> str | None:
    """The AccessKeyId of an STS answer that issued credentials."""
    match = _ACCESS_KEY.search(response_body.decode("utf-8", "replace"))
    return match.group(1) if match else None


def note_web_identity(params: dict[str, Any], response_body: bytes, identities: IdentityResolver, account: str) -> None:
    """After moto answered AssumeRoleWithWebIdentity: remember which provider vouched for the new keys."""
    key = issued_key(response_body)
    if key is None:
        return
    claims = _claims(str(params.get("WebIdentityToken", "")))
    issuer = str(params.get("ProviderId") or claims.get("iss") or "unknown").removeprefix("https://")
    if issuer in _PLAIN_PROVIDERS:
        attributes = {f"{issuer}:{key}": str(claims[key]) for key in ("aud", "sub") if key in claims}
        identities.note_web_identity(key, issuer, attributes)
    else:
        # An OpenID Connect provider registered in IAM is named by its ARN.
        identities.note_web_identity(key, f"arn:aws:iam::{account}:oidc-provider/{issuer}", {})


def _claims(token: str) -> dict[str, Any]:
    parts = token.split(".")
    if len(parts) != 3:
        return {}
    try:
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except ValueError:
        return {}
    return claims if isinstance(claims, dict) else {}
