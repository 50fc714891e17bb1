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
