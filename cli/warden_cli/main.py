"""The `warden` command: one console script, subcommands registered by their modules."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from warden_cli.aws import Connection
from warden_cli.errors import EXIT_DENIED, CliError, exit_with

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
        except ImportError as error:
            _register_broken(subparsers, name, error)
            continue
        module.register(subparsers)
    return parser


def _register_broken(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser], name: str, error: ImportError
) -> None:
    """A command whose module does not import stays listed, and says why it cannot run (a broken install)."""
    problem = f"the {name} command is unavailable: warden_cli.{name} does not import ({type(error).__name__}: {error})"
    parser = subparsers.add_parser(name, help=f"(unavailable: {error})", add_help=False)
    parser.add_argument("rest", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)

    def unavailable(_: argparse.Namespace) -> int:
        raise CliError(f"{problem}; reinstall with `make dev`", code=EXIT_DENIED)

    parser.set_defaults(handler=unavailable)


def main(argv: Sequence[str] | None = None, *, connection: Connection | None = None) -> int:
    """Run one command; ``connection`` says where AWS calls go (default: what the environment says)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    args.connection = connection or Connection.from_environ(os.environ)
    try:
        result: int = args.handler(args)
    except CliError as error:
        return exit_with(error)
    except KeyboardInterrupt:
        return 130
    return result


if __name__ == "__main__":
    sys.exit(main())
