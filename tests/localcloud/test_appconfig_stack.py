"""The organization stack's first policy version on the local cloud: CloudFormation creates the hosted version and
deploys it through AppConfig's StartDeployment, whose Lambda validator runs while the stack is created, as on AWS."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from warden_local import LocalCloud
from warden_local.cloud import LocalCloudError
from warden_local.pytest_plugin import START
from warden_local.stack import load_template

ROOT = Path(__file__).resolve().parents[2]
ORG = {"OrganizationId": "o-warden0001"}


def _template_with_initial_policy(tmp_path: Path, text: str) -> Path:
    """template.yaml with another first policy version, its code paths made absolute so it deploys from tmp_path."""
    template = load_template(ROOT / "template.yaml")
    for resource in template["Resources"].values():
        properties = resource.get("Properties", {})
        for key in ("CodeUri", "ContentUri"):
            if isinstance(properties.get(key), str):
                properties[key] = str((ROOT / properties[key]).resolve())
    template["Resources"]["PolicyInitialVersion"]["Properties"]["Content"] = text
    path = tmp_path / "template.json"
    path.write_text(json.dumps(template), encoding="utf-8")
    return path


def _validations(cloud: LocalCloud) -> list[Any]:
    return [i for i in cloud.invocations if "PolicyValidatorFunction" in i.function_name]


def test_a_fresh_organization_stack_has_deployed_version_1_after_the_validator_accepted_it() -> None:
    # GIVEN a fresh organization-mode stack (nobody has pushed a policy)
    with LocalCloud(start_at=START, parameters=ORG) as cloud:
        out = cloud.stack_outputs()
        appconfig = cloud.client("appconfig")
        # THEN AppConfig lists one complete deployment: version 1, with the stack's strategy
        listed = appconfig.list_deployments(
            ApplicationId=out["PolicyApplicationId"], EnvironmentId=out["PolicyEnvironmentId"]
        )["Items"]
        assert [(d["DeploymentNumber"], d["ConfigurationVersion"], d["State"]) for d in listed] == [
            (1, "1", "COMPLETE")
        ]
        deployment = appconfig.get_deployment(
            ApplicationId=out["PolicyApplicationId"], EnvironmentId=out["PolicyEnvironmentId"], DeploymentNumber=1
        )
        assert deployment["DeploymentStrategyId"] == out["PolicyDeploymentStrategyId"]
        # AND version 1 holds the example policy, as the one-account parameter does
        version = appconfig.get_hosted_configuration_version(
            ApplicationId=out["PolicyApplicationId"], ConfigurationProfileId=out["PolicyProfileId"], VersionNumber=1
        )
        example = (ROOT / "policies" / "example.yaml").read_text()
        assert version["Content"].read().decode() == example
        # AND the validator judged exactly that text while the stack was created
        [validation] = _validations(cloud)
        assert validation.ok and validation.result["valid"] is True
        assert base64.b64decode(validation.event["content"]).decode() == example
        assert cloud.unemulated_resources == []
        # AND CloudTrail recorded CloudFormation's two calls, which the tamper watch knows for the stack's own deploy
        cloud.settle()
        seen = {
            str(i.event["detail"]["eventName"]): i.result
            for i in cloud.invocations
            if isinstance(i.event, dict) and str(i.event.get("source")) == "aws.appconfig"
        }
        assert set(seen) == {"CreateHostedConfigurationVersion", "StartDeployment"}
        assert all(result["outcome"] == "deploy" for result in seen.values())


def test_a_first_version_the_validator_refuses_fails_the_stack_with_the_validators_reason(tmp_path: Path) -> None:
    # GIVEN a template whose first policy version does not load (an unknown top-level key)
    template = _template_with_initial_policy(tmp_path, "version: 1\ndefault: deny\nrulez: []\n")
    cloud = LocalCloud(start_at=START, template=template, parameters=ORG)
    # WHEN the stack is created THEN it fails, naming the deployment, the validation and the validator's reason
    with pytest.raises(LocalCloudError, match=r"(?i)lambda validation") as raised:
        cloud.start()
    assert "PolicyInitialDeployment" in str(raised.value)
    assert "rulez" in str(raised.value)
