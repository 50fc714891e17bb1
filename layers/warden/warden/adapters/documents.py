"""What a Session document does, read with ``ssm:GetDocument`` and kept per container."""

from __future__ import annotations

import json
from collections import OrderedDict
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from warden.adapters.aws import error_code
from warden.observability import count, logger
from warden.policy import DEFAULT_DOCUMENT, SessionType, aws_document_session_type, session_type_from_content

if TYPE_CHECKING:
    from mypy_boto3_ssm import SSMClient

# Documents are few and rarely change; a bound keeps a flood of distinct names from growing the container.
_CACHE_LIMIT = 256


class SsmSessionDocuments:
    """``session_type(document)``: the AWS-provided ones from what AWS wrote in them (no call), others by GetDocument.

    A document that cannot be read (missing, another account's, no permission, throttled, not JSON) is
    ``None``, which rules with ``session_types`` treat as unknown: never an allowance. Unreadable documents are not
    cached, so the next session tries again; readable ones are kept for the container's life, at most ``limit``
    of them. The default version is read, the one StartSession runs.
    """

    def __init__(self, ssm: SSMClient, *, account: str | None, limit: int = _CACHE_LIMIT) -> None:
        self._ssm = ssm
        self._account = account
        self._limit = limit
        self._known: OrderedDict[str, SessionType | None] = OrderedDict()

    def session_type(self, document: str) -> SessionType | None:
        known = aws_document_session_type(document)
        if known is not None:
            return known
        if document in self._known:
            self._known.move_to_end(document)
            return self._known[document]
        if not self._readable(document):
            return None
        found = self._read(document)
        if found is not None:
            self._known[document] = found
            while len(self._known) > self._limit:
                self._known.popitem(last=False)
        return found

    def _readable(self, document: str) -> bool:
        # Another account's document (an ARN naming that account) is shared at its owner's will and read with a
        # permission the warden does not hold: it is not read, and its session type is unknown.
        if not document.startswith("arn:"):
            return True
        parts = document.split(":", 5)
        return len(parts) == 6 and parts[4] in ("", self._account)

    def _read(self, document: str) -> SessionType | None:
        try:
            response = self._ssm.get_document(Name=document, DocumentFormat="JSON")
        except (ClientError, BotoCoreError) as error:
            if document == DEFAULT_DOCUMENT and error_code(error) == "InvalidDocument":
                # An account whose Session Manager preferences were never saved has no such document: StartSession
                # then runs its built-in default, a shell. Once saved, it is read like any other.
                return "shell"
            count("DocumentUnreadable")
            logger.warning(
                "cannot read session document: its session type is unknown",
                extra={"document": document, "error": error_code(error) or type(error).__name__},
            )
            return None
        content: Any
        try:
            content = json.loads(response.get("Content") or "")
        except ValueError:
            content = None
        kind = session_type_from_content(content) if isinstance(content, dict) else None
        if kind is None:
            count("DocumentUnreadable")
            logger.warning("session document names no session type the warden knows", extra={"document": document})
        return kind
