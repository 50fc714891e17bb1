"""Where the warden acts: one account and region of an organization, or (single-account mode) its own.

In single-account mode every key is exactly what it was before organizations existed; in organization mode each
per-session and per-sweep key is prefixed with ``<account>/<region>/``, so the ledger, markers, leases, heartbeats
and canaries of every account and region live side by side in the central tables.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_ACCOUNT = re.compile(r"^[0-9]{12}$")
# aws, aws-cn, aws-us-gov and the isolated partitions: "eu-west-1", "us-gov-west-1", "cn-north-1", "us-isob-east-1".
_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-[0-9]{1,2}$")


@dataclass(frozen=True)
class Scope:
    """One account and region the warden enforces in.

    Attributes
    ----------
    account
        The 12-digit account id.
    region
        The region name, e.g. ``eu-west-1``.
    org
        False: single-account mode, every key exactly as it was; True: organization mode, keys carry the label.
    """

    account: str
    region: str
    org: bool = False

    def __post_init__(self) -> None:
        if not _ACCOUNT.match(self.account):
            raise ValueError(f"not an account id: {self.account[:40]!r} (12 digits)")
        if not _REGION.match(self.region):
            raise ValueError(f"not a region name: {self.region[:40]!r}")

    def key(self, name: str) -> str:
        """*name* as stored: itself in single-account mode, ``<account>/<region>/<name>`` in organization mode."""
        return f"{self.label}/{name}" if self.org else name

    @property
    def label(self) -> str:
        """``<account>/<region>``: how alerts, logs and the ledger's open-sessions index name the scope."""
        return f"{self.account}/{self.region}"

    @classmethod
    def parse(cls, label: str) -> Scope:
        """The organization-mode scope a label names; raises ``ValueError`` naming the label when it names none."""
        account, slash, region = label.partition("/")
        if not slash:
            raise ValueError(f"not an account/region label: {label[:60]!r} (expected e.g. 222222222222/eu-west-1)")
        try:
            return cls(account=account, region=region, org=True)
        except ValueError as error:
            raise ValueError(f"not an account/region label: {label[:60]!r}: {error}") from None


def is_account_id(text: str) -> bool:
    """Whether *text* is a 12-digit account id."""
    return _ACCOUNT.match(text) is not None


def is_region_name(text: str) -> bool:
    """Whether *text* has the shape of a region name (``eu-west-1``)."""
    return _REGION.match(text) is not None
