"""`warden explain`, the request: the session to decide, built from a recorded event and/or flags, and the policy,
grants and assumed open sessions read from files and flags (nothing here decides or prints)."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from warden_cli.aws import connection_of
from warden_cli.clock import now
from warden_cli.errors import CliError
from warden_cli.inputs import parse_account, parse_region, parse_tags, parse_time, read_json, read_text
from warden_cli.output import iso_or_none

if TYPE_CHECKING:
    from warden.events import SessionApiCall
    from warden.policy import Grant, OpenSession, Policy, Principal, SessionLogging, SessionType

# The sessions --open-sessions assumes started this long before the explained one: older, so they hold its limits.
_OPEN_BEFORE = timedelta(seconds=1)


@dataclass(frozen=True)
class ExplainedSession:
    """The session to decide: the event's fields, overridden by the flags, and when to decide it."""

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


def assumed_open(session: ExplainedSession, count: int) -> list[OpenSession]:
    """``count`` other sessions of the principal on the target, Connected, started just before the session."""
    from warden.policy import OpenSession

    started = session.started - _OPEN_BEFORE
    return [
        OpenSession(f"open-{index}", session.principal.arn, session.target, started, "Connected", session.tags)
        for index in range(1, count + 1)
    ]


def read_policy(path: str) -> Policy:
    from warden.policy import PolicyError, load_policy

    text = read_text(path, what="policy file")
    try:
        return load_policy(text, source=path)
    except PolicyError as error:
        raise CliError(str(error)) from None  # "FILE: line N: path: message (and K more)"


def session_of(args: argparse.Namespace) -> ExplainedSession:
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
    return ExplainedSession(
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


def read_grants(path: str) -> list[Grant]:
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
