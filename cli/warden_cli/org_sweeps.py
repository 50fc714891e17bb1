"""The organization's account-regions as the sweeper sees them, and `warden status`'s look at their sweeps (shared by
`warden status` and `warden org status`: the same scopes, judged by the sweeper's own function)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from warden_cli.aws import Aws
from warden_cli.org_stack import OrgOutputs, read_org_outputs
from warden_cli.output import plural, relative
from warden_cli.status_report import Report, Stack, clean

if TYPE_CHECKING:
    from warden.records import OrgAccount
    from warden.scope import Scope


class FixedClock:
    """The Clock port at one moment (the CLI reads everything as of `now`)."""

    def __init__(self, moment: datetime) -> None:
        self._moment = moment

    def now(self) -> datetime:
        return self._moment


def organization_scopes(aws: Aws, clock: FixedClock) -> tuple[OrgOutputs, dict[str, OrgAccount], list[Scope]]:
    """The central stack's organization outputs, the organization's accounts, and the scopes the sweeper sends orders
    for (the same list: :func:`warden.fanout.scopes_to_sweep`)."""
    from warden.adapters.organization import OrgDirectory
    from warden.adapters.sweep_queue import ManagementAccount
    from warden.fanout import scopes_to_sweep

    org = read_org_outputs(aws)
    accounts = {account.id: account for account in OrgDirectory(aws.client("organizations"), clock).accounts()}
    management = ManagementAccount(aws.client("organizations"))()
    scopes = scopes_to_sweep(
        accounts.values(), management=management, central=org.central_account, regions=org.guarded_regions
    )
    return org, accounts, scopes


def scope_sweeps(report: Report, aws: Aws, stack: Stack) -> None:
    """`warden status` in organization mode: every account and region whose sweeps have stopped, named, judged as
    the sweeper judges them (one line each: `warden org status` shows the rest)."""
    from warden.adapters.scope_beats import DynamoScopeBeats
    from warden.scope_liveness import stale_since

    if not stack.outputs.get("OrganizationId"):
        return
    _, accounts, scopes = organization_scopes(aws, FixedClock(report.moment))
    beats = DynamoScopeBeats(aws.client("dynamodb"), stack.outputs.get("StateTableName", ""))
    stopped: list[str] = []
    for scope in scopes:
        beat = beats.beat(scope)
        if stale_since(beat, report.moment) is None:
            continue
        listed = accounts.get(scope.account)
        name = f" ({clean(listed.name)})" if listed else ""
        last = beat.last_sweep if beat else None
        when = "never" if last is None else relative(last, report.moment)
        stopped.append(scope.label)
        report.problem(
            f"sweeps of account {scope.account}{name} in {scope.region} have stopped (last completed sweep {when}): "
            "open sessions there are not re-checked; check the sweep worker's event source mapping is enabled and "
            "its errors, and run `warden org status`"
        )
    report.fields["scopes"] = {"count": len(scopes), "sweeps_stopped": stopped}
    swept = len(scopes) - len(stopped)
    report.line("accounts swept", f"{swept} of {plural(len(scopes), 'account-region')} swept in the last 3 minutes")
