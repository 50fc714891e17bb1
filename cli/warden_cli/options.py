"""The options every command that talks to AWS shares: ``--profile``, ``--region`` and ``--stack``."""

from __future__ import annotations

import argparse

DEFAULT_STACK = "session-warden"
STACK_VARIABLE = "WARDEN_STACK"


def add_aws_options(parser: argparse.ArgumentParser, *, region: bool = True, region_help: str = "") -> None:
    """``--profile``, ``--region`` and ``--stack``, on every command that talks to AWS.

    ``region=False``: the command defines its own ``--region`` (the regions a grant covers); ``region_help`` is
    added to the option's help (what else it means for the command).
    """
    group = parser.add_argument_group("AWS")
    group.add_argument("--profile", help="named profile from the AWS config (default: the usual credential chain)")
    if region:
        group.add_argument(
            "--region",
            help="AWS region (default: AWS_REGION, else AWS_DEFAULT_REGION, else the profile's region)" + region_help,
        )
    group.add_argument(
        "--stack",
        help=f"CloudFormation stack of Session Warden (default: {STACK_VARIABLE}, else {DEFAULT_STACK})",
    )
