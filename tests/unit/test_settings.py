"""Settings: read once from the environment the template gives every function, naming what is missing."""

from __future__ import annotations

import pytest

from warden.settings import Settings, SettingsError

ENV = {
    "WARDEN_GRANTS_TABLE": "grants",
    "WARDEN_LEDGER_TABLE": "ledger",
    "WARDEN_IDEMPOTENCY_TABLE": "idempotency",
    "WARDEN_STATE_TABLE": "state",
    "WARDEN_ALERTS_TOPIC_ARN": "arn:aws:sns:eu-central-1:123456789012:alerts",
    "WARDEN_POLICY_PARAMETER": "/session-warden/session-warden/policy",
    "AWS_REGION": "eu-central-1",
}


def test_settings_come_from_the_template_environment() -> None:
    settings = Settings.from_env({**ENV, "WARDEN_POLICY_CACHE_SECONDS": "0", "WARDEN_STACK_NAME": "prod-warden"})
    assert (settings.ledger_table, settings.region, settings.stack_name) == ("ledger", "eu-central-1", "prod-warden")
    assert settings.policy_cache_seconds == 0
    assert settings.clock_url is None


def test_every_missing_variable_is_named_at_once() -> None:
    with pytest.raises(SettingsError, match="WARDEN_GRANTS_TABLE, WARDEN_LEDGER_TABLE"):
        Settings.from_env({"WARDEN_IDEMPOTENCY_TABLE": "x"})


def test_a_malformed_number_names_the_variable_and_value() -> None:
    with pytest.raises(SettingsError, match="WARDEN_POLICY_CACHE_SECONDS must be a whole number, got 'soon'"):
        Settings.from_env({**ENV, "WARDEN_POLICY_CACHE_SECONDS": "soon"})


def test_single_account_mode_is_the_default_and_guards_the_home_region() -> None:
    settings = Settings.from_env(ENV)
    assert not settings.org
    assert settings.guarded_regions == ("eu-central-1",)
    assert settings.member_role_name == "session-warden-member"


def test_organization_mode_guards_the_home_region_first_and_each_region_once() -> None:
    settings = Settings.from_env(
        {
            **ENV,
            "WARDEN_ORGANIZATION_ID": "o-warden0001",
            "WARDEN_GUARDED_REGIONS": "eu-west-1, eu-central-1,eu-west-1",
            "WARDEN_MEMBER_ROLE_NAME": "warden-member",
            "WARDEN_SWEEP_QUEUE_URL": "https://sqs.eu-central-1.amazonaws.com/123456789012/sweeps",
        }
    )
    assert settings.org
    assert settings.guarded_regions == ("eu-central-1", "eu-west-1")
    assert settings.guards("eu-west-1") and not settings.guards("us-east-1")
    assert (settings.member_role_name, settings.sweep_queue_url) == (
        "warden-member",
        "https://sqs.eu-central-1.amazonaws.com/123456789012/sweeps",
    )


@pytest.mark.parametrize(
    ("name", "value", "problem"),
    [
        ("WARDEN_ORGANIZATION_ID", "org-1", "WARDEN_ORGANIZATION_ID must look like o-"),
        ("WARDEN_GUARDED_REGIONS", "eu-west-1,Europe", "WARDEN_GUARDED_REGIONS: not a region name: 'Europe'"),
        ("WARDEN_MEMBER_ROLE_NAME", "a/b", "WARDEN_MEMBER_ROLE_NAME is not an IAM role name"),
    ],
)
def test_a_malformed_organization_setting_is_named(name: str, value: str, problem: str) -> None:
    with pytest.raises(SettingsError, match=problem):
        Settings.from_env({**ENV, name: value})
