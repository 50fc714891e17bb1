"""The organization's policy from AppConfig: the deployed version in force, the last valid one kept otherwise."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.fakes import FakeClock, FakeState
from warden.adapters.appconfig_source import MIN_POLL_SECONDS, AppConfigPolicySource
from warden.adapters.policy_source import PolicyKeeper
from warden.errors import PolicyUnavailable
from warden.policy import PolicyError

MONDAY = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
GOOD = (
    "version: 1\ndefault: deny\nrules:\n  - name: ops\n    principals: ['user:ops']\n    targets: {tags: {Env: dev}}\n"
)
BETTER = GOOD.replace("name: ops", "name: ops-v2")
BROKEN = "version: 1\nrules:\n  - name: x\n    effect: maybe\n"


class FakeAppConfigData:
    """appconfigdata as AWS answers it: one-use tokens, a minimum poll interval, an empty body when unchanged."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.deployed: str | None = None
        self.deleted = False
        self.sessions = 0
        self.polls = 0
        self._tokens: dict[str, dict[str, Any]] = {}  # token -> session state

    def start_configuration_session(self, **kwargs: Any) -> dict[str, Any]:
        if self.deleted:
            raise _error("StartConfigurationSession", "ResourceNotFoundException", "Profile not found")
        self.sessions += 1
        interval = int(kwargs.get("RequiredMinimumPollIntervalInSeconds", 60))
        assert interval >= MIN_POLL_SECONDS
        token = f"t{self.sessions}-0"
        self._tokens[token] = {"seen": None, "interval": interval, "last": None}
        return {"InitialConfigurationToken": token}

    def get_latest_configuration(self, *, ConfigurationToken: str) -> dict[str, Any]:
        session = self._tokens.pop(ConfigurationToken, None)
        if session is None:
            raise _error("GetLatestConfiguration", "BadRequestException", "Token is invalid or has been used")
        if self.deleted:
            raise _error("GetLatestConfiguration", "ResourceNotFoundException", "Profile not found")
        now = self.clock.now()
        last = session["last"]
        if last is not None and now - last < timedelta(seconds=session["interval"]):
            raise _error("GetLatestConfiguration", "BadRequestException", "Request too early")
        self.polls += 1
        body = b""
        if self.deployed is not None and session["seen"] != self.deployed:
            body = self.deployed.encode()
            session["seen"] = self.deployed
        session["last"] = now
        token = f"{ConfigurationToken}+"
        self._tokens[token] = session
        return {
            "Configuration": io.BytesIO(body),
            "NextPollConfigurationToken": token,
            "NextPollIntervalInSeconds": session["interval"],
        }

    def expire_tokens(self) -> None:
        self._tokens.clear()


def _error(operation: str, code: str, message: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}}, operation)


class World:
    def __init__(self, *, max_age: int = 60) -> None:
        self.clock = FakeClock(MONDAY)
        self.data = FakeAppConfigData(self.clock)
        self.state = FakeState(self.clock)
        self.rejected: list[tuple[str, str]] = []
        self.missing: list[tuple[str, str]] = []
        self.max_age = max_age
        self.source = self.fresh_container()

    def fresh_container(self) -> AppConfigPolicySource:
        keeper = PolicyKeeper(
            "AppConfig warden/org/policy",
            on_reject=lambda digest, error, in_force: self.rejected.append((str(error), in_force)),
            on_missing=lambda problem, in_force: self.missing.append((problem, in_force)),
            copy=self.state,
            clock=self.clock,
        )
        return AppConfigPolicySource(
            self.data,
            application="warden",
            environment="org",
            profile="policy",
            max_age=self.max_age,
            keeper=keeper,
            clock=self.clock,
        )

    def rule_names(self) -> list[str]:
        return [rule.name for rule in self.source.current().rules]


def test_the_deployed_version_is_the_policy_and_is_kept_as_the_durable_copy() -> None:
    world = World()
    world.data.deployed = GOOD
    assert world.rule_names() == ["ops"]
    assert world.state.policy is not None and world.state.policy.text == GOOD


def test_reads_within_the_cache_make_no_call_and_a_new_deployment_is_in_force_after_it() -> None:
    # GIVEN a policy read once
    world = World(max_age=60)
    world.data.deployed = GOOD
    world.rule_names()
    # WHEN a new version is deployed and the functions read within the minute THEN no call is made
    world.data.deployed = BETTER
    world.clock.advance(seconds=30)
    assert world.rule_names() == ["ops"]
    assert world.data.polls == 1
    # AND after it the same session (its next token) brings the new version
    world.clock.advance(seconds=31)
    assert world.rule_names() == ["ops-v2"]
    assert (world.data.sessions, world.data.polls) == (1, 2)


def test_an_unchanged_deployment_answers_an_empty_body_and_the_policy_stays() -> None:
    world = World(max_age=0)
    world.data.deployed = GOOD
    for _ in range(3):
        assert world.rule_names() == ["ops"]
        world.clock.advance(seconds=MIN_POLL_SECONDS)
    assert world.data.polls == 3 and world.missing == [] and world.rejected == []


def test_the_poll_never_comes_sooner_than_appconfigdata_allows_even_with_no_cache() -> None:
    world = World(max_age=0)
    world.data.deployed = GOOD
    world.rule_names()
    world.clock.advance(seconds=1)
    # WHEN read again a second later THEN the policy comes from memory, not from a call AWS would refuse
    assert world.rule_names() == ["ops"]
    assert world.data.polls == 1 and world.missing == []


def test_an_expired_token_starts_a_new_session_once_and_nothing_is_alerted() -> None:
    world = World()
    world.data.deployed = GOOD
    world.rule_names()
    world.data.expire_tokens()
    world.clock.advance(hours=25)
    assert world.rule_names() == ["ops"]
    assert world.data.sessions == 2 and world.missing == []


def test_a_deleted_profile_keeps_the_last_valid_policy_from_memory_and_alerts_missing() -> None:
    world = World()
    world.data.deployed = GOOD
    world.rule_names()
    world.data.deleted = True
    world.clock.advance(minutes=2)
    assert world.rule_names() == ["ops"]
    [(problem, in_force)] = world.missing
    assert "ResourceNotFoundException" in problem
    assert "previous valid version" in in_force


def test_a_cold_container_with_the_profile_deleted_enforces_the_durable_copy() -> None:
    world = World()
    world.data.deployed = GOOD
    world.rule_names()
    world.data.deleted = True
    world.source = world.fresh_container()
    assert world.rule_names() == ["ops"]
    [(_, in_force)] = world.missing
    assert "kept copy" in in_force


def test_nothing_deployed_and_no_copy_fails_closed_naming_the_environment() -> None:
    world = World()
    with pytest.raises(PolicyUnavailable, match="no configuration is deployed to environment org"):
        world.source.current()
    assert len(world.missing) == 1


def test_an_invalid_deployed_version_is_rejected_and_the_previous_valid_one_stays() -> None:
    # GIVEN a valid policy in force, WHEN a version that does not validate is served (the validator was removed)
    world = World()
    world.data.deployed = GOOD
    world.rule_names()
    world.data.deployed = BROKEN
    world.clock.advance(minutes=2)
    # THEN the valid one stays, one rejection names the field, and the copy still holds the valid document
    assert world.rule_names() == ["ops"]
    [(error, in_force)] = world.rejected
    assert "effect" in error and "previous valid version" in in_force
    assert world.state.policy is not None and world.state.policy.text == GOOD


def test_an_invalid_version_in_a_cold_container_with_no_copy_is_a_policy_error_not_enforcement_off() -> None:
    world = World()
    world.data.deployed = BROKEN
    with pytest.raises(PolicyUnavailable) as raised:
        world.source.current()
    assert isinstance(raised.value.__cause__, PolicyError)
    assert world.rejected and world.rejected[0][1].startswith("none: no valid policy exists")


def test_a_store_that_cannot_be_read_is_asked_again_after_the_interval_not_on_every_read() -> None:
    world = World(max_age=60)
    world.data.deployed = GOOD
    world.rule_names()
    world.data.deleted = True
    world.clock.advance(minutes=2)
    sessions = world.data.sessions
    for _ in range(5):
        assert world.rule_names() == ["ops"]
    # one new session tried (the token was used up by the failed poll), then nothing until the interval has passed
    assert world.data.sessions - sessions <= 1
    world.data.deleted = False
    world.clock.advance(seconds=61)
    assert world.rule_names() == ["ops"]
    assert world.data.sessions - sessions >= 1
