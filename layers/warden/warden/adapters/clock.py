"""Clock adapters: real time in Lambda; the local cloud's emulated clock over HTTP."""

from __future__ import annotations

import json
import urllib.request
from datetime import UTC, datetime

from warden.timefmt import parse_iso


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class HttpClock:
    """Reads "now" from the local cloud (``WARDEN_CLOCK_URL``), so handlers and the emulated APIs share one clock."""

    def __init__(self, url: str, *, timeout: float = 5.0) -> None:
        if not url.startswith(("http://127.", "http://localhost", "http://[::1]")):
            raise ValueError(f"WARDEN_CLOCK_URL must point at the local cloud on loopback, got {url!r}")
        self._url = url
        self._timeout = timeout

    def now(self) -> datetime:
        with urllib.request.urlopen(self._url, timeout=self._timeout) as response:  # noqa: S310 - loopback only
            payload = json.loads(response.read())
        return parse_iso(str(payload["now"]))
