"""`warden policy validate FILE`: a summary when valid, every issue with its file and line when not."""

from __future__ import annotations

import textwrap
from collections.abc import Callable

import pytest

from tests.cli.conftest import ROOT, run_warden

Write = Callable[[str, str], str]


def test_a_valid_policy_is_summarised_in_one_line(policy_file: str) -> None:
    # GIVEN a valid policy with three rules and one window
    # WHEN it is validated
    result = run_warden("policy", "validate", policy_file)
    # THEN it exits 0 with a one-line summary naming the file
    assert result.code == 0, result.stderr
    assert result.lines == [f"{policy_file}: valid — 3 rules, 1 window, mode enforce, default deny"]


def test_the_example_policy_is_valid() -> None:
    example = ROOT / "policies" / "example.yaml"
    if not example.exists():
        pytest.skip("policies/example.yaml is not written yet")
    result = run_warden("policy", "validate", "policies/example.yaml")
    assert result.code == 0, result.stdout + result.stderr
    assert result.stdout.startswith("policies/example.yaml: valid — ")


def test_every_issue_is_listed_with_file_line_and_field(write: Write) -> None:
    # GIVEN a policy with an unknown window, a bad time zone and a duplicate rule name
    path = write(
        "bad.yaml",
        textwrap.dedent(
            """\
            version: 1
            windows:
              night:
                timezone: Mars/Olympus
                weekly:
                  - {days: [mon], from: "22:00", to: "04:00"}
            rules:
              - name: a
                windows: [nigth]
              - name: a
            """
        ),
    )
    # WHEN it is validated
    result = run_warden("policy", "validate", path)
    # THEN it exits 2 and prints every issue on stderr, one per line, prefixed like every error, the file and the line
    assert result.code == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert all(line.startswith(f"warden: error: {path}: line ") for line in lines), result.stderr
    text = result.stderr
    assert "Mars/Olympus" in text
    assert "line 10: rules[1].name: duplicate rule name 'a'" in text
    assert len(lines) >= 2


def test_an_unknown_window_names_the_field_path_and_value(write: Write) -> None:
    path = write(
        "unknown-window.yaml",
        "version: 1\nwindows:\n  day: {weekly: [{days: [mon], from: '08:00', to: '18:00'}]}\n"
        "rules:\n  - name: r\n    windows: [day, x]\n",
    )
    result = run_warden("policy", "validate", path)
    assert result.code == 2
    assert f"warden: error: {path}: line 6: rules[0].windows[1]: unknown window 'x'" in result.stderr


def test_a_yaml_syntax_error_names_its_line(write: Write) -> None:
    # GIVEN a document whose flow sequence is never closed on line 4
    path = write("syntax.yaml", "version: 1\nrules:\n  - name: a\n    principals: [user:alice\n  - name: b\n")
    # WHEN it is validated
    result = run_warden("policy", "validate", path)
    # THEN the error names the file and a line, and says it is YAML syntax
    assert result.code == 2
    assert result.stderr.startswith(f"warden: error: {path}: line ")
    assert "YAML" in result.stderr


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        ("version: 2\n", "version"),
        ("version: 1\nmode: audit\n", "audit"),
        ("version: 1\nrules:\n  - name: r\n    effect: permit\n", "permit"),
        ("version: 1\nrules:\n  - name: r\n    max_duration: 2 hours\n", "2 hours"),
        ("version: 1\nrules:\n  - name: r\n    require_reason: '[A-Z'\n", "[A-Z"),
        ("version: 1\nwindows:\n  w: {weekly: [{days: [funday], from: '08:00', to: '18:00'}]}\n", "funday"),
        ("version: 1\nwindows:\n  w: {weekly: [{days: [mon], from: '25:00', to: '18:00'}]}\n", "25:00"),
    ],
    ids=["version", "mode", "effect", "duration", "regex", "day", "time"],
)
def test_each_kind_of_semantic_error_exits_2_naming_the_value(write: Write, document: str, expected: str) -> None:
    path = write("policy.yaml", document)
    result = run_warden("policy", "validate", path)
    assert result.code == 2
    assert expected in result.stderr
    assert all(line.startswith(f"warden: error: {path}: ") for line in result.stderr.splitlines())


def test_a_missing_file_exits_2_naming_it(tmp_path: object) -> None:
    result = run_warden("policy", "validate", "no/such/policy.yaml")
    assert result.code == 2
    assert "no/such/policy.yaml" in result.stderr
    assert result.stderr.startswith("warden: error: ")
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_directory_is_not_a_policy_file(tmp_path: object) -> None:
    result = run_warden("policy", "validate", "events")
    assert result.code == 2
    assert "events: is a directory" in result.stderr


def test_a_binary_file_exits_2_naming_it(write: Write, tmp_path: object) -> None:
    path = write("binary.yaml", "")
    with open(path, "wb") as handle:
        handle.write(b"\xff\xfe\x00garbage")
    result = run_warden("policy", "validate", path)
    assert result.code == 2
    assert path in result.stderr
