"""What a Session document does, read with ``ssm:GetDocument`` and kept per container."""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from botocore.exceptions import BotoCoreError, ClientError

from warden.adapters.aws import aws_call, error_code
from warden.adapters.clock import SystemClock
from warden.errors import AwsCallFailed
from warden.observability import count, logger
from warden.policy import (
    DEFAULT_DOCUMENT,
    SessionLogging,
    SessionType,
    aws_document_logging,
    aws_document_session_type,
    document_logging,
    not_saved_logging,
    port_logging,
    session_target_from_content,
    session_type_from_content,
    unreadable_logging,
)
from warden.policy.documents import document_ref
from warden.ports import Clock

if TYPE_CHECKING:
    from mypy_boto3_ssm import SSMClient

# Documents are few and rarely change; a bound keeps a flood of distinct names from growing the container.
_CACHE_LIMIT = 256
# How long a read document is trusted before it is read again: a new default version (ssm:UpdateDocument +
# UpdateDocumentDefaultVersion) is what StartSession runs from then on, and is seen within this time.
MAX_AGE = timedelta(seconds=60)


# The built-in default an account without saved Session Manager preferences runs: a shell.
_DEFAULT_SHELL: dict[str, Any] = {"sessionType": "Standard_Stream"}


class SsmSessionDocuments:
    """What a Session document does: AWS-provided ones from what AWS wrote in them (no call), others by GetDocument.

    ``session_type(document)`` classifies; ``session_target(document, parameters, ...)`` also says which remote host
    a tunnel dials (the document's ``properties.host``, resolved from the session's parameters).

    A document that cannot be read (missing, another account's, no permission, throttled, not JSON) is
    ``None``, which rules with ``session_types`` treat as unknown: never an allowance. Unreadable documents are not
    cached, so the next session tries again; readable ones are kept for ``max_age`` (by the Clock port, or by the
    moment given to :meth:`forget_preferences`: an event or a sweep decides at one moment), at most ``limit`` of
    them. The default version is read, the one StartSession runs: neither StartSession's response, its CloudTrail
    record nor DescribeSessions names the version a session ran, so a session is judged by its document's default
    version as of at most ``max_age`` ago, not by the version it started with.
    """

    def __init__(
        self,
        ssm: SSMClient,
        *,
        account: str | None,
        limit: int = _CACHE_LIMIT,
        clock: Clock | None = None,
        max_age: timedelta = MAX_AGE,
    ) -> None:
        self._ssm = ssm
        self._account = account
        self._limit = limit
        self._clock: Clock = clock or SystemClock()
        self._max_age = max_age
        self._known: OrderedDict[str, tuple[datetime, Mapping[str, Any]]] = OrderedDict()
        # Read afresh after each forget_preferences(): logging settings may change while sessions are open.
        self._fresh: dict[str, Mapping[str, Any] | str] = {}
        # The moment the current event or sweep decides at (forget_preferences): no clock read per session.
        self._as_of: datetime | None = None
        # The session type of each kept copy, worked out once per copy (a sweep asks it for every session).
        self._types: dict[str, tuple[Mapping[str, Any], SessionType | None]] = {}

    def session_type(self, document: str) -> SessionType | None:
        known = aws_document_session_type(document)
        if known is not None:
            return known
        content = self._content(document)
        if content is None:
            return None
        known_type = self._types.get(document)
        if known_type is not None and known_type[0] is content:
            return known_type[1]
        found = session_type_from_content(content)
        if len(self._types) >= self._limit:
            self._types.clear()
        self._types[document] = (content, found)
        return found

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

    def session_logging(self, document: str) -> SessionLogging:
        """Whether and where Session Manager logs a session of *document* (see :mod:`warden.policy.session_logs`).

        Read afresh once per :meth:`forget_preferences`, never from the long-lived cache. A document or preferences
        that cannot be read give ``unknown``, which ``require_logging`` treats as not logged.
        """
        known = aws_document_logging(document)
        if known == "port":
            return port_logging(document)
        if known is None:
            if not self._readable(document):
                return unreadable_logging(
                    document_ref(document).name, "another account's document, which Session Warden does not read"
                )
            found = self._fresh_logging(document)
            if found != "preferences":
                return found
        found = self._fresh_logging(DEFAULT_DOCUMENT)
        return (
            found if found != "preferences" else unreadable_logging(DEFAULT_DOCUMENT, "not a Standard_Stream document")
        )

    def _fresh_logging(self, document: str) -> SessionLogging | Literal["preferences"]:
        content = self._read_fresh(document)
        if isinstance(content, str):
            return unreadable_logging(document_ref(document).name, content)
        if content is _DEFAULT_SHELL:
            return not_saved_logging()
        return document_logging(document, content)

    def forget_preferences(self, now: datetime | None = None) -> None:
        """Read documents afresh for :meth:`session_logging` (once per event, once per sweep).

        With *now* (the moment the event or sweep decides at), the kept copies' age is judged at that moment until
        the next call instead of by a clock read per document: a sweep of thousands of sessions reads it once.
        """
        self._fresh.clear()
        self._as_of = now

    def _read_fresh(self, document: str) -> Mapping[str, Any] | str:
        """The document's content, or what went wrong (a problem in words)."""
        if document not in self._fresh:
            try:
                response = self._ssm.get_document(Name=document, DocumentFormat="JSON")
            except (ClientError, BotoCoreError) as error:
                code = error_code(error) or type(error).__name__
                if document == DEFAULT_DOCUMENT and code == "InvalidDocument":
                    self._fresh[document] = _DEFAULT_SHELL
                else:
                    count("DocumentUnreadable")
                    self._fresh[document] = f"GetDocument failed: {code}"
            else:
                try:
                    content: Any = json.loads(response.get("Content") or "")
                except ValueError:
                    content = None
                self._fresh[document] = content if isinstance(content, dict) else "its content is not a JSON object"
        return self._fresh[document]

    def _content(self, document: str) -> Mapping[str, Any] | None:
        now = self._as_of if self._as_of is not None else self._clock.now()
        if document in self._known:
            read_at, content = self._known[document]
            if now - read_at < self._max_age:
                self._known.move_to_end(document)
                return content
            del self._known[document]  # read again: its default version may have changed
        if not self._readable(document):
            return None
        found = self._read(document)
        if found is not None:
            self._known[document] = (now, found)
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
                self._fresh[document] = _DEFAULT_SHELL  # just read: session_logging needs no second call
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
        self._fresh[document] = content
        return content
