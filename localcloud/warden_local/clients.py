"""boto3 clients of one local cloud, cached per service and access key, from one process-wide boto3 session."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from .identity import Credentials


class Clients:
    """The clients a :class:`~warden_local.cloud.LocalCloud` hands out (created once each unless a config is given)."""

    def __init__(self, endpoint: Callable[[], str], region: str) -> None:
        self._endpoint = endpoint
        self._region = region
        self._cache: dict[tuple[str, str, str], Any] = {}

    def client(self, service: str, *, credentials: Credentials, config: Any = None, region: str | None = None) -> Any:
        region = region or self._region
        key = (service, credentials.access_key_id, region)
        if config is None and key in self._cache:
            return self._cache[key]
        with _BOTO_LOCK:
            client = _boto_session().client(
                service,
                endpoint_url=self._endpoint(),
                region_name=region,
                config=config,
                **credentials.client_kwargs(),
            )
        if config is None:
            self._cache[key] = client
        return client


_BOTO_LOCK = threading.Lock()
_BOTO_SESSION: Any = None


def _boto_session() -> Any:
    # One session for every cloud of the process: it caches the service models, so a client costs milliseconds.
    # Not the default session, which would cache whichever credentials it met first. Callers hold _BOTO_LOCK.
    global _BOTO_SESSION
    if _BOTO_SESSION is None:
        import boto3

        _BOTO_SESSION = boto3.session.Session()
    return _BOTO_SESSION
