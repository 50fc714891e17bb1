"""Now, for the CLI: the local cloud's emulated clock when the endpoint is on loopback, else the system clock."""

from __future__ import annotations

import ipaddress
from datetime import datetime
from urllib.parse import urlsplit

from warden_cli.errors import EXIT_DENIED, CliError

CLOCK_PATH = "/_warden/clock"


def local_endpoint(endpoint: str | None) -> str | None:
    """The endpoint (``AWS_ENDPOINT_URL``) when it points at the local cloud on loopback, else None."""
    endpoint = (endpoint or "").strip().rstrip("/")
    if not endpoint:
        return None
    host = urlsplit(endpoint).hostname or ""
    if host == "localhost":
        return endpoint
    try:
        return endpoint if ipaddress.ip_address(host).is_loopback else None
    except ValueError:
        return None


def now(endpoint: str | None) -> datetime:
    """The emulated clock of the local cloud at ``endpoint`` when it is loopback, else system time."""
    local = local_endpoint(endpoint)
    if local is None:
        from warden.adapters.clock import SystemClock

        return SystemClock().now()
    from warden.adapters.clock import HttpClock

    url = local + CLOCK_PATH
    try:
        return HttpClock(url).now()
    except (OSError, ValueError, KeyError) as error:
        raise CliError(
            f"AWS_ENDPOINT_URL: cannot read the local cloud's clock at {url} ({error}): is it running? "
            "(explain also takes --at)",
            code=EXIT_DENIED,
        ) from None
