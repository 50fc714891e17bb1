"""The `warden` command: one console script, subcommands registered by their modules, one way to fail."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

from warden_cli.aws import Connection
from warden_cli.errors import ERROR_PREFIX, EXIT_BAD_INPUT, EXIT_BROKEN_PIPE, EXIT_DENIED, EXIT_OK, CliError, exit_with

# Each module exposes `register(subparsers)`; heavy imports (boto3, moto) stay inside the commands.
COMMAND_MODULES = ("policy", "explain", "grant", "sessions", "status", "local", "demo", "completion", "org")
DEBUG_VARIABLE = "WARDEN_DEBUG"  # set to 1 for a traceback instead of the one-line report of an unexpected error


class WardenParser(argparse.ArgumentParser):
    """argparse with the CLI's one error format, and the usage of the (sub)command that was mistyped."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.set_defaults(_parser=self)

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EXIT_BAD_INPUT, f"{ERROR_PREFIX}{message}\n")


def build_parser() -> WardenParser:
    parser = WardenParser(
        prog="warden",
        description="Session Warden: time windows, just-in-time grants and live re-checks for Session Manager.",
        epilog="AWS access: the usual credential chain (AWS_PROFILE, AWS_ACCESS_KEY_ID, ...), the region from "
        "--region, AWS_REGION or AWS_DEFAULT_REGION, the stack from --stack or WARDEN_STACK; AWS_ENDPOINT_URL "
        "points every command at the local cloud (`warden local up`).",
    )
    parser.add_argument("--version", action="version", version=f"warden {_version()}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(f"warden_cli.{name}")
        except ImportError as error:
            _register_broken(subparsers, name, error)
            continue
        module.register(subparsers)
    return parser


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("session-warden")
    except PackageNotFoundError:
        return "(not installed)"


def _register_broken(subparsers: argparse._SubParsersAction[Any], name: str, error: ImportError) -> None:
    """A command whose module does not import stays listed, and says why it cannot run (a broken install)."""
    problem = f"the {name} command is unavailable: warden_cli.{name} does not import ({type(error).__name__}: {error})"
    parser = subparsers.add_parser(name, help=f"(unavailable: {error})", add_help=False)
    parser.add_argument("rest", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)

    def unavailable(_: argparse.Namespace) -> int:
        raise CliError(f"{problem}; reinstall with `make dev`", code=EXIT_DENIED)

    parser.set_defaults(handler=unavailable)


def main(argv: Sequence[str] | None = None, *, connection: Connection | None = None) -> int:
    """Run one command; ``connection`` says where AWS calls go (default: what the environment says)."""
    try:
        return _run(argv, connection)
    except BrokenPipeError:
        # The reader went away (`warden sessions | head`): stop quietly, and keep Python's exit flush quiet too.
        _silence_stdout()
        return EXIT_BROKEN_PIPE


def _run(argv: Sequence[str] | None, connection: Connection | None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    leaf: argparse.ArgumentParser = args._parser
    if extra:
        leaf.error(f"unrecognized arguments: {' '.join(extra)}")
    handler = getattr(args, "handler", None)
    if handler is None:  # `warden`, `warden grant`, ...: a command group alone shows what it offers
        leaf.print_help()
        return EXIT_OK
    args.connection = connection or Connection.from_environ(os.environ)
    try:
        result: int = handler(args)
    except CliError as error:
        return exit_with(error)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        raise
    except Exception as error:
        if os.environ.get(DEBUG_VARIABLE):
            raise
        return exit_with(
            CliError(
                f"unexpected {type(error).__name__}: {error} (this is a bug; {DEBUG_VARIABLE}=1 shows where)",
                code=EXIT_DENIED,
            )
        )
    return result


def _silence_stdout() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # no real file descriptor (stdout replaced in-process)
        pass


if __name__ == "__main__":
    sys.exit(main())
