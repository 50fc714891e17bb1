"""Session logs: where Session Manager writes a session's transcript, read from Session document content.

What AWS does (amazon-ssm-agent, ``session/shell``): a shell or command session is logged as the ``inputs`` of
its Session document say. ``s3BucketName`` gets one object, ``<s3KeyPrefix>/<session-id>.log`` (joined like
Go's ``path.Join``), at the end of the session; ``cloudWatchLogGroupName`` gets a stream named by the session id
(written as the session runs when ``cloudWatchStreamingEnabled`` is true, else at its end). The inputs come from
the session's own document when it is a ``Standard_Stream`` document (``SSM-SessionManagerRunShell``, the
account's preferences, when the session names none; a custom one when it names one); an ``InteractiveCommands``
or ``NonInteractiveCommands`` session uses the account's preferences. A ``Port`` session (port forwarding, a
remote-host tunnel, ``AWS-StartSSHSession``) is never logged: Session Manager only carries its bytes. An account
whose preferences were never saved has no ``SSM-SessionManagerRunShell``: its sessions log nowhere.

Everything here is pure: the adapter reads the documents and hands their content in.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import quote

from warden.policy.documents import DEFAULT_DOCUMENT, document_ref

__all__ = [
    "PORT_NOT_LOGGED",
    "LoggingState",
    "SessionLogging",
    "Transcript",
    "aws_document_logging",
    "document_logging",
    "logging_warnings",
    "not_saved_logging",
    "port_logging",
    "preferences_logging",
    "stated_logging",
    "transcript_summary",
    "transcripts",
    "unreadable_logging",
]

LoggingState = Literal["logged", "unlogged", "unknown"]

PORT_NOT_LOGGED = "port forwarding is never logged by Session Manager"

# AWS-provided Session documents of sessionType Port: never logged (SSH included: it is a tunnel).
_AWS_PORT_DOCUMENTS = frozenset(
    {"AWS-StartPortForwardingSession", "AWS-StartPortForwardingSessionToRemoteHost", "AWS-StartSSHSession"}
)
# AWS-provided command documents: logged as the account's preferences say.
_AWS_COMMAND_DOCUMENTS = frozenset({"AWS-StartInteractiveCommand", "AWS-StartNonInteractiveCommand"})
_COMMAND_TYPES = frozenset({"InteractiveCommands", "NonInteractiveCommands"})


@dataclass(frozen=True, slots=True)
class SessionLogging:
    """Whether, and where, Session Manager logs a session.

    Attributes
    ----------
    state : {"logged", "unlogged", "unknown"}
        ``unknown``: the preferences could not be read (``require_logging`` treats it as not logged).
    why : str
        For ``unlogged`` and ``unknown``, the reason in words (``Session Manager preferences log nowhere
        (SSM-SessionManagerRunShell has no s3BucketName or cloudWatchLogGroupName)``); for ``logged``, empty.
    source : str or None
        The document whose ``inputs`` say where it goes.
    s3_bucket, s3_prefix : str or None, str
        ``s3BucketName`` and ``s3KeyPrefix``.
    log_group : str or None
        ``cloudWatchLogGroupName``.
    streaming : bool
        ``cloudWatchStreamingEnabled``: the stream is written as the session runs.
    """

    state: LoggingState
    why: str = ""
    source: str | None = None
    s3_bucket: str | None = None
    s3_prefix: str = ""
    log_group: str | None = None
    streaming: bool = False

    @property
    def logged(self) -> bool:
        """Whether Session Manager writes a transcript somewhere."""
        return self.state == "logged"

    @property
    def port(self) -> bool:
        """Whether this is a port session, which Session Manager never logs."""
        return self.state == "unlogged" and self.why.startswith(PORT_NOT_LOGGED)


@dataclass(frozen=True, slots=True)
class Transcript:
    """Where one session's transcript is: ``s3://bucket/key`` or a log group and stream, with a console link."""

    kind: Literal["s3", "cloudwatch"]
    location: str
    link: str


def _text(inputs: Mapping[Any, Any], key: str) -> str | None:
    value = inputs.get(key)
    return value.strip() or None if isinstance(value, str) else None


def _flag(inputs: Mapping[Any, Any], key: str) -> bool:
    # The schema calls these booleans; documents written by hand (and the console) also use "true"/"false".
    value = inputs.get(key)
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")


def preferences_logging(name: str, content: Mapping[str, Any]) -> SessionLogging:
    """Where a ``Standard_Stream`` document's ``inputs`` send session logs.

    Parameters
    ----------
    name : str
        The document (``SSM-SessionManagerRunShell`` or a custom one), for the reason's words.
    content : Mapping[str, Any]
        Its content (GetDocument's ``Content``, parsed).

    Returns
    -------
    SessionLogging
        ``logged`` with the bucket and/or log group; ``unlogged`` when neither is set; ``unknown`` when the
        content is not a Standard_Stream document, its ``inputs`` is not an object, or the bucket or log group
        is a ``{{ }}`` parameter placeholder.
    """
    if not isinstance(content, Mapping) or content.get("sessionType") != "Standard_Stream":
        return SessionLogging(
            "unknown", f"cannot tell where Session Manager logs: {name} is not a Standard_Stream Session document"
        )
    inputs = content.get("inputs", {})
    if inputs is None:
        inputs = {}
    if not isinstance(inputs, Mapping):
        return SessionLogging(
            "unknown", f"cannot tell where Session Manager logs: the inputs of {name} are not an object"
        )
    bucket, group = _text(inputs, "s3BucketName"), _text(inputs, "cloudWatchLogGroupName")
    for key, value in (("s3BucketName", bucket), ("cloudWatchLogGroupName", group)):
        if value is not None and "{{" in value:
            # A parameter placeholder: the warden cannot tell what, if anything, it names.
            return SessionLogging(
                "unknown",
                f"cannot tell where Session Manager logs: the {key} of {name} is a placeholder ({value[:80]})",
            )
    if bucket is None and group is None:
        return SessionLogging(
            "unlogged",
            f"Session Manager preferences log nowhere ({name} has no s3BucketName or cloudWatchLogGroupName)",
            source=name,
        )
    return SessionLogging(
        "logged",
        source=name,
        s3_bucket=bucket,
        s3_prefix=_text(inputs, "s3KeyPrefix") or "",
        log_group=group,
        streaming=group is not None and _flag(inputs, "cloudWatchStreamingEnabled"),
    )


def not_saved_logging() -> SessionLogging:
    """The account has no ``SSM-SessionManagerRunShell`` (preferences never saved): nothing is logged."""
    return SessionLogging(
        "unlogged",
        f"Session Manager preferences log nowhere (there is no {DEFAULT_DOCUMENT}: preferences were never saved)",
        source=DEFAULT_DOCUMENT,
    )


def unreadable_logging(name: str, problem: str) -> SessionLogging:
    """Preferences that could not be read: whether the session is logged is unknown."""
    return SessionLogging("unknown", f"cannot tell whether Session Manager logs the session ({name}: {problem})")


def _port(name: str) -> SessionLogging:
    return SessionLogging("unlogged", f"{PORT_NOT_LOGGED} ({name} is a Port session document)", source=name)


def aws_document_logging(document: str) -> Literal["port", "preferences"] | None:
    """How an AWS-provided Session document is logged, known without reading it.

    Returns
    -------
    {"port", "preferences"} or None
        ``port``: never logged; ``preferences``: as ``SSM-SessionManagerRunShell`` says; ``None``: not an
        AWS-provided document this module knows (read its content).
    """
    ref = document_ref(document)
    if not ref.aws_provided:
        return None
    if ref.name in _AWS_PORT_DOCUMENTS:
        return "port"
    return "preferences" if ref.name in _AWS_COMMAND_DOCUMENTS else None


def document_logging(document: str, content: Mapping[str, Any]) -> SessionLogging | Literal["preferences"]:
    """How a session of this document is logged, from the document's content.

    Returns
    -------
    SessionLogging or "preferences"
        ``"preferences"`` for a command document: its sessions are logged as the account's preferences
        (``SSM-SessionManagerRunShell``) say; read those and call :func:`preferences_logging`.
    """
    kind = content.get("sessionType") if isinstance(content, Mapping) else None
    name = document_ref(document).name
    if kind == "Port":
        return _port(name)
    if kind in _COMMAND_TYPES:
        return "preferences"
    if kind == "Standard_Stream":
        return preferences_logging(name, content)
    return SessionLogging(
        "unknown", f"cannot tell whether Session Manager logs the session ({name} names no session type it knows)"
    )


def port_logging(document: str) -> SessionLogging:
    """A session of an AWS-provided Port document (never logged)."""
    return _port(document_ref(document).name)


def stated_logging(where: str) -> SessionLogging:
    """Preferences as stated offline (``warden explain --logging``): ``s3``, ``cloudwatch``, ``both`` or ``none``."""
    choice = where.strip().lower()
    if choice == "none":
        return SessionLogging(
            "unlogged",
            f"Session Manager preferences log nowhere ({DEFAULT_DOCUMENT} has no s3BucketName or "
            "cloudWatchLogGroupName)",
            source=DEFAULT_DOCUMENT,
        )
    if choice not in ("s3", "cloudwatch", "both"):
        raise ValueError(f"unknown logging {where!r}: expected s3, cloudwatch, both or none")
    return SessionLogging(
        "logged",
        source=DEFAULT_DOCUMENT,
        s3_bucket="(stated)" if choice in ("s3", "both") else None,
        log_group="(stated)" if choice in ("cloudwatch", "both") else None,
    )


def _s3_key(prefix: str, name: str) -> str:
    # Go's path.Join(prefix, name): empty and "." segments dropped, ".." pops, a leading "/" kept.
    parts: list[str] = []
    for part in f"{prefix}/{name}".split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if parts:
                parts.pop()
            continue
        parts.append(part)
    return ("/" if prefix.startswith("/") else "") + "/".join(parts)


def _console_host(region: str) -> str:
    if region.startswith("cn-"):
        return f"{region}.console.amazonaws.cn"
    if region.startswith("us-gov-"):
        return f"{region}.console.amazonaws-us-gov.com"
    return f"{region}.console.aws.amazon.com"


def _cloudwatch_part(value: str) -> str:
    # The CloudWatch console's fragment escapes each percent-encoded byte once more, as "$25".
    return quote(value, safe="").replace("%", "$25")


def transcripts(logging: SessionLogging, session_id: str, region: str) -> tuple[Transcript, ...]:
    """Where the transcript of ``session_id`` is (S3 first, then CloudWatch Logs), with console links.

    Empty when the session is not logged. A ``stated`` bucket or group (explain) has no real name: empty too.
    """
    if not logging.logged:
        return ()
    host = _console_host(region)
    found: list[Transcript] = []
    if logging.s3_bucket and logging.s3_bucket != "(stated)":
        key = _s3_key(logging.s3_prefix, f"{session_id}.log")
        link = (
            f"https://{host}/s3/object/{quote(logging.s3_bucket, safe='')}?region={region}&prefix={quote(key, safe='')}"
        )
        found.append(Transcript("s3", f"s3://{logging.s3_bucket}/{key}", link))
    if logging.log_group and logging.log_group != "(stated)":
        link = (
            f"https://{host}/cloudwatch/home?region={region}#logsV2:log-groups/log-group/"
            f"{_cloudwatch_part(logging.log_group)}/log-events/{_cloudwatch_part(session_id)}"
        )
        found.append(Transcript("cloudwatch", f"CloudWatch Logs {logging.log_group} stream {session_id}", link))
    return tuple(found)


def transcript_summary(logging: SessionLogging | None, session_id: str, region: str) -> tuple[str, list[str]]:
    """The ledger's words for a session's transcript and its console links.

    ``s3://b/k`` and/or ``CloudWatch Logs G stream S`` joined by ``; ``; for a session that is not logged,
    ``not logged (why)``; for an unknown one, ``unknown (why)``.
    """
    if logging is None:
        return "unknown (Session Manager preferences were not read)", []
    if logging.port:
        return f"not logged ({PORT_NOT_LOGGED})", []
    if not logging.logged:
        return (f"not logged ({logging.why})" if logging.state == "unlogged" else f"unknown ({logging.why})"), []
    found = transcripts(logging, session_id, region)
    return "; ".join(item.location for item in found), [item.link for item in found]


def logging_warnings(session_types: tuple[str, ...] | None, *, required: bool, deny: bool) -> list[str]:
    """Explain where ``require_logging`` makes an allow rule allow nothing.

    Parameters
    ----------
    session_types : tuple[str, ...] or None
        The rule's ``session_types``.
    required : bool
        Whether ``require_logging`` applies to the rule (its own, or the policy's).
    deny : bool
        Whether the rule denies (then nothing is said).

    Returns
    -------
    list[str]
        One sentence when every session type the rule allows is a tunnel, which Session Manager never logs.
    """
    if deny or not required or not session_types or not set(session_types) <= {"port", "remote-port"}:
        return []
    return [
        f"require_logging applies, and {', '.join(session_types)} sessions are never logged by Session Manager: "
        "this rule allows nothing"
    ]
