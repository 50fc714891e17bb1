"""Resource-based policies as AWS evaluates them for another account's principal: an event bus's policy (may this
account's rule, or role, put events on it?) and a role's trust policy (may this principal assume it?).

An explicit ``Deny`` that applies wins; else an ``Allow`` that applies admits; else the request is refused. A statement
applies when its ``Principal``, ``Action``, ``Resource`` and every ``Condition`` match. Conditions understood:
the string and ARN operators (``StringEquals``, ``StringLike``, ``ArnEquals``, ``ArnLike``, their ``Not`` and
``IfExists`` forms, ``StringEqualsIgnoreCase``) on ``aws:PrincipalOrgID``, ``aws:PrincipalAccount``,
``aws:PrincipalArn``, ``aws:SourceAccount`` and ``aws:SourceArn``. Anything else fails closed: an ``Allow`` with
a condition the local cloud cannot evaluate never admits, a ``Deny`` with one always applies.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from .iam import glob_match
from .identity import Caller

_STRING_OPERATORS = {
    "StringEquals": (False, False),  # (like, ignore case)
    "StringLike": (True, False),
    "StringEqualsIgnoreCase": (False, True),
    "ArnEquals": (False, False),
    "ArnLike": (True, False),
}


@dataclass(frozen=True)
class Principal:
    """Who asks: an account (a rule acting as the account itself) or one of its principals (a role, a user)."""

    account: str
    arn: str | None = None
    org_id: str | None = None  # the organization the account is an ACTIVE member of, if any
    aliases: tuple[str, ...] = ()  # other ARNs a policy may name it by (an assumed role's session ARN)

    def context(self) -> dict[str, str]:
        values = {"aws:principalaccount": self.account, "aws:sourceaccount": self.account}
        if self.arn:
            values["aws:principalarn"] = self.arn
        if self.org_id:
            values["aws:principalorgid"] = self.org_id
        return values


def statements_of(document: Any) -> list[dict[str, Any]]:
    """The statements of a policy (a dict, its JSON text, or None for no policy)."""
    if document is None or document == "":
        return []
    if isinstance(document, str):
        text = document.strip()
        document = json.loads(text if text.startswith("{") else unquote(text))
    raw = document.get("Statement", []) if isinstance(document, dict) else []
    return [item for item in ([raw] if isinstance(raw, dict) else raw) if isinstance(item, dict)]


def admits(document: Any, principal: Principal, action: str, resource: str | None = None) -> bool:
    """Whether the policy lets ``principal`` do ``action`` on ``resource`` (None: a trust policy, no resource)."""
    allowed = False
    for statement in statements_of(document):
        effect = statement.get("Effect")
        if effect not in ("Allow", "Deny"):
            continue
        deny = effect == "Deny"
        if not _principal_matches(statement, principal):
            continue
        if not _strings_match(statement, "Action", action, case=False):
            continue
        if resource is not None and not _strings_match(statement, "Resource", resource, case=True):
            continue
        if not _conditions_hold(statement.get("Condition"), principal.context(), deny=deny):
            continue
        if deny:
            return False
        allowed = True
    return allowed


def trusts_service(
    document: Any, service: str, *, source_account: str, source_arn: str, action: str = "sts:AssumeRole"
) -> bool:
    """Whether a trust policy lets AWS service ``service`` (``events.amazonaws.com``) assume the role on behalf of
    ``source_arn`` (a rule) of ``source_account`` (conditions on ``aws:SourceAccount`` / ``aws:SourceArn`` hold)."""
    context = {"aws:sourceaccount": source_account, "aws:sourcearn": source_arn}
    allowed = False
    for statement in statements_of(document):
        effect = statement.get("Effect")
        principal = statement.get("Principal")
        services = principal.get("Service") if isinstance(principal, dict) else None
        if effect not in ("Allow", "Deny") or service not in _listed(services):
            continue
        if not _strings_match(statement, "Action", action, case=False):
            continue
        if not _conditions_hold(statement.get("Condition"), context, deny=effect == "Deny"):
            continue
        if effect == "Deny":
            return False
        allowed = True
    return allowed


def _listed(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return [str(item) for item in value]


def _strings_match(statement: dict[str, Any], field: str, value: str, *, case: bool) -> bool:
    if f"Not{field}" in statement:
        return not any(glob_match(pattern, value, case=case) for pattern in _listed(statement[f"Not{field}"]))
    if field not in statement:
        return field == "Resource"  # a trust policy's statements name no resource
    return any(glob_match(pattern, value, case=case) for pattern in _listed(statement[field]))


def _principal_matches(statement: dict[str, Any], principal: Principal) -> bool:
    if "NotPrincipal" in statement:
        return False  # not evaluated: never admits
    named = statement.get("Principal")
    if named == "*":
        return True
    if not isinstance(named, dict):
        return False
    for entry in _listed(named.get("AWS")):
        if entry in ("*", principal.account, f"arn:aws:iam::{principal.account}:root"):
            return True
        if entry == principal.arn or entry in principal.aliases:
            return True
    return False


def _conditions_hold(conditions: Any, context: dict[str, str], *, deny: bool) -> bool:
    if not conditions:
        return True
    if not isinstance(conditions, dict):
        return deny
    for operator, pairs in conditions.items():
        if not isinstance(pairs, dict):
            return deny
        for key, expected in pairs.items():
            outcome = _condition(str(operator), str(key).lower(), _listed(expected), context)
            if outcome is None:
                return deny  # not understood: fail closed
            if not outcome:
                return False
    return True


def _condition(operator: str, key: str, expected: Iterable[str], context: dict[str, str]) -> bool | None:
    if_exists = operator.endswith("IfExists")
    base = operator.removesuffix("IfExists")
    negated = base.startswith(("StringNot", "ArnNot"))
    positive = base.replace("StringNot", "String").replace("ArnNot", "Arn")
    if positive not in _STRING_OPERATORS or key not in {
        "aws:principalorgid",
        "aws:principalaccount",
        "aws:principalarn",
        "aws:sourceaccount",
        "aws:sourcearn",
    }:
        return None
    like, ignore_case = _STRING_OPERATORS[positive]
    value = context.get(key)
    if value is None:
        # A key the request does not carry: IfExists and negated operators hold, the others do not.
        return if_exists or negated
    if like:
        matched = any(glob_match(pattern, value) for pattern in expected)
    elif ignore_case:
        matched = any(pattern.lower() == value.lower() for pattern in expected)
    else:
        matched = value in expected
    return not matched if negated else matched


def trust_refusal(caller: Caller, role_arn: str, org_id: str | None) -> str | None:
    """Why STS refuses ``caller`` AssumeRole into ``role_arn`` (no such role, or its trust policy does not admit
    the caller), or None. ``org_id``: the caller's organization, for ``aws:PrincipalOrgID``."""
    from moto.iam.models import iam_backends

    refused = f"User: {caller.arn} is not authorized to perform: sts:AssumeRole on resource: {role_arn}"
    account = role_arn.split(":")[4] if role_arn.count(":") >= 5 else ""
    try:
        role = iam_backends[account]["aws"].get_role_by_arn(arn=role_arn)
    except Exception:
        return refused
    principal = Principal(
        account=caller.account_id,
        arn=caller.role_arn if caller.kind == "AssumedRole" else caller.arn,
        org_id=org_id,
        aliases=(caller.arn,),
    )
    return None if admits(role.assume_role_policy_document, principal, "sts:AssumeRole") else refused
