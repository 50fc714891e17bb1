"""Shared CLI helpers: the AWS session and stack outputs, the CLI's clock, input parsing and table/CSV/JSON output."""

from __future__ import annotations

import argparse
import contextlib
import csv
import ipaddress
import json
import os
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO
from urllib.parse import urlsplit

from warden_cli.errors import EXIT_BAD_INPUT, EXIT_DENIED, CliError

if TYPE_CHECKING:
    import boto3

    from warden.policy import Grant, Policy

DEFAULT_STACK = "session-warden"
OUTPUT_KEYS = ("AlertsTopicArn", "GrantsTableName", "LedgerTableName", "PolicyParameterName")
CLOCK_PATH = "/_warden/clock"


# --- options -------------------------------------------------------------------------------------------------------


def add_aws_options(parser: argparse.ArgumentParser) -> None:
    """``--profile``, ``--region`` and ``--stack``, on every command that talks to AWS."""
    group = parser.add_argument_group("AWS")
    group.add_argument("--profile", help="named profile from the AWS config (default: the usual credential chain)")
    group.add_argument("--region", help="AWS region (default: from the profile or AWS_REGION)")
    group.add_argument(
        "--stack", default=DEFAULT_STACK, help=f"CloudFormation stack of Session Warden (default: {DEFAULT_STACK})"
    )


# --- AWS -----------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StackOutputs:
    """What the CLI needs from the stack (section 1 of the spec)."""

    stack: str
    region: str
    alerts_topic_arn: str
    grants_table: str
    ledger_table: str
    policy_parameter: str


@dataclass(frozen=True)
class Caller:
    arn: str
    account: str


@dataclass
class Aws:
    """One boto3 session for a command; clients and stack outputs are created on first use."""

    profile: str | None
    region: str | None
    stack: str
    _clients: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> Aws:
        return cls(profile=args.profile, region=args.region, stack=args.stack)

    @cached_property
    def session(self) -> boto3.session.Session:
        from botocore.exceptions import ProfileNotFound

        from warden.adapters.aws import new_session

        try:
            session = new_session(profile=self.profile, region=self.region)
        except ProfileNotFound:
            raise CliError(f"--profile: no AWS profile named {self.profile!r}") from None
        if not session.region_name:
            raise CliError("no AWS region: pass --region or set AWS_REGION")
        return session

    @property
    def region_name(self) -> str:
        return str(self.session.region_name)

    def client(self, service: str) -> Any:
        if service not in self._clients:
            from warden.adapters.aws import client

            self._clients[service] = client(self.session, service)
        return self._clients[service]

    @cached_property
    def outputs(self) -> StackOutputs:
        from botocore.exceptions import ClientError

        try:
            response = self.client("cloudformation").describe_stacks(StackName=self.stack)
        except ClientError as error:
            if _is_missing_stack(error):
                raise CliError(
                    f"--stack: no stack {self.stack!r} in {self.region_name}; deploy it with `sam deploy`, "
                    "or name yours with --stack (and --region)"
                ) from None
            raise
        stacks = response.get("Stacks") or []
        if not stacks:
            raise CliError(f"--stack: no stack {self.stack!r} in {self.region_name}")
        outputs = {item["OutputKey"]: item["OutputValue"] for item in stacks[0].get("Outputs") or []}
        missing = [key for key in OUTPUT_KEYS if not outputs.get(key)]
        if missing:
            status = stacks[0].get("StackStatus", "unknown status")
            raise CliError(
                f"--stack: stack {self.stack!r} ({status}) lacks the outputs {', '.join(missing)}: "
                "is it Session Warden?",
                code=EXIT_DENIED,
            )
        return StackOutputs(
            stack=self.stack,
            region=self.region_name,
            alerts_topic_arn=outputs["AlertsTopicArn"],
            grants_table=outputs["GrantsTableName"],
            ledger_table=outputs["LedgerTableName"],
            policy_parameter=outputs["PolicyParameterName"],
        )

    @cached_property
    def caller(self) -> Caller:
        identity = self.client("sts").get_caller_identity()
        return Caller(arn=str(identity["Arn"]), account=str(identity["Account"]))


def _is_missing_stack(error: Any) -> bool:
    from warden.adapters.aws import error_code

    message = str(error.response.get("Error", {}).get("Message", ""))
    return error_code(error) == "ValidationError" and "does not exist" in message


@contextlib.contextmanager
def aws_errors() -> Iterator[None]:
    """Turn botocore's failures into one-line CLI errors (exit 1: the outcome failed, the input was fine)."""
    from botocore.exceptions import (
        ClientError,
        EndpointConnectionError,
        NoCredentialsError,
        NoRegionError,
        PartialCredentialsError,
    )
    from botocore.exceptions import (
        ConnectionError as BotoConnectionError,
    )

    try:
        yield
    except ClientError as error:
        details = error.response.get("Error", {})
        code = details.get("Code") or "error"
        message = " ".join(str(details.get("Message") or "").split())
        operation = getattr(error, "operation_name", "AWS call")
        raise CliError(f"{operation} failed: {code}: {message}".rstrip(": "), code=EXIT_DENIED) from None
    except NoRegionError:
        raise CliError("no AWS region: pass --region or set AWS_REGION", code=EXIT_BAD_INPUT) from None
    except (NoCredentialsError, PartialCredentialsError):
        raise CliError(
            "no AWS credentials: configure them (aws configure, AWS_PROFILE) or pass --profile", code=EXIT_DENIED
        ) from None
    except (EndpointConnectionError, BotoConnectionError) as error:
        raise CliError(f"cannot reach AWS: {error}", code=EXIT_DENIED) from None


# --- the policy in force -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StoredPolicy:
    """The policy parameter as stored, validated."""

    parameter: str
    version: int
    text: str
    policy: Policy | None
    issues: tuple[str, ...] = ()

    @property
    def valid(self) -> bool:
        return self.policy is not None


def read_stored_policy(ssm: Any, parameter: str) -> StoredPolicy | None:
    """The parameter's current value and whether it validates; None when nothing is stored."""
    from warden.policy import PolicyError, load_policy

    try:
        found = ssm.get_parameter(Name=parameter)["Parameter"]
    except ssm.exceptions.ParameterNotFound:
        return None
    text = str(found.get("Value", ""))
    version = int(found.get("Version", 0))
    try:
        return StoredPolicy(parameter, version, text, load_policy(text, source=parameter))
    except PolicyError as error:
        return StoredPolicy(parameter, version, text, None, tuple(str(issue) for issue in error.issues))


def last_valid_policy(ssm: Any, parameter: str) -> StoredPolicy | None:
    """The newest version in the parameter's history that validates: what the functions keep in force."""
    from warden.policy import PolicyError, load_policy

    versions: list[dict[str, Any]] = []
    for page in ssm.get_paginator("get_parameter_history").paginate(Name=parameter):
        versions.extend(page.get("Parameters", []))
    for version in sorted(versions, key=lambda item: int(item.get("Version", 0)), reverse=True):
        text = str(version.get("Value", ""))
        try:
            policy = load_policy(text, source=parameter)
        except PolicyError:
            continue
        return StoredPolicy(parameter, int(version.get("Version", 0)), text, policy)
    return None


def policy_in_force(ssm: Any, parameter: str) -> StoredPolicy | None:
    """The stored policy if valid, else the last valid version (as the functions do); None if there is none."""
    stored = read_stored_policy(ssm, parameter)
    if stored is None or stored.valid:
        return stored
    return last_valid_policy(ssm, parameter)


def policy_summary(policy: Policy) -> str:
    """``5 rules, 2 windows, mode enforce, default deny``."""
    return (
        f"{plural(len(policy.rules), 'rule')}, {plural(len(policy.windows), 'window')}, "
        f"mode {policy.mode}, default {policy.default}"
    )


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


# --- the clock -----------------------------------------------------------------------------------------------------


def local_endpoint() -> str | None:
    """``AWS_ENDPOINT_URL`` when it points at the local cloud on loopback, else None."""
    endpoint = os.environ.get("AWS_ENDPOINT_URL", "").strip().rstrip("/")
    if not endpoint:
        return None
    host = urlsplit(endpoint).hostname or ""
    if host == "localhost":
        return endpoint
    try:
        return endpoint if ipaddress.ip_address(host).is_loopback else None
    except ValueError:
        return None


def now() -> datetime:
    """Now for the CLI: the local cloud's emulated clock when ``AWS_ENDPOINT_URL`` is loopback, else system time."""
    endpoint = local_endpoint()
    if endpoint is None:
        from warden.adapters.clock import SystemClock

        return SystemClock().now()
    from warden.adapters.clock import HttpClock

    url = endpoint + CLOCK_PATH
    try:
        return HttpClock(url).now()
    except (OSError, ValueError, KeyError) as error:
        raise CliError(
            f"AWS_ENDPOINT_URL: cannot read the local cloud's clock at {url} ({error}): is it running? "
            "(explain also takes --at)",
            code=EXIT_DENIED,
        ) from None


# --- input ---------------------------------------------------------------------------------------------------------


def read_text(path: str, *, what: str = "file") -> str:
    """A UTF-8 text file, or a CLI error naming it."""
    try:
        data = Path(path).read_bytes()
    except IsADirectoryError:
        raise CliError(f"{path}: is a directory, expected a {what}") from None
    except OSError as error:
        raise CliError(f"{path}: cannot read {what}: {error.strerror or error}") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise CliError(f"{path}: not UTF-8 text (byte {error.start})") from None


def read_json(path: str, *, what: str = "JSON file") -> Any:
    text = read_text(path, what=what)
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise CliError(f"{path}: line {error.lineno}, column {error.colno}: invalid JSON: {error.msg}") from None


def parse_tags(values: Sequence[str] | None, *, option: str = "--tag") -> dict[str, str]:
    """``K=V`` pairs; the value may be empty or contain ``=``, the key may not be empty."""
    tags: dict[str, str] = {}
    for value in values or ():
        key, sep, tag_value = value.partition("=")
        if not sep or not key.strip():
            raise CliError(f"{option} {value!r}: expected KEY=VALUE, e.g. {option} Environment=prod")
        if key in tags and tags[key] != tag_value:
            raise CliError(f"{option} {value!r}: tag {key!r} given twice")
        tags[key] = tag_value
    return tags


def parse_time(text: str, *, option: str) -> datetime:
    """ISO 8601 with an offset (``Z`` or ``+01:00``), returned in UTC."""
    from warden.timefmt import parse_iso

    try:
        return parse_iso(text.strip())
    except ValueError as error:
        message = str(error) if "offset" in str(error) else f"{text!r} is not an ISO 8601 time"
        raise CliError(f"{option}: {message}; write it like 2026-11-24T10:00:00Z") from None


def parse_span(text: str, *, option: str) -> timedelta:
    from warden.policy import parse_duration

    try:
        return parse_duration(text)
    except ValueError as error:
        raise CliError(f"{option}: {error}") from None


# --- output --------------------------------------------------------------------------------------------------------


def iso_or_none(moment: datetime | None) -> str | None:
    from warden.timefmt import iso

    return None if moment is None else iso(moment)


def short_time(moment: datetime | None) -> str:
    """``2026-11-24 10:00Z`` for tables (UTC, minutes)."""
    if moment is None:
        return "-"
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M") + "Z"


def relative(moment: datetime, reference: datetime) -> str:
    """``in 1h20m`` / ``3m ago`` / ``now``, at minute resolution (seconds only below a minute)."""
    from warden.policy import format_duration

    delta = moment - reference
    span = abs(delta)
    if span < timedelta(seconds=1):
        return "now"
    if span >= timedelta(minutes=1):
        span = timedelta(minutes=int(span.total_seconds() // 60))
    text = format_duration(span)
    return f"in {text}" if delta > timedelta(0) else f"{text} ago"


def print_json(data: Any, *, stream: TextIO | None = None) -> None:
    print(json.dumps(data, indent=2, ensure_ascii=False, default=str), file=stream or sys.stdout)


def print_table(
    headers: Sequence[str], rows: Sequence[Sequence[str]], *, widths: Mapping[str, int] | None = None
) -> None:
    """A plain aligned table; cells longer than their column's cap are cut with an ellipsis."""
    caps = widths or {}
    cells = [[_cell(value, caps.get(header)) for header, value in zip(headers, row, strict=True)] for row in rows]
    sizes = [max([len(header), *(len(row[index]) for row in cells)]) for index, header in enumerate(headers)]
    for row in (list(headers), *cells):
        print("  ".join(value.ljust(size) for value, size in zip(row, sizes, strict=True)).rstrip())


def _cell(value: str, cap: int | None) -> str:
    flat = " ".join(value.split()) or "-"
    if cap is not None and len(flat) > cap:
        return flat[: cap - 1] + "…"
    return flat


def print_csv(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(headers)
    writer.writerows(["" if value is None else value for value in row] for row in rows)


def grant_json(grant: Grant) -> dict[str, Any]:
    """A grant as the CLI prints it and ``explain --grants`` reads it back: ISO times in UTC with ``Z``."""
    data: dict[str, Any] = {
        "id": grant.id,
        "principal": grant.principal,
        "targets": grant.targets.to_document(),
        "starts_at": iso_or_none(grant.starts_at),
        "expires_at": iso_or_none(grant.expires_at),
        "reason": grant.reason,
        "created_by": grant.created_by,
        "created_at": iso_or_none(grant.created_at),
        "state": grant.state,
        "revoked_at": iso_or_none(grant.revoked_at),
        "revoked_by": grant.revoked_by,
    }
    return {key: value for key, value in data.items() if value is not None}


def grant_targets(grant: Grant) -> str:
    from warden.alerts import grant_scope

    return grant_scope(grant)
