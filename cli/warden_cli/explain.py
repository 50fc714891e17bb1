"""`warden explain`: the decision the warden would make for a session, offline (no AWS call).

The command's flags and the decision itself; explain_request builds the session from the event and flags,
explain_render prints the decision as text (the JSON is built here, beside the decision it reports).
"""

from __future__ import annotations

import argparse
from typing import Any

from warden_cli.errors import EXIT_DENIED, EXIT_OK
from warden_cli.explain_render import account_of, places_of, print_human, print_limits_note, print_places
from warden_cli.explain_request import assumed_open, read_grants, read_policy, session_of
from warden_cli.output import print_json


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


def explain_command(args: argparse.Namespace) -> int:
    from warden.policy import SessionRequest, decide
    from warden.policy.notices import format_warnings, session_warnings
    from warden.timefmt import iso

    policy = read_policy(args.policy)
    session = session_of(args)
    grants = read_grants(args.grants) if args.grants else []
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
    decision = decide(policy, request, grants, session.at, assumed_open(session, args.open_sessions or 0))
    # In monitor mode nothing ends at the deadline, so no one is warned of it.
    warn_before = () if policy.mode == "monitor" else policy.warn_before
    warnings = session_warnings(warn_before, decision.deadline if decision.allowed else None, session.started)
    if args.json:
        data = decision.to_json()
        data["warnings"] = [{"before": time.label, "at": iso(time.at)} for time in warnings]
        if args.open_sessions is not None:
            data["open_sessions"] = args.open_sessions
        places = places_of(policy, request)
        if places is not None or _place_flags(args):
            data["where"] = {"account": account_of(request), "ou": session.account_path, "region": session.region}
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
        print_human(
            decision,
            session,
            tags_given=bool(args.tag),
            judges_types=judges_types,
            judges_logging=judges_logging,
            warnings=warned,
        )
        print_limits_note(decision, session, args.open_sessions)
        print_places(places_of(policy, request), request)
    return EXIT_OK if decision.allowed else EXIT_DENIED


def _place_flags(args: argparse.Namespace) -> bool:
    return args.account is not None or args.region is not None or args.ou is not None
