"""Exit codes and the one-line error every command prints on failure."""

from __future__ import annotations

import sys

from warden.errors import WardenError

ERROR_PREFIX = "warden: error: "
EXIT_OK = 0
EXIT_DENIED = 1  # a denied or failed outcome
EXIT_BAD_INPUT = 2  # bad input: file, line or field named in the message (credentials and region are input too)
EXIT_BROKEN_PIPE = 141  # what a shell reports for a command whose reader went away (128 + SIGPIPE)


class CliError(WardenError):
    """A failure the user can act on; printed as one line on stderr (a :class:`~warden.errors.WardenError`)."""

    def __init__(self, message: str, *, code: int = EXIT_BAD_INPUT) -> None:
        super().__init__(message)
        self.code = code


def exit_with(error: CliError) -> int:
    print(f"{ERROR_PREFIX}{error}", file=sys.stderr)
    return error.code
