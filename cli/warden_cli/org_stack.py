"""The central stack in organization mode: the outputs `warden org ...` reads, and the member stack's parameters."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from warden_cli.aws import Aws
from warden_cli.errors import EXIT_BAD_INPUT, CliError

# Outputs the central stack has in organization mode only (template.yaml, condition OrgMode).
ORG_OUTPUT_KEYS = (
    "CentralEventBusName",
    "CentralEventBusArn",
    "OrganizationId",
    "GuardedRegionList",
    "MemberRoleName",
    "CentralRoleArns",
)


@dataclass(frozen=True)
class OrgOutputs:
    """What organization mode needs from the central stack."""

    stack: str
    bus_name: str
    bus_arn: str
    organization_id: str
    guarded_regions: tuple[str, ...]  # the home region first
    member_role_name: str
    central_role_arns: tuple[str, ...]

    @property
    def home_region(self) -> str:
        return self.bus_arn.split(":")[3]

    @property
    def central_account(self) -> str:
        return self.bus_arn.split(":")[4]


def org_outputs_of(stack: str, outputs: Mapping[str, str]) -> OrgOutputs:
    """The organization outputs of ``stack``; a CliError (exit 2) naming what is missing when it is not in org mode."""
    missing = [key for key in ORG_OUTPUT_KEYS if not outputs.get(key)]
    if missing:
        raise CliError(
            f"--stack: stack {stack!r} is not in organization mode (it lacks the output {missing[0]}"
            f"{' and ' + str(len(missing) - 1) + ' more' if len(missing) > 1 else ''}); deploy it with "
            "`sam deploy --parameter-overrides OrganizationId=o-... GuardedRegions=...` (README, Organization mode)",
            code=EXIT_BAD_INPUT,
        )
    arn = outputs["CentralEventBusArn"]
    parts = arn.split(":")
    if len(parts) < 6 or parts[2] != "events" or not parts[4].isdigit() or not parts[5].startswith("event-bus/"):
        raise CliError(f"--stack: output CentralEventBusArn of {stack!r} is not an event bus ARN: {arn!r}")
    return OrgOutputs(
        stack=stack,
        bus_name=outputs["CentralEventBusName"],
        bus_arn=arn,
        organization_id=outputs["OrganizationId"],
        guarded_regions=_unique(outputs["GuardedRegionList"].split(",")),
        member_role_name=outputs["MemberRoleName"],
        central_role_arns=_unique(outputs["CentralRoleArns"].split(",")),
    )


def read_org_outputs(aws: Aws) -> OrgOutputs:
    """The central stack's organization outputs (the usual stack checks first: it exists and is Session Warden)."""
    standard = aws.outputs
    stacks = aws.client("cloudformation").describe_stacks(StackName=standard.stack).get("Stacks") or [{}]
    outputs = {item["OutputKey"]: item["OutputValue"] for item in stacks[0].get("Outputs") or []}
    return org_outputs_of(standard.stack, outputs)


def member_parameters(org: OrgOutputs, *, relay: bool = False) -> dict[str, str]:
    """The parameters of org/member.yaml, all from the central stack: an operator fills in nothing."""
    return {
        "CentralAccountId": org.central_account,
        "CentralBusName": org.bus_name,
        "HomeRegion": org.home_region,
        "OrganizationId": org.organization_id,
        "CentralRoleArns": ",".join(org.central_role_arns),
        "MemberRoleName": org.member_role_name,
        "WardenStackName": org.stack,
        "Relay": "true" if relay else "false",
    }


def _unique(values: list[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(value.strip() for value in values if value.strip()))
