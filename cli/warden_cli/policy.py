"""`warden policy validate|push|show`: check a policy document, store it in the stack's parameter, print it."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from warden_cli.aws import Aws, aws_errors
from warden_cli.clock import local_endpoint
from warden_cli.errors import ERROR_PREFIX, EXIT_BAD_INPUT, EXIT_DENIED, EXIT_OK, CliError
from warden_cli.inputs import read_text
from warden_cli.options import add_aws_options
from warden_cli.output import plural, policy_summary, print_json
from warden_cli.stored_policy import last_valid_policy, read_stored_policy

if TYPE_CHECKING:
    from warden.policy import Policy

# Intelligent-Tiering stores up to 4 KB as a standard parameter and up to 8 KB as an advanced one.
MAX_PARAMETER_BYTES = 8192


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("policy", help="validate, push and show the policy document")
    commands = parser.add_subparsers(dest="policy_command", metavar="COMMAND", required=True)

    validate = commands.add_parser(
        "validate", help="check a policy file (schema, windows, time zones, regexes, durations, YAML syntax)"
    )
    validate.add_argument("file", metavar="FILE", help="the policy document (YAML or JSON)")
    validate.set_defaults(handler=validate_command)

    push = commands.add_parser("push", help="validate a policy file, then store it in the stack's parameter")
    push.add_argument("file", metavar="FILE", help="the policy document (YAML or JSON)")
    push.add_argument("--json", action="store_true", help="print {parameter, version, policy} as JSON")
    add_aws_options(push)
    push.set_defaults(handler=push_command)

    show = commands.add_parser("show", help="print the policy stored in the stack's parameter")
    show.add_argument("--json", action="store_true", help="print {parameter, version, valid, policy} as JSON")
    add_aws_options(show)
    show.set_defaults(handler=show_command)


def load_file(path: str) -> tuple[str, Policy | None, tuple[str, ...]]:
    """The file's text and its policy, or the issues found (each ``line N: path: message``)."""
    from warden.policy import PolicyError, load_policy

    text = read_text(path, what="policy file")
    try:
        return text, load_policy(text, source=path), ()
    except PolicyError as error:
        return text, None, tuple(str(issue) for issue in error.issues)


def _print_issues(path: str, issues: tuple[str, ...]) -> None:
    """Each issue on its own line of stderr, as every command prints an error."""
    for issue in issues:
        print(f"{ERROR_PREFIX}{path}: {issue}", file=sys.stderr)


def validate_command(args: argparse.Namespace) -> int:
    _, policy, issues = load_file(args.file)
    if policy is None:
        _print_issues(args.file, issues)
        return EXIT_BAD_INPUT
    print_pattern_warnings(args.file, policy)
    print(f"{args.file}: valid — {policy_summary(policy)}")
    return EXIT_OK


def print_pattern_warnings(source: str, policy: Policy) -> None:
    """On stderr, each principal pattern (and hosts list) that matches less (or more) than it may seem to."""
    from warden.policy import host_warnings, logging_warnings, pattern_warnings

    for index, rule in enumerate(policy.rules):
        for position, pattern in enumerate(rule.principals):
            for warning in pattern_warnings(pattern):
                print(f"warden: warning: {source}: rules[{index}].principals[{position}]: {warning}", file=sys.stderr)
        for warning in host_warnings(rule.hosts or (), deny=rule.effect == "deny"):
            print(f"warden: warning: {source}: rules[{index}].hosts: {warning}", file=sys.stderr)
        required = policy.require_logging or rule.require_logging
        for warning in logging_warnings(rule.session_types, required=required, deny=rule.effect == "deny"):
            print(f"warden: warning: {source}: rules[{index}].session_types: {warning}", file=sys.stderr)


def push_command(args: argparse.Namespace) -> int:
    text, policy, issues = load_file(args.file)
    if policy is None:
        _print_issues(args.file, issues)
        raise CliError(f"{args.file}: {plural(len(issues), 'problem')}, nothing was pushed")
    aws = Aws.from_args(args)
    with aws_errors(aws.endpoint_url):
        store = aws.outputs.policy_store
    if store is not None:
        return _push_to_appconfig(args, aws, text, policy)
    size = len(text.encode("utf-8"))
    if size > MAX_PARAMETER_BYTES:
        raise CliError(
            f"{args.file}: {size} bytes, more than the {MAX_PARAMETER_BYTES} a Parameter Store parameter holds; "
            "shorten it (comments count too)"
        )
    with aws_errors(aws.endpoint_url):
        parameter = aws.outputs.policy_parameter
        push = _announce_push(aws, text)
        response = aws.client("ssm").put_parameter(
            Name=parameter, Value=text, Type="String", Tier="Intelligent-Tiering", Overwrite=True
        )
        version = int(response.get("Version", 0))
        if push is not None:
            push(version)
    if args.json:
        print_json({"parameter": parameter, "version": version, "policy": policy.to_document()})
    else:
        print(f"pushed {args.file} to {parameter} (version {version}): {policy_summary(policy)}")
        if local_endpoint(aws.endpoint_url):
            print("in force for the next event; the sweeper re-checks open sessions against it within a minute")
        else:
            print("in force within a minute (the functions cache it); the sweeper then re-checks open sessions")
    return EXIT_OK


def _push_to_appconfig(args: argparse.Namespace, aws: Aws, text: str, policy: Policy) -> int:
    """Organization mode: a hosted AppConfig version, deployed once the stack's validator accepts it."""
    from warden_cli import policy_appconfig

    store = aws.outputs.policy_store
    assert store is not None
    with aws_errors(aws.endpoint_url):
        version, deployment = policy_appconfig.push(aws, store, args.file, text, _announce_push(aws, text))
    if args.json:
        print_json({"store": store.label, "version": version, "deployment": deployment, "policy": policy.to_document()})
    else:
        where = f"{store.label} (version {version}, deployment {deployment})"
        print(f"pushed {args.file} to {where}: {policy_summary(policy)}")
        print("in force within a minute (the functions poll AppConfig); the sweeper then re-checks open sessions")
    return EXIT_OK


def _announce_push(aws: Aws, text: str) -> Callable[[int], None] | None:
    """Record in the state table that this validated text is being pushed (its sha256), so the tamper watch tells
    the PutParameter that follows from a write around the CLI; return what records the version it got."""
    import hashlib

    from warden.adapters.clock import SystemClock
    from warden.adapters.state import DynamoState
    from warden_cli.clock import now

    table = aws.outputs.state_table
    if table is None:
        return None
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    # The records carry the time given here (the local cloud's emulated one there); the clock is not used.
    state = DynamoState(aws.client("dynamodb"), table, SystemClock())
    state.record_policy_push(digest, now(aws.endpoint_url), by=aws.caller.arn)
    return lambda version: state.policy_pushed(digest, version)


def _show_appconfig(args: argparse.Namespace, aws: Aws) -> int:
    """Organization mode: the deployed version (what the functions enforce)."""
    from warden_cli import policy_appconfig

    store = aws.outputs.policy_store
    assert store is not None
    with aws_errors(aws.endpoint_url):
        found = policy_appconfig.deployed(aws, store)
    if found is None:
        raise CliError(
            f"{store.label}: nothing deployed; push a policy with `warden policy push FILE`", code=EXIT_DENIED
        )
    if args.json:
        print_json(
            {
                "store": store.label,
                "version": found.version,
                "deployment": found.deployment,
                "valid": found.policy is not None,
                "policy": found.policy.to_document() if found.policy else None,
            }
        )
    else:
        sys.stdout.write(found.text if found.text.endswith("\n") else found.text + "\n")
    where = f"{store.label} (version {found.version}, deployment {found.deployment})"
    if found.policy is None:
        raise CliError(f"{where} is deployed but invalid ({found.issues[0] if found.issues else 'unreadable'})")
    print(f"{where}: valid — {policy_summary(found.policy)}", file=sys.stderr)
    return EXIT_OK


def show_command(args: argparse.Namespace) -> int:
    aws = Aws.from_args(args)
    with aws_errors(aws.endpoint_url):
        if aws.outputs.policy_store is not None:
            return _show_appconfig(args, aws)
        parameter = aws.outputs.policy_parameter
        ssm = aws.client("ssm")
        stored = read_stored_policy(ssm, parameter)
        if stored is None:
            raise CliError(f"{parameter}: no policy stored; store one with `warden policy push FILE`", code=EXIT_DENIED)
        fallback = None if stored.valid else last_valid_policy(ssm, parameter)

    # SPEC: print the one in force. An invalid stored document is not in force: the last valid one is.
    in_force = stored if stored.valid else fallback
    if args.json:
        shown: dict[str, object] = {
            "parameter": parameter,
            "version": in_force.version if in_force else None,
            "valid": in_force is not None,
            "policy": in_force.policy.to_document() if in_force and in_force.policy else None,
        }
        if not stored.valid:
            shown["rejected"] = {"version": stored.version, "problems": list(stored.issues)}
        print_json(shown)
    elif in_force is not None:
        sys.stdout.write(in_force.text if in_force.text.endswith("\n") else in_force.text + "\n")

    where = f"{parameter} (version {stored.version})"
    if stored.policy is not None:
        print(f"{where}: valid — {policy_summary(stored.policy)}", file=sys.stderr)
        return EXIT_OK
    for issue in stored.issues:
        print(f"{where}: {issue}", file=sys.stderr)
    verdict = (
        f"version {fallback.version} (the last valid one) stays in force and is shown"
        if fallback is not None
        else "no valid version exists, so the functions cannot decide until one is pushed"
    )
    raise CliError(
        f"{where} is invalid ({stored.issues[0]}{' and more' if len(stored.issues) > 1 else ''}); {verdict}",
        code=EXIT_DENIED,
    )


def _raw_document(text: str) -> object:
    """An invalid document as data when it at least parses as YAML, else its text."""
    import yaml

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text
