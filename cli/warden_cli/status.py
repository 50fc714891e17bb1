"""`warden status`: one screen on whether Session Warden is enforcing, and what to do where it is not.

Read-only: every call is a Describe, Get, List or Query. Exit 0 healthy; 1 with each problem on its own line;
2 when the stack cannot be read at all (input, credentials, region, endpoint).
"""

from __future__ import annotations

import argparse
import contextlib
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from warden_cli.aws import Aws, aws_errors
from warden_cli.clock import now
from warden_cli.errors import EXIT_BAD_INPUT, EXIT_DENIED, EXIT_OK, CliError
from warden_cli.options import add_aws_options
from warden_cli.output import iso_or_none, plural, policy_summary, print_json, relative, short_time
from warden_cli.stored_policy import last_valid_policy, read_stored_policy

HEARTBEAT_LIMIT = timedelta(minutes=3)  # SPEC 7, liveness: the heartbeat alarm's threshold too
CANARY_LIMIT = timedelta(minutes=10)  # SPEC 7: no round trip within 10 minutes is an `event path blind` alert
TAMPER_WINDOW = timedelta(hours=24)
CLOCK_SKEW = timedelta(minutes=2)  # a time this far ahead of now may be another clock's; further is a forgery
DLQ_OUTPUTS = (
    ("EventDeliveryDLQ", "EventDeliveryDLQUrl", "events EventBridge could not deliver to a function"),
    ("FailedInvocationsDLQ", "FailedInvocationsDLQUrl", "events a function gave up on after its retries"),
)
PENDING = "PendingConfirmation"
# A stack in these states has lost (or never got) resources; UPDATE_ROLLBACK_COMPLETE still runs the previous one.
BROKEN_STACK = frozenset({"ROLLBACK_IN_PROGRESS", "ROLLBACK_COMPLETE", "DELETE_IN_PROGRESS", "DELETE_COMPLETE"})
BLIND_CAUSES = "the trail, its event selectors, the canary rule, its target or the function's permission"
_TEXT_LIMIT = 300


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "status",
        help="is Session Warden enforcing? stack, policy, sweeps, canary, trail, alerts, DLQs, tampering",
        description="One screen to read after deploying and whenever something feels wrong. Exit 0 healthy, "
        "1 with each problem on its own line saying what to do, 2 when the stack cannot be read.",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object: every field and `problems`")
    add_aws_options(parser)
    parser.set_defaults(handler=status_command)


def status_command(args: argparse.Namespace) -> int:
    aws = Aws.from_args(args)
    with _unreachable_is_bad_input(aws.endpoint_url):
        report = gather(aws)
    if args.json:
        print_json({**report.fields, "healthy": not report.problems, "problems": report.problems})
    else:
        print_text(report)
    return EXIT_DENIED if report.problems else EXIT_OK


# --- gathering ---------------------------------------------------------------------------------------------------


@dataclass
class Report:
    """What `warden status` found: the fields in display order, and the problems, each saying what to do."""

    moment: datetime
    fields: dict[str, Any] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    lines: list[tuple[str, str]] = field(default_factory=list)

    def problem(self, text: str) -> None:
        self.problems.append(text)

    def line(self, label: str, text: str) -> None:
        self.lines.append((label, text))


@dataclass(frozen=True)
class Stack:
    name: str
    region: str
    outputs: dict[str, str]
    status: str
    created_at: datetime | None
    resources: dict[str, str]  # logical id -> physical id


def gather(aws: Aws) -> Report:
    """Every check, in the order the screen shows them; one that cannot be made is a problem, not an abort."""
    standard = aws.outputs  # the CLI's usual checks: the stack exists and is Session Warden
    moment = now(aws.endpoint_url)
    stack = _read_stack(aws)
    report = Report(moment)
    _stack_fields(report, stack)
    checks: tuple[tuple[str, Callable[[], None]], ...] = (
        ("the policy", lambda: _policy(report, aws, stack, standard.policy_parameter)),
        ("the sweep heartbeat", lambda: _heartbeat(report, aws, stack)),
        ("the canary", lambda: _canary(report, aws, stack)),
        ("the trails", lambda: _trails(report, aws)),
        ("the alert subscriptions", lambda: _subscriptions(report, aws, standard.alerts_topic_arn)),
        ("the dead-letter queues", lambda: _dead_letters(report, aws, stack)),
        ("the open sessions", lambda: _open_sessions(report, aws, standard.ledger_table)),
        ("the active grants", lambda: _active_grants(report, aws, standard.grants_table)),
        ("the tamper events", lambda: _tamper_events(report, aws, stack)),
    )
    for what, check in checks:
        _checked(report, what, check)
    return report


def _read_stack(aws: Aws) -> Stack:
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


def _stack_fields(report: Report, stack: Stack) -> None:
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


def _policy(report: Report, aws: Aws, stack: Stack, parameter: str) -> None:
    ssm = aws.client("ssm")
    stored = read_stored_policy(ssm, parameter)
    data: dict[str, Any] = {"parameter": parameter, "stored_version": None, "stored_valid": None, "stored_issues": []}
    report.fields["policy"] = data
    in_force = None if stored is None else stored if stored.valid else last_valid_policy(ssm, parameter)
    kept = _kept_copy(aws, stack) if in_force is None else None
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
    first = _clean(stored.issues[0]) if stored.issues else "it does not validate"
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


def _kept_copy(aws: Aws, stack: Stack) -> str | None:
    """The summary of the last valid policy the functions keep in the state table, when it validates."""
    from warden.policy import PolicyError, load_policy

    item = _state_item(aws, stack, "policy", "last-valid")
    if item is None or not isinstance(item.get("text"), str):
        return None
    try:
        return policy_summary(load_policy(item["text"], source="the state table's copy"))
    except PolicyError:
        return None


def _heartbeat(report: Report, aws: Aws, stack: Stack) -> None:
    item = _state_item(aws, stack, "heartbeat", "sweep")
    at = _epoch_time(item.get("at")) if item else None
    report.fields["sweep"] = {"last_completed_at": iso_or_none(at), "age_seconds": _age(report.moment, at)}
    if at is None:
        report.line("last sweep", "none completed yet")
        if _older_than(report.moment, stack, HEARTBEAT_LIMIT):
            report.problem(
                "no sweep has ever completed: open sessions are not re-checked; check the sweeper's schedule rule "
                f"({stack.name}-sweep-every-minute) is enabled and read the sweeper's logs and errors alarm"
            )
        return
    report.line("last sweep", f"completed {short_time(at)} ({relative(at, report.moment)})")
    if _in_the_future(report, at, "the sweep heartbeat (pk=heartbeat)", "the SweepCompleted metric and its alarm"):
        return
    if report.moment - at > HEARTBEAT_LIMIT:
        report.problem(
            f"the last completed sweep was {relative(at, report.moment)} (more than 3 minutes): open sessions are "
            "not being re-checked; read the sweeper's logs and errors alarm, check its schedule rule "
            f"({stack.name}-sweep-every-minute) is enabled and the sweeper is not throttled (README: Liveness)"
        )


def _canary(report: Report, aws: Aws, stack: Stack) -> None:
    item = _state_item(aws, stack, "canary", "state")
    if item is None:
        report.fields["canary"] = None
        report.line("canary", "no canary yet")
        if _older_than(report.moment, stack, CANARY_LIMIT):
            report.problem(
                "no canary has been sent, and the stack is older than 10 minutes: the sweeper is not running its "
                "canary, so nobody would notice a broken event path; check the sweeper's logs"
            )
        return
    sent_at, seen_at = _epoch_time(item.get("sent_at")), _epoch_time(item.get("seen_at"))
    blind_since = _epoch_time(item.get("blind_since"))
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
    if seen_at is not None and _in_the_future(
        report, seen_at, "the canary item (pk=canary)", "the CanaryRoundTrip metric on the dashboard"
    ):
        return
    if blind_since is not None:
        report.problem(
            f"the event path is blind since {short_time(blind_since)}: the canary has not come back, so events "
            f"reach no warden rule; one of {BLIND_CAUSES} is broken (README: event path blind)"
        )
    elif seen_at is None and _older_than(report.moment, stack, CANARY_LIMIT):
        report.problem(
            "the canary has never come back, and the stack is older than 10 minutes: events reach no warden rule; "
            f"one of {BLIND_CAUSES} is broken (README: event path blind)"
        )
    elif seen_at is not None and report.moment - seen_at > CANARY_LIMIT:
        report.problem(
            f"the canary was last seen {relative(seen_at, report.moment)} (more than 10 minutes): events may not "
            f"reach the warden; one of {BLIND_CAUSES} is broken (README: event path blind)"
        )


def _trails(report: Report, aws: Aws) -> None:
    from botocore.exceptions import ClientError

    cloudtrail = aws.client("cloudtrail")
    region = aws.region_name
    found: list[dict[str, Any]] = []
    for trail in cloudtrail.describe_trails(includeShadowTrails=True).get("trailList", []):
        arn = str(trail.get("TrailARN") or trail.get("Name"))
        applies = bool(trail.get("IsMultiRegionTrail")) or trail.get("HomeRegion") == region
        entry: dict[str, Any] = {
            "name": str(trail.get("Name")),
            "arn": arn,
            "home_region": trail.get("HomeRegion"),
            "multi_region": bool(trail.get("IsMultiRegionTrail")),
            "logs_this_region": applies,
            "logging": None,
            "management_events": None,
            "error": None,
        }
        try:
            # By ARN: a multi-region trail of another home region (a shadow trail) is read only that way.
            entry["logging"] = bool(cloudtrail.get_trail_status(Name=arn).get("IsLogging"))
            entry["management_events"] = management_events(cloudtrail.get_event_selectors(TrailName=arn))
        except ClientError as error:  # an organization's trail may not let a member account read it
            entry["error"] = _client_error(error)
        found.append(entry)
    report.fields["trails"] = found
    good = [trail for trail in found if trail["logs_this_region"] and trail["logging"] and trail["management_events"]]
    if good:
        names = ", ".join(_clean(trail["name"]) for trail in good)
        report.line("trail", f"{names}: logging management events in {region}")
        return
    report.line("trail", f"none logging management events in {region}")
    consequence = (
        f"no trail logs management events in {region}: EventBridge gets no 'AWS API Call via CloudTrail' events, "
        "so sessions are checked only by the sweeper, up to a minute late, and tampering goes unseen"
    )
    fixes: list[str] = []
    for trail in found:
        if not trail["logs_this_region"]:
            continue
        name = trail["name"]
        if trail["error"]:
            fixes.append(f"check trail {_clean(name)}, which could not be read ({trail['error']})")
        elif not trail["logging"]:
            fixes.append(f"start trail {_clean(name)}: aws cloudtrail start-logging --name {trail['arn']}")
        elif not trail["management_events"]:
            fixes.append(
                f"log management events on trail {_clean(name)}: aws cloudtrail put-event-selectors --trail-name "
                f'{trail["arn"]} --event-selectors \'[{{"ReadWriteType": "All", "IncludeManagementEvents": true}}]\''
            )
    if not fixes:
        fixes.append(
            "create one: aws cloudtrail create-trail --name management-events --is-multi-region-trail "
            "--s3-bucket-name BUCKET && aws cloudtrail start-logging --name management-events"
        )
    report.problem(f"{consequence}; {'; or '.join(fixes)}")


def management_events(selectors: dict[str, Any]) -> bool:
    """Whether a trail's event selectors (basic or advanced) record management write calls."""
    for selector in selectors.get("EventSelectors") or []:
        if selector.get("IncludeManagementEvents", True) and selector.get("ReadWriteType", "All") in (
            "All",
            "WriteOnly",
        ):
            return True
    for selector in selectors.get("AdvancedEventSelectors") or []:
        fields_ = selector.get("FieldSelectors") or []
        category = [item for item in fields_ if item.get("Field") == "eventCategory"]
        if not any("Management" in (item.get("Equals") or []) for item in category):
            continue
        read_only = [item for item in fields_ if item.get("Field") == "readOnly"]
        if any("true" in (item.get("Equals") or []) for item in read_only):
            continue  # read-only calls only: StartSession and every tamper call are writes
        return True
    # A trail that was never given selectors logs all management events.
    return not selectors.get("EventSelectors") and not selectors.get("AdvancedEventSelectors")


def _subscriptions(report: Report, aws: Aws, topic: str) -> None:
    sns = aws.client("sns")
    found: list[dict[str, Any]] = []
    for page in sns.get_paginator("list_subscriptions_by_topic").paginate(TopicArn=topic):
        for item in page.get("Subscriptions", []):
            found.append(
                {
                    "protocol": item.get("Protocol"),
                    "endpoint": item.get("Endpoint"),
                    "confirmed": item.get("SubscriptionArn") not in (PENDING, "Deleted", None),
                }
            )
    report.fields["alert_subscriptions"] = found
    confirmed = [item for item in found if item["confirmed"]]
    pending = [item for item in found if not item["confirmed"]]
    text = f"{plural(len(confirmed), 'subscription')} confirmed"
    report.line("alerts", text + (f", {len(pending)} pending" if pending else ""))
    for item in pending:
        report.problem(
            f"the alert subscription {item['protocol']}:{_clean(str(item['endpoint']))} is not confirmed: alerts do "
            "not reach it until its owner follows the link in the 'AWS Notification - Subscription Confirmation' "
            f"message (to send a new one: aws sns subscribe --topic-arn {topic} --protocol {item['protocol']} "
            f"--notification-endpoint {_clean(str(item['endpoint']))})"
        )
    if not found:
        report.problem(
            f"the alerts topic has no subscription: alerts reach nobody; subscribe the security team "
            f"(aws sns subscribe --topic-arn {topic} --protocol email --notification-endpoint ADDRESS) and confirm it"
        )


def _dead_letters(report: Report, aws: Aws, stack: Stack) -> None:
    sqs = aws.client("sqs")
    found: list[dict[str, Any]] = []
    for name, output, holds in DLQ_OUTPUTS:
        url = stack.outputs.get(output)
        if not url:
            found.append({"name": name, "url": None, "messages": None})
            report.problem(f"the stack has no {output} output: deploy the current template with `sam deploy`")
            continue
        attributes = sqs.get_queue_attributes(
            QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
        ).get("Attributes", {})
        # Messages someone is receiving right now (a replay under way) are still in the queue.
        depth = int(attributes.get("ApproximateNumberOfMessages", 0))
        in_flight = int(attributes.get("ApproximateNumberOfMessagesNotVisible", 0))
        found.append({"name": name, "url": url, "messages": depth, "in_flight": in_flight})
        depth += in_flight
        if depth:
            report.problem(
                f"{name} holds {plural(depth, 'message')} ({holds}): fix the cause (the functions' logs), then "
                f"replay them (10 at a time): {replay_command(name, url, stack)}; then purge it: "
                f"aws sqs purge-queue --queue-url {url}"
            )
    report.fields["dead_letter_queues"] = found
    report.line(
        "DLQs", ", ".join(f"{item['name']} {'-' if item['messages'] is None else item['messages']}" for item in found)
    )


def replay_command(name: str, url: str, stack: Stack) -> str:
    """The shell command that re-invokes each message's function, for the kind of dead letters the queue holds.

    SQS's own redrive (``start-message-move-task``) moves messages only from DLQs of SQS queues; these are the
    dead-letter targets of EventBridge rules and of Lambda's asynchronous invocations, so each message is
    re-sent to its function instead (replays are safe: enforcement is idempotent per CloudTrail eventID).
    """
    receive = (
        f"aws sqs receive-message --queue-url {url} --max-number-of-messages 10 --query 'Messages[].Body' --output json"
    )
    invoke = "aws lambda invoke --invocation-type Event --cli-binary-format raw-in-base64-out"
    if name == "FailedInvocationsDLQ":
        # Lambda destination records name their function and carry the original event.
        return (
            f'{receive} | jq -c \'.[] | fromjson | {{f: (.requestContext.functionArn | sub(":\\\\$LATEST$"; "")), '
            "e: .requestPayload}' | while read -r r; do "
            f'{invoke} --function-name "$(jq -r .f <<<"$r")" --payload "$(jq -c .e <<<"$r")" /dev/null; done'
        )
    started = stack.resources.get("SessionStartedFunction", "SessionStartedFunction")
    ended = stack.resources.get("SessionEndedFunction", "SessionEndedFunction")
    # EventBridge dead letters are the events themselves; a missed sweep needs no replay (the next one runs).
    return (
        f"{receive} | jq -c '.[] | fromjson' | while read -r e; do "
        'case "$(jq -r .detail.eventName <<<"$e")" in '
        f"StartSession|ResumeSession) f={started};; TerminateSession) f={ended};; *) continue;; esac; "
        f'{invoke} --function-name "$f" --payload "$e" /dev/null; done'
    )


def _open_sessions(report: Report, aws: Aws, table: str) -> None:
    from warden.adapters.ledger import DynamoLedger

    entries = DynamoLedger(aws.client("dynamodb"), table).open_entries()
    report.fields["open_sessions"] = [
        {
            "session_id": entry.session_id,
            "principal": entry.principal or entry.principal_arn,
            "target": entry.target,
            "started_at": iso_or_none(entry.started_at),
            "deadline": iso_or_none(entry.deadline),
        }
        for entry in entries
    ]
    report.line("sessions", f"{len(entries)} open")


def _active_grants(report: Report, aws: Aws, table: str) -> None:
    from warden.adapters.grants import DynamoGrantStore

    stored = DynamoGrantStore(aws.client("dynamodb"), table).active(report.moment)
    grants = [grant for grant in stored if grant.active_at(report.moment)]
    report.fields["active_grants"] = [
        {"id": grant.id, "principal": grant.principal, "expires_at": iso_or_none(grant.expires_at)} for grant in grants
    ]
    report.line("grants", f"{len(grants)} active")


def _tamper_events(report: Report, aws: Aws, stack: Stack) -> None:
    from warden.adapters.dynamo import from_item, to_value
    from warden.timefmt import iso

    table = stack.outputs.get("StateTableName")
    events: list[dict[str, Any]] = []
    if table:
        request: dict[str, Any] = {
            "TableName": table,
            "KeyConditionExpression": "pk = :pk AND sk >= :since",
            "ExpressionAttributeValues": {
                ":pk": to_value("tamper"),
                ":since": to_value(iso(report.moment - TAMPER_WINDOW)),
            },
        }
        while True:
            page = aws.client("dynamodb").query(**request)
            for raw in page.get("Items", []):
                item = from_item(raw)
                events.append(
                    {
                        "at": iso_or_none(_epoch_time(item.get("at"))) or str(item.get("sk", "")).split("#", 1)[0],
                        "event_name": _clean(item.get("event_name")),
                        "actor": _clean(item.get("actor")),
                        "resource": _clean(item.get("resource")),
                        "meaning": _clean(item.get("meaning")),
                        "event_id": str(item.get("sk", "")).partition("#")[2],
                    }
                )
            if not page.get("LastEvaluatedKey"):
                break
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    report.fields["tamper_events"] = events
    report.line("tamper", f"{plural(len(events), 'event')} in the last 24 h" if events else "none in the last 24 h")
    for event in events:
        report.problem(
            f"tampering at {event['at']}: {event['actor'] or 'someone'} called {event['event_name'] or 'an API'} "
            f"on {event['resource'] or 'a warden resource'}: {event['meaning'] or 'see the enforcer tampered alert'}; "
            "if that was not a planned change, undo it and find out who holds that permission "
            "(README: enforcer tampered)"
        )


# --- plumbing ----------------------------------------------------------------------------------------------------


def _state_item(aws: Aws, stack: Stack, pk: str, sk: str) -> dict[str, Any] | None:
    from warden.adapters.dynamo import from_item, to_value

    table = stack.outputs.get("StateTableName")
    if not table:
        raise _MissingOutput("StateTableName")
    response = aws.client("dynamodb").get_item(
        TableName=table, Key={"pk": to_value(pk), "sk": to_value(sk)}, ConsistentRead=True
    )
    return from_item(response["Item"]) if "Item" in response else None


class _MissingOutput(Exception):
    """The stack lacks an output a check needs (deployed from an older template)."""


def _checked(report: Report, what: str, check: Callable[[], None]) -> None:
    """Run one check; an AWS refusal (AccessDenied, a missing resource) becomes a problem line, the rest go on.

    Connection failures are not caught: the next call would fail the same way, so status stops (exit 2).
    """
    from botocore.exceptions import ClientError

    from warden.errors import AwsCallFailed

    try:
        check()
    except _MissingOutput as missing:
        report.problem(f"cannot check {what}: the stack has no {missing} output; deploy the current template")
    except AwsCallFailed as error:
        if not isinstance(error.__cause__, ClientError):
            raise error.__cause__ or error from None
        report.problem(f"cannot check {what}: {_client_error(error.__cause__)}")
    except ClientError as error:
        report.problem(f"cannot check {what}: {_client_error(error)}")


def _client_error(error: Any) -> str:
    details = error.response.get("Error", {})
    message = " ".join(str(details.get("Message") or "").split())
    operation = getattr(error, "operation_name", "AWS call")
    code = details.get("Code") or "error"
    hint = "; give your role read access to it" if "denied" in code.lower() or "unauthorized" in code.lower() else ""
    return f"{operation} failed: {code}: {_clean(message)}{hint}"


@contextlib.contextmanager
def _unreachable_is_bad_input(endpoint: str | None) -> Iterator[None]:
    """The CLI's one-line errors, with exit 2 for all of them: exit 1 means problems were found."""
    try:
        with aws_errors(endpoint):
            yield
    except CliError as error:
        raise CliError(str(error), code=EXIT_BAD_INPUT) from None


def _in_the_future(report: Report, at: datetime, item: str, trust: str) -> bool:
    """A time ahead of now in the warden's own table: not something the warden writes; a problem if so."""
    if at - report.moment <= CLOCK_SKEW:
        return False
    report.problem(
        f"{item} in the state table says {short_time(at)}, in the future: only a write outside Session Warden does "
        f"that, and it would hide a stopped sweeper; trust {trust}, and find who wrote the item (CloudTrail data "
        "events on the state table, principals with dynamodb:PutItem on it)"
    )
    return True


def _epoch_time(value: Any) -> datetime | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        return None
    try:
        return datetime.fromtimestamp(value, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _age(moment: datetime, at: datetime | None) -> int | None:
    return None if at is None else int((moment - at).total_seconds())


def _older_than(moment: datetime, stack: Stack, span: timedelta) -> bool:
    """Whether the stack has existed for longer than ``span`` (unknown creation time: assume it has)."""
    return stack.created_at is None or moment - stack.created_at > span


def _clean(value: Any) -> str:
    """Text someone else wrote (table items, resource names), safe for a terminal: no control characters, bounded."""
    if value is None:
        return ""
    text = "".join(" " if unicodedata.category(char).startswith("C") else char for char in str(value))
    text = " ".join(text.split())
    return text if len(text) <= _TEXT_LIMIT else text[: _TEXT_LIMIT - 1] + "…"


# --- printing ----------------------------------------------------------------------------------------------------


def print_text(report: Report) -> None:
    width = max(len(label) for label, _ in report.lines)
    for label, text in report.lines:
        print(f"{label.ljust(width)}  {text}")
    print()
    if not report.problems:
        print("healthy: no problems found")
        return
    print(f"{plural(len(report.problems), 'problem')}:")
    for problem in report.problems:
        print(f"- {problem}")
