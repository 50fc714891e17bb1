"""`warden demo --org`: a scripted morning of an AWS Organization guarded by one central warden, on the local cloud."""

from __future__ import annotations

import argparse
import sys
from time import perf_counter

from warden_cli.errors import EXIT_DENIED, EXIT_OK


def org_demo_command(args: argparse.Namespace) -> int:
    from warden_cli.demo import _quiet, demo_errors
    from warden_cli.demo_cast import ALERT_EMAIL
    from warden_cli.demo_org_cast import start_at
    from warden_cli.demo_org_script import perform
    from warden_cli.demo_org_stage import OrgStage
    from warden_cli.timeline import Timeline

    began = perf_counter()
    timeline = Timeline(sys.stdout, as_json=args.json)
    with _quiet(), demo_errors():
        from warden_local import LocalCloud

        with LocalCloud(start_at=start_at(), frozen=True, alert_email=ALERT_EMAIL, organization=True) as cloud:
            stage = OrgStage(cloud, timeline)
            perform(stage)
    stage.summarise(seconds=perf_counter() - began)
    return EXIT_DENIED if stage.unmet else EXIT_OK
