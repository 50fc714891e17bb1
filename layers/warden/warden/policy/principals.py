"""Who started a session (:class:`Principal`) and the principal patterns that match it.

Reading a principal from CloudTrail's ``userIdentity`` or from an ARN is :mod:`warden.policy.identities`.

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
from typing import Literal

from warden.policy.globs import GlobIndex, compile_globs

__all__ = [
    "IDENTITY_CENTER_PATH",
    "Principal",
    "PrincipalIndex",
    "PrincipalKind",
    "PrincipalMatcher",
    "pattern_warnings",
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
# Kinds whose user name the caller or its identity provider chose: shown with what they are.
_CHOSEN_NAME_PREFIXES: Mapping[str, str] = {
    "FederatedUser": "federated-user",
    "WebIdentityUser": "web-identity",
    "SAMLUser": "saml",
}
# "user:root" names the account's root user only: an IAM user or Identity Center user may be called root.
_ROOT = "root"


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
        """A short name for people that never passes a caller-chosen name off as someone.

        The user for an IAM user, the root user and an Identity Center user (names AWS vouches
        for); ``ROLE/SESSION`` for any other role session; ``federated-user/NAME``,
        ``web-identity/NAME`` and ``saml/NAME`` for the users whose name whoever calls
        GetFederationToken or runs the identity provider chose; else the role or the ARN.
        """
        if self.kind == "AssumedRole" and not self.identity_center and self.role and self.user:
            return f"{self.role}/{self.user}"
        prefix = _CHOSEN_NAME_PREFIXES.get(self.kind)
        if prefix is not None and self.user:
            return f"{prefix}/{self.user}"
        return self.vouched_user or self.user or self.role or self.arn or "unknown principal"

    def matches(self, pattern: str) -> bool:
        """Tell whether one principal pattern matches this principal.

        Parameters
        ----------
        pattern : str
            ``*``; ``arn:GLOB`` (the caller ARN and, for an assumed role, the issuer role ARN with
            its path); ``user:GLOB`` (``vouched_user``; ``user:root`` exactly is the root user only, never
            an IAM or Identity Center user called root); ``permission-set:GLOB`` (an Identity
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
            f"{pattern!r} looks like an e-mail address: it matches an IAM Identity Center user (the session of "
            "a role under /aws-reserved/sso.amazonaws.com/) and just as well an IAM user of that name, which "
            "whoever may call iam:CreateUser can create (no pattern tells the two apart: if only Identity "
            "Center users are meant, keep iam:CreateUser from such names); it never matches the session name "
            f"of any other role; for a session of an ordinary role use 'arn:aws:sts::*:assumed-role/ROLE/{glob}'"
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

    __slots__ = ("_account", "_any", "_arn", "_permission_set", "_role", "_root", "_user")

    def __init__(self, patterns: Iterable[str]) -> None:
        arns: list[str] = []
        globs: dict[str, list[str]] = {kind: [] for kind in _PATTERN_KINDS}
        self._any = False
        self._root = False
        for pattern in patterns:
            if pattern == "*":
                self._any = True
            elif pattern.startswith("arn:"):
                arns.append(pattern)
            elif pattern == f"user:{_ROOT}":
                self._root = True
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
        if self._any or (self._root and principal.kind == "Root"):
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

    __slots__ = ("_account", "_always", "_arn", "_permission_set", "_role", "_root", "_user")

    def __init__(self, pattern_lists: Sequence[Iterable[str]]) -> None:
        always = 0
        root = 0
        entries: dict[str, list[tuple[int, str]]] = {"arn": [], **{kind: [] for kind in _PATTERN_KINDS}}
        for owner, patterns in enumerate(pattern_lists):
            for pattern in patterns:
                if pattern == "*":
                    always |= 1 << owner
                elif pattern == f"user:{_ROOT}":
                    root |= 1 << owner
                elif pattern.startswith("arn:"):
                    entries["arn"].append((owner, pattern))
                else:
                    kind, _, glob = pattern.partition(":")
                    if kind in entries and glob:
                        entries[kind].append((owner, glob))
        self._always = always
        self._root = root
        self._arn = GlobIndex(entries["arn"])
        self._user = GlobIndex(entries["user"])
        self._role = GlobIndex(entries["role"])
        self._account = GlobIndex(entries["account"])
        self._permission_set = GlobIndex(entries["permission-set"])

    def __call__(self, principal: Principal) -> int:
        """Return the bitmask of owners (bit ``i`` for ``pattern_lists[i]``) whose patterns match."""
        return (
            self._always
            | (self._root if principal.kind == "Root" else 0)
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
