"""AppConfig's validator: a version that does not load is refused with a message naming the line and field."""

from __future__ import annotations

import base64

import pytest

from warden.validator import PolicyRefused, validate_version

GOOD = (
    "version: 1\ndefault: deny\nrules:\n  - name: ops\n    principals: ['user:ops']\n    targets: {tags: {Env: dev}}\n"
)


def _event(text: str, version: str = "3") -> dict[str, str]:
    return {
        "applicationId": "abc1234",
        "configurationProfileId": "def5678",
        "configurationVersion": version,
        "content": base64.b64encode(text.encode()).decode(),
        "uri": "hosted",
    }


def test_a_valid_version_passes_with_its_rule_count() -> None:
    assert validate_version(_event(GOOD)) == "version 3: valid, 1 rules"


def test_an_invalid_version_is_refused_naming_the_line_and_the_field() -> None:
    broken = GOOD.replace("name: ops", "name: ops\n    effect: maybe")
    with pytest.raises(
        PolicyRefused, match=r"version 7 is not a valid Session Warden policy: line 5: rules\[0\]\.effect"
    ):
        validate_version(_event(broken, "7"))


def test_a_document_nested_absurdly_deep_is_refused_before_it_is_parsed() -> None:
    with pytest.raises(PolicyRefused, match="nests deeper than 64 levels"):
        validate_version(_event("[" * 5000))


@pytest.mark.parametrize("event", [{}, {"content": 5}, "not an event", {"content": "!!!not base64!!!"}])
def test_an_event_without_base64_content_is_refused(event: object) -> None:
    with pytest.raises(PolicyRefused):
        validate_version(event)
