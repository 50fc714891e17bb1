"""`warden demo --org`: a scripted morning of an AWS Organization guarded by one central warden, on the local cloud."""

from __future__ import annotations

import argparse
import sys
from time import perf_counter

from warden_cli.errors import EXIT_DENIED, EXIT_OK, CliError


def org_demo_command(args: argparse.Namespace) -> int:
    from warden_cli.demo import _quiet, json_copy
    from warden_cli.demo_cast import ALERT_EMAIL
    from warden_cli.demo_org_cast import start_at
    from warden_cli.demo_org_script import perform
    from warden_cli.demo_org_stage import OrgStage
    from warden_cli.timeline import Timeline

    began = perf_counter()
    with json_copy(args) as copy:
        timeline = Timeline(sys.stdout, as_json=args.json, json_copy=copy)
        with _quiet():
            from botocore.exceptions import BotoCoreError, ClientError

            from warden.errors import AwsCallFailed
            from warden_local import LocalCloud, LocalCloudError, SettleTimeout

            try:
                with LocalCloud(start_at=start_at(), frozen=True, alert_email=ALERT_EMAIL, organization=True) as cloud:
                    stage = OrgStage(cloud, timeline)
                    perform(stage)
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
        stage.summarise(seconds=perf_counter() - began)
    return EXIT_DENIED if stage.unmet else EXIT_OK
