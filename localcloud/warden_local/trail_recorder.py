"""CloudTrail on the local cloud's default bus: the account's trail, without which AWS delivers no "AWS API Call via
CloudTrail" event at all, and the records of the control-plane calls the warden watches, both those made through the
local endpoint and those CloudFormation made creating the stack."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from . import control_plane
from .clock import EmulatedClock
from .cloudtrail import RequestInfo, api_call_event
from .control_plane import ControlCall
from .identity import IdentityResolver

# The account's trail, logging management events from the start.
ACCOUNT_TRAIL = "management-events"
_CLOUDFORMATION = "cloudformation.amazonaws.com"
# (service, eventName, requestParameters, responseElements)
_Call = tuple[str, str, dict[str, Any], dict[str, Any]]

Emit = Callable[[dict[str, Any]], None]


def create_account_trail(account_id: str, region: str, *, multi_region: bool = True) -> None:
    """The account's logging trail and its bucket, straight into the backends: the account had its trail long before
    the stack (no CloudTrail event). ``multi_region=False``: a trail of ``region`` only."""
    from moto.cloudtrail.models import cloudtrail_backends
    from moto.s3.models import s3_backends

    bucket = f"aws-cloudtrail-logs-{account_id}-local"
    s3 = s3_backends[account_id]["aws"]
    if bucket not in s3.buckets:
        s3.create_bucket(bucket, region)
    trail = cloudtrail_backends[account_id][region].create_trail(
        ACCOUNT_TRAIL, bucket, "", "", True, multi_region, True, False, "", "", "", []
    )
    trail.start_logging()


class TrailRecorder:
    """Turns watched calls into CloudTrail's events.

    Parameters
    ----------
    emit
        Hands an event to EventBridge when a trail logs management events (as AWS does).
    deliver
        Hands an event to EventBridge unconditionally: for calls whose recording was decided before they took
        effect (the StopLogging that stops the trail is recorded).
    """

    def __init__(
        self,
        *,
        account_id: str,
        region: str,
        clock: EmulatedClock,
        identities: IdentityResolver,
        emit: Emit,
        deliver: Emit,
    ) -> None:
        self._account_id = account_id
        self._region = region
        self._clock = clock
        self._identities = identities
        self._emit = emit
        self._deliver = deliver

    def control_call(
        self, call: ControlCall, request: RequestInfo, status: int, body: bytes, *, recorded: bool
    ) -> None:
        """Emit CloudTrail's record of a watched control-plane call, failed ones too (with their error)."""
        if not recorded:
            return
        ok = 200 <= status < 300
        code, message = (None, None) if ok else control_plane.error_of(body)
        event = api_call_event(
            event_name=call.event_name,
            caller=self._identities.resolve(request.access_key_id),
            request=request,
            region=self._region,
            account_id=self._account_id,
            when=self._clock.now(),
            request_parameters=control_plane.request_parameters(call),
            response_elements=control_plane.response_elements(call, body) if ok else None,
            error_code=code,
            error_message=message,
            service=call.service,
        )
        self._deliver(event)

    def stack_calls(self, resources: Iterable[Mapping[str, Any]], deployer_key: str) -> None:
        """CloudTrail's records of the watched calls CloudFormation made creating the stack (PutRule, PutParameter):
        the deploying identity, ``invokedBy`` and source ``cloudformation.amazonaws.com``, as on AWS.

        ``resources`` are the stack's ``StackResourceSummaries``; ``deployer_key`` the access key that deployed it.
        """
        from moto.ssm.models import ssm_backends

        caller = self._identities.resolve(deployer_key)
        calls: list[_Call] = []
        resources = list(resources)
        hosted = {
            str(r.get("PhysicalResourceId", ""))
            for r in resources
            if r.get("ResourceType") == "AWS::AppConfig::HostedConfigurationVersion"
        }
        for resource in resources:
            kind, physical = resource.get("ResourceType"), str(resource.get("PhysicalResourceId", ""))
            if kind == "AWS::Events::Rule":
                name = physical.rsplit("|", maxsplit=1)[-1].rsplit("/", 1)[-1]
                rule_arn = f"arn:aws:events:{self._region}:{self._account_id}:rule/{name}"
                calls.append(("events", "PutRule", {"name": name}, {"ruleArn": rule_arn}))
            elif kind == "AWS::SSM::Parameter":
                parameter = ssm_backends[self._account_id][self._region].get_parameter(physical)
                version = parameter.version if parameter is not None else 1
                calls.append(
                    (
                        "ssm",
                        "PutParameter",
                        {"name": physical, "type": "String", "value": control_plane.HIDDEN},
                        {"version": version, "tier": "Standard"},
                    )
                )
            elif kind == "AWS::AppConfig::Deployment":
                calls.extend(self._deployment_calls(physical, hosted))
        for service, event_name, parameters, elements in calls:
            event = api_call_event(
                event_name=event_name,
                caller=caller,
                request=RequestInfo(
                    request_id=str(uuid.uuid4()), access_key_id=None, source_ip=_CLOUDFORMATION, user_agent=""
                ),
                region=self._region,
                account_id=self._account_id,
                when=self._clock.now(),
                request_parameters=parameters,
                response_elements=elements,
                service=service,
                invoked_by=_CLOUDFORMATION,
            )
            self._emit(event)

    def _deployment_calls(self, physical: str, hosted: set[str]) -> list[_Call]:
        """A deployment the stack made (physical id ``application/environment/number``): the creation of the hosted
        version it deploys when the stack made that too (``hosted``: the stack's version numbers), then
        StartDeployment."""
        from .appconfig_model import backend, extra

        application, _, rest = physical.partition("/")
        environment, _, number = rest.partition("/")
        found = [
            d
            for d in extra(self._account_id, self._region).deployments.get((application, environment), [])
            if str(d.number) == number
        ]
        if not found:
            return []
        deployment = found[0]
        calls: list[_Call] = []
        profile = (
            backend(self._account_id, self._region).applications[application].config_profiles[deployment.profile_id]
        )
        version = profile.config_versions.get(int(deployment.version))
        if version is not None and deployment.version in hosted:
            calls.append(
                (
                    "appconfig",
                    "CreateHostedConfigurationVersion",
                    {"applicationId": application, "configurationProfileId": deployment.profile_id},
                    {
                        "applicationId": application,
                        "configurationProfileId": deployment.profile_id,
                        "versionNumber": int(deployment.version),
                        "contentType": version.content_type,
                    },
                )
            )
        request = {
            "applicationId": application,
            "environmentId": environment,
            "configurationProfileId": deployment.profile_id,
            "configurationVersion": deployment.version,
            "deploymentStrategyId": deployment.strategy.id,
            "description": deployment.description,
        }
        answer = control_plane.response_elements(
            control_plane.ControlCall("appconfig", "StartDeployment", "StartDeployment", {}),
            json.dumps(deployment.to_json(self._clock.now())).encode(),
        )
        calls.append(("appconfig", "StartDeployment", request, answer or {}))
        return calls
