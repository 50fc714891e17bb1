"""The remote host of a tunnel: read as a resolver reads it, and matched by a rule's ``hosts``.

A ``hosts`` entry is one of:

- an address block in CIDR notation (``10.0.1.0/24``, ``fd00::/64``) or a single address
  (``10.0.1.5``, ``fd00::1``): it matches only a host given as an IP address inside it;
- ``*``: any host at all;
- a glob over DNS names, where ``*`` and ``?`` stay within one label (``db-*`` matches ``db-1`` but
  not ``db-x.attacker.example``), except that a leading ``*.`` stands for one or more labels:
  ``*.dev.internal`` matches ``a.dev.internal`` and ``a.b.dev.internal`` (both names in a zone whose
  owner decides what they resolve to), never ``dev.internal`` itself. A glob never matches an IP
  address.

Whoever starts a session picks the host, and a DNS name resolves wherever its zone's owner likes
(``10.0.1.5.nip.io`` resolves to 10.0.1.5): a glob made only of digits, dots and wildcards looks
like an address block but would match such names, so it is rejected in favour of CIDR.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable

from warden.policy.globs import glob_to_regex

__all__ = ["HostIndex", "canonical_host", "host_entry_problem", "host_warnings"]

_HOST_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
_MAX_HOST_NAME = 253
_ADDRESS_LIKE = re.compile(r"[0-9.*?]+")
_GLOB_CHARACTERS = re.compile(r"[a-z0-9*?.-]+")
_MEMO_LIMIT = 4096

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def canonical_host(text: str) -> str | None:
    """The host as a resolver reads it, or ``None`` when it is no host the warden can judge.

    DNS names are case-insensitive and ``name.`` is ``name``; an address is written the one way
    :mod:`ipaddress` writes it (an IPv4-mapped IPv6 address as the IPv4 one). Anything else that
    could still reach an address (a last label not starting with a letter: ``10.1``,
    ``0x0a000001``, ``010.0.0.1``) or is no host name at all is unknown (``None``): the policy then
    treats the host as unknown, never as a match.

    Parameters
    ----------
    text : str
        The host as given (a session parameter, a document's literal ``host`` property).

    Returns
    -------
    str or None
        The canonical host, or ``None``.
    """
    if not isinstance(text, str):
        return None
    host = text.lower().removesuffix(".")
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        labels = host.split(".")
        if len(host) > _MAX_HOST_NAME or not all(_HOST_LABEL.fullmatch(label) for label in labels):
            return None
        return host if labels[-1][0].isalpha() else None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return str(address.ipv4_mapped)
    return str(address)


def _network(entry: str) -> Network | None:
    try:
        return ipaddress.ip_network(entry.strip(), strict=True)
    except ValueError:
        return None


def host_entry_problem(entry: str) -> str | None:
    """Say what is wrong with one ``hosts`` entry, or ``None`` when it is fine.

    Parameters
    ----------
    entry : str
        A CIDR block, an address, ``*`` or a DNS-name glob (see the module's docstring).

    Returns
    -------
    str or None
        The problem, in a sentence that says what to write instead.
    """
    text = entry.strip().lower()
    if "/" in text or ":" in text:
        if _network(text) is None:
            return f"{entry!r} is not an address block: write it in CIDR notation with no host bits, e.g. 10.0.1.0/24"
        return None
    if text == "*" or _network(text) is not None:
        return None
    if _ADDRESS_LIKE.fullmatch(text):
        return (
            f"{entry!r} looks like an address range, but a glob matches DNS names "
            "(e.g. 10.0.1.5.attacker.example resolves anywhere); write an address block such as 10.0.1.0/24"
        )
    if not _GLOB_CHARACTERS.fullmatch(text.removesuffix(".")):
        return f"{entry!r} is no DNS name glob: only letters, digits, '-', '.', '*' and '?'"
    return None


def host_warnings(entries: Iterable[str], *, deny: bool) -> list[str]:
    """Explain where a rule's ``hosts`` does less than its author may think.

    Parameters
    ----------
    entries : Iterable[str]
        The rule's ``hosts``.
    deny : bool
        Whether the rule denies.

    Returns
    -------
    list[str]
        One sentence per concern; empty when there is none.
    """
    hosts = [entry for entry in entries if entry.strip() != "*"]
    if not deny or not hosts:
        return []
    return [
        "a deny rule with hosts stops only the names it lists: any DNS name that resolves to the same host "
        "(an alias, or a name such as 10.0.1.5.nip.io) or the host's address slips past it; prefer an allow "
        "rule that lists the hosts a tunnel may reach"
    ]


def _label_glob(text: str) -> str:
    # "*" and "?" never cross a dot, and never backtrack on a hostile name (see glob_to_regex).
    return glob_to_regex(text, "[^.]")


def _host_glob(glob: str) -> re.Pattern[str]:
    text = glob.strip().lower().removesuffix(".")
    if text.startswith("*.") and len(text) > len("*."):
        return re.compile(r"(?:[^.]+\.)+" + _label_glob(text[len("*.") :]))
    return re.compile(_label_glob(text))


def _address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


class HostIndex:
    """Many rules' ``hosts`` over one canonical host, answered as a bitmask of the rules that match.

    Parameters
    ----------
    entries : Iterable[tuple[int, str]]
        ``(owner, entry)`` pairs; entries as validated by :func:`host_entry_problem` (an invalid
        one matches nothing).
    base : int, default 0
        Owners that match whatever the host, even a missing one (rules without ``hosts``).
    """

    __slots__ = ("_any", "_base", "_exact", "_globs", "_memo", "_networks")

    def __init__(self, entries: Iterable[tuple[int, str]], base: int = 0) -> None:
        exact: dict[str, int] = {}
        globs: dict[str, int] = {}
        networks: dict[Network, int] = {}
        self._any = 0
        for owner, entry in entries:
            bit = 1 << owner
            text = entry.strip().lower()
            if host_entry_problem(entry) is not None:
                continue
            network = _network(text)
            if text == "*":
                self._any |= bit
            elif network is not None:
                networks[network] = networks.get(network, 0) | bit
            elif "*" in text or "?" in text:
                globs[text] = globs.get(text, 0) | bit
            else:
                name = text.removesuffix(".")
                exact[name] = exact.get(name, 0) | bit
        self._base = base
        self._exact = exact
        self._globs = tuple((_host_glob(glob), owners) for glob, owners in globs.items())
        self._networks = tuple(networks.items())
        self._memo: dict[str, int] = {}

    def __call__(self, host: str | None) -> int:
        """Return the bitmask of owners matching ``host`` (``None`` or not canonical: only the base owners)."""
        if host is None:
            return self._base
        found = self._memo.get(host)
        if found is None:
            found = self._match(host)
            if len(self._memo) >= _MEMO_LIMIT:
                self._memo.clear()
            self._memo[host] = found
        return found

    def _match(self, host: str) -> int:
        canonical = canonical_host(host)
        if canonical is None:
            return self._base
        found = self._base | self._any
        address = _address(canonical)
        if address is not None:
            for network, owners in self._networks:
                if address.version == network.version and address in network:
                    found |= owners
            return found
        found |= self._exact.get(canonical, 0)
        for regex, owners in self._globs:
            if regex.fullmatch(canonical) is not None:
                found |= owners
        return found
