"""A fresh organization stack enforces a policy from its first minute: the example policy the template deploys as
AppConfig version 1 (validated at its deployment), before anyone runs `warden policy push`."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.cli.conftest import cli_env, run_warden
from tests.functional.conftest import TUESDAY_MORNING, Stack
from tests.functional.test_org_policy_store import scoped_row
from warden_cli.demo_org_stage import org_prerequisites
from warden_local import LocalCloud
from warden_local.inbox import Inbox
from warden_local.pytest_plugin import functional_fidelity


@pytest.fixture
def fresh_org_stack() -> Iterator[Stack]:
    # The central stack as `sam deploy` leaves it, with the README's prerequisites done and no policy pushed.
    with LocalCloud(start_at=TUESDAY_MORNING, organization=True, fidelity=functional_fidelity()) as cloud:
        assert cloud.org is not None
        org_prerequisites(cloud.org)
        yield Stack(cloud)


def test_a_fresh_organization_stack_shows_and_enforces_the_example_policy_as_version_1(fresh_org_stack: Stack) -> None:
    stack, cloud = fresh_org_stack, fresh_org_stack.cloud
    # GIVEN a fresh stack WHEN the operator looks THEN version 1 (deployment 1) is in force: the example policy
    shown = run_warden("policy", "show", "--json", env=cli_env(cloud))
    assert shown.code == 0, shown.stderr
    assert (shown.json["version"], shown.json["deployment"], shown.json["valid"]) == ("1", 1, True)
    assert [rule["name"] for rule in shown.json["policy"]["rules"]][:2] == ["no-pci", "analysts-on-analytics"]
    status = run_warden("status", "--json", env=cli_env(cloud))
    assert status.json["policy"]["in_force_version"] == "1" and status.json["policy"]["in_force_source"] == "appconfig"
    # WHEN sessions start THEN the example policy decides them: alice with a ticket on an analytics host in office
    # hours stays; the same person on a PCI host, and anyone nothing allows, are ended (default deny)
    analytics = cloud.add_instance({"Department": "Analytics"})
    pci = cloud.add_instance({"Department": "Analytics", "Compliance": "pci"})
    other = cloud.add_instance({"Team": "web"})
    alice = stack.person("alice@example.com")
    allowed = stack.start(alice, analytics, Reason="INC-1234 dashboards")
    on_pci = stack.start(alice, pci, Reason="INC-1234 dashboards")
    nobody = stack.start(stack.person("mallory"), other)
    active = stack.active()
    assert allowed in active and on_pci not in active and nobody not in active
    assert scoped_row(stack, allowed).rule == "analysts-on-analytics"
    assert scoped_row(stack, on_pci).rule == "no-pci"
    # AND the sweeps that follow find the policy where it should be: no policy-missing, rejected or tamper alert
    cloud.advance("2m")
    cloud.settle()
    kinds = {mail.kind for mail in Inbox(cloud).mails()}
    assert not kinds & {"policy-missing", "policy-rejected", "enforcer-tampered"}, kinds
    assert stack.errors() == []
