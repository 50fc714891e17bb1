"""AppConfig's records the local cloud keeps where moto stops: environments, deployment strategies (and AppConfig's
predefined ones), deployments and appconfigdata sessions, stored on moto's backend object so moto's reset clears them
too; the error AppConfig answers with, and the quotas (2 MB hosted versions, 24-hour tokens, 15-second polls).
"""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

# Hosted configuration versions hold at most 2 MB (AppConfig's default quota).
MAX_HOSTED_BYTES = 2 * 1024 * 1024
TOKEN_LIFETIME = timedelta(hours=24)
MIN_POLL_SECONDS = 15
LOCK = threading.RLock()


class AppConfigError(Exception):
    """An AppConfig answer other than success: the error code, message and HTTP status AWS gives."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


class Validators(Protocol):
    """Runs a Lambda validator synchronously (the local cloud's Lambda runtime)."""

    def invoke_sync(self, function_name: str, payload: Any) -> Any: ...


@dataclass
class Environment:
    id: str
    application_id: str
    name: str
    description: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "Id": self.id,
            "ApplicationId": self.application_id,
            "Name": self.name,
            "Description": self.description,
            "State": "READY_FOR_DEPLOYMENT",
            "Monitors": [],
        }


@dataclass
class Strategy:
    id: str
    name: str
    duration_minutes: int
    bake_minutes: int
    growth_factor: float
    growth_type: str = "LINEAR"
    description: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "Id": self.id,
            "Name": self.name,
            "Description": self.description,
            "DeploymentDurationInMinutes": self.duration_minutes,
            "FinalBakeTimeInMinutes": self.bake_minutes,
            "GrowthFactor": self.growth_factor,
            "GrowthType": self.growth_type,
            "ReplicateTo": "NONE",
        }


@dataclass
class Deployment:
    number: int
    application_id: str
    environment_id: str
    profile_id: str
    strategy: Strategy
    version: str
    content: bytes
    content_type: str
    started_at: datetime
    description: str = ""
    stopped: bool = False

    def state(self, now: datetime) -> str:
        if self.stopped:
            return "ROLLED_BACK"
        done = self.started_at + timedelta(minutes=self.strategy.duration_minutes + self.strategy.bake_minutes)
        if now >= done:
            return "COMPLETE"
        rolled_out = self.started_at + timedelta(minutes=self.strategy.duration_minutes)
        return "BAKING" if now >= rolled_out else "DEPLOYING"

    def to_json(self, now: datetime) -> dict[str, Any]:
        state = self.state(now)
        return {
            "ApplicationId": self.application_id,
            "EnvironmentId": self.environment_id,
            "DeploymentStrategyId": self.strategy.id,
            "ConfigurationProfileId": self.profile_id,
            "DeploymentNumber": self.number,
            "ConfigurationVersion": self.version,
            "Description": self.description,
            "DeploymentDurationInMinutes": self.strategy.duration_minutes,
            "FinalBakeTimeInMinutes": self.strategy.bake_minutes,
            "GrowthFactor": self.strategy.growth_factor,
            "GrowthType": self.strategy.growth_type,
            "State": state,
            "PercentageComplete": 100.0 if state in ("COMPLETE", "BAKING") else 0.0,
            "StartedAt": self.started_at.timestamp(),
            "EventLog": [],
        }


@dataclass
class DataSession:
    application_id: str
    environment_id: str
    profile_id: str
    interval: int
    expires_at: datetime
    last_poll: datetime | None = None
    seen: int | None = None  # the deployment number this session last received


@dataclass
class Extra:
    """What moto's AppConfig backend lacks, kept on it."""

    environments: dict[str, Environment] = field(default_factory=dict)
    strategies: dict[str, Strategy] = field(default_factory=dict)
    deployments: dict[tuple[str, str], list[Deployment]] = field(default_factory=dict)  # (app, env) -> by number
    tokens: dict[str, DataSession] = field(default_factory=dict)


def backend(account_id: str, region: str) -> Any:
    from moto.appconfig.models import appconfig_backends

    return appconfig_backends[account_id][region]


def extra(account_id: str, region: str) -> Extra:
    found = backend(account_id, region)
    with LOCK:
        if not hasattr(found, "_warden_extra"):
            found._warden_extra = Extra()
        return found._warden_extra  # type: ignore[no-any-return]


def new_id() -> str:
    return secrets.token_hex(4)[:7]


PREDEFINED_STRATEGIES = {
    "AppConfig.AllAtOnce": Strategy("AppConfig.AllAtOnce", "AppConfig.AllAtOnce", 0, 10, 100.0),
    "AppConfig.Linear50PercentEvery30Seconds": Strategy(
        "AppConfig.Linear50PercentEvery30Seconds", "AppConfig.Linear50PercentEvery30Seconds", 1, 1, 50.0
    ),
}
