"""`warden status`: one screen on whether Session Warden is enforcing, and what to do where it is not.

Read-only: every call is a Describe, Get, List or Query. Exit 0 healthy; 1 with each problem on its own line;
2 when the stack cannot be read at all (input, credentials, region, endpoint).
"""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Callable, Iterator
from typing import Any

from warden_cli.aws import Aws, aws_errors
from warden_cli.clock import now
from warden_cli.errors import EXIT_BAD_INPUT, EXIT_DENIED, EXIT_OK, CliError
from warden_cli.options import add_aws_options
from warden_cli.org_sweeps import scope_sweeps
from warden_cli.status_delivery import dead_letters, subscriptions, trails
from warden_cli.status_liveness import canary, heartbeat, policy, read_stack, stack_fields
from warden_cli.status_render import print_report, print_text
from warden_cli.status_report import Report, checked
from warden_cli.status_state import active_grants, open_sessions, tamper_events


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "status",
        help="is Session Warden enforcing? stack, policy, sweeps, canary, trail, alerts, DLQs, tampering",
        description="One screen to read after deploying and whenever something feels wrong. Exit 0 healthy, "
        "1 with each problem on its own line saying what to do, 2 when the stack cannot be read.",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object: every field and `problems`")
    add_aws_options(parser)
    parser.set_defaults(handler=status_command)


def status_command(args: argparse.Namespace) -> int:
    aws = Aws.from_args(args)
    with _unreachable_is_bad_input(aws.endpoint_url):
        report = gather(aws)
    if args.json:
        print_report(report)
    else:
        print_text(report)
    return EXIT_DENIED if report.problems else EXIT_OK


def gather(aws: Aws) -> Report:
    """Every check, in the order the screen shows them; one that cannot be made is a problem, not an abort."""
    standard = aws.outputs  # the CLI's usual checks: the stack exists and is Session Warden
    moment = now(aws.endpoint_url)
    stack = read_stack(aws)
    report = Report(moment)
    stack_fields(report, stack)
    checks: tuple[tuple[str, Callable[[], None]], ...] = (
        ("the policy", lambda: policy(report, aws, stack, standard.policy_parameter)),
        ("the sweep heartbeat", lambda: heartbeat(report, aws, stack)),
        ("the organization's sweeps", lambda: scope_sweeps(report, aws, stack)),
        ("the canary", lambda: canary(report, aws, stack)),
        ("the trails", lambda: trails(report, aws)),
        ("the alert subscriptions", lambda: subscriptions(report, aws, standard.alerts_topic_arn)),
        ("the dead-letter queues", lambda: dead_letters(report, aws, stack)),
        ("the open sessions", lambda: open_sessions(report, aws, standard.ledger_table)),
        ("the active grants", lambda: active_grants(report, aws, standard.grants_table)),
        ("the tamper events", lambda: tamper_events(report, aws, stack)),
    )
    for what, check in checks:
        checked(report, what, check)
    return report


@contextlib.contextmanager
def _unreachable_is_bad_input(endpoint: str | None) -> Iterator[None]:
    """The CLI's one-line errors, with exit 2 for all of them: exit 1 means problems were found."""
    try:
        with aws_errors(endpoint):
            yield
    except CliError as error:
        raise CliError(str(error), code=EXIT_BAD_INPUT) from None
