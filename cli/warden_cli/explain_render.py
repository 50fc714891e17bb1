"""`warden explain`, the output: the decision in words (basis, reasons, deadline and the notes on what explain could
not know), the rules naming accounts or regions and whether they hold here, and the notes on assumed open sessions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from warden_cli.output import iso_or_none, relative, short_time

if TYPE_CHECKING:
    from warden.policy import Decision, Policy, SessionRequest
    from warden_cli.explain_request import ExplainedSession


def account_of(request: SessionRequest) -> str | None:
    return request.account if request.account is not None else request.principal.account


@dataclass(frozen=True)
class Place:
    """A rule naming accounts or regions that matches the session in everything else: do its places hold?"""

    rule: str
    effect: str
    accounts: tuple[str, ...] | None
    regions: tuple[str, ...] | None
    fails_on: tuple[str, ...]

    def to_json(self) -> dict[str, object]:
        return {
            "rule": self.rule,
            "effect": self.effect,
            "accounts": list(self.accounts) if self.accounts is not None else None,
            "regions": list(self.regions) if self.regions is not None else None,
            "holds": not self.fails_on,
            "fails_on": list(self.fails_on),
        }


def places_of(policy: Policy, request: SessionRequest) -> list[Place] | None:
    """The rules naming accounts or regions that match the session on everything else; ``None``: the policy has none."""
    from warden.policy import PlaceMatcher, aws_document_session_type, normalise_document

    compiled = policy.compiled
    if not compiled.names_places:
        return None
    document = normalise_document(request.document)
    deny, allow = compiled.applicable(
        request.principal,
        request.target,
        request.tags,
        document,
        account=request.account,
        session_type=request.session_type or aws_document_session_type(document),
        host=request.host,
        placed=False,
    )
    account = account_of(request)
    found: list[Place] = []
    for compiled_rule in (*deny, *allow):
        rule = compiled_rule.rule
        if rule.accounts is None and rule.regions is None:
            continue
        matcher = PlaceMatcher(rule.accounts, rule.regions, fail_closed=rule.effect == "deny")
        fails = (
            *(("accounts",) if not matcher.account_holds(account, request.account_path) else ()),
            *(("regions",) if not matcher.region_holds(request.region) else ()),
        )
        found.append(Place(rule.name, rule.effect, rule.accounts, rule.regions, fails))
    order = {rule.name: position for position, rule in enumerate(policy.rules)}
    return sorted(found, key=lambda place: order[place.rule])


def _names_ou(accounts: tuple[str, ...] | None) -> bool:
    return any(entry.startswith("ou:") for entry in accounts or ())


def print_places(places: list[Place] | None, request: SessionRequest) -> None:
    if places is None:
        return
    account = account_of(request) or "unknown"
    ou = request.account_path if request.account_path is not None else "unknown"
    ou = f"OU path {ou}" if ou else "directly under the root"
    print(f"where: account {account} ({ou}), region {request.region or 'unknown'}")
    for place in places:
        named = "; ".join(
            f"{field} {', '.join(values)}"
            for field, values in (("accounts", place.accounts), ("regions", place.regions))
            if values is not None
        )
        misses = " and ".join(f"not in its {field}" for field in place.fails_on)
        verdict = "applies here" if not place.fails_on else f"does not apply here ({misses})"
        print(f"  - rule {place.rule} ({place.effect}) names {named}: {verdict}")
    unknown = [
        what
        for what, missing in (
            ("--account", account_of(request) is None and any(place.accounts for place in places)),
            ("--ou", request.account_path is None and any(_names_ou(place.accounts) for place in places)),
            ("--region", request.region is None and any(place.regions for place in places)),
        )
        if missing
    ]
    if unknown:
        print(
            "note: where the session runs is partly unknown: rules naming accounts, OU paths or regions allow nothing "
            f"and deny it where they cannot tell; pass {', '.join(unknown)}"
        )


def print_limits_note(decision: Decision, session: ExplainedSession, open_sessions: int | None) -> None:
    if open_sessions is not None:
        print(
            f"note: as if {open_sessions} other session(s) of {session.principal.display} on {session.target} were "
            "open (Connected, started just before this one, ids open-1...): they count against every max_sessions "
            "rule the session matches and against max_sessions_per_target"
        )
    elif decision.limits:
        print(
            "note: a session limit applies to this session; it was decided as if no other session were open "
            "(explain makes no AWS call): pass --open-sessions N"
        )


def print_human(
    decision: Decision,
    session: ExplainedSession,
    *,
    tags_given: bool,
    judges_types: bool,
    judges_logging: bool = False,
    warnings: str | None = None,
) -> None:
    if decision.basis == "session-limit":
        basis = f"by the session limit of rule {decision.rule}" if decision.rule else "by max_sessions_per_target"
    elif decision.basis == "require-logging":
        basis = "by require_logging"
    elif decision.rule:
        basis = f"by rule {decision.rule}"
    elif decision.grant:
        basis = f"by grant {decision.grant}"
    else:
        basis = "by the policy's default"
    tags = ", ".join(f"{key}={value}" for key, value in session.tags.items())
    subject = f"{session.principal.display} on {session.target}" + (f" ({tags})" if tags else "")
    kind: str = session.session_type or "session type unknown"
    if session.host:
        kind += f" to {session.host}"
    print(f"{decision.decision.upper()} {basis}: {subject}, {session.document} ({kind}), at {short_time(session.at)}")
    for reason in decision.reasons:
        print(f"  - {reason}")
    if decision.allowed:
        if decision.deadline is not None:
            print(f"deadline: {iso_or_none(decision.deadline)} ({relative(decision.deadline, session.at)})")
            if warnings:
                print(warnings)
        else:
            print("deadline: none (nothing that allows it ends)")
    principal = session.principal
    if (
        principal.kind == "AssumedRole"
        and (principal.role or "").startswith("AWSReservedSSO_")
        and not (principal.identity_center)
    ):
        print(
            "note: judged as an ordinary role: an assumed-role ARN carries no path; pass --role-arn with the "
            "role's path (/aws-reserved/sso.amazonaws.com/...) to judge it as IAM Identity Center"
        )
    if session.session_type is None and judges_types:
        print(
            "note: the session type is unknown (explain reads no document): rules with session_types or hosts "
            "allow nothing and deny it; pass --session-type"
        )
    if session.logging is None and judges_logging:
        print(
            "note: whether Session Manager logs the session is unknown (explain reads no preferences): "
            "require_logging treats it as not logged; pass --logging s3|cloudwatch|both|none"
        )
    if not tags_given:
        print("note: no --tag given, so the target is taken to have no tags (explain does not look them up)")
    if session.event_time is not None and session.event_time != session.at:
        print(
            f"note: decided at {iso_or_none(session.at)}; the event happened at {iso_or_none(session.event_time)} "
            "(pass --at with that time to replay it)"
        )
