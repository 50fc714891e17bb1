"""Session documents: the default document, ARNs and accounts, what a document does (its session type)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, get_args

from warden.policy.globs import compile_globs
from warden.policy.hosts import canonical_host

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
    "session_target_from_content",
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
    # sessionType Port to portNumber 22: but what it carries is SSH, and SSH is a shell (and more: it
    # forwards ports itself). A rule that allows port tunnels must not hand out a shell this way, so it
    # is judged as a shell. Only this document is known to be SSH: a copy under another name, or any
    # other Port document to port 22, is judged by its content (port or remote-port).
    "AWS-StartSSHSession": "shell",
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


# A parameter reference that SSM substitutes: "{{ name }}", the whole value. Names are letters,
# digits and "_" (SSM's own rule for parameter names, a little wider); "{{ssm:...}}" and the like are
# resolved elsewhere, so they name no host the warden can know.
_PARAMETER_REFERENCE = re.compile(r"\{\{\s*([A-Za-z0-9_]+)\s*\}\}")


def _host_properties(properties: Mapping[Any, Any]) -> list[Any]:
    # The agent (amazon-ssm-agent, session/plugins/port) decodes the properties with Go's encoding/json,
    # which matches a key to its struct field "host" ignoring case, with Unicode folding: "Host",
    # "HOST" and "ho\u017ft" are all the host it dials.
    return [value for key, value in properties.items() if isinstance(key, str) and key.casefold() == "host"]


def _parameter_value(name: str, parameters: Mapping[str, Any] | None, declared: Mapping[str, Any] | None) -> str | None:
    given = parameters.get(name) if parameters is not None else None
    if given is not None:
        # StartSession parameters are lists of strings: exactly one names the host; more is a guess.
        if isinstance(given, list | tuple):
            return given[0] if len(given) == 1 and isinstance(given[0], str) else None
        return given if isinstance(given, str) else None
    # Not given: SSM substitutes the parameter's default, if the document declares one.
    declaration = declared.get(name) if declared is not None else None
    default = declaration.get("default") if isinstance(declaration, Mapping) else None
    return default if isinstance(default, str) else None


def _resolve_host(
    value: Any, parameters: Mapping[str, Any] | None, declared: Mapping[str, Any] | None, *, hidden: bool
) -> str | None:
    if not isinstance(value, str):
        return None
    if "{{" not in value and "}}" not in value:
        return canonical_host(value)
    reference = _PARAMETER_REFERENCE.fullmatch(value.strip())
    if reference is None or hidden:
        return None  # a partial template, several placeholders, or parameters nobody may read
    resolved = _parameter_value(reference.group(1), parameters, declared)
    return canonical_host(resolved) if resolved is not None else None


def session_target_from_content(
    content: Mapping[str, Any], parameters: Mapping[str, Any] | None, *, parameters_hidden: bool = False
) -> tuple[SessionType | None, str | None]:
    """What a Session document does and, for a tunnel to a remote host, which host the agent dials.

    The agent dials ``properties.host`` (any key that is ``host`` ignoring case, as Go's
    encoding/json reads it), not a parameter that happens to be called ``host``: a document may
    declare a decoy ``host`` parameter and dial ``{{ realHost }}``. So the host is read from the
    properties and resolved as SSM does.

    Parameters
    ----------
    content : Mapping[str, Any]
        The document's content (GetDocument's ``Content``, parsed). ``sessionType`` is
        ``Standard_Stream`` (a shell), ``InteractiveCommands`` or ``NonInteractiveCommands`` (a
        command) or ``Port``: ``remote-port`` when its ``properties`` has one ``host`` key (any
        case), else ``port``. Several ``host`` keys: which one the agent takes is not known, so the
        type is unknown.
    parameters : Mapping[str, Any] or None
        The session's parameters as StartSession took them (CloudTrail ``requestParameters.
        parameters``: each value a list of strings); ``None`` only when it gave none, for then
        SSM uses the declared defaults.
    parameters_hidden : bool, keyword-only
        The session's parameters are not known: CloudTrail hid them
        (``HIDDEN_DUE_TO_SECURITY_REASONS``), or the caller never saw them. A host taken from a
        parameter is then unknown, never the document's default.

    Returns
    -------
    tuple[SessionType or None, str or None]
        The session type (``None``: unknown, see :func:`session_type_from_content`) and, for
        ``remote-port``, the canonical host (:func:`warden.policy.hosts.canonical_host`): the
        property's literal value, or ``{{ name }}`` substituted from the session's ``name``
        parameter (exactly one string) or, when the session gave none, the ``default`` the
        document declares for it. Anything else (a partial template, several placeholders, a
        missing value, hidden parameters, a value no resolver reads one way) is an unknown host
        (``None``). The host is ``None`` for every other type.
    """
    if not isinstance(content, Mapping):
        return None, None
    kind = content.get("sessionType")
    if not isinstance(kind, str):
        return None, None
    if kind != "Port":
        return _SESSION_TYPES_IN_CONTENT.get(kind), None
    properties = content.get("properties")
    hosts = _host_properties(properties) if isinstance(properties, Mapping) else []
    if not hosts:
        return "port", None
    if len(hosts) > 1:
        return None, None
    declared = content.get("parameters")
    supplied = parameters if isinstance(parameters, Mapping) else None
    host = _resolve_host(
        hosts[0],
        supplied,
        declared if isinstance(declared, Mapping) else None,
        hidden=parameters_hidden or (parameters is not None and supplied is None),
    )
    return "remote-port", host


def session_type_from_content(content: Mapping[str, Any]) -> SessionType | None:
    """What a Session document does, read from its content (GetDocument's ``Content``, parsed).

    The type of :func:`session_target_from_content`: ``remote-port`` for a ``Port`` document
    whose ``properties`` has a ``host`` key (any case), whatever its parameters are called.

    Parameters
    ----------
    content : Mapping[str, Any]
        The document's content.

    Returns
    -------
    SessionType or None
        ``None`` when the content names no session type the warden knows (not a Session
        document, malformed, or several ``host`` properties): rules with ``session_types`` then
        treat it as unknown.
    """
    return session_target_from_content(content, None)[0]


def session_host(parameters: Mapping[str, Any] | None) -> str | None:
    """The ``host`` parameter of a session (StartSession ``parameters``: ``{"host": ["db"]}``).

    This is the host only for ``AWS-StartPortForwardingSessionToRemoteHost``, whose ``host``
    property is ``{{ host }}``; for any other document use :func:`session_target_from_content`.

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
