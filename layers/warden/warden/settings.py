"""The only reader of the environment: one settings object, read once per container."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass

from warden.errors import SettingsError
from warden.scope import is_region_name

# SettingsError lives in warden.errors; callers that read settings import it from here too.
__all__ = ["DEFAULT_MEMBER_ROLE", "Settings", "SettingsError"]

# The role each member stack creates for the central functions (template parameter MemberRoleName).
DEFAULT_MEMBER_ROLE = "session-warden-member"
_ORGANIZATION_ID = re.compile(r"^o-[a-z0-9]{10,32}$")
_ROLE_NAME = re.compile(r"^[\w+=,.@-]{1,64}$")


@dataclass(frozen=True)
class Settings:
    """Configuration the template gives every function (see ``template.yaml`` Globals)."""

    stack_name: str
    region: str
    grants_table: str
    ledger_table: str
    idempotency_table: str
    state_table: str
    alerts_topic_arn: str
    policy_parameter: str
    policy_cache_seconds: int = 60
    ledger_retention_days: int = 400
    clock_url: str | None = None  # the local cloud's emulated clock; unset in Lambda (real time)
    warning_document: str | None = None  # the stack's SSM document that writes warnings; unset: none sent
    canary_parameter: str | None = None  # the stack's canary (sweeper and tamper watch only)
    watched_functions: str = ""  # tamper watch: "session-start=NAME,session-end=NAME,sweeper=NAME"
    function_name: str = ""  # the running function's own name (Lambda sets it)
    # Organization mode (empty: single account). The home region is always guarded (from_env puts it first).
    organization_id: str = ""
    guarded_regions: tuple[str, ...] = ()
    member_role_name: str = DEFAULT_MEMBER_ROLE
    sweep_queue_url: str | None = None  # the sweeper's queue of per-account-region sweeps (organization mode)
    sweep_dead_letter_url: str | None = None  # the sweep worker: where an unreadable sweep order is kept
    endpoint_url: str | None = None  # AWS_ENDPOINT_URL (the local cloud); unset on AWS: regional endpoints
    # Organization mode: the policy lives in AWS AppConfig (all three set), else in the policy parameter.
    policy_application: str | None = None
    policy_environment: str | None = None
    policy_profile: str | None = None

    @property
    def policy_in_appconfig(self) -> bool:
        return bool(self.policy_application and self.policy_environment and self.policy_profile)

    @property
    def org(self) -> bool:
        """Organization mode: the warden enforces in every member account and guarded region."""
        return bool(self.organization_id)

    def guards(self, region: str) -> bool:
        """Whether the warden enforces in *region* (the home region always)."""
        return region == self.region or region in self.guarded_regions

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read the settings, naming every missing variable at once."""
        env = os.environ if environ is None else environ
        required = {
            "grants_table": "WARDEN_GRANTS_TABLE",
            "ledger_table": "WARDEN_LEDGER_TABLE",
            "idempotency_table": "WARDEN_IDEMPOTENCY_TABLE",
            "state_table": "WARDEN_STATE_TABLE",
            "alerts_topic_arn": "WARDEN_ALERTS_TOPIC_ARN",
            "policy_parameter": "WARDEN_POLICY_PARAMETER",
        }
        missing = [name for name in required.values() if not env.get(name)]
        if missing:
            raise SettingsError(f"missing environment variables: {', '.join(missing)}")
        region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1"
        return cls(
            stack_name=env.get("WARDEN_STACK_NAME", "session-warden"),
            region=region,
            policy_cache_seconds=_int(env, "WARDEN_POLICY_CACHE_SECONDS", 60),
            ledger_retention_days=_int(env, "WARDEN_LEDGER_RETENTION_DAYS", 400),
            clock_url=env.get("WARDEN_CLOCK_URL") or None,
            warning_document=env.get("WARDEN_WARNING_DOCUMENT") or None,
            canary_parameter=env.get("WARDEN_CANARY_PARAMETER") or None,
            watched_functions=env.get("WARDEN_WATCHED_FUNCTIONS", ""),
            function_name=env.get("AWS_LAMBDA_FUNCTION_NAME", ""),
            organization_id=_organization_id(env),
            guarded_regions=_guarded_regions(env, region),
            member_role_name=_member_role(env),
            sweep_queue_url=env.get("WARDEN_SWEEP_QUEUE_URL") or None,
            sweep_dead_letter_url=env.get("WARDEN_SWEEP_DLQ_URL") or None,
            endpoint_url=env.get("AWS_ENDPOINT_URL") or None,
            policy_application=env.get("WARDEN_POLICY_APPLICATION") or None,
            policy_environment=env.get("WARDEN_POLICY_ENVIRONMENT") or None,
            policy_profile=env.get("WARDEN_POLICY_PROFILE") or None,
            **{field: env[name] for field, name in required.items()},
        )


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a whole number, got {raw!r}") from None


def _organization_id(env: Mapping[str, str]) -> str:
    organization_id = env.get("WARDEN_ORGANIZATION_ID", "").strip()
    if organization_id and not _ORGANIZATION_ID.match(organization_id):
        raise SettingsError(f"WARDEN_ORGANIZATION_ID must look like o-abcdefghij, got {organization_id[:40]!r}")
    return organization_id


def _guarded_regions(env: Mapping[str, str], home: str) -> tuple[str, ...]:
    """The home region first, then each other guarded region once; a malformed name stops the function."""
    regions = [home]
    for raw in env.get("WARDEN_GUARDED_REGIONS", "").split(","):
        region = raw.strip()
        if not region:
            continue
        if not is_region_name(region):
            raise SettingsError(f"WARDEN_GUARDED_REGIONS: not a region name: {region[:40]!r}")
        if region not in regions:
            regions.append(region)
    return tuple(regions)


def _member_role(env: Mapping[str, str]) -> str:
    role = env.get("WARDEN_MEMBER_ROLE_NAME", "").strip() or DEFAULT_MEMBER_ROLE
    if not _ROLE_NAME.match(role):
        raise SettingsError(f"WARDEN_MEMBER_ROLE_NAME is not an IAM role name: {role[:70]!r}")
    return role
