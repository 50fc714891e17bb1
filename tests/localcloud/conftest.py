"""Fixtures of the local cloud's own tests: a bare cloud, the test app's stack, and a tap on the event bus."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from warden_local import LocalCloud
from warden_local.pytest_plugin import START, EventTap, local_cloud

__all__ = ["START", "EventTap", "local_cloud"]

APP_TEMPLATE = Path(__file__).parent / "app" / "template.yaml"


@pytest.fixture
def bare_cloud() -> Iterator[LocalCloud]:
    """No stack: the AWS APIs, sessions, CloudTrail and the clock only."""
    with LocalCloud(template=None, start_at=START) as cloud:
        yield cloud


@pytest.fixture
def app_cloud() -> Iterator[LocalCloud]:
    """The test app (tests/localcloud/app): one function behind a rule and a schedule."""
    with LocalCloud(template=APP_TEMPLATE, start_at=START, stack_name="warden-test") as cloud:
        yield cloud


@pytest.fixture
def tap(bare_cloud: LocalCloud) -> EventTap:
    return EventTap(bare_cloud)
