"""Who started a session, read from CloudTrail or an ARN, and the principal patterns that match it.

A pattern names only what AWS vouches for. Whoever calls AssumeRole picks the session name,
whoever calls GetFederationToken the federated user's name, an identity provider the web identity
or SAML name; only IAM user names, the root user and IAM Identity Center sessions (roles under the
reserved path ``/aws-reserved/sso.amazonaws.com/``, whose session name AWS sets from the sign-in)
give a ``user:`` name. ``role:`` names are role names; ``permission-set:`` also checks the path.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from warden.policy.globs import GlobIndex, compile_globs

__all__ = [
    "IDENTITY_CENTER_PATH",
    "Principal",
    "PrincipalIndex",
    "PrincipalKind",
    "PrincipalMatcher",
    "pattern_warnings",
    "principal_from_arn",
    "principal_from_identity",
    "validate_principal_pattern",
]

PrincipalKind = Literal[
    "IAMUser",
    "AssumedRole",
    "FederatedUser",
    "Root",
    "AWSService",
    "AWSAccount",
    "IdentityCenterUser",
    "WebIdentityUser",
    "SAMLUser",
    "Unknown",
]

# IAM reserves the path /aws-reserved/ (nobody can create a role under it), not the name prefix
# AWSReservedSSO_: the path is what tells an Identity Center role from a look-alike.
IDENTITY_CENTER_PATH = "/aws-reserved/sso.amazonaws.com/"
_PERMISSION_SET_PREFIX = "AWSReservedSSO_"
_PATTERN_KINDS = ("user", "role", "account", "permission-set")
_EXPECTED_PATTERN = "expected *, arn:..., user:NAME, permission-set:NAME, role:NAME or account:ID"
# Kinds whose name AWS vouches for: the IAM user's name, "root", the Identity Center user.
_VOUCHED_KINDS = frozenset({"IAMUser", "Root", "IdentityCenterUser"})


def _identity_center_role(role_arn: str | None, role: str | None) -> bool:
    # arn:PARTITION:iam::ACCOUNT:role/aws-reserved/sso.amazonaws.com/[REGION/]NAME
    if role_arn is None:
        return False
    parts = role_arn.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn" or parts[2] != "iam":
        return False
    resource = parts[5]
    prefix = "role" + IDENTITY_CENTER_PATH
    if not resource.startswith(prefix) or resource.endswith("/"):
        return False
    name = resource.rsplit("/", 1)[-1]
    return role is None or name == role


def _permission_set(role: str | None) -> str | None:
    # AWSReservedSSO_<permission set name>_<16 hex>: the set's name may itself contain "_".
    if role is None or not role.startswith(_PERMISSION_SET_PREFIX):
        return None
    name, separator, suffix = role[len(_PERMISSION_SET_PREFIX) :].rpartition("_")
    return name if separator and name and suffix else None


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
    kind : PrincipalKind
        The CloudTrail ``userIdentity.type`` this principal came from: ``IAMUser``, ``AssumedRole``,
        ``FederatedUser``, ``Root``, ``AWSService``, ``AWSAccount``, ``IdentityCenterUser``,
        ``WebIdentityUser``, ``SAMLUser`` or ``Unknown``.
    user : str or None
        The name part of the identity, for people and the ledger: the IAM user name, ``"root"``,
        the role session name, the federated, web identity or SAML user name, or the Identity
        Center user id. Patterns do not read it: see ``vouched_user``.
    role : str or None
        The assumed role's name, without its path.
    role_arn : str or None
        The issuer role's ARN, with its path, e.g.
        ``arn:aws:iam::111122223333:role/aws-reserved/sso.amazonaws.com/eu-west-1/AWSReservedSSO_Analyst_abc123``.
    identity_center : bool
        Derived: the role is an IAM Identity Center role (``role_arn``'s path is
        ``/aws-reserved/sso.amazonaws.com/...`` and it names ``role``). Only the path counts.
    permission_set : str or None
        Derived: the permission set of an Identity Center role (``Analyst`` for
        ``AWSReservedSSO_Analyst_0123456789abcdef``); ``None`` for any other role.
    vouched_user : str or None
        Derived: the name ``user:`` patterns match, set only where AWS vouches for it: an IAM
        user, the root user (``"root"``), an Identity Center user (the session name of an Identity
        Center role, which AWS sets from the sign-in). ``None`` for any other role session,
        federated, web identity or SAML user: their names are chosen by the caller.
    """

    arn: str
    account: str | None = None
    kind: PrincipalKind = "Unknown"
    user: str | None = None
    role: str | None = None
    role_arn: str | None = None
    identity_center: bool = field(init=False, repr=False, compare=False)
    permission_set: str | None = field(init=False, repr=False, compare=False)
    vouched_user: str | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        identity_center = self.kind == "AssumedRole" and _identity_center_role(self.role_arn, self.role)
        vouched = self.user if self.kind in _VOUCHED_KINDS or identity_center else None
        object.__setattr__(self, "identity_center", identity_center)
        object.__setattr__(self, "permission_set", _permission_set(self.role) if identity_center else None)
        object.__setattr__(self, "vouched_user", vouched)

    @property
    def display(self) -> str:
        """A short name for people.

        The user for an IAM user, the root user and an Identity Center user; ``ROLE/SESSION`` for
        any other role session (the session name alone is whatever the caller chose); else the
        user, the role or the ARN.
        """
        if self.kind == "AssumedRole" and not self.identity_center and self.role and self.user:
            return f"{self.role}/{self.user}"
        return self.vouched_user or self.user or self.role or self.arn or "unknown principal"

    def matches(self, pattern: str) -> bool:
        """Tell whether one principal pattern matches this principal.

        Parameters
        ----------
        pattern : str
            ``*``; ``arn:GLOB`` (the caller ARN and, for an assumed role, the issuer role ARN with
            its path); ``user:GLOB`` (``vouched_user``); ``permission-set:GLOB`` (an Identity
            Center role's permission set); ``role:GLOB`` (the role name); ``account:GLOB``. Globs
            are case-sensitive and only ``*`` and ``?`` are special. A pattern of an unknown kind
            matches nothing.

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
        The pattern, e.g. ``permission-set:Analyst``.

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


_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_SSO_IN_ARN = "aws-reserved/sso.amazonaws.com/"


def pattern_warnings(pattern: str) -> list[str]:
    """Explain where a valid pattern matches less, or more, than its author may think.

    Principal patterns name only what AWS vouches for (see :class:`Principal`), so some
    patterns that look right match fewer sessions than their author expects, and a few
    ``arn:`` patterns match look-alikes anyone can create.

    Parameters
    ----------
    pattern : str
        A principal pattern (an invalid one gives no warning: validation reports it).

    Returns
    -------
    list[str]
        One sentence per concern; empty when there is none.
    """
    if not isinstance(pattern, str) or pattern == "*":
        return []
    kind, _, glob = pattern.partition(":")
    warnings: list[str] = []
    if kind == "user" and glob and _EMAIL.fullmatch(glob.replace("*", "x").replace("?", "x")):
        warnings.append(
            f"{pattern!r} looks like an e-mail address: it matches only an IAM user of that name or an IAM "
            "Identity Center user (the session of a role under /aws-reserved/sso.amazonaws.com/), never the "
            "session name of any other role; for a session of an ordinary role use "
            f"'arn:aws:sts::*:assumed-role/ROLE/{glob}'"
        )
    elif kind == "role" and glob.startswith(_PERMISSION_SET_PREFIX):
        name = _permission_set(glob.rstrip("*") + "x") if glob.endswith("_*") else None
        hint = f"'permission-set:{name}'" if name else "'permission-set:NAME'"
        warnings.append(
            f"{pattern!r} also matches a role of that name at any path, which anyone allowed to create roles "
            f"can make; for an IAM Identity Center permission set use {hint}, which also checks the "
            f"role's path {IDENTITY_CENTER_PATH}"
        )
    elif kind == "role" and "/" in glob:
        warnings.append(f"{pattern!r} never matches: role: takes the role's name without its path; use arn: for a path")
    elif kind == "permission-set" and glob.startswith(_PERMISSION_SET_PREFIX):
        name = _permission_set(glob)
        hint = f" ('permission-set:{name}')" if name else ""
        warnings.append(
            f"{pattern!r} never matches: permission-set: takes the permission set's name{hint}, not its role's name"
        )
    elif kind == "arn":
        warnings.extend(_arn_warnings(pattern))
    return warnings


def _arn_warnings(pattern: str) -> list[str]:
    warnings: list[str] = []
    if _PERMISSION_SET_PREFIX in pattern and _SSO_IN_ARN not in pattern:
        warnings.append(
            f"{pattern!r} names an {_PERMISSION_SET_PREFIX} role without the path {IDENTITY_CENTER_PATH}: an "
            "assumed-role ARN carries no path, so a role of that name that anyone allowed to create roles "
            "can make also matches; use 'permission-set:NAME'"
        )
    if ":assumed-role/" in pattern:
        role, _, session = pattern.split(":assumed-role/", 1)[1].partition("/")
        if ("*" in role or "?" in role) and session and "*" not in session and "?" not in session:
            warnings.append(
                f"{pattern!r} binds the session name {session!r} to any role: whoever may assume any role can "
                "pick that name; name the role whose trust policy decides who picks it"
            )
    return warnings


class PrincipalMatcher:
    """Several principal patterns compiled into at most one regex per identity field.

    Parameters
    ----------
    patterns : Iterable[str]
        Valid principal patterns (see :func:`validate_principal_pattern`); invalid ones never match.
    """

    __slots__ = ("_account", "_any", "_arn", "_permission_set", "_role", "_user")

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
        self._permission_set = compile_globs(globs["permission-set"])

    def __call__(self, principal: Principal) -> bool:
        """Tell whether any of the patterns matches ``principal``."""
        if self._any:
            return True
        for regex, value in (
            (self._user, principal.vouched_user),
            (self._permission_set, principal.permission_set),
            (self._role, principal.role),
            (self._arn, principal.arn or None),
            (self._arn, principal.role_arn),
            (self._account, principal.account),
        ):
            if regex is not None and value is not None and regex.fullmatch(value) is not None:
                return True
        return False


class PrincipalIndex:
    """Answers "which of these pattern lists match this principal?" for many lists at once.

    Parameters
    ----------
    pattern_lists : Sequence[Iterable[str]]
        One list of valid principal patterns per owner (e.g. per rule), in order.
    """

    __slots__ = ("_account", "_always", "_arn", "_permission_set", "_role", "_user")

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
        self._permission_set = GlobIndex(entries["permission-set"])

    def __call__(self, principal: Principal) -> int:
        """Return the bitmask of owners (bit ``i`` for ``pattern_lists[i]``) whose patterns match."""
        return (
            self._always
            | self._arn(principal.arn or None)
            | self._arn(principal.role_arn)
            | self._user(principal.vouched_user)
            | self._permission_set(principal.permission_set)
            | self._role(principal.role)
            | self._account(principal.account)
        )


@functools.lru_cache(maxsize=1024)
def _single_pattern(pattern: str) -> PrincipalMatcher:
    return PrincipalMatcher((pattern,))


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
