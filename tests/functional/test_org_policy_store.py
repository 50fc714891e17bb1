"""Organization mode's policy store: a policy of hundreds of rules pushed to AppConfig, validated before it takes
effect, and the last valid one kept when a version is refused or the profile is deleted."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli.conftest import cli_env, run_warden
from tests.functional.conftest import TUESDAY_MORNING, Stack
from warden.adapters.ledger import DynamoLedger
from warden.records import LedgerEntry
from warden.scope import Scope
from warden_cli.demo_org_stage import org_prerequisites
from warden_local import LocalCloud

RULES = 300


def big_policy() -> str:
    lines = ["version: 1", "mode: enforce", "default: deny", "rules:"]
    for index in range(RULES):
        lines += [
            f"  # Team {index:03d}: its engineers open shells on the team's own hosts, any time, for up to 4 hours.",
            f"  - name: team-{index:03d}-engineers-on-their-own-hosts",
            f'    principals: ["user:dev-{index:03d}"]',
            f"    targets: {{tags: {{Team: team-{index:03d}}}}}",
            "    max_duration: 4h",
        ]
    return "\n".join(lines) + "\n"


def scoped_row(stack: Stack, session_id: str) -> LedgerEntry:
    """The session's ledger row, keyed by its account and region as organization mode keeps it."""
    cloud = stack.cloud
    cloud.settle()
    scope = Scope(cloud.account_id, cloud.region, org=True)
    entry = DynamoLedger(cloud.client("dynamodb"), stack.outputs["LedgerTableName"], scope=scope).get(session_id)
    assert entry is not None, f"no ledger row for {session_id} in {scope.label}"
    return entry


@pytest.fixture(scope="module")
def org_stack() -> Iterator[Stack]:
    # The central stack of the emulated organization: it decides events of accounts the organization lists, which
    # the central account may read once it is the delegated administrator (the README's prerequisites).
    with LocalCloud(start_at=TUESDAY_MORNING, organization=True) as cloud:
        assert cloud.org is not None
        org_prerequisites(cloud.org)
        yield Stack(cloud)


def test_a_300_rule_policy_in_appconfig_decides_a_refused_version_changes_nothing_a_deleted_profile_keeps_it(
    org_stack: Stack, tmp_path: Path
) -> None:
    stack, cloud = org_stack, org_stack.cloud
    text = big_policy()
    assert len(text.encode()) > 64 * 1024
    path = tmp_path / "org-policy.yaml"
    path.write_text(text, encoding="utf-8")
    # WHEN the operator pushes it THEN AppConfig deploys version 2 after the validator accepted it (version 1 is the
    # example policy the stack deployed when it was created)
    pushed = run_warden("policy", "push", str(path), env=cli_env(cloud))
    assert pushed.code == 0, pushed.stderr
    assert "version 2, deployment 2" in pushed.stdout
    shown = run_warden("policy", "show", "--json", env=cli_env(cloud))
    assert shown.code == 0 and shown.json["version"] == "2" and len(shown.json["policy"]["rules"]) == RULES
    status = run_warden("status", "--json", env=cli_env(cloud))
    assert status.json["policy"]["in_force_version"] == "2" and status.json["policy"]["in_force_source"] == "appconfig"
    # AND sessions are decided by it: dev-250 on team 250's host stays, on team 251's host it is ended
    own = cloud.add_instance({"Team": "team-250"})
    other = cloud.add_instance({"Team": "team-251"})
    allowed = stack.start(stack.person("dev-250"), own)
    denied = stack.start(stack.person("dev-250"), other)
    active = stack.active()
    assert allowed in active and denied not in active
    assert scoped_row(stack, allowed).rule == "team-250-engineers-on-their-own-hosts"
    # AND the tamper watch knows the push for what it is (its version and deployment are no alert)
    assert [mail.kind for mail in stack.inbox.mails() if mail.kind == "enforcer-tampered"] == []

    # WHEN a version that does not validate is pushed THEN the validator refuses it, naming the line and field
    broken = tmp_path / "broken.yaml"
    broken.write_text(text.replace("max_duration: 4h", "max_duration: forever", 1), encoding="utf-8")
    # (the CLI validates first; a version created around it is refused by AppConfig's validator)
    refused = run_warden("policy", "push", str(broken), env=cli_env(cloud))
    assert refused.code == 2 and "max_duration" in refused.stderr
    store = stack.outputs
    appconfig = cloud.client("appconfig")
    version = appconfig.create_hosted_configuration_version(
        ApplicationId=store["PolicyApplicationId"],
        ConfigurationProfileId=store["PolicyProfileId"],
        Content=broken.read_bytes(),
        ContentType="application/x-yaml",
    )["VersionNumber"]
    with pytest.raises(appconfig.exceptions.BadRequestException, match=r"line \d+: rules\[0\]\.max_duration"):
        appconfig.start_deployment(
            ApplicationId=store["PolicyApplicationId"],
            EnvironmentId=store["PolicyEnvironmentId"],
            DeploymentStrategyId=store["PolicyDeploymentStrategyId"],
            ConfigurationProfileId=store["PolicyProfileId"],
            ConfigurationVersion=str(version),
        )
    # AND the version created around the CLI is tampering (the refused deployment changed nothing: no alert)
    tampered = [mail for mail in stack.inbox.mails() if mail.kind == "enforcer-tampered"]
    assert len(tampered) == 1 and "CreateHostedConfigurationVersion" in tampered[0].body
    # AND the previous version stays deployed and in force
    assert run_warden("policy", "show", "--json", env=cli_env(cloud)).json["version"] == "2"
    cloud.advance("1m")
    later = stack.start(stack.person("dev-007"), cloud.add_instance({"Team": "team-007"}))
    assert later in stack.active()

    # (one test, not two: what follows needs the policy pushed above in force, and xdist may run tests of one module
    # in different processes)
    # GIVEN the 300-rule policy in force, WHEN someone deletes the configuration profile
    cloud.client("appconfig").delete_configuration_profile(
        ApplicationId=store["PolicyApplicationId"], ConfigurationProfileId=store["PolicyProfileId"]
    )
    cloud.advance("1m")
    # THEN the next decision still uses the last valid policy, and one policy-missing alert names AppConfig
    allowed = stack.start(stack.person("dev-100"), cloud.add_instance({"Team": "team-100"}))
    denied = stack.start(stack.person("dev-100"), cloud.add_instance({"Team": "team-101"}))
    active = stack.active()
    assert allowed in active and denied not in active
    mails = stack.inbox.mails()
    missing = [mail for mail in mails if mail.kind == "policy-missing"]
    assert len(missing) == 1
    assert "AWS AppConfig" in missing[0].body and "ResourceNotFoundException" in missing[0].body
    # AND the deletion itself is reported by the tamper watch, naming what it means
    [deleted] = [m for m in mails if m.kind == "enforcer-tampered" and "DeleteConfigurationProfile" in m.body]
    assert "last valid policy" in deleted.body
    # AND every call the functions made on the way was allowed by their roles (AppConfig reads included)
    assert cloud.iam_denials == []
    assert not [call for call in cloud.authorizer.unchecked if call[1] == "appconfig"]
