"""`warden status` checks that the warden is alive: its stack, the policy in force, the sweep heartbeat, the canary."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from warden_cli.aws import Aws
from warden_cli.output import iso_or_none, plural, policy_summary, relative, short_time
from warden_cli.status_report import Report, Stack, age, clean, epoch_time, in_the_future, older_than, state_item
from warden_cli.stored_policy import last_valid_policy, read_stored_policy

HEARTBEAT_LIMIT = timedelta(minutes=3)  # SPEC 7, liveness: the heartbeat alarm's threshold too
CANARY_LIMIT = timedelta(minutes=10)  # SPEC 7: no round trip within 10 minutes is an `event path blind` alert
# A stack in these states has lost (or never got) resources; UPDATE_ROLLBACK_COMPLETE still runs the previous one.
BROKEN_STACK = frozenset({"ROLLBACK_IN_PROGRESS", "ROLLBACK_COMPLETE", "DELETE_IN_PROGRESS", "DELETE_COMPLETE"})
BLIND_CAUSES = "the trail, its event selectors, the canary rule, its target or the function's permission"


def read_stack(aws: Aws) -> Stack:
    cloudformation = aws.client("cloudformation")
    described = cloudformation.describe_stacks(StackName=aws.stack)["Stacks"][0]
    outputs = {item["OutputKey"]: str(item["OutputValue"]) for item in described.get("Outputs") or []}
    resources: dict[str, str] = {}
    for page in cloudformation.get_paginator("list_stack_resources").paginate(StackName=aws.stack):
        for item in page.get("StackResourceSummaries", []):
            resources[str(item["LogicalResourceId"])] = str(item.get("PhysicalResourceId", ""))
    created = described.get("CreationTime")
    created_at = created.astimezone(UTC) if isinstance(created, datetime) else None
    tags = {str(tag.get("Key")): str(tag.get("Value")) for tag in described.get("Tags") or []}
    outputs.setdefault("WardenVersion", tags.get("warden:version", ""))
    status = str(described.get("StackStatus", ""))
    return Stack(aws.stack, aws.region_name, outputs, status, created_at, resources)


def stack_fields(report: Report, stack: Stack) -> None:
    from warden_cli.main import _version

    status = stack.status
    deployed = stack.outputs.get("WardenVersion") or None
    report.fields["stack"] = {
        "name": stack.name,
        "region": stack.region,
        "status": status,
        "created_at": iso_or_none(stack.created_at),
        "warden_version": deployed,
        "cli_version": _version(),
    }
    report.line(
        "stack",
        f"{stack.name} ({stack.region}, {status}), warden {deployed or 'version unknown'}; this CLI {_version()}",
    )
    if "FAILED" in status or status in BROKEN_STACK:
        report.problem(
            f"stack {stack.name} is {status}: its resources may be missing; read its events "
            f"(aws cloudformation describe-stack-events --stack-name {stack.name}) and deploy again with `sam deploy`"
        )


def policy(report: Report, aws: Aws, stack: Stack, parameter: str) -> None:
    if aws.outputs.policy_store is not None:
        _appconfig_policy(report, aws, stack)
        return
    ssm = aws.client("ssm")
    stored = read_stored_policy(ssm, parameter)
    data: dict[str, Any] = {"parameter": parameter, "stored_version": None, "stored_valid": None, "stored_issues": []}
    report.fields["policy"] = data
    in_force = None if stored is None else stored if stored.valid else last_valid_policy(ssm, parameter)
    kept = kept_copy(aws, stack) if in_force is None else None
    summary = policy_summary(in_force.policy) if in_force and in_force.policy else kept
    data.update(
        stored_version=stored.version if stored else None,
        stored_valid=stored.valid if stored else None,
        stored_issues=list(stored.issues) if stored else [],
        in_force_version=in_force.version if in_force else None,
        in_force_source="parameter" if in_force else "state table copy" if kept else None,
        summary=summary,
    )
    if in_force is not None:
        where = f"version {in_force.version} in force ({summary})"
    elif kept is not None:
        where = f"the state table's copy in force ({kept})"
    else:
        where = "no valid policy in force"
    if stored is None:
        report.line("policy", f"{where}; nothing stored in {parameter}")
        keeps = (
            "the functions keep the copy in the state table" if kept else "no valid policy exists, nothing is decided"
        )
        report.problem(
            f"the policy parameter {parameter} does not exist: {keeps}; restore it with `warden policy push FILE` "
            "and find out who deleted it (CloudTrail DeleteParameter)"
        )
        return
    if stored.valid:
        report.line("policy", f"{where}; valid")
        return
    report.line("policy", f"{where}; stored version {stored.version} INVALID")
    first = clean(stored.issues[0]) if stored.issues else "it does not validate"
    more = f" (and {plural(len(stored.issues) - 1, 'more issue')})" if len(stored.issues) > 1 else ""
    if in_force is not None:
        keeps = f"version {in_force.version}, the last valid one, stays in force"
    elif kept is not None:
        keeps = "no version in the parameter's history validates; the copy kept in the state table stays in force"
    else:
        keeps = "no valid version exists, so nothing is decided"
    report.problem(
        f"the stored policy, version {stored.version} of {parameter}, is invalid: {first}{more}; {keeps}. "
        "Fix the document and store it with `warden policy push FILE`, which validates first"
    )


def kept_copy(aws: Aws, stack: Stack) -> str | None:
    """The summary of the last valid policy the functions keep in the state table, when it validates."""
    from warden.policy import PolicyError, load_policy

    item = state_item(aws, stack, "policy", "last-valid")
    if item is None or not isinstance(item.get("text"), str):
        return None
    try:
        return policy_summary(load_policy(item["text"], source="the state table's copy"))
    except PolicyError:
        return None


def heartbeat(report: Report, aws: Aws, stack: Stack) -> None:
    item = state_item(aws, stack, "heartbeat", "sweep")
    at = epoch_time(item.get("at")) if item else None
    report.fields["sweep"] = {"last_completed_at": iso_or_none(at), "age_seconds": age(report.moment, at)}
    if at is None:
        report.line("last sweep", "none completed yet")
        if older_than(report.moment, stack, HEARTBEAT_LIMIT):
            report.problem(
                "no sweep has ever completed: open sessions are not re-checked; check the sweeper's schedule rule "
                f"({stack.name}-sweep-every-minute) is enabled and read the sweeper's logs and errors alarm"
            )
        return
    report.line("last sweep", f"completed {short_time(at)} ({relative(at, report.moment)})")
    if in_the_future(report, at, "the sweep heartbeat (pk=heartbeat)", "the SweepCompleted metric and its alarm"):
        return
    if report.moment - at > HEARTBEAT_LIMIT:
        report.problem(
            f"the last completed sweep was {relative(at, report.moment)} (more than 3 minutes): open sessions are "
            "not being re-checked; read the sweeper's logs and errors alarm, check its schedule rule "
            f"({stack.name}-sweep-every-minute) is enabled and the sweeper is not throttled (README: Liveness)"
        )


def canary_partition(stack: Stack) -> str:
    """Where this stack's own canary is kept: ``canary``; in organization mode the central account's home-region
    scope's (``canary#<account>/<region>``), which its sweep worker writes like every other scope's."""
    topic = stack.outputs.get("AlertsTopicArn", "").split(":")
    if not stack.outputs.get("OrganizationId") or len(topic) < 5 or not topic[4]:
        return "canary"
    return f"canary#{topic[4]}/{stack.region}"


def canary(report: Report, aws: Aws, stack: Stack) -> None:
    item = state_item(aws, stack, canary_partition(stack), "state")
    if item is None:
        report.fields["canary"] = None
        report.line("canary", "no canary yet")
        if older_than(report.moment, stack, CANARY_LIMIT):
            report.problem(
                "no canary has been sent, and the stack is older than 10 minutes: the sweeper is not running its "
                "canary, so nobody would notice a broken event path; check the sweeper's logs"
            )
        return
    sent_at, seen_at = epoch_time(item.get("sent_at")), epoch_time(item.get("seen_at"))
    blind_since = epoch_time(item.get("blind_since"))
    round_trip = item.get("round_trip_ms")
    round_trip_ms = round_trip if isinstance(round_trip, (int, float)) and not isinstance(round_trip, bool) else None
    report.fields["canary"] = {
        "sent_at": iso_or_none(sent_at),
        "seen_at": iso_or_none(seen_at),
        "round_trip_ms": round_trip_ms,
        "blind_since": iso_or_none(blind_since),
    }
    if seen_at is None:
        report.line("canary", f"sent {short_time(sent_at)}, never seen back")
    else:
        took = f"round trip {round_trip_ms:.0f} ms" if round_trip_ms is not None else "round trip"
        report.line("canary", f"{took}, seen {short_time(seen_at)} ({relative(seen_at, report.moment)})")
    if seen_at is not None and in_the_future(
        report, seen_at, "the canary item (pk=canary)", "the CanaryRoundTrip metric on the dashboard"
    ):
        return
    if blind_since is not None:
        report.problem(
            f"the event path is blind since {short_time(blind_since)}: the canary has not come back, so events "
            f"reach no warden rule; one of {BLIND_CAUSES} is broken (README: event path blind)"
        )
    elif seen_at is None and older_than(report.moment, stack, CANARY_LIMIT):
        report.problem(
            "the canary has never come back, and the stack is older than 10 minutes: events reach no warden rule; "
            f"one of {BLIND_CAUSES} is broken (README: event path blind)"
        )
    elif seen_at is not None and report.moment - seen_at > CANARY_LIMIT:
        report.problem(
            f"the canary was last seen {relative(seen_at, report.moment)} (more than 10 minutes): events may not "
            f"reach the warden; one of {BLIND_CAUSES} is broken (README: event path blind)"
        )


def _appconfig_policy(report: Report, aws: Aws, stack: Stack) -> None:
    """Organization mode: the version deployed in AppConfig (the validator refused any invalid one before it)."""
    from botocore.exceptions import ClientError

    from warden_cli.policy_appconfig import deployed

    store = aws.outputs.policy_store
    assert store is not None
    data: dict[str, Any] = {"store": store.label, "in_force_version": None, "summary": None}
    report.fields["policy"] = data
    try:
        found = deployed(aws, store)
    except ClientError as error:
        kept = kept_copy(aws, stack)
        data.update(in_force_source="state table copy" if kept else None, summary=kept)
        keeps = f"the functions keep the copy in the state table ({kept})" if kept else "no valid policy exists"
        report.line("policy", f"cannot read {store.label}")
        report.problem(
            f"the deployed policy cannot be read ({clean(str(error))}): {keeps}; find out who changed it (CloudTrail "
            "DeleteConfigurationProfile), deploy the stack again and push the policy with `warden policy push FILE`"
        )
        return
    if found is None or found.policy is None:
        report.line("policy", f"nothing valid deployed in {store.label}")
        report.problem(f"no valid policy is deployed in {store.label}: push one with `warden policy push FILE`")
        return
    summary = policy_summary(found.policy)
    data.update(in_force_version=found.version, in_force_source="appconfig", summary=summary)
    report.line("policy", f"version {found.version} deployed in AppConfig in force ({summary}); valid")
