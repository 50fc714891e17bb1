"""`warden demo`: one scripted Tuesday on the embedded local cloud, printed as a timeline with every alert as e-mail."""

from __future__ import annotations

import argparse
import contextlib
import logging
import sys
import warnings
from collections.abc import Iterator
from time import perf_counter
from typing import Any

from warden_cli.errors import EXIT_DENIED, EXIT_OK, CliError

# Library loggers that would otherwise print request lines and warnings over the timeline.
_QUIET_LOGGERS = ("werkzeug", "moto", "warden_local", "botocore", "boto3", "urllib3", "aws_lambda_powertools")


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="a scripted day on the embedded local cloud: sessions, terminations and alerts (no AWS account needed)",
        description="Start the local cloud in this process, deploy the stack from template.yaml, and run one "
        "Tuesday of Session Manager sessions on an emulated clock: an allowed session, a denied one, a grant that "
        "expires, a business-hours window that closes, a re-tagged instance and monitor mode. Prints the timeline "
        "and every alert as the e-mail the security team receives. Exits 1 if the day did not go as scripted.",
    )
    parser.add_argument("--json", action="store_true", help="print the timeline as JSON lines, one object per event")
    parser.add_argument(
        "--org",
        action="store_true",
        help="the organization instead: three member accounts in two regions guarded by one central warden",
    )
    parser.set_defaults(handler=demo_command)


def demo_command(args: argparse.Namespace) -> int:
    if getattr(args, "org", False):
        from warden_cli.demo_org import org_demo_command

        return org_demo_command(args)
    from warden_cli.demo_cast import ALERT_EMAIL, DAY_STARTS, berlin, demo_policy
    from warden_cli.demo_script import perform
    from warden_cli.demo_stage import Stage
    from warden_cli.timeline import Timeline

    began = perf_counter()
    timeline = Timeline(sys.stdout, as_json=args.json)
    with _quiet(), demo_errors():
        from warden_local import LocalCloud

        with LocalCloud(
            start_at=berlin(DAY_STARTS.hour, DAY_STARTS.minute),
            frozen=True,
            policy=demo_policy(),
            alert_email=ALERT_EMAIL,
        ) as cloud:
            stage = Stage(cloud, timeline)
            perform(stage)
    stage.summarise(seconds=perf_counter() - began)
    return EXIT_DENIED if stage.unmet else EXIT_OK


@contextlib.contextmanager
def demo_errors() -> Iterator[None]:
    """What stops a demo (``warden demo``, ``warden demo --org``), said in one line as a CliError rather than in a
    stack trace: the demo doubles as a smoke test. A reader that went away (BrokenPipeError) passes through."""
    from botocore.exceptions import BotoCoreError, ClientError

    from warden.errors import AwsCallFailed
    from warden_local import LocalCloudError, SettleTimeout

    try:
        yield
    except BrokenPipeError:  # the reader went away: main stops quietly
        raise
    except LocalCloudError as error:
        raise CliError(f"the local cloud did not start: {error}", code=EXIT_DENIED) from None
    except SettleTimeout as error:
        raise CliError(f"the local cloud did not settle: {error}", code=EXIT_DENIED) from None
    except (AwsCallFailed, BotoCoreError, ClientError) as error:
        raise CliError(f"an AWS call of the demo failed: {error}", code=EXIT_DENIED) from None
    except Exception as error:
        raise CliError(f"the demo stopped: {type(error).__name__}: {error}", code=EXIT_DENIED) from None


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """No request logs, library warnings or handler chatter over the timeline."""
    loggers = [logging.getLogger(name) for name in _QUIET_LOGGERS]
    levels = [logger.level for logger in loggers]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for logger in loggers:
            logger.setLevel(logging.CRITICAL)
        try:
            yield
        finally:
            for logger, level in zip(loggers, levels, strict=True):
                logger.setLevel(level)
