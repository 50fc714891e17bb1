"""What a Session document does, read with ``ssm:GetDocument`` and kept per container."""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from warden.adapters.aws import aws_call, error_code
from warden.errors import AwsCallFailed
from warden.observability import count, logger
from warden.policy import (
    DEFAULT_DOCUMENT,
    SessionType,
    aws_document_session_type,
    session_target_from_content,
    session_type_from_content,
)

if TYPE_CHECKING:
    from mypy_boto3_ssm import SSMClient

# Documents are few and rarely change; a bound keeps a flood of distinct names from growing the container.
_CACHE_LIMIT = 256


# The built-in default an account without saved Session Manager preferences runs: a shell.
_DEFAULT_SHELL: dict[str, Any] = {"sessionType": "Standard_Stream"}


class SsmSessionDocuments:
    """What a Session document does: AWS-provided ones from what AWS wrote in them (no call), others by GetDocument.

    ``session_type(document)`` classifies; ``session_target(document, parameters, ...)`` also says which remote host
    a tunnel dials (the document's ``properties.host``, resolved from the session's parameters).

    A document that cannot be read (missing, another account's, no permission, throttled, not JSON) is
    ``None``, which rules with ``session_types`` treat as unknown: never an allowance. Unreadable documents are not
    cached, so the next session tries again; readable ones are kept for the container's life, at most ``limit``
    of them. The default version is read, the one StartSession runs.
    """

    def __init__(self, ssm: SSMClient, *, account: str | None, limit: int = _CACHE_LIMIT) -> None:
        self._ssm = ssm
        self._account = account
        self._limit = limit
        self._known: OrderedDict[str, Mapping[str, Any]] = OrderedDict()

    def session_type(self, document: str) -> SessionType | None:
        known = aws_document_session_type(document)
        if known is not None:
            return known
        content = self._content(document)
        return session_type_from_content(content) if content is not None else None

    def session_target(
        self,
        document: str,
        parameters: Mapping[str, Any] | None,
        *,
        parameters_hidden: bool,
        named_host: str | None,
    ) -> tuple[SessionType | None, str | None]:
        known = aws_document_session_type(document)
        if known is not None:
            # AWS's remote-host document dials exactly its `host` parameter, which the event parser read.
            return known, (named_host if known == "remote-port" else None)
        content = self._content(document)
        if content is None:
            return None, None
        return session_target_from_content(content, parameters, parameters_hidden=parameters_hidden)

    def _content(self, document: str) -> Mapping[str, Any] | None:
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

    def _read(self, document: str) -> Mapping[str, Any] | None:
        try:
            with aws_call("GetDocument"):
                response = self._ssm.get_document(Name=document, DocumentFormat="JSON")
        except AwsCallFailed as error:
            if document == DEFAULT_DOCUMENT and error_code(error) == "InvalidDocument":
                # An account whose Session Manager preferences were never saved has no such document: StartSession
                # then runs its built-in default, a shell. Once saved, it is read like any other.
                return _DEFAULT_SHELL
            count("DocumentUnreadable")
            logger.warning(
                "cannot read session document: its session type is unknown",
                extra={"document": document, "error": error_code(error) or type(error.__cause__).__name__},
            )
            return None
        content: Any
        try:
            content = json.loads(response.get("Content") or "")
        except ValueError:
            content = None
        if not isinstance(content, dict) or session_type_from_content(content) is None:
            count("DocumentUnreadable")
            logger.warning("session document names no session type the warden knows", extra={"document": document})
            return None
        return content
