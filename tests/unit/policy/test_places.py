"""Organization mode: rules and grants that name the accounts (ids, OU paths) and regions a session runs in."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

from warden.policy import (
    Decision,
    Grant,
    Policy,
    PolicyError,
    decide,
    join_ou_path,
    load_policy,
    ou_path_problem,
    split_ou_path,
)

from .support import ALICE, at, grant, policy, request

PROD_WEB = "222222222222"  # in Production/Web
PROD_DATA = "333333333333"  # in Production
DEV = "444444444444"  # in Development
NOW = "2026-11-24T11:00Z"

ALLOWS = policy(
    """\
    rules:
      - name: by-id
        accounts: ["222222222222"]
      - name: production-only
        accounts: ["ou:Production"]
        principals: ["user:nobody"]
      - name: europe
        regions: ["eu-*"]
        principals: ["user:nobody"]
    """
)


def _decide(
    subject: Policy,
    *,
    account: str | None,
    path: str | None = None,
    region: str | None = None,
    grants: tuple[Grant, ...] = (),
) -> Decision:
    session = dataclasses.replace(request(), account=account, account_path=path, region=region)
    return decide(subject, session, list(grants), at(NOW))


def _allowing(entries: str, *, field: str = "accounts") -> Policy:
    return policy(f"rules:\n  - name: only-there\n    {field}: {entries}\n")


def _denying(entries: str, *, field: str = "accounts") -> Policy:
    return policy(f"default: allow\nrules:\n  - name: not-there\n    effect: deny\n    {field}: {entries}\n")


# --- accounts: ids and OU paths ------------------------------------------------------------------

ACCOUNT_CASES = [
    # entries, account, OU path, allowed by an allow rule naming them
    pytest.param('["222222222222"]', PROD_WEB, "Production/Web", True, id="the id named"),
    pytest.param('["222222222222"]', DEV, "Development", False, id="another id"),
    pytest.param("[222222222222]", PROD_WEB, None, True, id="an unquoted id, read by YAML as a number"),
    pytest.param('["222222222222"]', PROD_WEB, None, True, id="an id needs no OU path"),
    pytest.param('["ou:Production"]', PROD_DATA, "Production", True, id="directly in the OU"),
    pytest.param('["ou:Production"]', PROD_WEB, "Production/Web", False, id="an OU below is not directly in it"),
    pytest.param('["ou:Production/*"]', PROD_WEB, "Production/Web", True, id="subtree: an OU below"),
    pytest.param('["ou:Production/*"]', PROD_DATA, "Production", True, id="subtree: the OU itself"),
    pytest.param('["ou:Production/*"]', DEV, "Development", False, id="subtree: another OU"),
    pytest.param('["ou:Production/*"]', DEV, "ProductionX", False, id="subtree: a name that only starts alike"),
    pytest.param('["ou:Production/Web"]', PROD_WEB, "Production/Web", True, id="a nested path exactly"),
    pytest.param('["ou:Web"]', PROD_WEB, "Production/Web", False, id="a path is from the root, not a suffix"),
    pytest.param('["ou:Production"]', PROD_DATA, "", False, id="directly under the root is in no OU"),
    pytest.param('["ou:Production/*", "444444444444"]', DEV, "Development", True, id="one of several entries"),
    # An OU named "Production/Web" directly under the root: its path escapes the '/' in its name (Production\/Web)
    pytest.param('["ou:Production/Web"]', PROD_WEB, "Production\\/Web", False, id="a '/' in a name is no level"),
    pytest.param('["ou:Production/*"]', PROD_WEB, "Production\\/Web", False, id="a '/' name is not below Production"),
    pytest.param('["ou:Production"]', PROD_WEB, "Production\\/Web", False, id="nor in Production"),
    pytest.param("['ou:Production\\/Web']", PROD_WEB, "Production\\/Web", True, id="the escaped name matches it"),
    pytest.param("['ou:Production\\/Web']", PROD_WEB, "Production/Web", False, id="the escaped name is one OU"),
    pytest.param("['ou:Production\\/Web/*']", PROD_WEB, "Production\\/Web/QA", True, id="its subtree"),
    pytest.param("['ou:Ops\\\\/*']", PROD_WEB, "Ops\\\\/QA", True, id="a name ending in a backslash"),
]


@pytest.mark.parametrize(("entries", "account", "path", "allowed"), ACCOUNT_CASES)
def test_an_allow_rule_naming_accounts_holds_only_in_those_accounts(
    entries: str, account: str, path: str | None, allowed: bool
) -> None:
    # GIVEN a policy (default deny) whose only rule names accounts
    subject = _allowing(entries)
    # WHEN a session in the account is decided
    decision = _decide(subject, account=account, path=path)
    # THEN the rule allows it exactly where it names
    assert (decision.allowed, decision.rule) == (allowed, "only-there" if allowed else None)


@pytest.mark.parametrize(("entries", "account", "path", "denied"), ACCOUNT_CASES)
def test_a_deny_rule_naming_accounts_denies_only_in_those_accounts(
    entries: str, account: str, path: str | None, denied: bool
) -> None:
    decision = _decide(_denying(entries), account=account, path=path)
    assert (decision.allowed, decision.rule) == (not denied, "not-there" if denied else None)


UNKNOWN_CASES = [
    # entries, account, OU path: something the entries need is unknown
    pytest.param('["222222222222"]', None, None, id="no account at all"),
    pytest.param('["ou:Production"]', PROD_DATA, None, id="an OU entry and no OU path"),
    pytest.param('["ou:Production/*"]', PROD_WEB, None, id="a subtree entry and no OU path"),
    pytest.param('["ou:Production", "999999999999"]', PROD_DATA, None, id="an id that does not match, OU unknown"),
]


@pytest.mark.parametrize(("entries", "account", "path"), UNKNOWN_CASES)
def test_an_unknown_account_or_ou_path_never_satisfies_an_allow_rule(
    entries: str, account: str | None, path: str | None
) -> None:
    # GIVEN a request without a principal account either, so the account is truly unknown when it is None
    nobody = dataclasses.replace(ALICE, account=None)
    session = dataclasses.replace(request(principal=nobody), account=account, account_path=path)
    # WHEN an allow rule that names accounts is asked
    decision = decide(_allowing(entries), session, [], at(NOW))
    # THEN it does not hold: fail closed
    assert (decision.allowed, decision.basis) == (False, "default-deny")


@pytest.mark.parametrize(("entries", "account", "path"), UNKNOWN_CASES)
def test_an_unknown_account_or_ou_path_is_denied_by_a_deny_rule_naming_accounts(
    entries: str, account: str | None, path: str | None
) -> None:
    nobody = dataclasses.replace(ALICE, account=None)
    session = dataclasses.replace(request(principal=nobody), account=account, account_path=path)
    decision = decide(_denying(entries), session, [], at(NOW))
    assert (decision.allowed, decision.basis, decision.rule) == (False, "deny-rule", "not-there")


def test_a_request_without_an_account_runs_in_the_principals_account() -> None:
    # GIVEN a rule naming the principal's own account, and a request that does not say where the session runs
    subject = _allowing(f'["{ALICE.account}"]')
    # THEN the session runs in the principal's account, as for documents
    assert _decide(subject, account=None).allowed
    assert not _decide(subject, account=DEV).allowed


def test_a_denial_names_the_account_ou_path_and_region_it_matched_on() -> None:
    subject = policy(
        """\
        default: allow
        rules:
          - name: no-prod-europe
            effect: deny
            accounts: ["ou:Production/*"]
            regions: ["eu-*"]
        """
    )
    decision = _decide(subject, account=PROD_WEB, path="Production/Web", region="eu-west-1")
    assert decision.reasons == (
        "denied by rule no-prod-europe (account 222222222222 in OU Production/Web; region eu-west-1)",
    )
    unknown = _decide(subject, account=PROD_WEB, path=None, region=None)
    assert unknown.reasons == ("denied by rule no-prod-europe (account 222222222222 in an unknown OU; region unknown)",)


# --- regions -------------------------------------------------------------------------------------

REGION_CASES = [
    pytest.param('["us-east-1"]', "us-east-1", True, id="the region named"),
    pytest.param('["us-east-1"]', "us-east-2", False, id="another region"),
    pytest.param('["eu-*"]', "eu-west-1", True, id="a glob"),
    pytest.param('["eu-*"]', "us-east-1", False, id="a glob that does not match"),
    pytest.param('["us-?ast-1"]', "us-east-1", True, id="a ? glob"),
    pytest.param('["*"]', "ap-southeast-2", True, id="every known region"),
    pytest.param('["us-east-1", "eu-west-1"]', "eu-west-1", True, id="one of several"),
]


@pytest.mark.parametrize(("entries", "region", "allowed"), REGION_CASES)
def test_an_allow_rule_naming_regions_holds_only_in_those_regions(entries: str, region: str, allowed: bool) -> None:
    decision = _decide(_allowing(entries, field="regions"), account=PROD_WEB, region=region)
    assert decision.allowed is allowed


@pytest.mark.parametrize(("entries", "region", "denied"), REGION_CASES)
def test_a_deny_rule_naming_regions_denies_only_in_those_regions(entries: str, region: str, denied: bool) -> None:
    decision = _decide(_denying(entries, field="regions"), account=PROD_WEB, region=region)
    assert decision.allowed is not denied


@pytest.mark.parametrize("entries", ['["us-east-1"]', '["*"]'])
def test_an_unknown_region_fails_closed_for_allow_and_deny_rules(entries: str) -> None:
    # GIVEN rules naming regions (even "*") and a session whose region is unknown
    allowed = _decide(_allowing(entries, field="regions"), account=PROD_WEB, region=None)
    denied = _decide(_denying(entries, field="regions"), account=PROD_WEB, region=None)
    # THEN the allow rule does not hold and the deny rule denies
    assert (allowed.allowed, allowed.basis) == (False, "default-deny")
    assert (denied.allowed, denied.rule) == (False, "not-there")


def test_accounts_and_regions_must_both_hold() -> None:
    subject = policy(
        """\
        rules:
          - name: prod-in-us
            accounts: ["ou:Production/*"]
            regions: ["us-*"]
        """
    )
    assert _decide(subject, account=PROD_DATA, path="Production", region="us-east-1").allowed
    assert not _decide(subject, account=PROD_DATA, path="Production", region="eu-west-1").allowed
    assert not _decide(subject, account=DEV, path="Development", region="us-east-1").allowed


def test_rules_without_accounts_or_regions_hold_everywhere_and_when_unknown() -> None:
    subject = policy("rules:\n  - name: anywhere\n")
    assert _decide(subject, account=None, path=None, region=None).allowed
    assert _decide(subject, account=DEV, path="Development", region="eu-west-1").allowed


def test_the_other_rules_of_a_policy_are_unaffected_by_places() -> None:
    # GIVEN rules naming places next to ones that do not, on other principals
    decision = _decide(ALLOWS, account=PROD_WEB, path="Production/Web", region="us-east-1")
    elsewhere = _decide(ALLOWS, account=DEV, path="Development", region="eu-west-1")
    # THEN only the rule that names the session's account allows it (the others name other principals)
    assert (decision.allowed, decision.rule) == (True, "by-id")
    assert (elsewhere.allowed, elsewhere.basis) == (False, "default-deny")


# --- grants --------------------------------------------------------------------------------------

NOTHING = policy("rules: []\n")


@pytest.mark.parametrize(
    ("overrides", "account", "path", "region", "covered"),
    [
        pytest.param({}, DEV, "Development", "eu-west-1", True, id="a grant without places covers everywhere"),
        pytest.param({}, None, None, None, True, id="a grant without places covers the unknown"),
        pytest.param({"accounts": [PROD_WEB]}, PROD_WEB, None, None, True, id="the account named"),
        pytest.param({"accounts": [PROD_WEB]}, DEV, None, None, False, id="another account"),
        pytest.param({"accounts": ["ou:Production/*"]}, PROD_WEB, "Production/Web", None, True, id="an OU subtree"),
        pytest.param({"accounts": ["ou:Production/*"]}, PROD_WEB, None, None, False, id="OU path unknown"),
        pytest.param({"accounts": ["ou:Production"]}, PROD_WEB, "Production/Web", None, False, id="not directly"),
        pytest.param({"regions": ["eu-west-1"]}, DEV, None, "eu-west-1", True, id="the region named"),
        pytest.param({"regions": ["eu-west-1"]}, DEV, None, "us-east-1", False, id="another region"),
        pytest.param({"regions": ["*"]}, DEV, None, None, False, id="region unknown"),
        pytest.param(
            {"accounts": [PROD_WEB], "regions": ["us-*"]}, PROD_WEB, None, "eu-west-1", False, id="both must hold"
        ),
    ],
)
def test_a_grant_naming_accounts_or_regions_covers_sessions_only_there(
    overrides: dict[str, Any], account: str | None, path: str | None, region: str | None, covered: bool
) -> None:
    nobody = dataclasses.replace(ALICE, account=None) if account is None else ALICE
    given = grant(**overrides)
    session = dataclasses.replace(request(principal=nobody), account=account, account_path=path, region=region)
    # WHEN a session is decided with only that grant to allow it
    decision = decide(NOTHING, session, [given], at(NOW))
    # THEN the grant allows it exactly where it applies
    assert (decision.allowed, decision.grant) == (covered, "g-123" if covered else None)
    assert given.covers(nobody, "i-0abc", {}, account=account, region=region, account_path=path) is covered


def test_a_grant_keeps_its_places_in_its_document() -> None:
    given = grant(accounts=[PROD_WEB, "ou:Production/*"], regions=["eu-west-1"])
    assert given.accounts == (PROD_WEB, "ou:Production/*")
    document = given.to_document()
    assert (document["accounts"], document["regions"]) == ([PROD_WEB, "ou:Production/*"], ["eu-west-1"])
    assert Grant.model_validate(document) == given
    assert "accounts" not in grant().to_document()


@pytest.mark.parametrize(
    ("overrides", "says"),
    [
        ({"accounts": ["12345"]}, "exactly 12 digits"),
        ({"accounts": ["ou:Production//Web"]}, "empty OU name"),
        ({"regions": ["Europe"]}, "not a region name"),
    ],
)
def test_a_grant_with_a_malformed_place_is_refused(overrides: dict[str, Any], says: str) -> None:
    with pytest.raises(ValueError, match=says):
        grant(**overrides)


# --- validation ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "entry", "says"),
    [
        pytest.param("accounts", '"12345678901"', "exactly 12 digits, not 11", id="11 digits"),
        pytest.param("accounts", "12345678901", "exactly 12 digits, not 11", id="an unquoted number"),
        pytest.param("accounts", '"1234567890123"', "exactly 12 digits, not 13", id="13 digits"),
        pytest.param("accounts", '"12345678901a"', "not an account id (12 digits) or an OU path", id="a letter"),
        pytest.param("accounts", '"prod-web"', "not an account id (12 digits) or an OU path", id="an account name"),
        pytest.param("accounts", '"1234*"', "not an account id (12 digits) or an OU path", id="an id glob"),
        pytest.param("accounts", '"ou:"', "names no OU", id="ou: alone"),
        pytest.param("accounts", '"ou:/*"', "names no OU", id="the root's subtree"),
        pytest.param("accounts", '"ou:Production//Web"', "empty OU name", id="an empty segment"),
        pytest.param("accounts", '"ou:/Production"', "empty OU name", id="a leading slash"),
        pytest.param("accounts", '"ou:Production/"', "empty OU name", id="a trailing slash"),
        pytest.param("accounts", '"ou:Production/ /Web"', "empty OU name", id="a blank segment"),
        pytest.param("accounts", '"ou:Prod*"', "takes no globs except a trailing /*", id="a glob in a name"),
        pytest.param("accounts", '"ou:Production/*/Web"', "takes no globs except a trailing /*", id="an inner star"),
        pytest.param("accounts", '"ou:Production/**"', "takes no globs except a trailing /*", id="a double star"),
        pytest.param("accounts", '"ou:Production /Web"', "begins or ends with a space", id="a padded name"),
        pytest.param("accounts", "'ou:Prod\\Web'", "escapes only '/' or", id="a backslash escaping nothing"),
        pytest.param("accounts", "'ou:Production\\'", "escapes only '/' or", id="a trailing backslash"),
        pytest.param("accounts", "true", "expected a string", id="a boolean"),
        pytest.param("accounts", "[]", "must not be empty", id="an empty list"),
        pytest.param("regions", '"US-EAST-1"', "not a region name", id="upper case"),
        pytest.param("regions", '"useast1"', "not a region name", id="no dashes"),
        pytest.param("regions", '"eu_*"', "not a region glob", id="a glob with another character"),
        pytest.param("regions", "[]", "must not be empty", id="no regions"),
    ],
)
def test_a_malformed_accounts_or_regions_entry_is_reported_with_its_path_value_and_line(
    field: str, entry: str, says: str
) -> None:
    # GIVEN a rule whose second entry (line 6) is malformed, or whose list is empty (line 4)
    if entry == "[]":
        text = f"version: 1\nrules:\n  - name: r\n    {field}: []\n"
        path, line = f"rules[0].{field}", 4
    else:
        text = f"version: 1\nrules:\n  - name: r\n    {field}:\n      - first\n      - {entry}\n"
        text = text.replace("first", "'222222222222'" if field == "accounts" else "us-east-1")
        path, line = f"rules[0].{field}[1]", 6
    # WHEN it is loaded
    with pytest.raises(PolicyError) as raised:
        load_policy(text, source="org.yaml")
    # THEN the issue names where, and what is wrong
    issue = raised.value.issues[0]
    assert (issue.path, issue.line) == (path, line)
    assert says in issue.message
    assert str(raised.value).startswith(f"org.yaml: line {line}: {path}: ")


@pytest.mark.parametrize(
    "entry",
    [
        "012345678901",
        "ou:Production",
        "ou:Production/*",
        "ou:Production/Web",
        "ou:Sandbox Team/QA",
        "ou:A/B/C/*",
        "ou:Production\\/Web",
        "ou:Ops\\\\/QA/*",
    ],
)
def test_well_formed_accounts_entries_load_and_survive_a_round_trip(entry: str) -> None:
    subject = policy(f"rules:\n  - name: r\n    accounts: ['{entry}']\n    regions: ['eu-*', 'us-east-1']\n")
    assert subject.rules[0].accounts == (entry,)
    assert load_policy(json.dumps(subject.to_document())) == subject


@pytest.mark.parametrize(
    "names",
    [
        ["Production", "Web"],
        ["Production/Web"],
        ["Ops\\", "QA"],
        ["Ops\\/QA"],
        ["\\"],
        ["a/", "/b", "c\\\\d"],
    ],
)
def test_an_ou_path_built_from_names_splits_back_into_exactly_those_names(names: list[str]) -> None:
    # GIVEN OU names as AWS allows them ('/' and '\\' included) WHEN the warden writes their path
    path = join_ou_path(names)
    # THEN it reads back as the same names, is a valid path, and no other hierarchy writes it
    assert split_ou_path(path) == names
    assert ou_path_problem(path) is None
    assert path != "/".join(names) or not any("/" in name or "\\" in name for name in names)


def test_an_ou_renamed_to_look_like_a_nested_path_gets_none_of_that_paths_rules() -> None:
    # GIVEN an allow rule for Production/Web, and an OU renamed "Production/Web" directly under the root
    subject = _allowing('["ou:Production/Web", "ou:Production/*"]')
    impostor = join_ou_path(["Production/Web"])
    # WHEN a session in an account of that OU is decided THEN the rule does not hold; in the real OU it does
    assert not _decide(subject, account=PROD_WEB, path=impostor).allowed
    assert _decide(subject, account=PROD_WEB, path=join_ou_path(["Production", "Web"])).allowed
