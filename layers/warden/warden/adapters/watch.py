"""What the tamper watch and the canary read and write in SSM: document and parameter versions, the canary."""

from __future__ import annotations

from typing import TYPE_CHECKING

from warden.adapters.aws import aws_call
from warden.errors import AwsCallFailed

if TYPE_CHECKING:
    from mypy_boto3_ssm import SSMClient

_MISSING = frozenset({"InvalidDocument", "InvalidDocumentVersion", "ParameterNotFound", "ParameterVersionNotFound"})


class SsmWatchReads:
    """GetDocument and GetParameter of one exact version (``name:version``)."""

    def __init__(self, ssm: SSMClient) -> None:
        self._ssm = ssm

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
