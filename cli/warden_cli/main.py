"""The `warden` command: one console script, subcommands registered by their modules."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from warden_cli.errors import CliError, exit_with

# Each module exposes `register(subparsers)`; heavy imports (boto3, moto) stay inside the commands.
COMMAND_MODULES = ("policy", "explain", "grant", "sessions", "local", "demo")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="warden",
        description="Session Warden: time windows, just-in-time grants and live re-checks for Session Manager.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(f"warden_cli.{name}")
        except ModuleNotFoundError as error:
            if error.name != f"warden_cli.{name}":
                raise
            continue
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        result: int = args.handler(args)
    except CliError as error:
        return exit_with(error)
    except KeyboardInterrupt:
        return 130
    return result


if __name__ == "__main__":
    sys.exit(main())
