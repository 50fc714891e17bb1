"""AppConfig deployments: StartDeployment runs the profile's Lambda validators (only when the function's resource
policy lets appconfig.amazonaws.com invoke it) and deploys nothing when one fails; one deployment at a time per
environment; a deployment's state follows the emulated clock; StopDeployment rolls back.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from .appconfig_control import AppConfigControlPlane
from .appconfig_model import LOCK, AppConfigError, Deployment

__all__ = ["AppConfigDeployments"]


class AppConfigDeployments(AppConfigControlPlane):
    """The control plane plus deployments and their validators."""

    def start_deployment(self, application_id: str, environment_id: str, body: dict[str, Any]) -> Deployment:
        env = self.environment(application_id, environment_id)
        profile = self.profile(env.application_id, str(body.get("ConfigurationProfileId", "")))
        strategy = self.strategy(str(body.get("DeploymentStrategyId", "")))
        version = str(body.get("ConfigurationVersion", ""))
        if not version.isdigit() or int(version) not in profile.config_versions:
            raise AppConfigError("ResourceNotFoundException", f"Configuration version {version} not found", 404)
        hosted = profile.config_versions[int(version)]
        content = hosted.content if isinstance(hosted.content, bytes) else str(hosted.content).encode()
        now = self.now()
        self._none_in_progress(env, now)
        # Outside the lock: the validator is a Lambda function, and a handler running meanwhile (the tamper watch
        # reading a version back) may call AppConfig; holding the lock here would deadlock the two.
        self._validate(profile, version, content)
        with LOCK:
            history = self._none_in_progress(env, now)
            deployment = Deployment(
                number=len(history) + 1,
                application_id=env.application_id,
                environment_id=env.id,
                profile_id=profile.id,
                strategy=strategy,
                version=version,
                content=content,
                content_type=str(hosted.content_type or "application/octet-stream"),
                started_at=now,
                description=str(body.get("Description", "")),
            )
            history.append(deployment)
        return deployment

    def _none_in_progress(self, env: Any, now: Any) -> list[Deployment]:
        """The environment's deployments; ConflictException while one is still deploying or baking."""
        with LOCK:
            history = self.extra.deployments.setdefault((env.application_id, env.id), [])
            if any(d.state(now) in ("DEPLOYING", "BAKING") for d in history):
                raise AppConfigError(
                    "ConflictException", "A deployment is already in progress in this environment", 409
                )
            return history

    def _validate(self, profile: Any, version: str, content: bytes) -> None:
        for validator in profile.validators or []:
            if validator.get("Type") != "LAMBDA":
                continue  # JSON_SCHEMA validators are not used by the warden
            arn = str(validator.get("Content", ""))
            if self._validators is None:
                raise AppConfigError("BadRequestException", f"Lambda validator {arn} cannot be invoked")
            _check_invoke_permission(self._account, self._region, arn)
            event = {
                "applicationId": profile.application_id,
                "configurationProfileId": profile.id,
                "configurationVersion": version,
                "content": base64.b64encode(content).decode(),
                "uri": profile.location_uri,
            }
            try:
                self._validators.invoke_sync(arn.rsplit(":function:", 1)[-1].split(":", 1)[0], event)
            except Exception as error:
                raise AppConfigError(
                    "BadRequestException", f"Configuration failed Lambda validation ({arn}): {error}"
                ) from None

    def deployments(self, application_id: str, environment_id: str) -> list[Deployment]:
        env = self.environment(application_id, environment_id)
        return list(self.extra.deployments.get((env.application_id, env.id), []))

    def deployment(self, application_id: str, environment_id: str, number: int) -> Deployment:
        for deployment in self.deployments(application_id, environment_id):
            if deployment.number == number:
                return deployment
        raise AppConfigError("ResourceNotFoundException", f"Deployment {number} not found", 404)

    def stop_deployment(self, application_id: str, environment_id: str, number: int) -> Deployment:
        deployment = self.deployment(application_id, environment_id, number)
        if deployment.state(self.now()) == "COMPLETE":
            raise AppConfigError("BadRequestException", "This deployment has already completed")
        deployment.stopped = True
        return deployment

    def deployed(self, application_id: str, environment_id: str, profile_id: str) -> Deployment | None:
        """The configuration appconfigdata serves: the newest deployment of the profile that is not rolled back.

        A deployment in progress serves the new version already (AllAtOnce reaches every client at once)."""
        now = self.now()
        for deployment in reversed(self.deployments(application_id, environment_id)):
            if deployment.profile_id == profile_id and deployment.state(now) != "ROLLED_BACK":
                return deployment
        return None


def _check_invoke_permission(account_id: str, region: str, arn: str) -> None:
    """AppConfig invokes a validator only when the function's resource policy lets appconfig.amazonaws.com."""
    from moto.awslambda.models import lambda_backends

    name = arn.rsplit(":function:", 1)[-1].split(":", 1)[0]
    try:
        # moto answers GetPolicy's wire format: {"Policy": "<the policy document as JSON text>", ...}
        policy = json.loads(json.loads(lambda_backends[account_id][region].get_policy(name, None))["Policy"])
    except Exception:
        policy = {}
    for statement in policy.get("Statement", []):
        principal = statement.get("Principal", {})
        service = principal.get("Service") if isinstance(principal, dict) else principal
        if statement.get("Effect") == "Allow" and service == "appconfig.amazonaws.com":
            return
    raise AppConfigError(
        "BadRequestException", f"AppConfig is not allowed to invoke the Lambda validator {arn} (lambda:AddPermission)"
    )
