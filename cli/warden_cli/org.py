"""`warden org ...`: the organization-mode commands, one module each (`warden_cli.org_<command>`, with `register`)."""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any

import warden_cli


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("org", help="organization mode: deploy the member stacks, see what is covered")
    commands = parser.add_subparsers(dest="org_command", metavar="COMMAND", required=True)
    # Every org_* module is a subcommand: adding one edits nothing here.
    names = sorted(info.name for info in pkgutil.iter_modules(warden_cli.__path__) if info.name.startswith("org_"))
    for name in names:
        module = importlib.import_module(f"warden_cli.{name}")
        if hasattr(module, "register"):
            module.register(commands)
