"""`warden explain --account --region --ou`: organization-mode rules decided where the session runs, offline."""

from __future__ import annotations

import textwrap
from collections.abc import Callable

import pytest

from tests.cli.conftest import EVENTS, POLICY, Result, run_warden

Write = Callable[[str, str], str]

ALICE_EVENT = str(EVENTS / "start-session-iam-user.json")  # account 123456789012, region eu-central-1
AT = "2026-11-24T10:00:00Z"
ORG_POLICY = textwrap.dedent(
    """\
    version: 1
    default: deny
    rules:
      - name: alice-in-production-europe
        principals: ["user:alice"]
        accounts: ["ou:Production/*", "444444444444"]
        regions: ["eu-*"]
      - name: no-development-in-us
        effect: deny
        accounts: ["ou:Development"]
        regions: ["us-*"]
    """
)


@pytest.fixture
def org_policy(write: Write) -> str:
    return write("org.yaml", ORG_POLICY)


def explain(policy: str, *flags: str) -> Result:
    return run_warden("explain", "--policy", policy, "--event", ALICE_EVENT, "--at", AT, "--tag", "Env=prod", *flags)


def test_a_rule_naming_an_ou_subtree_allows_an_account_below_it_and_says_where(org_policy: str) -> None:
    # WHEN a session is explained in an account of Production/Web, in Ireland
    result = explain(org_policy, "--account", "222222222222", "--ou", "Production/Web", "--region", "eu-west-1")
    # THEN the subtree rule allows it, and the output says where the session runs and which place rules apply there
    assert result.code == 0, result.stderr
    lines = result.lines
    assert lines[0].startswith("ALLOW by rule alice-in-production-europe: alice on i-0a1b2c3d4e5f60718")
    assert "where: account 222222222222 (OU path Production/Web), region eu-west-1" in lines
    assert (
        "  - rule alice-in-production-europe (allow) names accounts ou:Production/*, 444444444444; regions eu-*: "
        "applies here"
    ) in lines
    assert (
        "  - rule no-development-in-us (deny) names accounts ou:Development; regions us-*: does not apply here "
        "(not in its accounts and not in its regions)"
    ) in lines
    assert not any(line.startswith("note: where the session runs") for line in lines)


def test_the_flags_override_the_events_account_and_region(org_policy: str) -> None:
    # GIVEN an event recorded in 123456789012 / eu-central-1, which no allow rule names
    from_event = explain(org_policy)
    # WHEN --account and --region name a Development account in us-east-1
    overridden = explain(org_policy, "--account", "444444444444", "--ou", "Development", "--region", "us-east-1")
    # THEN the event alone is denied by default, the flags are denied by the deny rule, naming account, OU and region
    assert (from_event.code, overridden.code) == (1, 1)
    assert "where: account 123456789012 (OU path unknown), region eu-central-1" in from_event.lines
    assert "DENY by the policy's default" in from_event.stdout
    assert (
        "  - denied by rule no-development-in-us (account 444444444444 in OU Development; region us-east-1)"
        in overridden.lines
    )


def test_json_says_where_and_which_place_rules_hold(org_policy: str) -> None:
    result = explain(org_policy, "--account", "444444444444", "--region", "us-east-1", "--json")
    data = result.json
    # THEN the allow rule fails on its regions (the id is named), and the deny rule holds: its OU path is unknown
    assert result.code == 1
    assert data["where"] == {"account": "444444444444", "ou": None, "region": "us-east-1"}
    assert data["places"] == [
        {
            "rule": "alice-in-production-europe",
            "effect": "allow",
            "accounts": ["ou:Production/*", "444444444444"],
            "regions": ["eu-*"],
            "holds": False,
            "fails_on": ["regions"],
        },
        {
            "rule": "no-development-in-us",
            "effect": "deny",
            "accounts": ["ou:Development"],
            "regions": ["us-*"],
            "holds": True,
            "fails_on": [],
        },
    ]
    assert data["reasons"] == [
        "denied by rule no-development-in-us (account 444444444444 in an unknown OU; region us-east-1)"
    ]


def test_an_unknown_ou_path_is_pointed_out(org_policy: str) -> None:
    result = explain(org_policy, "--account", "222222222222", "--region", "eu-west-1")
    # THEN the subtree rule cannot tell, so it does not allow, and the output says to pass --ou
    assert result.code == 1
    assert result.lines[-1].startswith("note: where the session runs is partly unknown")
    assert result.lines[-1].endswith("pass --ou")


def test_without_the_flags_a_policy_naming_no_places_prints_no_place_lines(policy_file: str) -> None:
    # GIVEN the single-account policy; WHEN explained with and without --account and --region
    plain = run_warden("explain", "--policy", policy_file, "--event", ALICE_EVENT, "--at", AT, "--json")
    flagged = run_warden(
        "explain", "--policy", policy_file, "--event", ALICE_EVENT, "--at", AT, "--json", "--account", "222222222222"
    )
    text = run_warden("explain", "--policy", policy_file, "--event", ALICE_EVENT, "--at", AT)
    # THEN the plain JSON has only its keys; with a flag it says where (no rule names places)
    assert set(plain.json) == {"decision", "rule", "grant", "reasons", "deadline", "warnings"}
    assert flagged.json["where"] == {"account": "222222222222", "ou": None, "region": "eu-central-1"}
    assert flagged.json["places"] == []
    assert "where:" not in text.stdout
    assert "accounts" not in POLICY


@pytest.mark.parametrize(
    ("flags", "says"),
    [
        (("--account", "12345"), "--account: '12345' is not an account id: an account id has exactly 12 digits"),
        (("--region", "eu-*"), "--region: 'eu-*' is a glob: name one region"),
        (("--region", "Europe"), "--region: 'Europe' is not a region name"),
        (("--ou", "Production//Web"), "--ou: 'Production//Web': an empty OU name"),
        (("--ou", "Production/*"), "--ou: 'Production/*': an OU path takes no globs"),
    ],
)
def test_malformed_place_flags_are_bad_input(org_policy: str, flags: tuple[str, ...], says: str) -> None:
    result = explain(org_policy, *flags)
    assert result.code == 2
    assert result.stderr.startswith(f"warden: error: {says}")
    assert "Traceback" not in result.stderr


def test_policy_validate_names_the_line_of_a_malformed_account_id_and_ou_path(write: Write) -> None:
    # GIVEN a policy whose accounts hold an 11-digit id (line 5) and an OU path with an empty name (line 6)
    path = write(
        "org-bad.yaml",
        "version: 1\nrules:\n  - name: r\n    accounts:\n      - '12345678901'\n      - ou:Production//Web\n"
        "    regions: [eu-*, Europe]\n",
    )
    # WHEN it is validated
    result = run_warden("policy", "validate", path)
    # THEN each is refused with its file, line, field path and what is wrong
    assert result.code == 2
    assert result.stderr.splitlines() == [
        f"warden: error: {path}: line 5: rules[0].accounts[0]: '12345678901' is not an account id: an account id has "
        "exactly 12 digits, not 11 (quote an id that begins with 0)",
        f"warden: error: {path}: line 6: rules[0].accounts[1]: 'ou:Production//Web': an empty OU name: an OU path is "
        "OU names separated by single '/'",
        f"warden: error: {path}: line 7: rules[0].regions[1]: 'Europe' is not a region name: expected e.g. "
        "us-east-1, or a glob such as eu-*",
    ]


def test_policy_validate_accepts_accounts_and_regions(write: Write) -> None:
    path = write("org.yaml", ORG_POLICY)
    result = run_warden("policy", "validate", path)
    assert result.code == 0, result.stderr
    assert result.lines == [f"{path}: valid — 2 rules, 0 windows, mode enforce, default deny"]
