"""What a change to the Session Manager preferences (``SSM-SessionManagerRunShell``) changed, setting by setting."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

# Session Manager's idle timeout when the preferences name none (minutes).
_DEFAULT_IDLE_MINUTES = 20


def preference_changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """What changed between two versions of the Session Manager preferences (their ``inputs``), one line each:
    logging turned off, encryption removed and timeouts raised first and named as such, then any other setting."""
    before, after = _inputs(old), _inputs(new)
    lines: list[str] = []
    for key, what in (("s3BucketName", "S3 transcripts"), ("cloudWatchLogGroupName", "CloudWatch Logs transcripts")):
        was, now = _text(before.get(key)), _text(after.get(key))
        if was and not now:
            lines.append(f"{what} turned off: {key} {was!r} -> none")
    for key, what in (
        ("s3EncryptionEnabled", "S3 transcript encryption"),
        ("cloudWatchEncryptionEnabled", "CloudWatch Logs transcript encryption"),
    ):
        if _flag(before.get(key)) and not _flag(after.get(key)):
            lines.append(f"{what} removed: {key} true -> false")
    was_key, now_key = _text(before.get("kmsKeyId")), _text(after.get("kmsKeyId"))
    if was_key and not now_key:
        lines.append(f"KMS encryption of session data removed: kmsKeyId {was_key!r} -> none")
    idle_was, idle_now = _minutes(before.get("idleSessionTimeout")), _minutes(after.get("idleSessionTimeout"))
    if (idle_now or _DEFAULT_IDLE_MINUTES) > (idle_was or _DEFAULT_IDLE_MINUTES):
        lines.append(
            f"idle timeout raised: idleSessionTimeout {idle_was or _DEFAULT_IDLE_MINUTES} -> "
            f"{idle_now or _DEFAULT_IDLE_MINUTES} minutes"
        )
    max_was, max_now = _minutes(before.get("maxSessionDuration")), _minutes(after.get("maxSessionDuration"))
    if max_was and (max_now is None or max_now > max_was):
        shown = f"{max_now} minutes" if max_now else "none (no maximum)"
        lines.append(f"maximum session duration raised: maxSessionDuration {max_was} minutes -> {shown}")
    named = {
        "s3BucketName",
        "cloudWatchLogGroupName",
        "s3EncryptionEnabled",
        "cloudWatchEncryptionEnabled",
        "kmsKeyId",
        "idleSessionTimeout",
        "maxSessionDuration",
    }
    reported = {line.split(": ", 1)[1].split(" ", 1)[0] for line in lines}
    for key in sorted(set(before) | set(after)):
        if key in reported or before.get(key) == after.get(key):
            continue
        if key in named or isinstance(before.get(key, ""), str | bool | int | None):
            lines.append(f"{key}: {_shown(before.get(key))} -> {_shown(after.get(key))}")
        else:
            lines.append(f"{key} changed")
    return lines


def preferences_of(content: str | None) -> Mapping[str, Any]:
    """The preferences document's JSON (empty when unreadable: every setting then counts as unset)."""
    if not content:
        return {}
    try:
        document = json.loads(content)
    except (json.JSONDecodeError, RecursionError):
        return {}
    return document if isinstance(document, Mapping) else {}


def _inputs(document: Mapping[str, Any]) -> Mapping[str, Any]:
    inputs = document.get("inputs")
    return inputs if isinstance(inputs, Mapping) else {}


def _text(value: object) -> str:
    return value.strip() if isinstance(value, str) else ""


def _flag(value: object) -> bool:
    return value is True or (isinstance(value, str) and value.lower() == "true")


def _minutes(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value > 0 else None
    if isinstance(value, str) and value.strip().isdigit():
        number = int(value.strip())
        return number if number > 0 else None
    return None


def _shown(value: object) -> str:
    if value is None or value == "":
        return "none"
    text = json.dumps(value) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
