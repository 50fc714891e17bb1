"""IAM for the stack's functions: each call a handler makes is checked against its own role's statements.

moto's own enforcement is unusable for this (NOTES.md: a process-wide counter, the resource always ``*``, managed
policies ignored), so this small evaluator does what matters for a missing permission: an explicit ``Deny`` wins,
else an ``Allow`` whose ``Action`` (or ``NotAction``) and ``Resource`` (or ``NotResource``) match the call's action
and real resource ARN, with ``*`` and ``?`` globs; else the call is denied.

Not checked: ``Condition`` blocks (a statement applies as if its condition held), resource-based policies (queue,
topic, key policies), SCPs and RCPs, permission boundaries, session policies, and any principal other than a
function's role (the harness, the tests and people's own credentials are unrestricted).
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import unquote


@dataclass(frozen=True)
class Statement:
    """One statement of an identity-based policy, its lists normalised."""

    effect: str
    actions: tuple[str, ...] = ()
    not_actions: tuple[str, ...] | None = None
    resources: tuple[str, ...] = ()
    not_resources: tuple[str, ...] | None = None
    has_condition: bool = False

    def applies(self, action: str, resource: str) -> bool:
        if self.not_actions is not None:
            if any(glob_match(pattern, action, case=False) for pattern in self.not_actions):
                return False
        elif not any(glob_match(pattern, action, case=False) for pattern in self.actions):
            return False
        if self.not_resources is not None:
            return not any(glob_match(pattern, resource) for pattern in self.not_resources)
        return any(glob_match(pattern, resource) for pattern in self.resources)


def _strings(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    return tuple(str(item) for item in value)


def parse_policy(document: Any) -> list[Statement]:
    """The statements of a policy document (a dict, or its JSON text, URL-encoded or not)."""
    if isinstance(document, str):
        text = document.strip()
        document = json.loads(text if text.startswith("{") else unquote(text))
    raw = document.get("Statement", []) if isinstance(document, dict) else []
    statements = []
    for item in [raw] if isinstance(raw, dict) else raw:
        statements.append(
            Statement(
                effect=str(item.get("Effect", "")),
                actions=_strings(item.get("Action")),
                not_actions=_strings(item["NotAction"]) if "NotAction" in item else None,
                resources=_strings(item.get("Resource")),
                not_resources=_strings(item["NotResource"]) if "NotResource" in item else None,
                has_condition=bool(item.get("Condition")),
            )
        )
    return statements


@lru_cache(maxsize=4096)
def _glob(pattern: str, case: bool) -> re.Pattern[str]:
    body = "".join(".*" if char == "*" else "." if char == "?" else re.escape(char) for char in pattern)
    return re.compile(body, 0 if case else re.IGNORECASE)


def glob_match(pattern: str, value: str, *, case: bool = True) -> bool:
    """IAM's wildcard match: ``*`` any run of characters, ``?`` one; actions ignore case, ARNs do not."""
    return _glob(pattern, case).fullmatch(value) is not None


ALLOWED, IMPLICIT_DENY, EXPLICIT_DENY = "allowed", "implicit-deny", "explicit-deny"


def evaluate(statements: Iterable[Statement], action: str, resource: str) -> str:
    """``allowed``, ``implicit-deny`` (nothing allows it) or ``explicit-deny`` (a Deny matches)."""
    allowed = False
    for statement in statements:
        if not statement.applies(action, resource):
            continue
        if statement.effect == "Deny":
            return EXPLICIT_DENY
        if statement.effect == "Allow":
            allowed = True
    return ALLOWED if allowed else IMPLICIT_DENY


_PARSED: dict[tuple[Any, ...], list[Statement]] = {}


def role_statements(account_id: str, role_arn: str) -> list[Statement]:
    """Every statement of the role's inline and attached managed policies, as moto's IAM holds them now."""
    from moto.iam.models import iam_backends

    backend = iam_backends[account_id]["aws"]
    try:
        role = backend.get_role_by_arn(arn=role_arn)
    except Exception:
        return []
    # Parsed once per version of the role's policies.
    inline = tuple(
        (name, document if isinstance(document, str) else json.dumps(document, sort_keys=True))
        for name, document in role.policies.items()
    )
    managed = tuple((arn, policy.default_version_id) for arn, policy in role.managed_policies.items())
    key = (role_arn, inline, managed)
    cached = _PARSED.get(key)
    if cached is not None:
        return cached
    statements: list[Statement] = []
    for document in role.policies.values():
        statements += parse_policy(document)
    for policy in role.managed_policies.values():
        version = next((v for v in policy.versions if v.version_id == policy.default_version_id), None)
        if version is not None:
            statements += parse_policy(version.document)
    if len(_PARSED) > 256:
        _PARSED.clear()
    _PARSED[key] = statements
    return statements


def account_of_arn(arn: str, default: str) -> str:
    """The account id of an IAM or STS ARN (``arn:aws:iam::ACCOUNT:...``), else ``default``."""
    parts = arn.split(":")
    return parts[4] if len(parts) > 5 and parts[4].isdigit() else default


@dataclass(frozen=True)
class Decision:
    """One evaluated request: who, what, on which resource, and the outcome."""

    function_name: str
    caller_arn: str
    action: str
    resource: str
    outcome: str

    @property
    def allowed(self) -> bool:
        return self.outcome == ALLOWED

    def message(self) -> str:
        why = (
            "with an explicit deny in an identity-based policy"
            if self.outcome == EXPLICIT_DENY
            else f"because no identity-based policy allows the {self.action} action"
        )
        return f"User: {self.caller_arn} is not authorized to perform: {self.action} on resource: {self.resource} {why}"


class Authorizer:
    """Checks the calls made with the credentials of a function's role; every other caller passes unchecked."""

    def __init__(self, account_id: str, *, enforce: bool = True) -> None:
        self._account_id = account_id
        self.enforce = enforce
        self._principals: dict[str, tuple[str, str, str]] = {}  # access key -> (role ARN, caller ARN, function)
        self._decisions: list[Decision] = []
        self._unchecked: list[tuple[str, str]] = []
        self._lock = threading.Lock()

    def register(self, access_key_id: str, role_arn: str, function_name: str, session_name: str | None = None) -> None:
        """``access_key_id`` belongs to the role Lambda assumed for ``function_name`` (or to a role that function
        assumed in turn, as ``session_name``: a member account's role); its calls are checked against that role's
        policies, in the role's own account."""
        role_name = role_arn.rsplit("/", 1)[-1]
        session = session_name or function_name[:64]
        caller = f"arn:aws:sts::{account_of_arn(role_arn, self._account_id)}:assumed-role/{role_name}/{session}"
        with self._lock:
            self._principals[access_key_id] = (role_arn, caller, function_name)

    def function_of(self, access_key_id: str | None) -> str | None:
        """The function whose calls this key signs (its role's, or a role it assumed), or None."""
        principal = self._principals.get(access_key_id or "")
        return principal[2] if principal is not None else None

    def is_checked(self, access_key_id: str | None) -> bool:
        """Whether calls signed with this key are a function role's, so checked."""
        return (access_key_id or "") in self._principals

    def check(self, access_key_id: str | None, required: list[tuple[str, str]] | None, service: str) -> Decision | None:
        """The first denied (action, resource) of a request, or None when all are allowed or it is not checked.

        ``required`` is None when the request's action could not be named (a REST-protocol service): recorded as
        unchecked.
        """
        principal = self._principals.get(access_key_id or "")
        if principal is None:
            return None
        role_arn, caller, function_name = principal
        if required is None:
            with self._lock:
                self._unchecked.append((function_name, service))
            return None
        statements = role_statements(account_of_arn(role_arn, self._account_id), role_arn)
        denied: Decision | None = None
        for action, resource in required:
            decision = Decision(function_name, caller, action, resource, evaluate(statements, action, resource))
            with self._lock:
                self._decisions.append(decision)
            if not decision.allowed and denied is None:
                denied = decision
        return denied if self.enforce else None

    @property
    def decisions(self) -> list[Decision]:
        """Every call of a function role evaluated so far (allowed or not), oldest first."""
        with self._lock:
            return list(self._decisions)

    @property
    def denials(self) -> list[Decision]:
        return [decision for decision in self.decisions if not decision.allowed]

    @property
    def unchecked(self) -> list[tuple[str, str]]:
        """(function, service) of calls whose action the local cloud could not name, so could not check."""
        with self._lock:
            return list(self._unchecked)
