"""The recorded payloads are valid, scrubbed, and documented."""

from __future__ import annotations

import ipaddress
import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.contract.conftest import EVENTS_DIR

ALL_PAYLOADS = sorted(EVENTS_DIR.rglob("*.json"))
# The caller's account, a second one, and the owner of a shared document in another account
EXAMPLE_ACCOUNTS = {"123456789012", "111122223333", "999988887777"}
# RFC 5737 documentation ranges
EXAMPLE_NETWORKS = [ipaddress.ip_network(net) for net in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24")]
AWS_SERVICE = re.compile(r"^[a-z0-9-]+\.amazonaws\.com$")


def _strings(node: Any) -> list[str]:
    if isinstance(node, dict):
        return [text for key, value in node.items() for text in (str(key), *_strings(value))]
    if isinstance(node, list):
        return [text for item in node for text in _strings(item)]
    return [str(node)]


def _values(node: Any, key: str) -> list[Any]:
    if isinstance(node, dict):
        found = [node[key]] if key in node else []
        return found + [value for child in node.values() for value in _values(child, key)]
    if isinstance(node, list):
        return [value for item in node for value in _values(item, key)]
    return []


def test_there_are_payloads() -> None:
    assert len(ALL_PAYLOADS) >= 30


@pytest.mark.parametrize("path", ALL_PAYLOADS, ids=lambda path: str(path.relative_to(EVENTS_DIR)))
def test_payload_is_an_eventbridge_cloudtrail_envelope(path: Path) -> None:
    event = json.loads(path.read_text(encoding="utf-8"))

    assert set(event) >= {"version", "id", "detail-type", "source", "account", "time", "region", "resources", "detail"}
    assert event["detail-type"] == "AWS API Call via CloudTrail"
    assert event["time"] == event["detail"]["eventTime"]
    assert event["source"] == "aws." + event["detail"]["eventSource"].removesuffix(".amazonaws.com")


@pytest.mark.parametrize("path", ALL_PAYLOADS, ids=lambda path: str(path.relative_to(EVENTS_DIR)))
def test_payload_is_scrubbed(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    event = json.loads(text)

    accounts = set(re.findall(r"(?<![0-9A-Za-z])[0-9]{12}(?![0-9A-Za-z])", text))
    assert accounts <= EXAMPLE_ACCOUNTS, f"real-looking account ids: {accounts - EXAMPLE_ACCOUNTS}"

    for source_ip in _values(event, "sourceIPAddress"):
        if AWS_SERVICE.match(source_ip):
            continue
        address = ipaddress.ip_address(source_ip)
        assert any(address in net for net in EXAMPLE_NETWORKS), f"not a documentation address: {source_ip}"

    for key_id in _values(event, "accessKeyId"):
        assert key_id == "" or key_id.endswith("EXAMPLE"), key_id
    for token in _values(event, "tokenValue"):
        assert token == "Value hidden due to security reasons."
    for text_value in _strings(event):
        assert "@" not in text_value or "@example.com" in text_value, text_value


def test_readme_describes_every_payload() -> None:
    readme = (EVENTS_DIR / "README.md").read_text(encoding="utf-8")

    for path in ALL_PAYLOADS:
        assert str(path.relative_to(EVENTS_DIR)) in readme, path.name
