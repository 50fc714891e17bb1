"""The policy in force, from Parameter Store through Powertools Parameters; an invalid document never wins."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import TYPE_CHECKING

from aws_lambda_powertools.utilities.parameters import SSMProvider

from warden.errors import PolicyUnavailable
from warden.policy import Policy, PolicyError, load_policy

if TYPE_CHECKING:
    from mypy_boto3_ssm import SSMClient


RejectHandler = Callable[[str, PolicyError, str], None]


class ParameterPolicySource:
    """Reads the policy parameter (cached ``max_age`` seconds) and keeps the last valid document in force.

    When the stored document is invalid, ``on_reject(digest, error, in_force)`` is called; a container that
    has never seen a valid document looks back through the parameter's history for the newest valid version.
    """

    def __init__(self, ssm: SSMClient, parameter: str, *, max_age: int, on_reject: RejectHandler) -> None:
        self._ssm = ssm
        self._provider = SSMProvider(boto3_client=ssm)
        self._parameter = parameter
        self._max_age = max_age
        self._on_reject = on_reject
        self._parsed: dict[str, Policy] = {}
        self._last_valid: tuple[str, Policy] | None = None

    def current(self) -> Policy:
        text = str(self._provider.get(self._parameter, max_age=self._max_age, force_fetch=self._max_age <= 0))
        digest = hashlib.sha256(text.encode()).hexdigest()[:16]
        if digest in self._parsed:
            return self._parsed[digest]
        try:
            policy = load_policy(text, source=self._parameter)
        except PolicyError as error:
            fallback = self._last_valid or self._from_history()
            in_force = f"the previous valid version ({fallback[0]})" if fallback else "none: no valid version exists"
            self._on_reject(digest, error, in_force)
            if fallback is None:
                raise PolicyUnavailable(f"{self._parameter}: no valid policy in force: {error}") from error
            return fallback[1]
        self._parsed = {digest: policy}
        self._last_valid = (f"sha256 {digest}", policy)
        return policy

    def _from_history(self) -> tuple[str, Policy] | None:
        versions = []
        paginator = self._ssm.get_paginator("get_parameter_history")
        for page in paginator.paginate(Name=self._parameter):
            versions.extend(page.get("Parameters", []))
        for version in sorted(versions, key=lambda item: item.get("Version", 0), reverse=True):
            try:
                policy = load_policy(version.get("Value", ""), source=self._parameter)
            except PolicyError:
                continue
            self._last_valid = (f"parameter version {version.get('Version')}", policy)
            return self._last_valid
        return None
