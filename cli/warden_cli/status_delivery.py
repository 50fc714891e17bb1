"""`warden status` checks that events reach the warden and its alerts reach people: trails, subscriptions, DLQs."""

from __future__ import annotations

from typing import Any

from warden_cli.aws import Aws
from warden_cli.output import plural
from warden_cli.status_report import Report, Stack, clean, client_error

DLQ_OUTPUTS = (
    ("EventDeliveryDLQ", "EventDeliveryDLQUrl", "events EventBridge could not deliver to a function"),
    ("FailedInvocationsDLQ", "FailedInvocationsDLQUrl", "events a function gave up on after its retries"),
)
PENDING = "PendingConfirmation"


def trails(report: Report, aws: Aws) -> None:
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
            from warden.adapters.trails import management_events

            entry["management_events"] = management_events(cloudtrail.get_event_selectors(TrailName=arn))
        except ClientError as error:  # an organization's trail may not let a member account read it
            entry["error"] = client_error(error)
        found.append(entry)
    report.fields["trails"] = found
    good = [trail for trail in found if trail["logs_this_region"] and trail["logging"] and trail["management_events"]]
    if good:
        names = ", ".join(clean(trail["name"]) for trail in good)
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
            fixes.append(f"check trail {clean(name)}, which could not be read ({trail['error']})")
        elif not trail["logging"]:
            fixes.append(f"start trail {clean(name)}: aws cloudtrail start-logging --name {trail['arn']}")
        elif not trail["management_events"]:
            fixes.append(
                f"log management events on trail {clean(name)}: aws cloudtrail put-event-selectors --trail-name "
                f'{trail["arn"]} --event-selectors \'[{{"ReadWriteType": "All", "IncludeManagementEvents": true}}]\''
            )
    if not fixes:
        fixes.append(
            "create one: aws cloudtrail create-trail --name management-events --is-multi-region-trail "
            "--s3-bucket-name BUCKET && aws cloudtrail start-logging --name management-events"
        )
    report.problem(f"{consequence}; {'; or '.join(fixes)}")


def subscriptions(report: Report, aws: Aws, topic: str) -> None:
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
            f"the alert subscription {item['protocol']}:{clean(str(item['endpoint']))} is not confirmed: alerts do "
            "not reach it until its owner follows the link in the 'AWS Notification - Subscription Confirmation' "
            f"message (to send a new one: aws sns subscribe --topic-arn {topic} --protocol {item['protocol']} "
            f"--notification-endpoint {clean(str(item['endpoint']))})"
        )
    if not found:
        report.problem(
            f"the alerts topic has no subscription: alerts reach nobody; subscribe the security team "
            f"(aws sns subscribe --topic-arn {topic} --protocol email --notification-endpoint ADDRESS) and confirm it"
        )


def dead_letters(report: Report, aws: Aws, stack: Stack) -> None:
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
