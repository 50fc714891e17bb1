"""A :class:`~warden.policy.principals.Principal` read from CloudTrail's ``userIdentity`` or from an ARN.

Only what AWS vouches for becomes a name a pattern can match; see :mod:`warden.policy.principals`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from warden.policy.principals import Principal

__all__ = ["principal_from_arn", "principal_from_identity"]

_ARN_PARTS = 6


def _split_arn(arn: object) -> list[str]:
    parts = arn.split(":", _ARN_PARTS - 1) if isinstance(arn, str) else []
    if len(parts) != _ARN_PARTS or parts[0] != "arn" or not parts[1] or not parts[2] or not parts[5]:
        raise ValueError(f"not an ARN: {arn!r}")
    return parts


def _issuer_role_arn(role_arn: str, role: str, account_id: str) -> str:
    parts = _split_arn(role_arn)
    kind, _, rest = parts[5].partition("/")
    if parts[2] != "iam" or kind != "role" or rest.rsplit("/", 1)[-1] != role:
        raise ValueError(f"role_arn {role_arn!r} is not the ARN of role {role!r}")
    if account_id and parts[4] != account_id:
        raise ValueError(f"role_arn {role_arn!r} is not in account {account_id}")
    return role_arn


def principal_from_arn(arn: str, *, role_arn: str | None = None) -> Principal:
    """Build a principal from an ARN (a ``--principal`` flag, a DescribeSessions ``Owner``).

    Recognises ``user/[PATH/]NAME``, ``role/[PATH/]NAME``, ``assumed-role/ROLE/SESSION``,
    ``federated-user/NAME`` and ``root``; any other ARN gives an ``Unknown`` principal.

    Parameters
    ----------
    arn : str
        An IAM or STS ARN.
    role_arn : str or None, keyword-only
        For an ``assumed-role`` ARN: the issuer role's ARN with its path (from IAM GetRole). An
        assumed-role ARN carries no path, and the path is what makes a role an IAM Identity
        Center role: without it the principal is judged as an ordinary role session (its
        session name matches no ``user:`` pattern, its role no ``permission-set:``).

    Returns
    -------
    Principal
        For an assumed role without ``role_arn``, ``role_arn`` is
        ``arn:PARTITION:iam::ACCOUNT:role/ROLE`` (no path). A role ARN gives an ``AssumedRole``
        principal with no session (``user`` is ``None``).

    Raises
    ------
    ValueError
        If ``arn`` is not an ARN or names no user or role, or ``role_arn`` is not the ARN of the
        assumed role (another name or account).
    """
    _, partition, service, _, account_id, resource = _split_arn(arn)
    account = account_id or None
    kind, _, rest = resource.partition("/")
    if service == "iam" and resource == "root":
        return Principal(arn=arn, account=account, kind="Root", user="root")
    if service == "iam" and kind in ("user", "role"):
        name = rest.rsplit("/", 1)[-1]
        if not name:
            raise ValueError(f"ARN {arn!r} names no {kind}")
        if kind == "user":
            return Principal(arn=arn, account=account, kind="IAMUser", user=name)
        return Principal(arn=arn, account=account, kind="AssumedRole", role=name, role_arn=arn)
    if service == "sts" and kind == "assumed-role":
        role, _, session = rest.partition("/")
        if not role:
            raise ValueError(f"ARN {arn!r} names no role")
        issuer = (
            _issuer_role_arn(role_arn, role, account_id)
            if role_arn is not None
            else f"arn:{partition}:iam::{account_id}:role/{role}"
        )
        return Principal(arn=arn, account=account, kind="AssumedRole", user=session or None, role=role, role_arn=issuer)
    if service == "sts" and kind == "federated-user":
        if not rest:
            raise ValueError(f"ARN {arn!r} names no federated user")
        return Principal(arn=arn, account=account, kind="FederatedUser", user=rest)
    return Principal(arn=arn, account=account, kind="Unknown")


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


_ACCOUNT_IN_ARN = re.compile(r"arn:[^:]+:[^:]*:[^:]*:(\d+):")


def principal_from_identity(user_identity: Mapping[str, Any]) -> Principal:
    """Build a principal from a CloudTrail ``userIdentity``.

    Handles every ``type`` CloudTrail documents: ``IAMUser``, ``Root``, ``AssumedRole`` (the issuer
    role's ARN, path included, from ``sessionContext.sessionIssuer``), ``FederatedUser``,
    ``AWSService``, ``AWSAccount``, ``IdentityCenterUser`` (``onBehalfOf.userId``),
    ``WebIdentityUser`` and ``SAMLUser`` (``userName``, for people only: no pattern but ``arn:``,
    ``account:`` and ``*`` can match them). Any other type gives an ``Unknown`` principal.
    Missing or odd fields are normal in real records and never raise.

    Parameters
    ----------
    user_identity : Mapping[str, Any]
        The ``userIdentity`` object of a CloudTrail record.

    Returns
    -------
    Principal
        The principal.
    """
    identity = _mapping(user_identity)
    arn = _text(identity.get("arn"))
    account = _text(identity.get("accountId"))
    if account is None and arn is not None:
        found = _ACCOUNT_IN_ARN.match(arn)
        account = found.group(1) if found else None
    issuer = _mapping(_mapping(identity.get("sessionContext")).get("sessionIssuer"))
    match _text(identity.get("type")):
        case "IAMUser":
            user = _text(identity.get("userName")) or (arn.rsplit("/", 1)[-1] if arn and "/" in arn else None)
            return Principal(arn=arn or "", account=account, kind="IAMUser", user=user)
        case "AssumedRole":
            return _assumed_role(identity, arn, account, issuer)
        case "FederatedUser":
            user = arn.split("federated-user/", 1)[1] if arn and "federated-user/" in arn else None
            if not user:
                user = _session_from_principal_id(identity)
            return Principal(arn=arn or "", account=account, kind="FederatedUser", user=user)
        case "Root":
            return Principal(arn=arn or "", account=account, kind="Root", user="root")
        case "AWSService":
            service = _text(identity.get("invokedBy"))
            return Principal(arn=arn or service or "", account=account, kind="AWSService")
        case "AWSAccount":
            return Principal(arn=arn or "", account=account, kind="AWSAccount")
        case "IdentityCenterUser":
            # A request made on behalf of an Identity Center user names the user by id in its store.
            on_behalf = _mapping(identity.get("onBehalfOf"))
            user = _text(identity.get("userName")) or _text(on_behalf.get("userId"))
            return Principal(arn=arn or "", account=account, kind="IdentityCenterUser", user=user)
        case "WebIdentityUser" | "SAMLUser" as kind:
            # The name comes from the identity provider's token or assertion: shown, never matched.
            user = _text(identity.get("userName")) or _session_from_principal_id(identity)
            return Principal(arn=arn or "", account=account, kind=kind, user=user)
        case _:
            return Principal(arn=arn or "", account=account, kind="Unknown")


def _session_from_principal_id(identity: Mapping[str, Any]) -> str | None:
    # principalId is "AROA...:session" for roles and "ACCOUNT:name" for federated users.
    principal_id = _text(identity.get("principalId"))
    if principal_id is None or ":" not in principal_id:
        return None
    return principal_id.rsplit(":", 1)[1] or None


def _assumed_role(
    identity: Mapping[str, Any], arn: str | None, account: str | None, issuer: Mapping[str, Any]
) -> Principal:
    role: str | None = None
    session: str | None = None
    if arn is not None and ":assumed-role/" in arn:
        # Role names in an assumed-role ARN carry no path and session names cannot contain "/".
        role, _, session = arn.split(":assumed-role/", 1)[1].partition("/")
    role = role or _text(issuer.get("userName"))
    session = session or _session_from_principal_id(identity)
    role_arn = _text(issuer.get("arn"))
    if role_arn is None and role is not None and arn is not None and account is not None:
        # Without the issuer there is no path: the role is judged as an ordinary one.
        partition = arn.split(":", 2)[1] if arn.count(":") >= 2 else "aws"
        role_arn = f"arn:{partition}:iam::{account}:role/{role}"
    return Principal(
        arn=arn or "", account=account, kind="AssumedRole", user=session or None, role=role or None, role_arn=role_arn
    )
