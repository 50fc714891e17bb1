"""Alerts on the lifecycle of what the warden enforces: a grant created, extended, expired or revoked; a stored
policy rejected or missing."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from warden.alerts.text import AlertContext, build_alert, facts, fields, footer, warden_command, when
from warden.policy import Grant, format_duration
from warden.records import Alert, ChatCard

GrantAlertKind = Literal["grant-created", "grant-extended", "grant-expired", "grant-revoked"]


_GRANT_VERBS: dict[GrantAlertKind, tuple[str, str]] = {
    "grant-created": ("GRANT CREATED", "A just-in-time grant was created."),
    "grant-extended": (
        "GRANT EXTENDED",
        "A just-in-time grant was extended. Open sessions it allows get the new end at the next sweep.",
    ),
    "grant-expired": (
        "GRANT EXPIRED",
        "A just-in-time grant expired. Open sessions that only it allowed are ended within a minute.",
    ),
    "grant-revoked": (
        "GRANT REVOKED",
        "A just-in-time grant was revoked. Open sessions that only it allowed are ended within a minute.",
    ),
}


def grant_alert(
    kind: GrantAlertKind,
    context: AlertContext,
    grant: Grant,
    *,
    by: str | None = None,
    previous_until: datetime | None = None,
    why: str | None = None,
) -> Alert:
    """INFO alert on a grant's lifecycle: created, extended, revoked, expired.

    Parameters
    ----------
    by
        Who revoked or extended it.
    previous_until, why
        For ``grant-extended``: the expiry before the extension, and the reason given for it.
    """
    verb, opening = _GRANT_VERBS[kind]
    scope = grant_scope(grant)
    extended = kind == "grant-extended"
    pairs: tuple[tuple[str, str | None], ...] = (
        ("Grant", grant.id),
        ("Who", grant.principal),
        ("Targets", scope),
        ("From", when(grant.starts_at)),
        ("Until", when(grant.expires_at)),
        ("Was until", when(previous_until) if extended else None),
        ("Duration", format_duration(grant.expires_at - grant.starts_at)),
        ("Reason", grant.reason),
        ("Created by", grant.created_by),
        ("Revoked by", by if kind == "grant-revoked" else None),
        ("Extended by", by if extended else None),
        ("Extended for", why if extended else None),
    )
    lines = [opening, "", *fields(*pairs), *footer(context, "INFO", kind)]
    card = ChatCard(
        title=f"{verb} {grant.principal} on {scope}",
        description=opening,
        facts=facts(*pairs),
        next_steps=_grant_steps(kind, context, grant),
        thread=grant.id,
        resources=(grant.id,),
    )
    return build_alert(kind, "INFO", f"{verb} {grant.principal} on {scope}", lines, card=card)


def policy_rejected_alert(
    context: AlertContext, *, parameter: str, error: str, in_force: str, appconfig: bool = False
) -> Alert:
    """MEDIUM alert: the stored policy document is invalid; which one stays in force.

    ``appconfig``: the store is the organization's AppConfig profile (``parameter`` names it), not the parameter.
    """
    store = "deployed from AWS AppConfig" if appconfig else "stored in Parameter Store"
    return _policy_alert(
        context,
        ("policy-rejected", "MEDIUM", "POLICY REJECTED"),
        f"The policy document {store} is invalid and was NOT put in force.",
        (parameter, error, in_force),
        ["Fix the document and store it with `warden policy push FILE`, which validates before it writes."],
    )


def policy_missing_alert(
    context: AlertContext, *, parameter: str, problem: str, in_force: str, appconfig: bool = False
) -> Alert:
    """HIGH alert: the policy store cannot be read (deleted, access denied); which policy stays in force."""
    if appconfig:
        opening = "The policy in AWS AppConfig could not be read. Session Warden keeps enforcing the last valid policy."
        advice = [
            "Check who deleted the configuration profile, environment or application, or changed the functions' access",
            "to them (CloudTrail: DeleteConfigurationProfile, DeleteEnvironment, StopDeployment, IAM changes), then",
            "restore it (deploy the stack again) and push the policy with `warden policy push FILE`.",
        ]
    else:
        opening = "The policy parameter could not be read. Session Warden keeps enforcing the last valid policy."
        advice = [
            "Check who deleted the parameter or changed the functions' access to it (CloudTrail: DeleteParameter,",
            "PutParameter, IAM changes), then restore it with `warden policy push FILE`.",
        ]
    return _policy_alert(
        context, ("policy-missing", "HIGH", "POLICY MISSING"), opening, (parameter, problem, in_force), advice
    )


def _policy_alert(
    context: AlertContext,
    heading: tuple[str, Literal["HIGH", "MEDIUM"], str],
    opening: str,
    details: tuple[str, str, str],
    advice: list[str],
) -> Alert:
    kind, severity, verb = heading
    parameter, problem, in_force = details
    lines = [
        opening,
        "",
        *fields(("Parameter", parameter), ("Problem", problem), ("In force", in_force)),
        "",
        *advice,
        *footer(context, severity, kind),
    ]
    card = ChatCard(
        title=f"{verb} {parameter}",
        description=opening,
        facts=facts(("Parameter", parameter), ("Problem", problem), ("In force", in_force)),
        next_steps=(
            ("Check the fixed document", "warden policy validate FILE"),
            ("Store it", warden_command(context, "policy push FILE")),
            ("See the one in force", warden_command(context, "policy show")),
        ),
        thread=parameter,
        resources=(parameter,),
    )
    return build_alert(kind, severity, f"{verb} {parameter}", lines, card=card)


def grant_scope(grant: Grant) -> str:
    """``i-0abc, i-0def`` or ``Environment=prod`` (tags joined with commas), then the accounts and regions it names:
    ``Environment=prod; accounts 222222222222; regions eu-west-1``."""
    parts: list[str] = []
    if grant.targets.ids:
        parts.extend(grant.targets.ids)
    for key, value in (grant.targets.tags or {}).items():
        values = [value] if isinstance(value, str) else list(value)
        parts.append(f"{key}={'|'.join(values)}")
    places = [
        f"{field} {', '.join(entries)}"
        for field, entries in (("accounts", grant.accounts), ("regions", grant.regions))
        if entries is not None
    ]
    return "; ".join([", ".join(parts) or "every target", *places])


def _grant_steps(kind: GrantAlertKind, context: AlertContext, grant: Grant) -> tuple[tuple[str, str], ...]:
    listing = ("See the grants in force", warden_command(context, "grant list --active"))
    if kind in ("grant-created", "grant-extended"):
        return (
            ("Give it more time", warden_command(context, f"grant extend {grant.id} --for 30m --reason R")),
            ("End it now", warden_command(context, f"grant revoke {grant.id}")),
            listing,
        )
    return (listing,)
