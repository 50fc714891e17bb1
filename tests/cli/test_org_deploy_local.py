"""`warden org deploy` on the local cloud's emulated organization, as the README says for AWS: the prerequisites in the
management account, then the command in the central account; member stacks in every account and region of the OUs,
a new account enrolled with no call, and a member's events on the central bus."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.cli.conftest import cli_env, run_warden
from tests.localcloud.conftest import START

pytestmark = pytest.mark.functional

STACK, CENTRAL, MANAGEMENT = "session-warden", "123456789012", "111111111111"
HOME, OTHER = "us-east-1", "eu-west-1"
MEMBERS = ("222222222222", "333333333333", "444444444444")
HOME_BUS = f"arn:aws:events:{HOME}:{CENTRAL}:event-bus/{STACK}-central"
STACKSETS = "member.org.stacksets.cloudformation.amazonaws.com"


@pytest.fixture(scope="module")
def cloud() -> Iterator[Any]:
    warden_local = pytest.importorskip("warden_local")
    with warden_local.LocalCloud(port=0, start_at=START, frozen=True, organization=True) as cloud:
        yield cloud


def forward_targets(cloud: Any, account: str, region: str) -> list[str]:
    events = cloud.org.account(account).client("events", region=region)
    names = [rule["Name"] for rule in events.list_rules(EventBusName="default")["Rules"]]
    if f"{STACK}-forward" not in names:
        return []
    return [target["Arn"] for target in events.list_targets_by_rule(Rule=f"{STACK}-forward")["Targets"]]


def test_org_deploy_needs_the_prerequisites_then_covers_every_account_and_region_and_new_accounts(cloud: Any) -> None:
    env = cli_env(cloud)

    # GIVEN an organization without trusted access or a delegated administrator: one line saying what to run
    refused = run_warden("org", "deploy", "--ou", "Production", env=env)
    assert refused.code == 1, refused.stderr
    assert "register-delegated-administrator --account-id 123456789012" in refused.stderr
    assert "Traceback" not in refused.stderr

    # WHEN the management account does what the README's prerequisites say, and the central account deploys
    management = cloud.org.account(MANAGEMENT)
    management.client("cloudformation").activate_organizations_access()
    management.client("organizations").register_delegated_administrator(AccountId=CENTRAL, ServicePrincipal=STACKSETS)
    deployed = run_warden("org", "deploy", "--ou", "Production", "Development", "--json", env=env)

    # THEN every member account has its stack in both regions, and the central account its relay
    assert deployed.code == 0, deployed.stderr
    report = deployed.json
    assert {(s["account"], s["region"], s["status"]) for s in report["stacks"] if s["stack"] == "member"} == {
        (account, region, "SUCCEEDED") for account in MEMBERS for region in (HOME, OTHER)
    }
    assert [(s["account"], s["region"], s["status"]) for s in report["stacks"] if s["stack"] == "relay"] == [
        (CENTRAL, OTHER, "CREATE_COMPLETE")
    ]
    for account in MEMBERS:
        # One hop to the central bus in the home region, from each region; the member role once per account.
        assert forward_targets(cloud, account, HOME) == [HOME_BUS]
        assert forward_targets(cloud, account, OTHER) == [HOME_BUS]
        role = cloud.org.account(account).client("iam").get_role(RoleName="session-warden-member")["Role"]
        assert role["Arn"] == f"arn:aws:iam::{account}:role/session-warden-member"
    assert forward_targets(cloud, CENTRAL, OTHER) == [HOME_BUS]  # the relay
    assert forward_targets(cloud, CENTRAL, HOME) == []  # the central stack's own rules watch it
    assert forward_targets(cloud, MANAGEMENT, HOME) == []  # never a target

    # WHEN an account is created in Production/Web THEN it gets the member stack with no call
    from warden_local.organizations_ext import create_account

    new = create_account(management.client("organizations"), "prod-api", "Production/Web")
    assert forward_targets(cloud, new, HOME) == [HOME_BUS]
    assert forward_targets(cloud, new, OTHER) == [HOME_BUS]

    # AND a second run with nothing changed updates nothing
    again = run_warden("org", "deploy", "--ou", "Production", "Development", env=env)
    assert again.code == 0, again.stderr
    assert "template and parameters up to date" in again.stderr


def test_a_members_canary_write_in_another_region_arrives_on_the_central_bus_with_its_account_and_region(
    cloud: Any,
) -> None:
    from tests.localcloud.test_organization import Tap

    if not forward_targets(cloud, MEMBERS[0], OTHER):
        pytest.skip("needs the member stacks of the test before")
    central = cloud.org.account(CENTRAL)
    canary = {"source": ["aws.ssm"], "detail": {"eventName": ["PutParameter"]}}
    tap = Tap(central, HOME, canary, bus=f"{STACK}-central")

    ssm = cloud.org.account(MEMBERS[0]).client("ssm", region=OTHER)
    ssm.put_parameter(Name=f"/session-warden/{STACK}/canary", Value="nonce-1", Type="String", Overwrite=True)
    ssm.put_parameter(Name="/app/database-url", Value="postgres://db", Type="String", Overwrite=True)

    received = tap.events(cloud)
    assert [(e["account"], e["region"], e["detail"]["requestParameters"]["name"]) for e in received] == [
        (MEMBERS[0], OTHER, f"/session-warden/{STACK}/canary")
    ]
