"""Who started a session, read from CloudTrail or an ARN, and the principal patterns that match it."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from warden.policy.globs import GlobIndex, compile_globs

__all__ = [
    "Principal",
    "PrincipalIndex",
    "PrincipalKind",
    "PrincipalMatcher",
    "principal_from_arn",
    "principal_from_identity",
    "validate_principal_pattern",
]

PrincipalKind = Literal["IAMUser", "AssumedRole", "FederatedUser", "Root", "AWSService", "Unknown"]

_PATTERN_KINDS = ("user", "role", "account")
_EXPECTED_PATTERN = "expected *, arn:..., user:NAME, role:NAME or account:ID"


@dataclass(frozen=True, slots=True)
class Principal:
    """The identity behind a session.

    Attributes
    ----------
    arn : str
        The caller ARN, e.g. ``arn:aws:sts::111122223333:assumed-role/ROLE/SESSION``. For an AWS
        service, the service's name (``ssm.amazonaws.com``); empty when nothing names the caller.
    account : str or None
        The AWS account id.
    kind : {"IAMUser", "AssumedRole", "FederatedUser", "Root", "AWSService", "Unknown"}
        The CloudTrail ``userIdentity.type`` this principal came from.
    user : str or None
        IAM user name, role session name (for IAM Identity Center: the user's e-mail), federated
        user name, or ``"root"``.
    role : str or None
        The assumed role's name, without its path.
    role_arn : str or None
        The issuer role's ARN, with its path, e.g.
        ``arn:aws:iam::111122223333:role/aws-reserved/sso.amazonaws.com/eu-west-1/AWSReservedSSO_Analyst_abc123``.
    """

    arn: str
    account: str | None = None
    kind: PrincipalKind = "Unknown"
    user: str | None = None
    role: str | None = None
    role_arn: str | None = None

    @property
    def display(self) -> str:
        """A short name for people: the user, else the role, else the ARN."""
        return self.user or self.role or self.arn or "unknown principal"

    def matches(self, pattern: str) -> bool:
        """Tell whether one principal pattern matches this principal.

        Parameters
        ----------
        pattern : str
            ``*``; ``arn:GLOB`` (the caller ARN and, for an assumed role, the issuer role ARN);
            ``user:GLOB``; ``role:GLOB``; ``account:GLOB``. Globs are case-sensitive and only
            ``*`` and ``?`` are special. A pattern of an unknown kind matches nothing.

        Returns
        -------
        bool
            Whether it matches.
        """
        return _single_pattern(pattern)(self)


def validate_principal_pattern(pattern: str) -> None:
    """Check that a principal pattern is well formed.

    Parameters
    ----------
    pattern : str
        The pattern, e.g. ``role:AWSReservedSSO_Analyst_*``.

    Raises
    ------
    ValueError
        Naming the problem: empty, an unknown kind prefix, or nothing after the prefix.
    """
    if not isinstance(pattern, str) or not pattern:
        raise ValueError(f"empty principal pattern: {_EXPECTED_PATTERN}")
    if pattern == "*":
        return
    if pattern.startswith("arn:"):
        if pattern == "arn:":
            raise ValueError(f"principal pattern {pattern!r} has nothing after 'arn:'")
        return
    kind, separator, glob = pattern.partition(":")
    if separator and kind in _PATTERN_KINDS:
        if not glob:
            raise ValueError(f"principal pattern {pattern!r} has nothing after '{kind}:'")
        return
    raise ValueError(f"unknown principal pattern {pattern!r}: {_EXPECTED_PATTERN}")


class PrincipalMatcher:
    """Several principal patterns compiled into at most one regex per identity field.

    Parameters
    ----------
    patterns : Iterable[str]
        Valid principal patterns (see :func:`validate_principal_pattern`); invalid ones never match.
    """

    __slots__ = ("_account", "_any", "_arn", "_role", "_user")

    def __init__(self, patterns: Iterable[str]) -> None:
        arns: list[str] = []
        globs: dict[str, list[str]] = {kind: [] for kind in _PATTERN_KINDS}
        self._any = False
        for pattern in patterns:
            if pattern == "*":
                self._any = True
            elif pattern.startswith("arn:"):
                arns.append(pattern)
            else:
                kind, _, glob = pattern.partition(":")
                if kind in globs and glob:
                    globs[kind].append(glob)
        self._arn = compile_globs(arns)
        self._user = compile_globs(globs["user"])
        self._role = compile_globs(globs["role"])
        self._account = compile_globs(globs["account"])

    def __call__(self, principal: Principal) -> bool:
        """Tell whether any of the patterns matches ``principal``."""
        if self._any:
            return True
        if self._user is not None and principal.user is not None and self._user.fullmatch(principal.user):
            return True
        if self._role is not None and principal.role is not None and self._role.fullmatch(principal.role):
            return True
        if self._arn is not None and (
            self._arn.fullmatch(principal.arn)
            or (principal.role_arn is not None and self._arn.fullmatch(principal.role_arn))
        ):
            return True
        return bool(
            self._account is not None and principal.account is not None and self._account.fullmatch(principal.account)
        )


class PrincipalIndex:
    """Answers "which of these pattern lists match this principal?" for many lists at once.

    Parameters
    ----------
    pattern_lists : Sequence[Iterable[str]]
        One list of valid principal patterns per owner (e.g. per rule), in order.
    """

    __slots__ = ("_account", "_always", "_arn", "_role", "_user")

    def __init__(self, pattern_lists: Sequence[Iterable[str]]) -> None:
        always = 0
        entries: dict[str, list[tuple[int, str]]] = {"arn": [], **{kind: [] for kind in _PATTERN_KINDS}}
        for owner, patterns in enumerate(pattern_lists):
            for pattern in patterns:
                if pattern == "*":
                    always |= 1 << owner
                elif pattern.startswith("arn:"):
                    entries["arn"].append((owner, pattern))
                else:
                    kind, _, glob = pattern.partition(":")
                    if kind in entries and glob:
                        entries[kind].append((owner, glob))
        self._always = always
        self._arn = GlobIndex(entries["arn"])
        self._user = GlobIndex(entries["user"])
        self._role = GlobIndex(entries["role"])
        self._account = GlobIndex(entries["account"])

    def __call__(self, principal: Principal) -> int:
        """Return the bitmask of owners (bit ``i`` for ``pattern_lists[i]``) whose patterns match."""
        return (
            self._always
            | self._arn(principal.arn)
            | self._arn(principal.role_arn)
            | self._user(principal.user)
            | self._role(principal.role)
            | self._account(principal.account)
        )


@functools.lru_cache(maxsize=1024)
def _single_pattern(pattern: str) -> PrincipalMatcher:
    return PrincipalMatcher((pattern,))


_ARN_PARTS = 6


def principal_from_arn(arn: str) -> Principal:
    """Build a principal from an ARN (a ``--principal`` flag, a DescribeSessions ``Owner``).

    Recognises ``user/[PATH/]NAME``, ``role/[PATH/]NAME``, ``assumed-role/ROLE/SESSION``,
    ``federated-user/NAME`` and ``root``; any other ARN gives an ``Unknown`` principal.

    Parameters
    ----------
    arn : str
        An IAM or STS ARN.

    Returns
    -------
    Principal
        For an assumed role, ``role_arn`` is a best effort ``arn:PARTITION:iam::ACCOUNT:role/ROLE``:
        an assumed-role ARN does not carry the role's path, so ``arn:`` patterns that spell the path
        (such as IAM Identity Center's ``aws-reserved/sso.amazonaws.com/...``) will not match it.
        A role ARN gives an ``AssumedRole`` principal with no session (``user`` is ``None``).

    Raises
    ------
    ValueError
        If ``arn`` is not an ARN, or names no user or role.
    """
    parts = arn.split(":", _ARN_PARTS - 1) if isinstance(arn, str) else []
    if len(parts) != _ARN_PARTS or parts[0] != "arn" or not parts[1] or not parts[2] or not parts[5]:
        raise ValueError(f"not an ARN: {arn!r}")
    _, partition, service, _, account_id, resource = parts
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
        role_arn = f"arn:{partition}:iam::{account_id}:role/{role}"
        return Principal(
            arn=arn, account=account, kind="AssumedRole", user=session or None, role=role, role_arn=role_arn
        )
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

    Handles ``IAMUser``, ``AssumedRole`` (IAM Identity Center included: an ``AWSReservedSSO_*`` role
    whose session name is the user's e-mail), ``FederatedUser``, ``Root`` and ``AWSService``; any
    other type gives an ``Unknown`` principal that only ``*``, ``arn:`` and ``account:`` patterns
    can match. Missing or odd fields are normal in real records and never raise.

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
        case _:
            return Principal(arn=arn or "", account=account, kind="Unknown")


def _session_from_principal_id(identity: Mapping[str, Any]) -> str | None:
    # principalId is "AROA...:session" for roles and "ACCOUNT:name" for federated users.
    principal_id = _text(identity.get("principalId"))
    if principal_id is None or ":" not in principal_id:
        return None
    return principal_id.split(":", 1)[1] or None


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
        partition = arn.split(":", 2)[1] if arn.count(":") >= 2 else "aws"
        role_arn = f"arn:{partition}:iam::{account}:role/{role}"
    return Principal(
        arn=arn or "", account=account, kind="AssumedRole", user=session or None, role=role or None, role_arn=role_arn
    )
