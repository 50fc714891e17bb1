"""The relay stacks of `warden org deploy` (``<stack>-relay`` in the central account's other regions), and the report.

A relay is a plain stack, created or updated in each region while the StackSet operations run, then waited for. The
report prints as a table with one line per failure on stderr, or as one JSON object.
"""

from __future__ import annotations

import sys
from typing import Any

from warden_cli.org_deploy_stackset import CAPABILITIES, Clients, Outcome, Report, Waiting, _code
from warden_cli.org_stack import OrgOutputs, member_parameters
from warden_cli.output import print_table


def _start_relays(
    clients: Clients, org: OrgOutputs, regions: list[str], template: str, waiting: Waiting
) -> dict[str, Outcome | None]:
    """Create or update ``<stack>-relay`` in each region: region -> None (started), or its outcome already."""
    from botocore.exceptions import ClientError

    name = f"{org.stack}-relay"
    parameters = [
        {"ParameterKey": key, "ParameterValue": value} for key, value in member_parameters(org, relay=True).items()
    ]
    started: dict[str, Outcome | None] = {}
    for region in regions:
        cfn = clients.cloudformation(region)
        request = {"StackName": name, "TemplateBody": template, "Parameters": parameters, "Capabilities": CAPABILITIES}
        status = _stack_status(cfn, name)
        if status is not None and status.endswith(("_IN_PROGRESS", "ROLLBACK_COMPLETE", "_FAILED")):
            fix = (
                "wait for it"
                if status.endswith("_IN_PROGRESS")
                else f"delete it (aws cloudformation delete-stack --stack-name {name} --region {region})"
            )
            reason = f"the stack is {status}: {fix} and run `warden org deploy` again"
            started[region] = Outcome(org.central_account, region, "relay", status, reason)
            continue
        try:
            if status is None:
                cfn.create_stack(**request)
            else:
                cfn.update_stack(**request)
        except ClientError as error:
            if _code(error) == "ValidationError" and "No updates are to be performed" in str(error):
                started[region] = Outcome(org.central_account, region, "relay", "UPDATE_COMPLETE", "up to date")
                continue
            raise
        waiting.progress(f"relay stack {name} in {region}: {'creating' if status is None else 'updating'}")
        started[region] = None
    return started


def _wait_relays(
    clients: Clients, org: OrgOutputs, relays: dict[str, Outcome | None], waiting: Waiting
) -> list[Outcome]:
    name = f"{org.stack}-relay"
    outcomes = []
    for region, known in relays.items():
        if known is not None:
            outcomes.append(known)
            continue
        cfn = clients.cloudformation(region)
        started = waiting.clock()
        while True:
            stack = cfn.describe_stacks(StackName=name)["Stacks"][0]
            status = str(stack["StackStatus"])
            if not status.endswith("_IN_PROGRESS"):
                outcomes.append(
                    Outcome(org.central_account, region, "relay", status, str(stack.get("StackStatusReason") or ""))
                )
                break
            if waiting.clock() - started >= waiting.timeout:
                outcomes.append(
                    Outcome(
                        org.central_account, region, "relay", status, f"still {status} after {waiting.timeout:.0f}s"
                    )
                )
                break
            waiting.sleep(waiting.poll)
    return outcomes


def _stack_status(cfn: Any, name: str) -> str | None:
    from botocore.exceptions import ClientError

    try:
        stacks = cfn.describe_stacks(StackName=name).get("Stacks") or []
    except ClientError as error:
        if _code(error) == "ValidationError" and "does not exist" in str(error):
            return None
        raise
    return str(stacks[0]["StackStatus"]) if stacks else None


def _print(report: Report) -> None:
    for note in report.notes:
        print(f"note: {note}")
    if report.outcomes:
        rows = [[o.account, o.region, o.stack, o.status, o.reason] for o in report.outcomes]
        print_table(["ACCOUNT", "REGION", "STACK", "OUTCOME", "REASON"], rows)
    failed = report.failed
    print(
        f"StackSet {report.stack_set}: {len(report.outcomes) - len(failed)} of {len(report.outcomes)} stacks "
        f"succeeded; OUs {', '.join(report.ous)}; regions {', '.join(report.regions)}"
    )
    for outcome in failed:
        print(
            f"FAILED {outcome.account} {outcome.region} ({outcome.stack}): {outcome.reason or outcome.status}",
            file=sys.stderr,
        )


def _as_json(report: Report) -> dict[str, Any]:
    return {
        "stack_set": report.stack_set,
        "organizational_units": report.ous,
        "regions": report.regions,
        "operations": report.operations,
        "notes": report.notes,
        "stacks": [
            {
                "account": o.account,
                "region": o.region,
                "stack": o.stack,
                "status": o.status,
                "reason": o.reason,
                "failed": o.failed,
            }
            for o in report.outcomes
        ],
        "failed": len(report.failed),
    }
