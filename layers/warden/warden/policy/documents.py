"""Session document names: the default document, ARNs, and matching against a rule's list."""

from __future__ import annotations

from collections.abc import Iterable

from warden.policy.globs import compile_globs

__all__ = ["DEFAULT_DOCUMENT", "DocumentMatcher", "normalise_document"]

DEFAULT_DOCUMENT = "SSM-SessionManagerRunShell"


def normalise_document(name: str | None) -> str:
    """Return the document name a session is judged by.

    Parameters
    ----------
    name : str or None
        The ``documentName`` of a StartSession request, as given.

    Returns
    -------
    str
        ``SSM-SessionManagerRunShell`` when no document was given (Session Manager's default
        shell), the name after ``document/`` for an ARN, the name itself otherwise.
    """
    if name is None or not name.strip():
        return DEFAULT_DOCUMENT
    name = name.strip()
    if name.startswith("arn:") and ":document/" in name:
        return name.rsplit(":document/", 1)[1] or DEFAULT_DOCUMENT
    return name


class DocumentMatcher:
    """A rule's ``documents``: exact names in a set, globs (``*``, ``?``) in one regex.

    Parameters
    ----------
    documents : Iterable[str]
        Names, ARNs or globs; each is normalised like a session's document.
    """

    __slots__ = ("_glob", "_names")

    def __init__(self, documents: Iterable[str]) -> None:
        names = [normalise_document(document) for document in documents]
        self._names = frozenset(name for name in names if "*" not in name and "?" not in name)
        self._glob = compile_globs(name for name in names if "*" in name or "?" in name)

    def __call__(self, document: str) -> bool:
        """Tell whether a normalised document name matches."""
        return document in self._names or (self._glob is not None and self._glob.fullmatch(document) is not None)
