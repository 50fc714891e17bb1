"""Loading policy documents: what is accepted, and how every kind of mistake is reported."""

from __future__ import annotations

import json
import textwrap
from datetime import date, timedelta
from pathlib import Path

import pytest

from warden.policy import PolicyError, PolicyIssue, load_policy

EXAMPLE = Path(__file__).resolve().parents[3] / "policies" / "example.yaml"

VALID = """\
version: 1
mode: monitor
default: allow
timezone: Europe/Berlin
windows:
  business-hours:
    timezone: America/New_York
    weekly:
      - days: [mon, tue, wed, thu, fri]
        from: "08:00"
        to: "18:00"
    except: ["2026-12-24", 2026-12-25]
  saturday-night:
    weekly:
      - days: [SAT]
        from: "22:00"
        to: "04:00"
rules:
  - name: analysts-on-analytics
    principals: ["role:AWSReservedSSO_Analyst_*", "user:alice@example.com"]
    targets:
      tags: {Department: Analytics, Environment: [dev, "stag*"]}
      ids: ["i-0*"]
    documents: [SSM-SessionManagerRunShell]
    windows: [business-hours]
    max_duration: 1h30m
    require_reason: "^[A-Z]+-[0-9]+"
  - name: no-pci
    effect: Deny
    targets: {tags: {Compliance: pci}}
grants:
  max_duration: 8h
"""


def _load_issues(text: str) -> tuple[PolicyIssue, ...]:
    with pytest.raises(PolicyError) as raised:
        load_policy(textwrap.dedent(text), source="test.yaml")
    return raised.value.issues


def _line_containing(text: str, marker: str) -> int:
    lines = textwrap.dedent(text).splitlines()
    return next(number for number, line in enumerate(lines, start=1) if marker in line)


def test_a_complete_policy_loads_with_every_field_parsed() -> None:
    # GIVEN a policy using every field of section 2
    # WHEN it is loaded
    policy = load_policy(VALID)

    # THEN every value is parsed into its typed form
    assert (policy.version, policy.mode, policy.default, policy.timezone) == (1, "monitor", "allow", "Europe/Berlin")
    hours = policy.windows["business-hours"]
    assert hours.timezone == "America/New_York"
    assert hours.weekly[0].days == ("mon", "tue", "wed", "thu", "fri")
    assert (hours.weekly[0].from_, hours.weekly[0].to) == ("08:00", "18:00")
    assert hours.except_ == (date(2026, 12, 24), date(2026, 12, 25))
    assert policy.windows["saturday-night"].timezone is None
    assert policy.windows["saturday-night"].weekly[0].days == ("sat",)
    analysts, no_pci = policy.rules
    assert analysts.effect == "allow"
    assert analysts.targets is not None
    assert analysts.targets.tags == {"Department": ("Analytics",), "Environment": ("dev", "stag*")}
    assert analysts.targets.ids == ("i-0*",)
    assert analysts.max_duration == timedelta(hours=1, minutes=30)
    assert analysts.require_reason is not None
    assert analysts.require_reason.pattern == "^[A-Z]+-[0-9]+"
    assert no_pci.effect == "deny"
    assert no_pci.principals == ("*",)
    assert no_pci.documents is None
    assert no_pci.windows is None
    assert policy.grants is not None
    assert policy.grants.max_duration == timedelta(hours=8)


def test_defaults_apply_to_a_minimal_policy() -> None:
    policy = load_policy("version: 1\n")
    assert (policy.mode, policy.default, policy.timezone, dict(policy.windows), policy.rules, policy.grants) == (
        "enforce",
        "deny",
        "UTC",
        {},
        (),
        None,
    )


def test_to_document_round_trips_through_json() -> None:
    # GIVEN a loaded policy
    policy = load_policy(VALID)

    # WHEN it is dumped to JSON and loaded again
    document = policy.to_document()
    again = load_policy(json.dumps(document))

    # THEN nothing is lost or changed
    assert again.to_document() == document
    assert again == policy
    assert document["rules"][0]["max_duration"] == "1h30m"  # type: ignore[index]
    assert document["windows"]["business-hours"]["except"] == ["2026-12-24", "2026-12-25"]  # type: ignore[index]


def test_json_documents_load_even_when_indented_with_tabs() -> None:
    # GIVEN a JSON policy indented with tabs (valid JSON, invalid YAML)
    text = '{\n\t"version": 1,\n\t"rules": [\n\t\t{"name": "all", "effect": "allow"}\n\t]\n}'
    # WHEN it is loaded
    # THEN it is read as JSON
    assert load_policy(text).rules[0].name == "all"


def test_mistakes_in_tab_indented_json_still_carry_their_line() -> None:
    text = '{\n\t"version": 1,\n\t"rules": [\n\t\t{"name": "all", "efect": "allow"}\n\t]\n}'
    (issue,) = _load_issues(text)
    assert (issue.path, issue.line) == ("rules[0].efect", 4)


def test_bytes_with_a_byte_order_mark_load() -> None:
    assert load_policy("\ufeffversion: 1\n".encode()).version == 1


@pytest.mark.parametrize(
    ("yaml_value", "expected"),
    [
        ("18:00", "18:00"),  # YAML 1.1 would read the base-60 integer 1080
        ("8:00", "08:00"),
        ("24:00", "24:00"),
    ],
)
def test_unquoted_times_are_read_as_text(yaml_value: str, expected: str) -> None:
    policy = load_policy(
        f"version: 1\nwindows:\n  w:\n    weekly:\n      - days: [mon]\n        from: 00:30\n        to: {yaml_value}\n"
    )
    assert policy.windows["w"].weekly[0].to == expected


@pytest.mark.parametrize("word", ["yes", "no", "on", "off", "y", "n"])
def test_yaml_1_1_booleans_stay_text_in_tag_values(word: str) -> None:
    # GIVEN a tag value that YAML 1.1 would turn into a boolean
    policy = load_policy(f"version: 1\nrules:\n  - name: r\n    targets: {{tags: {{Backup: {word}}}}}\n")
    # THEN it stays the text the operator wrote
    targets = policy.rules[0].targets
    assert targets is not None
    assert targets.tags == {"Backup": (word,)}


def test_an_empty_rules_or_windows_key_reads_as_empty() -> None:
    policy = load_policy("version: 1\nwindows:\nrules:\n")
    assert (dict(policy.windows), policy.rules) == ({}, ())


# Each case: a document, the marker of the offending line, the issue's path, value and message.
INVALID = [
    pytest.param(
        """\
        windows:
          business-hours: {weekly: [{days: [mon], from: "08:00", to: "18:00"}]}
        rules:
          - name: r
            windows: [business-hours, busness-hours]
        """,
        "busness-hours]",
        "rules[0].windows[1]",
        "busness-hours",
        "unknown window 'busness-hours' (did you mean 'business-hours'?)",
        id="unknown window",
    ),
    pytest.param(
        "timezone: Europe/Berln\n",
        "Berln",
        "timezone",
        "Europe/Berln",
        "unknown time zone 'Europe/Berln'",
        id="unknown policy time zone",
    ),
    pytest.param(
        """\
        windows:
          w:
            timezone: Mars/Olympus_Mons
            weekly: [{days: [mon], from: "08:00", to: "18:00"}]
        """,
        "Mars",
        "windows.w.timezone",
        "Mars/Olympus_Mons",
        "unknown time zone 'Mars/Olympus_Mons'",
        id="unknown window time zone",
    ),
    pytest.param(
        """\
        rules:
          - name: r
            require_reason: "[A-Z"
        """,
        "require_reason",
        "rules[0].require_reason",
        "[A-Z",
        "invalid regex '[A-Z': missing ]: [A-Z (require_reason uses RE2 syntax: no backreferences or lookaround)",
        id="invalid regex",
    ),
    pytest.param(
        """\
        windows:
          w:
            weekly:
              - days: [mon, mond]
                from: "08:00"
                to: "18:00"
        """,
        "mond",
        "windows.w.weekly[0].days[1]",
        "mond",
        "unknown day 'mond'",
        id="unknown day",
    ),
    pytest.param(
        """\
        windows:
          w:
            weekly:
              - days: [mon]
                from: "8:61"
                to: "18:00"
        """,
        "8:61",
        "windows.w.weekly[0].from",
        "8:61",
        "invalid time '8:61': expected HH:MM",
        id="minutes out of range",
    ),
    pytest.param(
        """\
        windows:
          w:
            weekly:
              - days: [mon]
                from: "08:00"
                to: "25:00"
        """,
        "25:00",
        "windows.w.weekly[0].to",
        "25:00",
        "invalid time '25:00'",
        id="hour out of range",
    ),
    pytest.param(
        """\
        windows:
          w:
            weekly:
              - days: [mon]
                from: "24:00"
                to: "08:00"
        """,
        "24:00",
        "windows.w.weekly[0].from",
        "24:00",
        "a window must open before 24:00",
        id="opening at 24:00",
    ),
    pytest.param(
        """\
        windows:
          w:
            weekly:
              - days: [mon]
                from: noon
                to: "18:00"
        """,
        "noon",
        "windows.w.weekly[0].from",
        "noon",
        "invalid time 'noon'",
        id="time that is not HH:MM",
    ),
    pytest.param(
        """\
        windows:
          w:
            weekly: [{days: [mon], from: "08:00", to: "18:00"}]
            except: ["2026-13-01"]
        """,
        "2026-13-01",
        "windows.w.except[0]",
        "2026-13-01",
        "invalid date '2026-13-01': expected YYYY-MM-DD",
        id="invalid except date",
    ),
    pytest.param(
        """\
        windows:
          w:
            weekly: []
        """,
        "weekly",
        "windows.w.weekly",
        [],
        "must not be empty",
        id="window without weekly entries",
    ),
    pytest.param(
        """\
        rules:
          - name: r
            max_duration: 2 hours
        """,
        "max_duration",
        "rules[0].max_duration",
        "2 hours",
        "invalid duration '2 hours'",
        id="bad duration",
    ),
    pytest.param(
        """\
        rules:
          - name: r
            max_duration: 0m
        """,
        "max_duration",
        "rules[0].max_duration",
        "0m",
        "must be longer than zero",
        id="zero duration",
    ),
    pytest.param(
        """\
        rules:
          - name: r
            effect: alow
        """,
        "alow",
        "rules[0].effect",
        "alow",
        "unknown effect 'alow': expected allow or deny",
        id="unknown effect",
    ),
    pytest.param("version: 2\n", "version", "version", 2, "unsupported version 2, expected 1", id="version 2"),
    pytest.param(
        'version: "one"\n', "version", "version", "one", "unsupported version 'one', expected 1", id="version text"
    ),
    pytest.param("mode: enforcing\n", "mode", "mode", "enforcing", "unknown mode 'enforcing'", id="unknown mode"),
    pytest.param("default: maybe\n", "default", "default", "maybe", "unknown default 'maybe'", id="unknown default"),
    pytest.param(
        """\
        rules:
          - name: twice
          - name: twice  # again
        """,
        "again",
        "rules[1].name",
        "twice",
        "duplicate rule name 'twice' (also rules[0])",
        id="duplicate rule name",
    ),
    pytest.param(
        """\
        rules:
          - name: r
            efect: deny
        """,
        "efect",
        "rules[0].efect",
        "efect",
        "unknown field 'efect' (did you mean 'effect'?)",
        id="unknown rule field",
    ),
    pytest.param(
        """\
        rule:
          - name: r
        """,
        "rule:",
        "rule",
        "rule",
        "unknown field 'rule' (did you mean 'rules'?)",
        id="unknown top-level field",
    ),
    pytest.param(
        """\
        windows:
          w:
            weekly:
              - days: [mon]
                form: "08:00"
                to: "18:00"
        """,
        "form",
        "windows.w.weekly[0].form",
        "form",
        "unknown field 'form' (did you mean 'from'?)",
        id="unknown weekly field",
    ),
    pytest.param(
        """\
        rules:
          - effect: allow
        """,
        "effect",
        "rules[0].name",
        None,
        "missing required field",
        id="missing rule name",
    ),
    pytest.param(
        """\
        rules:
          - name: "  "
        """,
        "name",
        "rules[0].name",
        "  ",
        "must not be empty",
        id="blank rule name",
    ),
    pytest.param(
        """\
        rules:
          - name: r
            principals: ["usr:bob"]
        """,
        "usr:bob",
        "rules[0].principals[0]",
        "usr:bob",
        "unknown principal pattern 'usr:bob'",
        id="unknown principal kind",
    ),
    pytest.param(
        """\
        rules:
          - name: r
            principals: []
        """,
        "principals",
        "rules[0].principals",
        [],
        "must not be empty",
        id="no principals",
    ),
    pytest.param(
        """\
        rules:
          - name: r
            targets: {tags: {Tier: 1}}
        """,
        "Tier",
        "rules[0].targets.tags.Tier",
        1,
        "tag value 1 must be a string or a list of strings",
        id="tag value that is a number",
    ),
    pytest.param(
        """\
        rules:
          - name: r
            targets: {idz: [i-1]}
        """,
        "idz",
        "rules[0].targets.idz",
        "idz",
        "unknown field 'idz' (did you mean 'ids'?)",
        id="unknown targets field",
    ),
    pytest.param(
        """\
        rules:
          - name: r
            effect: deny
            require_reason: "^INC-"
        """,
        "require_reason",
        "rules[0].require_reason",
        "^INC-",
        "require_reason is only meaningful on allow rules",
        id="require_reason on a deny rule",
    ),
    pytest.param(
        """\
        rules:
          - name: r
            effect: deny
            max_duration: 1h
        """,
        "max_duration",
        "rules[0].max_duration",
        "1h",
        "max_duration is only meaningful on allow rules",
        id="max_duration on a deny rule",
    ),
    pytest.param(
        """\
        rules:
          - name: r
            documents: SSM-SessionManagerRunShell
        """,
        "documents",
        "rules[0].documents",
        "SSM-SessionManagerRunShell",
        "expected a list, got string",
        id="documents that is not a list",
    ),
    pytest.param(
        """\
        rules:
          - just-a-name
        """,
        "just-a-name",
        "rules[0]",
        "just-a-name",
        "expected a mapping, got string",
        id="rule that is not a mapping",
    ),
    pytest.param(
        """\
        timezone: UTC
        timezone: Europe/Berlin
        """,
        "Europe/Berlin",
        "timezone",
        "timezone",
        "duplicate key 'timezone'",
        id="duplicate key",
    ),
]


@pytest.mark.parametrize(("text", "marker", "path", "value", "message"), INVALID)
def test_each_kind_of_mistake_names_its_path_value_and_line(
    text: str, marker: str, path: str, value: object, message: str
) -> None:
    # GIVEN a policy with one mistake
    if "version:" not in text:
        text = "version: 1\n" + textwrap.dedent(text)

    # WHEN it is loaded
    issues = _load_issues(text)

    # THEN that mistake is reported once, with its path, value, message and line
    matching = [issue for issue in issues if issue.path == path]
    assert len(matching) == 1, [str(issue) for issue in issues]
    (issue,) = matching
    assert issue.path == path
    assert issue.value == value
    assert message in issue.message
    assert issue.line == _line_containing(text, marker)
    assert str(issue) == f"line {issue.line}: {path}: {issue.message}"


def test_the_error_message_names_the_file_line_path_and_value() -> None:
    # GIVEN a policy file with a misspelt window
    text = "version: 1\nrules:\n  - name: r\n    windows: [busness-hours]\n"

    # WHEN it is loaded
    with pytest.raises(PolicyError) as raised:
        load_policy(text, source="example.yaml")

    # THEN the one-line error says where and what
    assert str(raised.value) == "example.yaml: line 4: rules[0].windows[0]: unknown window 'busness-hours'"
    assert raised.value.source == "example.yaml"


def test_every_problem_is_reported_not_just_the_first() -> None:
    # GIVEN a policy with problems in several places, structural and cross-referencing
    text = textwrap.dedent(
        """\
        version: 1
        timezone: Nowhere/Special
        windows:
          w:
            weekly: [{days: [funday], from: "08:00", to: "18:00"}]
        rules:
          - name: a
            efect: deny
          - name: a
            windows: [v]
        """
    )

    # WHEN it is loaded
    with pytest.raises(PolicyError) as raised:
        load_policy(text, source="p.yaml")

    # THEN all of them are listed in document order, and the message counts the rest
    assert [(issue.line, issue.path) for issue in raised.value.issues] == [
        (2, "timezone"),
        (5, "windows.w.weekly[0].days[0]"),
        (8, "rules[0].efect"),
        (9, "rules[1].name"),
        (10, "rules[1].windows[0]"),
    ]
    assert str(raised.value).startswith("p.yaml: line 2: timezone: unknown time zone 'Nowhere/Special'")
    assert str(raised.value).endswith("(and 4 more)")


@pytest.mark.parametrize(
    ("text", "line"),
    [
        pytest.param("version: 1\nrules:\n  - name: a\n   effect: deny\n", 4, id="bad indentation"),
        pytest.param("version: 1\nrules: [\n", 3, id="unclosed flow sequence"),
        pytest.param('version: 1\nmode: "enforce\n', 3, id="unterminated string"),
        pytest.param("version: 1\n\tmode: enforce\n", 2, id="tab indentation"),
        pytest.param("version: 1\nwindows:\n  w:\n    except: [2026-02-30]\n", 4, id="impossible date"),
        pytest.param("version: 1\n---\nversion: 1\n", 2, id="two documents"),
        pytest.param('{\n  "version": 1,\n  "rules": [,]\n}', 3, id="broken JSON"),
    ],
)
def test_syntax_errors_carry_their_line(text: str, line: int) -> None:
    # GIVEN a document that does not parse
    # WHEN it is loaded
    issues = _load_issues(text)
    # THEN the single issue gives the line where parsing failed
    assert len(issues) == 1
    assert issues[0].line == line
    assert "syntax error" in issues[0].message


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param("", "empty policy document", id="empty"),
        pytest.param("# only a comment\n", "empty policy document", id="only comments"),
        pytest.param("- version: 1\n", "a policy must be a mapping", id="a list"),
        pytest.param("just text\n", "a policy must be a mapping", id="a string"),
    ],
)
def test_documents_that_are_not_a_mapping_are_refused(text: str, message: str) -> None:
    issues = _load_issues(text)
    assert message in issues[0].message
    assert issues[0].line == 1


def test_bytes_that_are_not_utf8_are_refused_with_their_line() -> None:
    with pytest.raises(PolicyError) as raised:
        load_policy(b"version: 1\nmode: \xff\n")
    assert raised.value.issues == (PolicyIssue("", None, "the document is not UTF-8 text", 2),)


def test_alias_bombs_are_refused_instead_of_expanded() -> None:
    # GIVEN a tiny document whose aliases expand to millions of values
    lines = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    for name, previous in zip("bcdefg", "abcdef", strict=True):
        lines.append(f"{name}: &{name} [" + ", ".join([f"*{previous}"] * 10) + "]")
    # WHEN it is loaded
    issues = _load_issues("\n".join(lines))
    # THEN it is refused promptly
    assert "document too large" in issues[0].message


def test_policy_error_survives_pickling() -> None:
    import pickle

    error = PolicyError([PolicyIssue("mode", "x", "unknown mode 'x'", 2)], source="p.yaml")
    again = pickle.loads(pickle.dumps(error))
    assert (again.issues, again.source, str(again)) == (error.issues, "p.yaml", str(error))


def test_policy_issue_without_a_line_or_path_reads_plainly() -> None:
    assert str(PolicyIssue("", None, "empty policy document")) == "empty policy document"
    assert str(PolicyIssue("mode", "x", "unknown mode 'x'")) == "mode: unknown mode 'x'"


def test_the_example_policy_loads_and_fits_in_a_standard_parameter() -> None:
    # GIVEN the shipped example (the default value of the policy parameter)
    raw = EXAMPLE.read_bytes()
    # WHEN it is loaded
    policy = load_policy(raw, source="example.yaml")
    # THEN it is valid, small, and shows the features it documents
    assert len(raw) < 3_500
    assert {rule.name for rule in policy.rules} >= {"no-pci", "analysts-on-analytics", "ops-on-call-maintenance"}
    assert policy.windows["business-hours"].except_
    assert policy.windows["business-hours"].timezone == "Europe/Berlin"
    assert not any(
        rule.effect == "allow" and rule.targets is not None and "prod" in str(rule.targets.tags)
        for rule in policy.rules
    )
