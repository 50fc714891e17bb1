"""AWS AppConfig as the organization's policy store needs it, where moto stops: environments, deployment strategies,
deployments that run the profile's Lambda validators, the 2 MB hosted-version limit, appconfigdata's configuration
sessions, and the CloudFormation types of all of them.

moto keeps applications, configuration profiles and hosted versions; the rest lives here, on moto's backend object
(so moto's reset clears it too). Strict as AWS: a validator that raises fails StartDeployment with
BadRequestException and its message, and nothing is deployed; a deployment runs on the emulated clock; one
deployment at a time per environment; appconfigdata tokens are good for one call and 24 hours, a session may not
poll sooner than its minimum interval, and an unchanged configuration answers an empty body.

The pieces: :mod:`warden_local.appconfig_model` (records, errors, quotas), :mod:`warden_local.appconfig_control`
(applications, profiles, environments, strategies), :mod:`warden_local.appconfig_deployments` (deployments and their
Lambda validators), :mod:`warden_local.appconfig_cfn` (the CloudFormation types); this module adds appconfigdata's
configuration sessions and is what the rest of the local cloud imports.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

from .appconfig_cfn import CFN_TYPES, install_cloudformation_models
from .appconfig_deployments import AppConfigDeployments
from .appconfig_model import (
    LOCK,
    MAX_HOSTED_BYTES,
    MIN_POLL_SECONDS,
    TOKEN_LIFETIME,
    AppConfigError,
    DataSession,
    Deployment,
    Environment,
    Extra,
    Strategy,
    Validators,
    backend,
    extra,
)

__all__ = [
    "CFN_TYPES",
    "MAX_HOSTED_BYTES",
    "MIN_POLL_SECONDS",
    "TOKEN_LIFETIME",
    "AppConfigApi",
    "AppConfigError",
    "DataSession",
    "Deployment",
    "Environment",
    "Extra",
    "Strategy",
    "Validators",
    "backend",
    "extra",
    "install_cloudformation_models",
]


class AppConfigApi(AppConfigDeployments):
    """The AppConfig operations moto lacks, for one account and region, on the emulated clock."""

    def start_session(self, body: dict[str, Any]) -> str:
        interval = int(body.get("RequiredMinimumPollIntervalInSeconds") or 60)
        if not MIN_POLL_SECONDS <= interval <= 86400:
            raise AppConfigError("BadRequestException", "RequiredMinimumPollIntervalInSeconds must be 15-86400")
        app = self.application(str(body.get("ApplicationIdentifier", "")))
        env = self.environment(app.id, str(body.get("EnvironmentIdentifier", "")))
        profile = self.profile(app.id, str(body.get("ConfigurationProfileIdentifier", "")))
        session = DataSession(app.id, env.id, profile.id, interval, self.now() + TOKEN_LIFETIME)
        return self._token(session)

    def _token(self, session: DataSession) -> str:
        token = secrets.token_urlsafe(32)
        with LOCK:
            self.extra.tokens[token] = session
        return token

    def latest(self, token: str) -> tuple[bytes, str, str, int]:
        """(content or b"" when unchanged, content type, next token, next interval)."""
        with LOCK:
            session = self.extra.tokens.pop(token, None)
        now = self.now()
        if session is None or now >= session.expires_at:
            raise AppConfigError("BadRequestException", "The configuration token is invalid, expired or already used")
        if session.last_poll is not None and now - session.last_poll < timedelta(seconds=session.interval):
            raise AppConfigError("BadRequestException", "Request too early: the session's minimum poll interval")
        self.profile(session.application_id, session.profile_id)  # deleted since: ResourceNotFoundException
        self.environment(session.application_id, session.environment_id)
        deployment = self.deployed(session.application_id, session.environment_id, session.profile_id)
        content, content_type = b"", "application/octet-stream"
        if deployment is not None:
            content_type = deployment.content_type
            if deployment.number != session.seen:
                content, session.seen = deployment.content, deployment.number
        session.last_poll = now
        session.expires_at = now + TOKEN_LIFETIME
        return content, content_type, self._token(session), session.interval
