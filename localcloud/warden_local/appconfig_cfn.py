"""The CloudFormation types of AppConfig the warden's templates use (application, environment, configuration profile,
deployment strategy, hosted configuration version, deployment), registered with moto's CloudFormation.

A deployment is AppConfig's own StartDeployment: the profile's Lambda validators run (the stack's functions run
while the stack is created, as on AWS), and a version they refuse fails the resource, and so the stack.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

from .appconfig_control import AppConfigControlPlane
from .appconfig_deployments import AppConfigDeployments
from .appconfig_model import AppConfigError, Validators, backend
from .cfn_base import ResourceFailed

CFN_TYPES = (
    "AWS::AppConfig::Application",
    "AWS::AppConfig::Environment",
    "AWS::AppConfig::ConfigurationProfile",
    "AWS::AppConfig::DeploymentStrategy",
    "AWS::AppConfig::HostedConfigurationVersion",
    "AWS::AppConfig::Deployment",
)


@contextlib.contextmanager
def _refusal_fails(resource_name: str) -> Iterator[None]:
    """AppConfig's refusal fails the resource, with AppConfig's answer (a refused version: the validator's)."""
    try:
        yield
    except AppConfigError as error:
        raise ResourceFailed(resource_name, f"{error.code}: {error.message}") from None


def install_cloudformation_models(now: Callable[[], datetime], validators: Callable[[], Validators | None]) -> None:
    """Register the AppConfig resource types with moto's CloudFormation (once per process).

    ``now`` is the running cloud's clock (a deployment starts at its time); ``validators`` the Lambda runtime that
    runs a profile's validators (None: no local cloud runs, and a profile with a Lambda validator cannot deploy).
    """
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
            api = AppConfigControlPlane(account_id, region_name, lambda: None, None)
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
            api = AppConfigControlPlane(account_id, region_name, lambda: None, None)
            return cls(api.create_strategy(dict(cloudformation_json["Properties"])).id)

    class HostedConfigurationVersion(_Model, CloudFormationModel):
        # Ref: the version number (what a deployment's ConfigurationVersion takes).
        CFN_TYPE = "AWS::AppConfig::HostedConfigurationVersion"

        @classmethod
        def create_from_cloudformation_json(
            cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
        ) -> HostedConfigurationVersion:
            properties = cloudformation_json["Properties"]
            content = str(properties["Content"]).encode("utf-8")
            with _refusal_fails(resource_name):
                AppConfigControlPlane(account_id, region_name, now, None).check_hosted_size(content)
            created = backend(account_id, region_name).create_hosted_configuration_version(
                app_id=properties["ApplicationId"],
                config_profile_id=properties["ConfigurationProfileId"],
                description=properties.get("Description"),
                content=content,
                content_type=properties["ContentType"],
                version_label=properties.get("VersionLabel"),
            )
            return cls(str(created.version), properties["ApplicationId"], properties["ConfigurationProfileId"])

    class Deployment(_Model, CloudFormationModel):
        # Physical id ``application/environment/number``, the deployment's identifier.
        CFN_TYPE = "AWS::AppConfig::Deployment"

        @classmethod
        def create_from_cloudformation_json(
            cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
        ) -> Deployment:
            properties = cloudformation_json["Properties"]
            api = AppConfigDeployments(account_id, region_name, now, validators())
            body = {
                key: str(properties[key])
                for key in ("ConfigurationProfileId", "ConfigurationVersion", "DeploymentStrategyId", "Description")
                if key in properties
            }
            with _refusal_fails(resource_name):
                started = api.start_deployment(properties["ApplicationId"], properties["EnvironmentId"], body)
            physical = f"{started.application_id}/{started.environment_id}/{started.number}"
            return cls(physical, started.application_id, started.environment_id)

    parsing.get_model_list.cache_clear()
    parsing.get_model_map.cache_clear()
    parsing.get_name_type_map.cache_clear()
    for model in (
        Application,
        Environment,
        ConfigurationProfile,
        DeploymentStrategy,
        HostedConfigurationVersion,
        Deployment,
    ):
        assert parsing.get_model_map()[model.cloudformation_type()] is model
