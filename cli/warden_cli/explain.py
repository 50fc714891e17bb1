"""`warden explain`: the decision the warden would make for a session, offline (no AWS call)."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from warden_cli.aws import connection_of
from warden_cli.clock import now
from warden_cli.errors import EXIT_DENIED, EXIT_OK, CliError
from warden_cli.inputs import parse_account, parse_region, parse_tags, parse_time, read_json, read_text
from warden_cli.output import iso_or_none, print_json, relative, short_time

if TYPE_CHECKING:
    from warden.events import SessionApiCall
    from warden.policy import (
        Decision,
        Grant,
        OpenSession,
        Policy,
        Principal,
        SessionLogging,
        SessionRequest,
        SessionType,
    )

# The sessions --open-sessions assumes started this long before the explained one: older, so they hold its limits.
_OPEN_BEFORE = timedelta(seconds=1)


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "explain",
        help="the decision for a session, offline: which rule or grant, why, and until when",
        description=(
            "Decide a session against a policy file, without any AWS call. The session comes from a recorded "
            "CloudTrail event (--event) and/or flags; flags override the event. Exit 0 allow, 1 deny, 2 bad input."
        ),
    )
    parser.add_argument("--policy", required=True, metavar="FILE", help="the policy document (YAML or JSON)")
    parser.add_argument(
        "--event",
        metavar="EVENT.json",
        help="a StartSession/ResumeSession event: the EventBridge event or the bare CloudTrail record",
    )
    parser.add_argument("--principal", metavar="ARN", help="the caller's ARN (user, role or assumed-role session)")
    parser.add_argument(
        "--role-arn",
        metavar="ARN",
        help="for an assumed-role --principal: the role's ARN with its path (an IAM Identity Center role's path "
        "is /aws-reserved/sso.amazonaws.com/...); without it the session is judged as an ordinary role's",
    )
    parser.add_argument("--target", metavar="ID", help="instance or managed-node id (required for ResumeSession)")
    parser.add_argument(
        "--tag",
        action="extend",
        nargs="+",
        metavar="K=V",
        help="tags of the target, repeatable (explain does not look them up)",
    )
    parser.add_argument("--document", metavar="D", help="session document name or ARN (default: the shell)")
    parser.add_argument(
        "--session-type",
        choices=("shell", "port", "remote-port", "command"),
        help="what the document does (default: known for AWS-provided documents, else unknown)",
    )
    parser.add_argument("--host", metavar="H", help="the remote host of a remote-port session (its host parameter)")
    parser.add_argument("--reason", metavar="R", help="the reason given at StartSession")
    parser.add_argument(
        "--logging",
        choices=("s3", "cloudwatch", "both", "none"),
        help="where the Session Manager preferences log sessions (for require_logging; explain reads no "
        "preferences). Port and remote-port sessions are never logged, whatever this says",
    )
    parser.add_argument(
        "--grants",
        metavar="GRANTS.json",
        help='grants: a JSON list, {"grants": [...]}, or the output of `warden grant list --json`',
    )
    parser.add_argument("--at", metavar="ISO", help="when to decide (default: the event's time, else now)")
    parser.add_argument("--started", metavar="ISO", help="when the session started (default: --at)")
    parser.add_argument(
        "--account",
        metavar="ID",
        help="organization mode: the account the session runs in (default: the event's, else the principal's)",
    )
    parser.add_argument(
        "--region", metavar="R", help="organization mode: the region the session runs in (default: the event's)"
    )
    parser.add_argument(
        "--ou",
        metavar="PATH",
        help="organization mode: the account's OU path from the root, e.g. Production/Web (explain does not look it "
        "up; without it, rules naming ou: paths allow nothing and deny it)",
    )
    parser.add_argument(
        "--open-sessions",
        type=_count,
        metavar="N",
        help="decide as if N other sessions of the same principal on the same target were open (Connected, started "
        "just before this one): they count against every max_sessions rule the session matches and against "
        "max_sessions_per_target (default: none open; explain makes no AWS call)",
    )
    parser.add_argument(
        "--json",
        action="store_true",
        help="print {decision, rule, grant, reasons, deadline, warnings} (and open_sessions, with --open-sessions)",
    )
    parser.set_defaults(handler=explain_command)


def _count(text: str) -> int:
    if text.strip().isdigit():
        return int(text)
    raise argparse.ArgumentTypeError(f"{text!r} is not a number of sessions: expected a whole number, 0 or more")


@dataclass(frozen=True)
class _Session:
    principal: Principal
    target: str
    tags: dict[str, str]
    document: str
    session_type: SessionType | None
    host: str | None
    account: str | None
    region: str | None
    account_path: str | None
    logging: SessionLogging | None
    reason: str | None
    started: datetime
    at: datetime
    event_time: datetime | None


def explain_command(args: argparse.Namespace) -> int:
    from warden.policy import SessionRequest, decide
    from warden.policy.notices import format_warnings, session_warnings
    from warden.timefmt import iso

    policy = _load_policy(args.policy)
    session = _session(args)
    grants = _load_grants(args.grants) if args.grants else []
    request = SessionRequest(
        principal=session.principal,
        target=session.target,
        tags=session.tags,
        document=session.document,
        reason=session.reason,
        started=session.started,
        session_type=session.session_type,
        host=session.host,
        account=session.account,
        logging=session.logging,
        region=session.region,
        account_path=session.account_path,
    )
    decision = decide(policy, request, grants, session.at, _assumed_open(session, args.open_sessions or 0))
    # In monitor mode nothing ends at the deadline, so no one is warned of it.
    warn_before = () if policy.mode == "monitor" else policy.warn_before
    warnings = session_warnings(warn_before, decision.deadline if decision.allowed else None, session.started)
    if args.json:
        data = decision.to_json()
        data["warnings"] = [{"before": time.label, "at": iso(time.at)} for time in warnings]
        if args.open_sessions is not None:
            data["open_sessions"] = args.open_sessions
        places = _places(policy, request)
        if places is not None or _place_flags(args):
            data["where"] = {"account": _account_of(request), "ou": session.account_path, "region": session.region}
            data["places"] = [place.to_json() for place in places or ()]
        print_json(data)
    else:
        judges_types = any(rule.session_types is not None or rule.hosts is not None for rule in policy.rules)
        judges_logging = policy.require_logging or any(rule.require_logging for rule in policy.rules)
        warned = None
        if warnings:
            zone = decision.ends.zone if decision.ends is not None else "UTC"
            before = ", ".join(time.label for time in warnings)
            warned = f"warnings: {format_warnings(warnings, zone, session.at)} ({before} before the deadline)"
        _print_human(
            decision,
            session,
            tags_given=bool(args.tag),
            judges_types=judges_types,
            judges_logging=judges_logging,
            warnings=warned,
        )
        _print_limits_note(decision, session, args.open_sessions)
        _print_places(_places(policy, request), request)
    return EXIT_OK if decision.allowed else EXIT_DENIED


def _place_flags(args: argparse.Namespace) -> bool:
    return args.account is not None or args.region is not None or args.ou is not None


def _account_of(request: SessionRequest) -> str | None:
    return request.account if request.account is not None else request.principal.account


@dataclass(frozen=True)
class _Place:
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


def _places(policy: Policy, request: SessionRequest) -> list[_Place] | None:
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
    account = _account_of(request)
    found: list[_Place] = []
    for compiled_rule in (*deny, *allow):
        rule = compiled_rule.rule
        if rule.accounts is None and rule.regions is None:
            continue
        matcher = PlaceMatcher(rule.accounts, rule.regions, fail_closed=rule.effect == "deny")
        fails = (
            *(("accounts",) if not matcher.account_holds(account, request.account_path) else ()),
            *(("regions",) if not matcher.region_holds(request.region) else ()),
        )
        found.append(_Place(rule.name, rule.effect, rule.accounts, rule.regions, fails))
    order = {rule.name: position for position, rule in enumerate(policy.rules)}
    return sorted(found, key=lambda place: order[place.rule])


def _names_ou(accounts: tuple[str, ...] | None) -> bool:
    return any(entry.startswith("ou:") for entry in accounts or ())


def _print_places(places: list[_Place] | None, request: SessionRequest) -> None:
    if places is None:
        return
    account = _account_of(request) or "unknown"
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
            ("--account", _account_of(request) is None and any(place.accounts for place in places)),
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


def _assumed_open(session: _Session, count: int) -> list[OpenSession]:
    """``count`` other sessions of the principal on the target, Connected, started just before the session."""
    from warden.policy import OpenSession

    started = session.started - _OPEN_BEFORE
    return [
        OpenSession(f"open-{index}", session.principal.arn, session.target, started, "Connected", session.tags)
        for index in range(1, count + 1)
    ]


def _print_limits_note(decision: Decision, session: _Session, open_sessions: int | None) -> None:
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


def _load_policy(path: str) -> Policy:
    from warden.policy import PolicyError, load_policy

    text = read_text(path, what="policy file")
    try:
        return load_policy(text, source=path)
    except PolicyError as error:
        raise CliError(str(error)) from None  # "FILE: line N: path: message (and K more)"


def _session(args: argparse.Namespace) -> _Session:
    from warden.policy import (
        aws_document_logging,
        aws_document_session_type,
        normalise_document,
        port_logging,
        principal_from_arn,
        session_host,
        stated_logging,
    )

    call = _load_event(args.event) if args.event else None
    tags = parse_tags(args.tag)

    if args.principal is not None:
        try:
            role_arn = args.role_arn.strip() if args.role_arn else None
            principal = principal_from_arn(args.principal.strip(), role_arn=role_arn)
        except ValueError as error:
            raise CliError(
                f"--principal: {error}; pass the caller's ARN, e.g. arn:aws:iam::123456789012:user/alice"
            ) from None
    elif call is not None:
        principal = call.principal
    else:
        raise CliError("--principal: required without --event (the caller's ARN)")

    target = args.target or (call.target if call is not None else None)
    if not target:
        if call is not None:
            raise CliError(f"{args.event}: a {call.event_name} event names no target: pass --target ID")
        raise CliError("--target: required without --event (the instance or managed-node id)")

    if args.document is not None:
        document = normalise_document(args.document)
    else:
        document = call.document if call is not None else normalise_document(None)

    # Explain reads no document: what an AWS-provided one does is known, any other's takes --session-type.
    session_type = args.session_type or aws_document_session_type(document)
    host = args.host.strip() if args.host else session_host(call.document_parameters if call is not None else None)
    # A tunnel is never logged (AWS-StartSSHSession included); anything else is logged as --logging states.
    if aws_document_logging(document) == "port" or session_type in ("port", "remote-port"):
        logging: SessionLogging | None = port_logging(document)
    else:
        logging = stated_logging(args.logging) if args.logging else None

    account = parse_account(args.account) if args.account is not None else (call.account if call else None)
    region = parse_region(args.region) if args.region is not None else (call.region if call else None)
    account_path = _ou_flag(args.ou) if args.ou is not None else None

    # The event gives its own time: explaining an event decides it as it was when CloudTrail recorded it.
    if args.at:
        at = parse_time(args.at, option="--at")
    else:
        at = call.event_time if call is not None else now(connection_of(args).endpoint_url)
    started = parse_time(args.started, option="--started") if args.started else at
    if started > at:
        raise CliError(f"--started: {iso_or_none(started)} is after --at {iso_or_none(at)}")
    return _Session(
        principal=principal,
        target=target.strip(),
        tags=tags,
        document=document,
        session_type=session_type,
        host=host,
        account=account,
        region=region,
        account_path=account_path,
        logging=logging,
        reason=args.reason if args.reason is not None else (call.reason if call is not None else None),
        started=started,
        at=at,
        event_time=call.event_time if call is not None else None,
    )


def _ou_flag(value: str) -> str:
    from warden.policy import ou_path_problem

    path = value.strip().removeprefix("ou:")
    problem = ou_path_problem(path)
    if problem is not None:
        raise CliError(f"--ou: {value!r}: {problem}")
    return path


def _load_event(path: str) -> SessionApiCall:
    from warden.event_errors import EventError
    from warden.events import describe_failure, parse_session_event

    data = read_json(path, what="event file")
    try:
        call = parse_session_event(data)
    except EventError as error:
        raise CliError(f"{path}: {error}") from None
    if not call.is_start:
        raise CliError(
            f"{path}: {call.event_name} ends a session, so there is nothing to decide: "
            "explain takes a StartSession or ResumeSession event"
        )
    if call.failed:
        raise CliError(f"{path}: {describe_failure(call)}: no session was opened, so there is nothing to decide")
    return call


def _load_grants(path: str) -> list[Grant]:
    from pydantic import ValidationError

    from warden.policy import Grant

    data = read_json(path, what="grants file")
    if isinstance(data, dict) and "grants" in data:
        data = data["grants"]
    elif isinstance(data, dict):
        raise CliError(f'{path}: expected a JSON list of grants or {{"grants": [...]}}, got an object without "grants"')
    if not isinstance(data, list):
        raise CliError(f"{path}: expected a JSON list of grants, got {type(data).__name__}")
    grants: list[Grant] = []
    for index, item in enumerate(data):
        where = f"{path}: grants[{index}]"
        if not isinstance(item, dict):
            raise CliError(f"{where}: expected a grant object, got {type(item).__name__}")
        # `grant list --json` says "scheduled" of an active grant not yet started.
        stored = {**item, "state": "active"} if item.get("state") == "scheduled" else item
        try:
            grants.append(Grant.model_validate(stored))
        except ValidationError as error:
            raise CliError(f"{where}{_first_error(error)}") from None
        except ValueError as error:
            raise CliError(f"{where}: {error}") from None
    return grants


def _first_error(error: Any) -> str:
    first = error.errors(include_url=False)[0]
    field = ".".join(str(part) for part in first["loc"])
    message = str(first["msg"]).removeprefix("Value error, ")
    return f".{field}: {message}" if field else f": {message}"


def _print_human(
    decision: Decision,
    session: _Session,
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
