"""An organization's policy: hundreds of rules, 64 KB and more, loads whole and decides like a small one."""

from __future__ import annotations

import dataclasses
import json

from warden.policy import MAX_POLICY_BYTES, SessionRequest, decide, load_policy, principal_from_arn

from .support import at, request

RULES = 300
SSO_ROLES = "role/aws-reserved/sso.amazonaws.com/eu-west-1/"
OUS = ("ou:Production/*", "ou:Development", "ou:Production/Web", "ou:Sandbox/*")


def org_policy(rules: int = RULES, *, accounts_per_rule: int = 2) -> str:
    """A policy of ``rules`` team rules, each scoped to accounts and regions, and one deny rule at the end."""
    lines = [
        "version: 1",
        "default: deny",
        "windows:",
        "  business-hours:",
        "    timezone: Europe/Berlin",
        "    weekly: [{days: [mon, tue, wed, thu, fri], from: '08:00', to: '18:00'}]",
        "rules:",
    ]
    for index in range(rules - 1):
        accounts = [
            f"'{200000000000 + index * accounts_per_rule + offset:012d}'" for offset in range(accounts_per_rule)
        ]
        lines += [
            f"  - name: team-{index:04d}-production-access",
            f"    principals: ['permission-set:Team{index}Operators', 'user:oncall-{index}@example.com']",
            "    targets:",
            "      tags:",
            f"        Team: team-{index}",
            "        Environment: [prod, 'staging*']",
            "    documents: [SSM-SessionManagerRunShell, AWS-StartPortForwardingSession]",
            "    windows: [business-hours]",
            "    max_duration: 2h",
            f"    accounts: [{', '.join(accounts)}, '{OUS[index % len(OUS)]}']",
            "    regions: [us-east-1, 'eu-*']",
        ]
    lines += ["  - name: no-pci", "    effect: deny", "    targets: {tags: {Compliance: pci}}", "    regions: ['*']"]
    return "\n".join(lines) + "\n"


def _session(team: int, *, account: str, path: str | None, region: str | None, pci: bool = False) -> SessionRequest:
    role = f"AWSReservedSSO_Team{team}Operators_0123456789abcdef"
    operator = principal_from_arn(
        f"arn:aws:sts::{account}:assumed-role/{role}/oncall@example.com",
        role_arn=f"arn:aws:iam::{account}:{SSO_ROLES}{role}",
    )
    tags = {"Team": f"team-{team}", "Environment": "prod", **({"Compliance": "pci"} if pci else {})}
    return dataclasses.replace(
        request(principal=operator, tags=tags), account=account, account_path=path, region=region
    )


def test_a_policy_of_300_rules_over_64_kb_loads_and_decides_in_yaml_and_json() -> None:
    # GIVEN an organization's policy of 300 rules, well over 64 KB, as YAML and as JSON
    text = org_policy()
    loaded = load_policy(text)
    as_json = json.dumps(loaded.to_document(), indent=2)
    assert len(text.encode()) > 64 * 1024
    assert len(as_json.encode()) > 64 * 1024
    for policy in (loaded, load_policy(as_json)):
        assert len(policy.rules) == RULES
        now = at("2026-11-24T10:00Z")  # a Tuesday, inside business hours
        # WHEN sessions of the last team rule are decided, in its account, in another, and in a PCI target
        last = RULES - 2  # team 298 names ou:Production/Web, team 296 ou:Production/*
        account = f"{200000000000 + last * 2:012d}"
        own = decide(policy, _session(last, account=account, path=None, region="eu-west-1"), [], now)
        below = _session(last - 2, account="999999999999", path="Production/Web/Edge", region="us-east-1")
        subtree = decide(policy, below, [], now)
        other = _session(last, account="999999999999", path="Development", region="eu-west-1")
        elsewhere = decide(policy, other, [], now)
        pci = decide(policy, _session(last, account=account, path=None, region=None, pci=True), [], now)
        # THEN each is decided by the rule it names, as in a small policy
        assert (own.allowed, own.rule) == (True, f"team-{last:04d}-production-access")
        assert (subtree.allowed, subtree.rule) == (True, f"team-{last - 2:04d}-production-access")
        assert (elsewhere.allowed, elsewhere.basis) == (False, "default-deny")
        assert (pci.allowed, pci.rule) == (False, "no-pci")


def test_a_policy_of_more_than_20000_values_is_not_refused_as_too_large() -> None:
    # GIVEN a policy whose rules name many accounts each: tens of thousands of values, without any alias
    text = org_policy(accounts_per_rule=70)
    assert len(text.encode()) < MAX_POLICY_BYTES
    # WHEN it is loaded THEN it is (only aliases that repeat values are bounded, the text bounds the rest)
    policy = load_policy(text)
    assert sum(len(rule.accounts or ()) for rule in policy.rules) > 20_000
