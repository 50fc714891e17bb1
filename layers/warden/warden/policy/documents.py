"""Session documents: the default document, ARNs and accounts, what a document does (its session type)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, get_args

from warden.policy.globs import compile_globs

__all__ = [
    "DEFAULT_DOCUMENT",
    "SESSION_TYPES",
    "DocumentMatcher",
    "DocumentRef",
    "SessionType",
    "aws_document_session_type",
    "document_ref",
    "normalise_document",
    "session_host",
    "session_type_from_content",
]

DEFAULT_DOCUMENT = "SSM-SessionManagerRunShell"

SessionType = Literal["shell", "port", "remote-port", "command"]
SESSION_TYPES: tuple[SessionType, ...] = get_args(SessionType)

# What the AWS-provided Session documents do, as their content says (GetDocument): AWS owns names
# that start with "AWS-", nobody else can create or share a document of such a name.
_AWS_DOCUMENTS: Mapping[str, SessionType] = {
    "AWS-StartPortForwardingSession": "port",  # sessionType Port, portNumber + localPortNumber
    "AWS-StartPortForwardingSessionToRemoteHost": "remote-port",  # sessionType Port with a host parameter
    "AWS-StartSSHSession": "port",  # sessionType Port to portNumber (22): SSH over a tunnel
    "AWS-StartInteractiveCommand": "command",  # sessionType InteractiveCommands
    "AWS-StartNonInteractiveCommand": "command",  # sessionType NonInteractiveCommands
}
_SESSION_TYPES_IN_CONTENT: Mapping[str, SessionType] = {
    "Standard_Stream": "shell",
    "InteractiveCommands": "command",
    "NonInteractiveCommands": "command",
}


def normalise_document(name: str | None) -> str:
    """Return the document a session is judged by, as given: a name or a full ARN.

    Parameters
    ----------
    name : str or None
        The ``documentName`` of a StartSession request, as given.

    Returns
    -------
    str
        ``SSM-SessionManagerRunShell`` when no document was given (Session Manager's default
        shell), else the name or ARN without surrounding blanks. An ARN is kept whole: its
        account is what tells another account's document from the one of the same name here.
    """
    if name is None or not name.strip():
        return DEFAULT_DOCUMENT
    return name.strip()


@dataclass(frozen=True, slots=True)
class DocumentRef:
    """A session's document, split into what matching needs.

    Attributes
    ----------
    name : str
        The document's name (after ``document/`` for an ARN).
    arn : str or None
        The full ARN when the session named the document by ARN.
    account : str or None
        The account that owns it, from the ARN: ``""`` for an AWS-provided document (its ARN has
        an empty account field); ``None`` for a bare name (the session's own account or AWS).
    """

    name: str
    arn: str | None = None
    account: str | None = None

    def local_to(self, account: str | None) -> bool:
        """Tell whether the document is the session account's own or an AWS-provided one."""
        return self.arn is None or self.account == "" or (account is not None and self.account == account)

    @property
    def aws_provided(self) -> bool:
        """Whether AWS provides it (an ``AWS-`` name, or an ARN with no account)."""
        return (self.arn is None and self.name.startswith("AWS-")) or self.account == ""


def document_ref(document: str | None) -> DocumentRef:
    """Split a session's document (name or ARN, see :func:`normalise_document`)."""
    document = normalise_document(document)
    if not document.startswith("arn:"):
        return DocumentRef(document)
    parts = document.split(":", 5)
    if len(parts) == 6 and parts[2] == "ssm" and parts[5].startswith("document/") and len(parts[5]) > len("document/"):
        return DocumentRef(parts[5][len("document/") :], document, parts[4])
    # Not a document ARN: no bare name can match it, only an arn: glob.
    return DocumentRef(document, document, None)


def aws_document_session_type(name: str) -> SessionType | None:
    """What an AWS-provided Session document does, known without reading it.

    Parameters
    ----------
    name : str
        A document name or ARN. Only AWS-provided documents are known: ``AWS-...`` names and
        ARNs with an empty account field.

    Returns
    -------
    SessionType or None
        ``shell``, ``port``, ``remote-port`` or ``command``; ``None`` for any other document
        (read its content with :func:`session_type_from_content`).
    """
    ref = document_ref(name)
    return _AWS_DOCUMENTS.get(ref.name) if ref.aws_provided else None


def session_type_from_content(content: Mapping[str, Any]) -> SessionType | None:
    """What a Session document does, read from its content (GetDocument's ``Content``, parsed).

    Parameters
    ----------
    content : Mapping[str, Any]
        The document's content: ``sessionType`` is ``Standard_Stream`` (a shell),
        ``InteractiveCommands`` or ``NonInteractiveCommands`` (a command) or ``Port``; a ``Port``
        document with a ``host`` parameter or a ``host`` property forwards to a remote host.

    Returns
    -------
    SessionType or None
        ``None`` when the content names no session type the warden knows (not a Session
        document, or malformed): rules with ``session_types`` then treat it as unknown.
    """
    if not isinstance(content, Mapping):
        return None
    kind = content.get("sessionType")
    if not isinstance(kind, str):
        return None
    if kind == "Port":
        parameters = content.get("parameters")
        properties = content.get("properties")
        remote = (isinstance(parameters, Mapping) and "host" in parameters) or (
            isinstance(properties, Mapping) and "host" in properties
        )
        return "remote-port" if remote else "port"
    return _SESSION_TYPES_IN_CONTENT.get(kind)


def session_host(parameters: Mapping[str, Any] | None) -> str | None:
    """The remote host a session's parameters name (StartSession ``parameters``: ``{"host": ["db"]}``).

    Parameters
    ----------
    parameters : Mapping[str, Any] or None
        The session's document parameters as CloudTrail or DescribeSessions give them: each value
        a list of strings (or, leniently, a string). Anything else names no host.

    Returns
    -------
    str or None
        The host, stripped; ``None`` when none is given, or several are.
    """
    if not isinstance(parameters, Mapping):
        return None
    value = parameters.get("host")
    if isinstance(value, list | tuple):
        value = value[0] if len(value) == 1 else None
    return value.strip() or None if isinstance(value, str) else None


class DocumentMatcher:
    """A rule's ``documents``: bare names (or globs) and ``arn:`` globs.

    A bare name matches that document in the session's own account or an AWS-provided one; an
    ARN glob matches only a session that named its document by ARN (any account).

    Parameters
    ----------
    documents : Iterable[str]
        Names, globs or ARN globs, as in the rule.
    """

    __slots__ = ("_arns", "_glob", "_names")

    def __init__(self, documents: Iterable[str]) -> None:
        entries = [normalise_document(document) for document in documents]
        names = [entry for entry in entries if not entry.startswith("arn:")]
        self._names = frozenset(name for name in names if "*" not in name and "?" not in name)
        self._glob = compile_globs(name for name in names if "*" in name or "?" in name)
        self._arns = compile_globs(entry for entry in entries if entry.startswith("arn:"))

    def __call__(self, document: str, account: str | None = None) -> bool:
        """Tell whether the session's document (name or ARN) in ``account`` matches."""
        ref = document_ref(document)
        if ref.arn is not None and self._arns is not None and self._arns.fullmatch(ref.arn) is not None:
            return True
        if not ref.local_to(account):
            return False
        return ref.name in self._names or (self._glob is not None and self._glob.fullmatch(ref.name) is not None)
