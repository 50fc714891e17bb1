"""The policy in force as the functions see it: the stored document if valid, else the newest valid version."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from warden.policy import Policy
    from warden_cli.aws import Aws


@dataclass(frozen=True)
class StoredPolicy:
    """The policy parameter as stored, validated."""

    parameter: str
    version: int
    text: str
    policy: Policy | None
    issues: tuple[str, ...] = ()

    @property
    def valid(self) -> bool:
        return self.policy is not None


def read_stored_policy(ssm: Any, parameter: str) -> StoredPolicy | None:
    """The parameter's current value and whether it validates; None when nothing is stored."""
    from warden.policy import PolicyError, load_policy

    try:
        found = ssm.get_parameter(Name=parameter)["Parameter"]
    except ssm.exceptions.ParameterNotFound:
        return None
    text = str(found.get("Value", ""))
    version = int(found.get("Version", 0))
    try:
        return StoredPolicy(parameter, version, text, load_policy(text, source=parameter))
    except PolicyError as error:
        return StoredPolicy(parameter, version, text, None, tuple(str(issue) for issue in error.issues))


def last_valid_policy(ssm: Any, parameter: str) -> StoredPolicy | None:
    """The newest version in the parameter's history that validates: what the functions keep in force."""
    from warden.policy_versions import newest_valid_version, version_number

    versions: list[dict[str, Any]] = []
    for page in ssm.get_paginator("get_parameter_history").paginate(Name=parameter):
        versions.extend(page.get("Parameters", []))
    found = newest_valid_version(versions, source=parameter)
    if found is None:
        return None
    text = next(str(entry.get("Value", "")) for entry in versions if version_number(entry) == found.version)
    return StoredPolicy(parameter, found.version, text, found.policy)


def policy_in_force(ssm: Any, parameter: str) -> StoredPolicy | None:
    """The stored policy if valid, else the last valid version (as the functions do); None if there is none."""
    stored = read_stored_policy(ssm, parameter)
    if stored is None or stored.valid:
        return stored
    return last_valid_policy(ssm, parameter)


def stack_policy_in_force(aws: Aws) -> StoredPolicy | None:
    """The policy the stack's functions enforce: in organization mode the version deployed in AppConfig (when it
    validates; else None: the functions then keep one the CLI cannot see), else the parameter's as above."""
    store = aws.outputs.policy_store
    if store is None:
        return policy_in_force(aws.client("ssm"), aws.outputs.policy_parameter)
    from warden_cli.policy_appconfig import deployed

    found = deployed(aws, store)
    if found is None or found.policy is None:
        return None
    return StoredPolicy(store.label, int(found.version), found.text, found.policy)
