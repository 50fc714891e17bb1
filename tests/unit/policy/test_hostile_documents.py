"""No silent off-switch: whatever a policy document is, loading it either succeeds or raises PolicyError."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from warden.policy import MAX_POLICY_BYTES, MAX_POLICY_DEPTH, PolicyError, decide, load_policy

from .support import policy, request

LEVELS = 5000
EXAMPLE = (Path(__file__).resolve().parents[3] / "policies" / "example.yaml").read_text()

HOSTILE = {
    "YAML, 5,000 nested [": "version: 1\nrules: " + "[" * LEVELS + "]" * LEVELS + "\n",
    "YAML, 5,000 nested {": "version: 1\nrules: " + "{a: " * LEVELS + "1" + "}" * LEVELS + "\n",
    "JSON, 5,000 nested [": '{"version": 1, "rules": ' + "[" * LEVELS + "]" * LEVELS + "}",
    "JSON, 5,000 nested {": '{"version": 1, "rules": ' + '{"a": ' * LEVELS + "1" + "}" * LEVELS + "}",
    "JSON with tabs, 5,000 nested [": '{\t"version": 1,\t"rules": ' + "[" * LEVELS + "]" * LEVELS + "}",
    "YAML block sequence, 3,000 dashes on one line": "version: 1\nrules:\n" + "- " * 3000 + "x\n",
    "YAML block mapping, 300 indented levels": "version: 1\nwindows:\n"
    + "".join(" " * i + "a:\n" for i in range(1, 301)),
    "YAML aliases nesting each other": "version: 1\nx0: &x0 [1]\n"
    + "".join(f"x{i}: &x{i} [*x{i - 1}]\n" for i in range(1, 200)),
    "nesting hidden after a quote in a comment": "version: 1 # don't\nrules: " + "[" * LEVELS + "]" * LEVELS,
}


@pytest.mark.parametrize("text", list(HOSTILE.values()), ids=list(HOSTILE))
def test_a_deeply_nested_document_is_rejected_before_it_is_parsed(text: str) -> None:
    # GIVEN a document nested thousands of levels deep (PyYAML and json would raise RecursionError)
    # WHEN it is loaded
    with pytest.raises(PolicyError) as raised:
        load_policy(text, source="policy.yaml")
    # THEN it is one clear rejection naming the limit
    assert len(raised.value.issues) == 1
    assert f"nests more than {MAX_POLICY_DEPTH} levels deep" in str(raised.value)


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        pytest.param(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "not UTF-8 text", id="a PNG"),
        pytest.param("version: 1\x00rules: []", "binary, not text", id="a NUL in text"),
        pytest.param(b"version: 1\nrules: []\x00", "binary, not text", id="a NUL in bytes"),
        pytest.param("version: 1\nrules: []\n".encode("utf-16"), "not UTF-8 text", id="UTF-16"),
        pytest.param("version: 1\nx: \ud800\n", "YAML syntax error", id="a lone surrogate"),
        pytest.param("version: 1\n#" + "x" * MAX_POLICY_BYTES, f"more than the {MAX_POLICY_BYTES}", id="huge text"),
        pytest.param(b"version: 1\n#" + b"x" * MAX_POLICY_BYTES, f"more than the {MAX_POLICY_BYTES}", id="huge bytes"),
        pytest.param("é" * (MAX_POLICY_BYTES // 2 + 1), f"more than the {MAX_POLICY_BYTES}", id="huge in UTF-8 only"),
        pytest.param("- 1\n- 2\n", "must be a mapping", id="a list"),
        pytest.param("42", "must be a mapping", id="a number"),
        pytest.param("", "empty policy document", id="empty"),
        pytest.param(None, "expected the document's text, got NoneType", id="not text at all"),
        pytest.param("x: " + "*a " * 10, "YAML syntax error", id="undefined aliases"),
        pytest.param("version: " + "1" * 5000, "could not be read (ValueError", id="an integer too long to convert"),
        pytest.param("version: !!python/object:os.system x", "could not determine a constructor", id="a Python tag"),
    ],
)
def test_anything_else_that_is_not_a_policy_is_one_clear_policy_error(raw: object, says: str) -> None:
    with pytest.raises(PolicyError) as raised:
        load_policy(raw, source="policy.yaml")  # type: ignore[arg-type]  # hostile input on purpose
    assert says in str(raised.value)
    assert str(raised.value).startswith("policy.yaml: ")


def test_a_billion_laughs_document_is_rejected() -> None:
    text = "version: 1\na: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{name}: &{name} [{', '.join([f'*{previous}'] * 10)}]\n"
        for previous, name in zip("abcdefg", "bcdefgh", strict=True)
    )
    with pytest.raises(PolicyError, match="document too large"):
        load_policy(text)


def test_the_example_policy_loads_in_yaml_and_in_json_within_the_limits() -> None:
    # GIVEN the example policy, as YAML and converted to compact and indented JSON
    as_yaml = load_policy(EXAMPLE)
    document = as_yaml.to_document()
    # WHEN each is loaded, THEN each gives the same policy: real policies are far inside the limits
    assert load_policy(json.dumps(document)) == as_yaml
    assert load_policy(json.dumps(document, indent=4)) == as_yaml


def test_brackets_and_quotes_inside_strings_do_not_count_as_nesting() -> None:
    subject = policy(
        """\
        rules:
          - name: "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["
            require_reason: 'it''s \\[\\[\\[\\[\\[\\[\\[\\[\\[\\[\\[\\[\\[\\[\\[\\[\\[\\[\\[\\[\\[\\[\\[\\[\\[\\[\\[\\[\\[\\[\\[\\[\\[\\[\\[\\[\\[\\[\\[\\['
            targets: {tags: {Note: "{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{"}}  # [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[
        """
    )
    assert [rule.name for rule in subject.rules] == ["[" * 50]


def test_a_block_scalar_may_hold_anything() -> None:
    body = "rules:\n  - name: r\n    require_reason: |-\n      " + "[" * 100 + " \" don't\n"
    with pytest.raises(PolicyError, match="invalid regex"):
        policy(body)  # RE2 rejects the regex, not the nesting scan


def test_a_policy_that_loaded_still_decides() -> None:
    subject = policy("rules: [{name: r}]\n")
    assert decide(subject, request(), [], request().started).allowed
