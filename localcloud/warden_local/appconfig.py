"""AWS AppConfig as the organization's policy store needs it, where moto stops: environments, deployment strategies,
deployments that run the profile's Lambda validators, the 2 MB hosted-version limit, appconfigdata's configuration
sessions, and the CloudFormation types of all of them.

moto keeps applications, configuration profiles and hosted versions; the rest lives here, on moto's backend object
(so moto's reset clears it too). Strict as AWS: a validator that raises fails StartDeployment with
BadRequestException and its message, and nothing is deployed; a deployment runs on the emulated clock; one
deployment at a time per environment; appconfigdata tokens are good for one call and 24 hours, a session may not
poll sooner than its minimum interval, and an unchanged configuration answers an empty body.
"""

from __future__ import annotations

import base64
import secrets
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

# Hosted configuration versions hold at most 2 MB (AppConfig's default quota).
MAX_HOSTED_BYTES = 2 * 1024 * 1024
TOKEN_LIFETIME = timedelta(hours=24)
MIN_POLL_SECONDS = 15
_LOCK = threading.RLock()


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
    with _LOCK:
        if not hasattr(found, "_warden_extra"):
            found._warden_extra = Extra()
        return found._warden_extra  # type: ignore[no-any-return]


def _id() -> str:
    return secrets.token_hex(4)[:7]


# -- the control plane ----------------------------------------------------------------------------------------


class AppConfigApi:
    """The AppConfig operations moto lacks, for one account and region, on the emulated clock."""

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
        env = Environment(_id(), app.id, name, description)
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
            id=_id(),
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
        predefined = _PREDEFINED.get(identifier)
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
        with _LOCK:
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
        with _LOCK:
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

    # -- appconfigdata ------------------------------------------------------------------------------------

    def start_session(self, body: dict[str, Any]) -> str:
        interval = int(body.get("RequiredMinimumPollIntervalInSeconds") or 60)
        if not MIN_POLL_SECONDS <= interval <= 86400:
            raise AppConfigError("BadRequestException", "RequiredMinimumPollIntervalInSeconds must be 15-86400")
        app = self.application(str(body.get("ApplicationIdentifier", "")))
        env = self.environment(app.id, str(body.get("EnvironmentIdentifier", "")))
        profile = self.profile(app.id, str(body.get("ConfigurationProfileIdentifier", "")))
        session = DataSession(app.id, env.id, profile.id, interval, self.now() + TOKEN_LIFETIME)
        return self._token(session)

    def _token(self, session: DataSession) -> str:
        token = secrets.token_urlsafe(32)
        with _LOCK:
            self.extra.tokens[token] = session
        return token

    def latest(self, token: str) -> tuple[bytes, str, str, int]:
        """(content or b"" when unchanged, content type, next token, next interval)."""
        with _LOCK:
            session = self.extra.tokens.pop(token, None)
        now = self.now()
        if session is None or now >= session.expires_at:
            raise AppConfigError("BadRequestException", "The configuration token is invalid, expired or already used")
        if session.last_poll is not None and now - session.last_poll < timedelta(seconds=session.interval):
            raise AppConfigError("BadRequestException", "Request too early: the session's minimum poll interval")
        self.profile(session.application_id, session.profile_id)  # deleted since: ResourceNotFoundException
        self.environment(session.application_id, session.environment_id)
        deployment = self.deployed(session.application_id, session.environment_id, session.profile_id)
        content, content_type = b"", "application/octet-stream"
        if deployment is not None:
            content_type = deployment.content_type
            if deployment.number != session.seen:
                content, session.seen = deployment.content, deployment.number
        session.last_poll = now
        session.expires_at = now + TOKEN_LIFETIME
        return content, content_type, self._token(session), session.interval


_PREDEFINED = {
    "AppConfig.AllAtOnce": Strategy("AppConfig.AllAtOnce", "AppConfig.AllAtOnce", 0, 10, 100.0),
    "AppConfig.Linear50PercentEvery30Seconds": Strategy(
        "AppConfig.Linear50PercentEvery30Seconds", "AppConfig.Linear50PercentEvery30Seconds", 1, 1, 50.0
    ),
}


def _check_invoke_permission(account_id: str, region: str, arn: str) -> None:
    """AppConfig invokes a validator only when the function's resource policy lets appconfig.amazonaws.com."""
    import json

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


# -- CloudFormation --------------------------------------------------------------------------------------------

CFN_TYPES = (
    "AWS::AppConfig::Application",
    "AWS::AppConfig::Environment",
    "AWS::AppConfig::ConfigurationProfile",
    "AWS::AppConfig::DeploymentStrategy",
)


def install_cloudformation_models() -> None:
    """Register the AppConfig resource types with moto's CloudFormation (once per process)."""
    from moto.cloudformation import parsing
    from moto.core.common_models import CloudFormationModel

    class _Model:
        CFN_TYPE = ""
        physical_id = ""

        @property
        def physical_resource_id(self) -> str:
            return self.physical_id

        @classmethod
        def cloudformation_name_type(cls) -> str:
            return "Name"

        @classmethod
        def cloudformation_type(cls) -> str:
            return cls.CFN_TYPE

        @classmethod
        def has_cfn_attr(cls, attr: str) -> bool:
            return False

        def __init__(self, physical_id: str, *owner: str) -> None:
            self.physical_id = physical_id
            self.owner = owner

    class Application(_Model, CloudFormationModel):
        CFN_TYPE = "AWS::AppConfig::Application"

        @classmethod
        def create_from_cloudformation_json(
            cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
        ) -> Application:
            properties = cloudformation_json["Properties"]
            app = backend(account_id, region_name).create_application(
                properties.get("Name", resource_name), properties.get("Description"), {}
            )
            return cls(app.id)

        def delete(self, account_id: str, region_name: str) -> None:
            backend(account_id, region_name).delete_application(self.physical_id)

    class Environment(_Model, CloudFormationModel):
        CFN_TYPE = "AWS::AppConfig::Environment"

        @classmethod
        def create_from_cloudformation_json(
            cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
        ) -> Environment:
            properties = cloudformation_json["Properties"]
            api = AppConfigApi(account_id, region_name, lambda: None, None)
            env = api.create_environment(
                properties["ApplicationId"], properties.get("Name", resource_name), properties.get("Description", "")
            )
            return cls(env.id, env.application_id)

    class ConfigurationProfile(_Model, CloudFormationModel):
        CFN_TYPE = "AWS::AppConfig::ConfigurationProfile"

        @classmethod
        def create_from_cloudformation_json(
            cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
        ) -> ConfigurationProfile:
            properties = cloudformation_json["Properties"]
            profile = backend(account_id, region_name).create_configuration_profile(
                application_id=properties["ApplicationId"],
                name=properties.get("Name", resource_name),
                description=properties.get("Description"),
                location_uri=properties["LocationUri"],
                retrieval_role_arn=properties.get("RetrievalRoleArn"),
                validators=list(properties.get("Validators") or []),
                _type=properties.get("Type", "AWS.Freeform"),
                tags={},
            )
            return cls(profile.id, properties["ApplicationId"])

    class DeploymentStrategy(_Model, CloudFormationModel):
        CFN_TYPE = "AWS::AppConfig::DeploymentStrategy"

        @classmethod
        def create_from_cloudformation_json(
            cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
        ) -> DeploymentStrategy:
            api = AppConfigApi(account_id, region_name, lambda: None, None)
            return cls(api.create_strategy(dict(cloudformation_json["Properties"])).id)

    parsing.get_model_list.cache_clear()
    parsing.get_model_map.cache_clear()
    parsing.get_name_type_map.cache_clear()
    for model in (Application, Environment, ConfigurationProfile, DeploymentStrategy):
        assert parsing.get_model_map()[model.cloudformation_type()] is model
