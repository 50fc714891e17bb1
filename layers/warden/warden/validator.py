"""AppConfig's validator of the organization's policy: a version that does not load is never deployed.

AppConfig invokes the validator Lambda with the version's content base64-encoded in ``content``; raising refuses
the version, and AppConfig hands the message back to whoever called StartDeployment (``warden policy push``
prints it). The document goes through the same loader as the functions' read, nesting guard included.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping

from warden.adapters.policy_source import load_document
from warden.policy import PolicyError

# AppConfig shows the validator's message to the operator; a few issues say enough, and the rest are counted.
MAX_ISSUES_SHOWN = 5


class PolicyRefused(Exception):
    """The version is not a valid policy; the message names each problem (line and field)."""


def validate_version(event: object) -> str:
    """Validate the AppConfig validator event's content; a one-line summary, or :class:`PolicyRefused`."""
    if not isinstance(event, Mapping) or not isinstance(event.get("content"), str):
        raise PolicyRefused("the validator event has no content (expected AppConfig's base64 'content')")
    version = str(event.get("configurationVersion") or "?")[:20]
    try:
        text = base64.b64decode(str(event["content"]), validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        raise PolicyRefused(f"version {version}: the content is not UTF-8 text") from None
    source = f"version {version}"
    try:
        policy = load_document(text, source)
    except PolicyError as error:
        issues = [str(issue) for issue in error.issues] or [str(error)]
        shown = "; ".join(issues[:MAX_ISSUES_SHOWN])
        more = f" (and {len(issues) - MAX_ISSUES_SHOWN} more)" if len(issues) > MAX_ISSUES_SHOWN else ""
        raise PolicyRefused(f"{source} is not a valid Session Warden policy: {shown}{more}") from None
    return f"{source}: valid, {len(policy.rules)} rules"
