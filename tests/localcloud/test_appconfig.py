"""The local cloud's AppConfig, as strict as AWS: validators run on StartDeployment, the 2 MB limit, appconfigdata
tokens used once with an empty body while unchanged, and CloudTrail records of the calls that change the policy."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from warden_local import LocalCloud
from warden_local.pytest_plugin import START, EventTap

GOOD = "version: 1\ndefault: deny\nrules:\n  - name: ops\n    principals: ['user:ops']\n"


@pytest.fixture(scope="module")
def cloud() -> Iterator[LocalCloud]:
    with LocalCloud(start_at=START, parameters={"OrganizationId": "o-warden0001"}) as cloud:
        yield cloud


def _ids(cloud: LocalCloud) -> dict[str, str]:
    out = cloud.stack_outputs()
    return {
        "ApplicationId": out["PolicyApplicationId"],
        "EnvironmentId": out["PolicyEnvironmentId"],
        "ConfigurationProfileId": out["PolicyProfileId"],
        "DeploymentStrategyId": out["PolicyDeploymentStrategyId"],
    }


def _version(cloud: LocalCloud, content: bytes) -> str:
    ids = _ids(cloud)
    created = cloud.client("appconfig").create_hosted_configuration_version(
        ApplicationId=ids["ApplicationId"],
        ConfigurationProfileId=ids["ConfigurationProfileId"],
        Content=content,
        ContentType="application/x-yaml",
    )
    return str(created["VersionNumber"])


def _deploy(cloud: LocalCloud, version: str) -> dict[str, Any]:
    return cloud.client("appconfig").start_deployment(**_ids(cloud), ConfigurationVersion=version)  # type: ignore[no-any-return]


def test_the_stack_creates_the_application_environment_profile_and_strategy(cloud: LocalCloud) -> None:
    ids = _ids(cloud)
    appconfig = cloud.client("appconfig")
    profile = appconfig.get_configuration_profile(
        ApplicationId=ids["ApplicationId"], ConfigurationProfileId=ids["ConfigurationProfileId"]
    )
    assert profile["LocationUri"] == "hosted" and profile["Validators"][0]["Type"] == "LAMBDA"
    environment = appconfig.get_environment(ApplicationId=ids["ApplicationId"], EnvironmentId=ids["EnvironmentId"])
    assert environment["Name"] == "organization"
    strategy = appconfig.get_deployment_strategy(DeploymentStrategyId=ids["DeploymentStrategyId"])
    assert (strategy["DeploymentDurationInMinutes"], strategy["FinalBakeTimeInMinutes"]) == (0, 0)
    assert cloud.unemulated_resources == []


def test_a_version_the_validator_refuses_fails_start_deployment_with_its_message(cloud: LocalCloud) -> None:
    version = _version(cloud, b"version: 1\nrules: 5\n")
    with pytest.raises(cloud.client("appconfig").exceptions.BadRequestException, match="rules: expected a list"):
        _deploy(cloud, version)
    listed = cloud.client("appconfig").list_deployments(
        ApplicationId=_ids(cloud)["ApplicationId"], EnvironmentId=_ids(cloud)["EnvironmentId"]
    )
    assert all(item["ConfigurationVersion"] != version for item in listed["Items"])


def test_a_hosted_version_over_2_mb_is_refused(cloud: LocalCloud) -> None:
    with pytest.raises(cloud.client("appconfig").exceptions.PayloadTooLargeException):
        _version(cloud, b"#" * (2 * 1024 * 1024 + 1))


def test_appconfigdata_serves_the_deployed_version_once_then_empty_and_each_token_once(cloud: LocalCloud) -> None:
    deployed = _deploy(cloud, _version(cloud, GOOD.encode()))
    assert deployed["State"] == "COMPLETE"
    ids = _ids(cloud)
    data = cloud.client("appconfigdata")
    token = data.start_configuration_session(
        ApplicationIdentifier=ids["ApplicationId"],
        EnvironmentIdentifier=ids["EnvironmentId"],
        ConfigurationProfileIdentifier=ids["ConfigurationProfileId"],
        RequiredMinimumPollIntervalInSeconds=15,
    )["InitialConfigurationToken"]
    first = data.get_latest_configuration(ConfigurationToken=token)
    assert first["Configuration"].read().decode() == GOOD
    # a token is good for one call; polling again sooner than the interval is refused
    with pytest.raises(data.exceptions.BadRequestException):
        data.get_latest_configuration(ConfigurationToken=token)
    with pytest.raises(data.exceptions.BadRequestException, match="too early"):
        data.get_latest_configuration(ConfigurationToken=first["NextPollConfigurationToken"])


def test_an_unchanged_configuration_answers_an_empty_body(cloud: LocalCloud) -> None:
    ids = _ids(cloud)
    data = cloud.client("appconfigdata")
    token = data.start_configuration_session(
        ApplicationIdentifier=ids["ApplicationId"],
        EnvironmentIdentifier=ids["EnvironmentId"],
        ConfigurationProfileIdentifier=ids["ConfigurationProfileId"],
        RequiredMinimumPollIntervalInSeconds=15,
    )["InitialConfigurationToken"]
    first = data.get_latest_configuration(ConfigurationToken=token)
    assert first["Configuration"].read()
    cloud.advance("1m")
    second = data.get_latest_configuration(ConfigurationToken=first["NextPollConfigurationToken"])
    assert second["Configuration"].read() == b""


def test_the_calls_that_change_the_policy_are_recorded_by_cloudtrail(cloud: LocalCloud) -> None:
    cloud.settle()  # CloudTrail's records of the stack's own first version and deployment are delivered first
    tap = EventTap(cloud, {"source": ["aws.appconfig"]})
    _deploy(cloud, _version(cloud, GOOD.encode()))
    events = tap.events()
    assert [event["detail"]["eventName"] for event in events] == ["CreateHostedConfigurationVersion", "StartDeployment"]
    [created, started] = events
    assert created["detail"]["responseElements"]["versionNumber"] >= 1
    assert started["detail"]["requestParameters"]["applicationId"] == _ids(cloud)["ApplicationId"]
