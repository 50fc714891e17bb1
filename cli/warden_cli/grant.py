"""`warden grant create|list|revoke`: just-in-time grants in the stack's grants table, each announced by an alert.

This module registers the subcommands. `warden_cli.grant_create` makes a grant, `warden_cli.grant_manage` lists and
revokes them, `warden_cli.grant_extend` extends one; `warden_cli.grant_common` holds what they share (ids, alerts).
"""

from __future__ import annotations

from typing import Any

from warden_cli.grant_create import create_command
from warden_cli.grant_manage import list_command, revoke_command
from warden_cli.options import add_aws_options


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("grant", help="create, list, revoke and extend just-in-time grants")
    commands = parser.add_subparsers(dest="grant_command", metavar="COMMAND", required=True)

    create = commands.add_parser(
        "create",
        help="grant a principal access to targets for a while",
        description="Write a just-in-time grant (conditional put) and publish the grant-created alert.",
    )
    create.add_argument(
        "--principal",
        required=True,
        metavar="P",
        help="principal pattern: user:NAME, permission-set:NAME, role:NAME, account:ID, arn:...",
    )
    which = create.add_mutually_exclusive_group(required=True)
    which.add_argument("--target", action="extend", nargs="+", metavar="ID", help="instance/managed-node ids or globs")
    which.add_argument(
        "--tag", action="extend", nargs="+", metavar="K=V", help="target tags (every key must match; value globs)"
    )
    create.add_argument("--for", dest="duration", required=True, metavar="DURATION", help="how long: 30m, 2h, 1d")
    create.add_argument("--starts", metavar="ISO", help="when it starts, with an offset (default: now)")
    create.add_argument("--reason", required=True, metavar="R", help="why (a ticket, an incident)")
    create.add_argument(
        "--yes", action="store_true", help="confirm a grant for every principal (`*`) or on every target"
    )
    create.add_argument("--tz", metavar="ZONE", help="say the grant's times in this IANA time zone (default: UTC)")
    create.add_argument("--json", action="store_true", help="print the stored grant as JSON")
    create.add_argument(
        "--account",
        dest="accounts",
        action="extend",
        nargs="+",
        metavar="A",
        help="organization mode: only in these accounts (12-digit ids, ou:PATH, ou:PATH/*), repeatable "
        "(default: every account)",
    )
    create.add_argument(
        "--region",
        dest="regions",
        action="extend",
        nargs="+",
        metavar="R",
        help="organization mode: only in these regions (names or globs such as eu-*), repeatable (default: every "
        "region). The stack is read in the one region named, else (or when it is not there) in AWS_REGION, "
        "AWS_DEFAULT_REGION or the profile's region. With a single-account stack, --region is only the stack's "
        "region, as for every command",
    )
    add_aws_options(create, region=False)
    create.set_defaults(handler=create_command)

    listing = commands.add_parser("list", help="the grants, oldest first")
    listing.add_argument("--active", action="store_true", help="only grants in force now")
    listing.add_argument(
        "--account",
        metavar="A",
        help="only grants that may apply in this account: those naming it or no accounts, and those naming OUs "
        "(OU paths are not looked up)",
    )
    listing.add_argument("--tz", metavar="ZONE", help="show the times in this IANA time zone (default: UTC)")
    listing.add_argument("--json", action="store_true", help="print a JSON list (what explain --grants reads)")
    add_aws_options(
        listing,
        region_help="; also lists only the grants that apply in that region (those naming no regions apply in all; "
        "organization mode: the central stack is read in the default region when it is not in this one)",
    )
    listing.set_defaults(handler=list_command)

    revoke = commands.add_parser(
        "revoke", help="end a grant now; open sessions it allowed end at the next sweep, within a minute"
    )
    revoke.add_argument("grant_id", metavar="ID", help="the grant's id (g-...)")
    add_aws_options(revoke)
    revoke.set_defaults(handler=revoke_command)

    from warden_cli import grant_extend

    grant_extend.register(commands)
