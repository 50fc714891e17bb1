"""What the tamper watch and the canary read and write: SSM document and parameter versions, the canary, and (in
organization mode) the hosted AppConfig versions of the policy."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from warden.adapters.aws import aws_call
from warden.errors import AwsCallFailed

if TYPE_CHECKING:
    from mypy_boto3_ssm import SSMClient

_MISSING = frozenset({"InvalidDocument", "InvalidDocumentVersion", "ParameterNotFound", "ParameterVersionNotFound"})


class SsmWatchReads:
    """GetDocument and GetParameter of one exact version (``name:version``); GetHostedConfigurationVersion when an
    AppConfig client is given (organization mode)."""

    def __init__(self, ssm: SSMClient, appconfig: Any = None) -> None:
        self._ssm = ssm
        self._appconfig = appconfig

    def hosted_version(self, application: str, profile: str, version: int) -> str | None:
        if self._appconfig is None:
            return None
        try:
            with aws_call("GetHostedConfigurationVersion"):
                response = self._appconfig.get_hosted_configuration_version(
                    ApplicationId=application, ConfigurationProfileId=profile, VersionNumber=version
                )
        except AwsCallFailed as error:
            if error.code == "ResourceNotFoundException":
                return None
            raise
        content = response.get("Content")
        raw = content.read() if hasattr(content, "read") else content
        return bytes(raw).decode("utf-8", "replace") if raw else None

    def document_content(self, name: str, version: str) -> str | None:
        try:
            with aws_call("GetDocument"):
                response = self._ssm.get_document(Name=name, DocumentVersion=version)
        except AwsCallFailed as error:
            if error.code in _MISSING:
                return None
            raise
        content = response.get("Content")
        return content if isinstance(content, str) else None

    def parameter_value(self, name: str, version: int) -> str | None:
        try:
            with aws_call("GetParameter"):
                response = self._ssm.get_parameter(Name=f"{name}:{version}")
        except AwsCallFailed as error:
            if error.code in _MISSING:
                return None
            raise
        value = response.get("Parameter", {}).get("Value")
        return value if isinstance(value, str) else None


class SsmCanaryWriter:
    """PutParameter on the stack's canary parameter (a String the stack creates)."""

    def __init__(self, ssm: SSMClient) -> None:
        self._ssm = ssm

    def put(self, name: str, value: str) -> int:
        with aws_call("PutParameter"):
            response = self._ssm.put_parameter(Name=name, Value=value, Type="String", Overwrite=True)
        return int(response.get("Version", 0))
