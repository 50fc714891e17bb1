"""The policy in force in organization mode, from AWS AppConfig (appconfigdata); an unusable document never wins.

AppConfig holds documents far larger than a parameter (hundreds of rules), keeps every version, and runs the
profile's validator before a version is deployed. The functions read what is deployed to the environment with
appconfigdata's configuration session: StartConfigurationSession once, then GetLatestConfiguration with the token
the previous call returned, which answers an empty body while the deployed version is unchanged.

Read with boto3, not Powertools' AppConfigProvider: the provider keeps a session token that went bad (expired
after 24 hours idle, or the profile re-created) for the life of the container, turns a first empty answer (nothing
deployed) into the document ``""``, and caches on the host's clock; here the cache and the poll interval follow the
Clock port, a refused token starts a new session once, and nothing deployed is a missing policy.

The integrity rules are the parameter source's (one :class:`~warden.adapters.policy_source.PolicyKeeper`): the
last valid policy stays in force from memory, else from the durable copy; one policy-rejected or policy-missing
alert; enforcement never switches off. AppConfig's validator already refused invalid versions, so the keeper
consults no history: a version that still fails here came around the validator (an UpdateConfigurationProfile
that removed it, which the tamper watch reports).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Protocol

from warden.adapters.aws import aws_call, error_code
from warden.adapters.policy_source import PolicyKeeper
from warden.errors import AwsCallFailed
from warden.policy import Policy
from warden.ports import Clock

# The shortest interval appconfigdata accepts; a session's client may not poll sooner (BadRequestException).
MIN_POLL_SECONDS = 15


class AppConfigData(Protocol):
    """The two appconfigdata calls (boto3's client has them; the unit tests' fake too)."""

    def start_configuration_session(self, **kwargs: Any) -> Any: ...

    def get_latest_configuration(self, **kwargs: Any) -> Any: ...


class NothingDeployed(Exception):
    """The environment serves no configuration for the profile (nothing deployed yet, or the profile is empty)."""


class AppConfigPolicySource:
    """The policy deployed to ``environment`` for ``profile`` of ``application``, polled at most every ``max_age``
    seconds (never sooner than appconfigdata allows), kept valid by ``keeper``."""

    def __init__(
        self,
        data: AppConfigData,
        *,
        application: str,
        environment: str,
        profile: str,
        max_age: int,
        keeper: PolicyKeeper,
        clock: Clock,
    ) -> None:
        self._data = data
        self._identifiers = {
            "ApplicationIdentifier": application,
            "EnvironmentIdentifier": environment,
            "ConfigurationProfileIdentifier": profile,
        }
        self._interval = timedelta(seconds=max(max_age, MIN_POLL_SECONDS))
        self._keeper = keeper
        self._clock = clock
        self._token: str | None = None
        self._text: str | None = None  # the deployed document as last received
        self._next_poll: datetime | None = None
        self._failure: Exception | None = None  # the last read's failure, told again until the next poll

    def current(self) -> Policy:
        now = self._clock.now()
        if self._next_poll is not None and now < self._next_poll:
            if self._text is not None:
                return self._keeper.accept(self._text)
            return self._keeper.missing(self._failure or NothingDeployed(self._nothing()))
        try:
            text = self._poll(now)
        except (AwsCallFailed, NothingDeployed) as error:
            # Asked again after the interval, not on every read (each StartConfigurationSession is a priced call).
            self._next_poll, self._failure = now + self._interval, error
            return self._keeper.missing(error)
        return self._keeper.accept(text)

    def _poll(self, now: datetime) -> str:
        try:
            answer = self._latest()
        except AwsCallFailed as error:
            if error_code(error) != "BadRequestException":
                raise
            # An expired or already-used token: one new session, then the failure is real.
            self._token = None
            answer = self._latest()
        body = answer.get("Configuration")
        content = body.read() if hasattr(body, "read") else (body or b"")
        self._token = str(answer.get("NextPollConfigurationToken") or "") or None
        wait = answer.get("NextPollIntervalInSeconds")
        seconds = max(self._interval.total_seconds(), float(wait) if isinstance(wait, int | float) else 0.0)
        self._next_poll = now + timedelta(seconds=seconds)
        if content:
            self._text = bytes(content).decode("utf-8", "replace")
        if self._text is None:
            raise NothingDeployed(self._nothing())
        return self._text

    def _nothing(self) -> str:
        return (
            f"no configuration is deployed to environment {self._identifiers['EnvironmentIdentifier']} for "
            f"profile {self._identifiers['ConfigurationProfileIdentifier']}"
        )

    def _latest(self) -> Any:
        if self._token is None:
            with aws_call("StartConfigurationSession"):
                started = self._data.start_configuration_session(
                    **self._identifiers, RequiredMinimumPollIntervalInSeconds=MIN_POLL_SECONDS
                )
            self._token = str(started["InitialConfigurationToken"])
        token, self._token = self._token, None  # a token is good for one call, whatever it answers
        with aws_call("GetLatestConfiguration"):
            return self._data.get_latest_configuration(ConfigurationToken=token)
