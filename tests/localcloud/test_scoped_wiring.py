"""build_warden(scope) on the local cloud: one warden per account and region, acting through the member role."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from warden import wiring
from warden.adapters.notices import SsmSessionNotices
from warden.scope import Scope
from warden_local import LocalCloud

PROD_WEB = Scope("222222222222", "eu-west-1", org=True)


@pytest.fixture
def org_env(bare_cloud: LocalCloud) -> Iterator[LocalCloud]:
    env = {
        "WARDEN_GRANTS_TABLE": "grants",
        "WARDEN_LEDGER_TABLE": "ledger",
        "WARDEN_IDEMPOTENCY_TABLE": "idempotency",
        "WARDEN_STATE_TABLE": "state",
        "WARDEN_ALERTS_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:alerts",
        "WARDEN_POLICY_PARAMETER": "/session-warden/session-warden/policy",
        "WARDEN_ORGANIZATION_ID": "o-warden0001",
        "WARDEN_GUARDED_REGIONS": "eu-west-1",
        "WARDEN_CLOCK_URL": f"{bare_cloud.endpoint}/_warden/clock",
        "AWS_ENDPOINT_URL": bare_cloud.endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    saved = {name: os.environ.get(name) for name in env}
    os.environ.update(env)
    wiring.reset()
    try:
        yield bare_cloud
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        wiring.reset()


def identity(session: Any) -> dict[str, Any]:
    caller: dict[str, Any] = session.client("sts").get_caller_identity()
    return caller


@pytest.mark.usefixtures("org_env")
def test_a_member_scope_acts_with_credentials_of_the_member_role_assumed_at_the_local_cloud() -> None:
    # (Which account those credentials act in is the multi-account local cloud's to emulate: moto's STS issues
    # them for any role ARN; this cloud resolves only its own account's keys.)
    session = wiring.build_members().session(PROD_WEB)
    credentials = session.get_credentials()
    assert credentials is not None
    assert credentials.get_frozen_credentials().access_key != "testing"
    assert credentials.method == "session-warden-member-role"
    assert session.region_name == "eu-west-1"


@pytest.mark.usefixtures("org_env")
def test_the_central_account_acts_with_its_own_credentials() -> None:
    caller = identity(wiring.build_members().session(Scope("123456789012", "eu-west-1", org=True)))
    assert caller["Account"] == "123456789012"
    assert ":assumed-role/session-warden-member/" not in caller["Arn"]


@pytest.mark.usefixtures("org_env")
def test_one_warden_per_scope_naming_its_account_and_region_sharing_the_central_policy() -> None:
    member = wiring.build_warden(PROD_WEB)
    assert wiring.build_warden(PROD_WEB) is member
    central = wiring.build_warden()
    assert wiring.build_warden(None) is central and member is not central
    # Alerts name the member account and region; the warden's own calls there are known as its own.
    assert (member.sweeper.context.account, member.sweeper.context.region) == ("222222222222", "eu-west-1")
    assert (central.sweeper.context.account, central.sweeper.context.region) == ("123456789012", "us-east-1")
    assert member.events.warden_callers == frozenset(
        {"arn:aws:sts::222222222222:assumed-role/session-warden-member/session-warden"}
    )
    assert member.events.policies is central.events.policies  # one policy source for the organization
    assert member.events.grants is central.events.grants
    assert member.events.organization is wiring.build_organization()
    assert central.events.organization is None


def notice_document(scope: Scope | None) -> str | None:
    """The warning document the sweeper of *scope* sends with (None: it has none to send)."""
    warnings = wiring.build_warden(scope).sweeper.warnings
    assert warnings is not None, "every scope warns before a deadline"
    notices = warnings.notices
    return notices.document if isinstance(notices, SsmSessionNotices) else None


@pytest.mark.usefixtures("org_env")
def test_each_scope_warns_with_the_warning_document_of_its_own_account_and_region(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # GIVEN the central stack's own document (its home region) and the member stacks' one, named by convention
    monkeypatch.setenv("WARDEN_WARNING_DOCUMENT", "session-warden-WarningDocument-1A2B3C4D")
    monkeypatch.setenv("WARDEN_STACK_NAME", "session-warden")
    wiring.reset()
    # THEN the central account's home region (and single-account mode) keep the stack's document
    assert notice_document(None) == "session-warden-WarningDocument-1A2B3C4D"
    assert notice_document(Scope("123456789012", "us-east-1", org=True)) == "session-warden-WarningDocument-1A2B3C4D"
    # AND a member account, in every region, and the central account's other regions use the member stack's
    assert notice_document(PROD_WEB) == "session-warden-session-notice-1"
    assert notice_document(Scope("222222222222", "us-east-1", org=True)) == "session-warden-session-notice-1"
    assert notice_document(Scope("123456789012", "eu-west-1", org=True)) == "session-warden-session-notice-1"


@pytest.mark.usefixtures("org_env")
def test_a_function_without_a_warning_document_still_warns_and_says_why_no_notice_is_written() -> None:
    # GIVEN no WARDEN_WARNING_DOCUMENT (org_env sets none)
    assert "WARDEN_WARNING_DOCUMENT" not in os.environ
    # THEN the central home region warns with no notice, naming what is missing; members keep their document
    warnings = wiring.build_warden(Scope("123456789012", "us-east-1", org=True)).sweeper.warnings
    assert warnings is not None and warnings.notices is None
    assert "WARDEN_WARNING_DOCUMENT is not set" in warnings.unavailable
    assert notice_document(PROD_WEB) == "session-warden-session-notice-1"
