"""`warden local user|sso|instance|session|alerts`: act as people on a running local cloud and read its alerts.

They talk to the cloud `warden local up` serves, at AWS_ENDPOINT_URL: people through its control API (the cloud's
own IAM and STS create them), instances, sessions and the alerts inbox through its AWS APIs.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from typing import Any

from warden_cli.errors import EXIT_OK, CliError

ALERTS_QUEUE = "warden-local-alerts"  # subscribed to the alerts topic by `warden local up`
_CREDENTIAL_VARIABLES = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")


def register(commands: Any) -> None:
    user = commands.add_parser(
        "user",
        help="create IAM user NAME with fresh keys; print the environment to act as it",
        description='Prints `export AWS_ACCESS_KEY_ID=...` lines: `eval "$(warden local user bob)"`.',
    )
    user.add_argument("name", metavar="NAME", help="the IAM user name")
    user.set_defaults(handler=user_command)

    sso = commands.add_parser(
        "sso",
        help="sign IAM Identity Center user NAME in with a permission set; print the environment to act as it",
        description="The role AWSReservedSSO_<SET>_<id> under /aws-reserved/sso.amazonaws.com/, its session named "
        'after the user, as Identity Center does: `eval "$(warden local sso alice@example.com --permission-set '
        'Analyst)"`.',
    )
    sso.add_argument("name", metavar="NAME", help="the user's name in Identity Center, usually an e-mail")
    sso.add_argument("--permission-set", required=True, metavar="P", help="the permission set's name, e.g. Analyst")
    sso.set_defaults(handler=sso_command)

    instance = commands.add_parser("instance", help="run an EC2 instance with tags; print only its id")
    instance.add_argument(
        "--tag", action="extend", nargs="+", default=[], metavar="K=V", help="a tag of the instance (repeatable)"
    )
    instance.set_defaults(handler=instance_command)

    session = commands.add_parser(
        "session",
        help="start a Session Manager session on a target as whoever the environment's keys are; print its id",
        description="The StartSession call `aws ssm start-session` makes first (no plugin, no shell).",
    )
    session.add_argument("target", metavar="TARGET", help="instance or managed-node id")
    session.add_argument("--reason", metavar="R", help="the session's reason")
    session.add_argument("--document", metavar="D", help="the session document (default: a shell)")
    session.set_defaults(handler=session_command)

    alerts = commands.add_parser(
        "alerts",
        help="print the alerts not shown yet, each as the e-mail the security team receives",
        description=f"Reads the SQS queue {ALERTS_QUEUE}, which `warden local up` subscribes to the alerts topic; "
        "each alert is shown once.",
    )
    alerts.add_argument("--follow", "-f", action="store_true", help="keep waiting for new alerts until Ctrl-C")
    alerts.add_argument("--json", action="store_true", help="one JSON object per alert: subject, body, severity, kind")
    alerts.set_defaults(handler=alerts_command)


def user_command(args: argparse.Namespace) -> int:
    from warden_cli.local import control

    _print_environment(control(args, "POST", "identity", {"kind": "user", "name": args.name}))
    return EXIT_OK


def sso_command(args: argparse.Namespace) -> int:
    from warden_cli.local import control

    body = {"kind": "sso", "name": args.name, "permission_set": args.permission_set}
    _print_environment(control(args, "POST", "identity", body))
    return EXIT_OK


def _print_environment(variables: dict[str, Any]) -> None:
    for name in _CREDENTIAL_VARIABLES:
        value = variables.get(name)
        print(f"export {name}={shlex.quote(str(value))}" if value else f"unset {name}")


def instance_command(args: argparse.Namespace) -> int:
    tags = []
    for value in args.tag:
        key, sep, tag_value = value.partition("=")
        if not sep or not key.strip():
            raise CliError(f"--tag {value!r}: expected KEY=VALUE, e.g. --tag Environment=prod")
        tags.append({"Key": key, "Value": tag_value})
    request: dict[str, Any] = {"ImageId": "ami-12c6146b", "MinCount": 1, "MaxCount": 1, "InstanceType": "t3.micro"}
    if tags:
        request["TagSpecifications"] = [{"ResourceType": "instance", "Tags": tags}]
    aws = _aws(args)
    from warden_cli.aws import aws_errors

    with aws_errors(aws.endpoint_url):
        print(aws.client("ec2").run_instances(**request)["Instances"][0]["InstanceId"])
    return EXIT_OK


def session_command(args: argparse.Namespace) -> int:
    request: dict[str, Any] = {"Target": args.target.strip()}
    if args.reason:
        request["Reason"] = args.reason
    if args.document:
        request["DocumentName"] = args.document
    aws = _aws(args)
    from warden_cli.aws import aws_errors

    with aws_errors(aws.endpoint_url):
        print(aws.client("ssm").start_session(**request)["SessionId"])
    return EXIT_OK


def alerts_command(args: argparse.Namespace) -> int:
    from warden_cli.aws import aws_errors
    from warden_local.inbox import Mail

    aws = _aws(args)
    with aws_errors(aws.endpoint_url):
        sqs = aws.client("sqs")
        try:
            url = sqs.get_queue_url(QueueName=ALERTS_QUEUE)["QueueUrl"]
        except sqs.exceptions.QueueDoesNotExist:
            raise CliError(
                f"no alerts queue {ALERTS_QUEUE} at {aws.endpoint_url}: is this a cloud `warden local up` started?"
            ) from None
        first = True
        while True:
            # A short wait the first time (alerts of the handlers running now), a long poll when following.
            wait = 20 if args.follow else (1 if first else 0)
            messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=wait).get(
                "Messages", []
            )
            first = False
            for message in messages:
                _print_mail(Mail.from_envelope(json.loads(message["Body"])), as_json=args.json)
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            if not messages and not args.follow:
                return EXIT_OK
            if not messages:
                time.sleep(0.2)


def _print_mail(mail: Any, *, as_json: bool) -> None:
    if as_json:
        record = {"subject": mail.subject, "body": mail.body, "severity": mail.severity, "kind": mail.kind}
        print(json.dumps(record, ensure_ascii=False), flush=True)
        return
    print(f"Subject: {mail.subject}\n\n{mail.body.rstrip()}\n", flush=True)
    sys.stdout.flush()


def _aws(args: argparse.Namespace) -> Any:
    from warden_cli.aws import Aws, connection_of
    from warden_cli.local import local_endpoint_of

    local_endpoint_of(args)  # these commands are for the local cloud only
    return Aws(profile=None, region=None, stack="-", connection=connection_of(args))
