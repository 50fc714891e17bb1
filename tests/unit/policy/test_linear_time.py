"""Nothing a user types can slow a decision down: reasons are searched by RE2, globs never backtrack."""

from __future__ import annotations

import pytest

from warden.policy import PolicyError, Principal, decide

from .support import policy, request

WORST = "^([A-Z]+-?)+[0-9]+$"


@pytest.mark.parametrize(
    ("reason", "allowed"),
    [
        ("A" * 256, False),  # Python's re takes longer than any Lambda timeout on this one
        ("AB-" * 85 + "X", False),
        ("ABC-DEF-123", True),
        ("INC" * 80 + "-42", True),
    ],
)
def test_the_catastrophic_regex_decides_a_256_character_reason(reason: str, allowed: bool) -> None:
    # GIVEN an allow rule whose require_reason backtracks exponentially in a backtracking engine
    subject = policy(f"rules:\n  - {{name: ticketed, require_reason: '{WORST}'}}\n")
    # WHEN a session with a long reason is decided, THEN it is decided, by the regex's meaning
    assert decide(subject, request(reason=reason), [], request().started).allowed is allowed


@pytest.mark.parametrize(
    ("pattern", "says"),
    [
        (r"^(INC)-[0-9]+ \1$", "invalid escape sequence"),
        ("^(?=INC)", "invalid perl operator"),
        ("(?<!x)INC", "invalid perl operator"),
        ("(?>INC)", "invalid perl operator"),
        ("(a{1000}){1000}", "invalid repetition size"),
        ("[A-Z", "missing ]"),
    ],
)
def test_a_regex_re2_cannot_run_is_rejected_with_its_field_and_value(pattern: str, says: str) -> None:
    with pytest.raises(PolicyError) as raised:
        policy(f"rules:\n  - name: r\n    require_reason: '{pattern}'\n")
    (issue,) = raised.value.issues
    assert (issue.path, issue.value, issue.line) == ("rules[0].require_reason", pattern, 4)
    assert says in issue.message
    assert "RE2 syntax" in issue.message


def test_a_reason_pattern_is_searched_not_matched_whole() -> None:
    subject = policy("rules:\n  - {name: r, require_reason: '[A-Z]+-[0-9]+'}\n")
    assert decide(subject, request(reason="fixing INC-42 today"), [], request().started).allowed


@pytest.mark.parametrize(
    "field",
    [
        "targets: {tags: {Team: '*a*a*a*a*a*a*a*a*b'}}",
        "targets: {ids: ['*a*a*a*a*a*a*a*a*b']}",
        "principals: ['user:*a*a*a*a*a*a*a*a*b']",
        "documents: ['*a*a*a*a*a*a*a*a*b']",
    ],
)
def test_a_glob_of_many_stars_against_a_long_value_is_decided(field: str) -> None:
    # GIVEN a glob that a backtracking translation would take hours on, and values of 5,000 'a's
    subject = policy(f"rules:\n  - {{name: r, {field}}}\n")
    long = "a" * 5000
    principal = Principal(arn=f"arn:aws:iam::111122223333:user/{long}", kind="IAMUser", user=long)
    session = request(principal=principal, target=long, tags={"Team": long}, document=long)
    # WHEN decided, THEN the glob does not match (no 'b'), and it matches once a 'b' ends the value
    assert not decide(subject, session, [], session.started).allowed
    matching = request(
        principal=Principal(arn="arn:aws:iam::1:user/x", kind="IAMUser", user=long + "b"),
        target=long + "b",
        tags={"Team": long + "b"},
        document=long + "b",
    )
    assert decide(subject, matching, [], matching.started).allowed


@pytest.mark.parametrize(
    ("glob", "value", "matches"),
    [
        ("*", "", True),
        ("a*c", "ac", True),
        ("a*c", "abxc", True),
        ("a*b*c", "acb", False),
        ("*ab*ab", "abab", True),
        ("*aa*a", "aaa", True),
        ("*aa*a", "aa", False),
        ("x**y", "xy", True),
        ("?*?", "a", False),
        ("?*?", "ab", True),
        ("*.dev.internal", "db.dev.internal", True),
        ("*.dev.internal", "dev.internal", False),
        ("a*", "a\nb", True),
    ],
)
def test_globs_keep_their_meaning(glob: str, value: str, matches: bool) -> None:
    subject = policy(f"rules:\n  - {{name: r, targets: {{tags: {{K: {glob!r}}}}}}}\n")
    assert decide(subject, request(tags={"K": value}), [], request().started).allowed is matches
