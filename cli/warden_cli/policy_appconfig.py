"""`warden policy push|show` in organization mode: the policy is a hosted AppConfig version, validated by the stack's
validator when it is deployed, and the functions enforce the deployed one."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from warden_cli.aws import AppConfigStore, Aws
from warden_cli.errors import EXIT_DENIED, CliError

if TYPE_CHECKING:
    from warden.policy import Policy

# AppConfig's hosted configuration store holds versions of up to 2 MB.
MAX_HOSTED_BYTES = 2 * 1024 * 1024
# How long push waits for the deployment (all at once, no bake: it completes at once unless something is wrong).
DEPLOY_WAIT_SECONDS = 60.0
_POLL_SECONDS = 1.0


@dataclass(frozen=True)
class Deployed:
    """The version deployed to the environment (what the functions enforce), its text and whether it validates."""

    version: str
    deployment: int
    text: str
    policy: Policy | None
    issues: tuple[str, ...] = ()


def push(
    aws: Aws, store: AppConfigStore, path: str, text: str, announce: Callable[[int], None] | None
) -> tuple[str, int]:
    """Create a hosted version of ``text`` and deploy it; (version, deployment number). A validator refusal, a
    deployment rolled back or one still running after the wait is a CliError (exit 1) naming why."""
    from botocore.exceptions import ClientError

    size = len(text.encode("utf-8"))
    if size > MAX_HOSTED_BYTES:
        raise CliError(f"{path}: {size} bytes, more than the {MAX_HOSTED_BYTES} an AppConfig hosted version holds")
    appconfig = aws.client("appconfig")
    created = appconfig.create_hosted_configuration_version(
        ApplicationId=store.application,
        ConfigurationProfileId=store.profile,
        Content=text.encode("utf-8"),
        ContentType="application/x-yaml",
        Description=f"warden policy push {path}"[:1024],
    )
    version = int(created["VersionNumber"])
    if announce is not None:
        announce(version)
    try:
        started = appconfig.start_deployment(
            ApplicationId=store.application,
            EnvironmentId=store.environment,
            DeploymentStrategyId=store.strategy,
            ConfigurationProfileId=store.profile,
            ConfigurationVersion=str(version),
            Description=f"warden policy push {path}"[:1024],
        )
    except ClientError as error:
        details = error.response.get("Error", {})
        if details.get("Code") == "BadRequestException":
            message = " ".join(str(details.get("Message") or "").split())
            raise CliError(
                f"{path}: AppConfig refused version {version}: {message}; the version in force is unchanged",
                code=EXIT_DENIED,
            ) from None
        raise
    number = int(started["DeploymentNumber"])
    state = _wait(appconfig, store, number, str(started.get("State", "")))
    if state != "COMPLETE":
        raise CliError(
            f"{path}: deployment {number} of version {version} is {state}"
            + (" (rolled back: the version in force is unchanged)" if state == "ROLLED_BACK" else " after the wait"),
            code=EXIT_DENIED,
        )
    return str(version), number


def _wait(appconfig: Any, store: AppConfigStore, number: int, state: str) -> str:
    deadline = time.monotonic() + DEPLOY_WAIT_SECONDS
    while state not in ("COMPLETE", "ROLLED_BACK") and time.monotonic() < deadline:
        time.sleep(_POLL_SECONDS)
        state = str(
            appconfig.get_deployment(
                ApplicationId=store.application, EnvironmentId=store.environment, DeploymentNumber=number
            ).get("State", "")
        )
    return state


def deployed(aws: Aws, store: AppConfigStore) -> Deployed | None:
    """The newest deployment of the profile that was not rolled back, and its version's text; None if none."""
    from warden.policy import PolicyError, load_policy

    appconfig = aws.client("appconfig")
    items = appconfig.list_deployments(ApplicationId=store.application, EnvironmentId=store.environment)["Items"]
    for item in sorted(items, key=lambda entry: int(entry.get("DeploymentNumber", 0)), reverse=True):
        if item.get("State") == "ROLLED_BACK":
            continue
        detail = appconfig.get_deployment(
            ApplicationId=store.application,
            EnvironmentId=store.environment,
            DeploymentNumber=int(item["DeploymentNumber"]),
        )
        if detail.get("ConfigurationProfileId") not in (None, store.profile):
            continue
        version = str(detail.get("ConfigurationVersion", ""))
        hosted = appconfig.get_hosted_configuration_version(
            ApplicationId=store.application, ConfigurationProfileId=store.profile, VersionNumber=int(version)
        )
        text = hosted["Content"].read().decode("utf-8", "replace")
        try:
            return Deployed(version, int(item["DeploymentNumber"]), text, load_policy(text, source=store.label))
        except PolicyError as error:
            return Deployed(version, int(item["DeploymentNumber"]), text, None, tuple(str(i) for i in error.issues))
    return None
