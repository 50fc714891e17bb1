"""The AppConfig control plane moto lacks, for one account and region: finding applications, profiles and
environments by id or name, creating and deleting environments, deployment strategies, and the hosted-version size
limit. Deployments build on it (:mod:`warden_local.appconfig_deployments`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from .appconfig_model import (
    MAX_HOSTED_BYTES,
    PREDEFINED_STRATEGIES,
    AppConfigError,
    Environment,
    Strategy,
    Validators,
    backend,
    extra,
    new_id,
)


class AppConfigControlPlane:
    """Applications, profiles, environments and strategies of one account and region, on the emulated clock."""

    def __init__(self, account_id: str, region: str, now: Any, validators: Validators | None) -> None:
        self._account = account_id
        self._region = region
        self._now = now
        self._validators = validators
        self.extra = extra(account_id, region)

    def now(self) -> datetime:
        return self._now()  # type: ignore[no-any-return]

    def application(self, identifier: str) -> Any:
        apps = backend(self._account, self._region).applications
        found = apps.get(identifier) or next((a for a in apps.values() if a.name == identifier), None)
        if found is None:
            raise AppConfigError("ResourceNotFoundException", f"Application {identifier} not found", 404)
        return found

    def profile(self, application_id: str, identifier: str) -> Any:
        profiles = self.application(application_id).config_profiles
        found = profiles.get(identifier) or next((p for p in profiles.values() if p.name == identifier), None)
        if found is None:
            raise AppConfigError("ResourceNotFoundException", f"Configuration profile {identifier} not found", 404)
        return found

    def environment(self, application_id: str, identifier: str) -> Environment:
        app = self.application(application_id)
        for env in self.extra.environments.values():
            if env.application_id == app.id and identifier in (env.id, env.name):
                return env
        raise AppConfigError("ResourceNotFoundException", f"Environment {identifier} not found", 404)

    def create_environment(self, application_id: str, name: str, description: str = "") -> Environment:
        app = self.application(application_id)
        if any(e.application_id == app.id and e.name == name for e in self.extra.environments.values()):
            raise AppConfigError("ConflictException", f"Environment {name} already exists", 409)
        env = Environment(new_id(), app.id, name, description)
        self.extra.environments[env.id] = env
        return env

    def delete_environment(self, application_id: str, environment_id: str) -> None:
        env = self.environment(application_id, environment_id)
        self.extra.environments.pop(env.id, None)
        self.extra.deployments.pop((env.application_id, env.id), None)

    def environments(self, application_id: str) -> list[Environment]:
        app = self.application(application_id)
        return [e for e in self.extra.environments.values() if e.application_id == app.id]

    def create_strategy(self, properties: dict[str, Any]) -> Strategy:
        growth = float(properties.get("GrowthFactor", 100))
        duration = int(properties.get("DeploymentDurationInMinutes", -1))
        if not 1 <= growth <= 100 or not 0 <= duration <= 1440:
            raise AppConfigError("BadRequestException", "GrowthFactor must be 1-100, DeploymentDuration 0-1440")
        strategy = Strategy(
            id=new_id(),
            name=str(properties.get("Name", "")),
            duration_minutes=duration,
            bake_minutes=int(properties.get("FinalBakeTimeInMinutes", 0)),
            growth_factor=growth,
            growth_type=str(properties.get("GrowthType", "LINEAR")),
            description=str(properties.get("Description", "")),
        )
        self.extra.strategies[strategy.id] = strategy
        return strategy

    def strategy(self, identifier: str) -> Strategy:
        for strategy in self.extra.strategies.values():
            if identifier in (strategy.id, strategy.name):
                return strategy
        predefined = PREDEFINED_STRATEGIES.get(identifier)
        if predefined is not None:
            return predefined
        raise AppConfigError("ResourceNotFoundException", f"Deployment strategy {identifier} not found", 404)

    def check_hosted_size(self, content: bytes) -> None:
        if len(content) > MAX_HOSTED_BYTES:
            raise AppConfigError(
                "PayloadTooLargeException",
                f"The configuration size {len(content)} bytes exceeds the limit of {MAX_HOSTED_BYTES} bytes",
                413,
            )
