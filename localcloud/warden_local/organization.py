"""The emulated AWS Organization: fixed ids, built in moto's Organizations backend, read back the way AWS reports it.

Management account ``111111111111`` owns organization ``o-warden0001`` (root ``r-wrdn``); the central (delegated
security) account ``123456789012`` and the members sit in OUs (see :data:`MEMBERS`). The organization existed long
before the local cloud started: it is written straight into the backend, no CloudTrail record.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

ORGANIZATION_ID = "o-warden0001"
ROOT_ID = "r-wrdn"
MANAGEMENT_ACCOUNT = "111111111111"
CENTRAL_ACCOUNT = "123456789012"
REGIONS = ("us-east-1", "eu-west-1")
HOME_REGION = "us-east-1"
# OU path -> its id (ids as Organizations writes them: ou-<root suffix>-<8 characters>).
OUS = {"Production": "ou-wrdn-prod0000", "Production/Web": "ou-wrdn-web00000", "Development": "ou-wrdn-dev00000"}
# (account id, name, OU path; "" is the root), management first.
ACCOUNTS = (
    (MANAGEMENT_ACCOUNT, "management", ""),
    (CENTRAL_ACCOUNT, "security", ""),
    ("222222222222", "prod-web", "Production/Web"),
    ("333333333333", "prod-data", "Production"),
    ("444444444444", "dev", "Development"),
)
MEMBERS = tuple(account for account, _, _ in ACCOUNTS if account not in (MANAGEMENT_ACCOUNT, CENTRAL_ACCOUNT))

_PIN_LOCK = threading.Lock()


@dataclass(frozen=True)
class OrgAccount:
    """One account of the organization as ListAccounts and ListParents report it."""

    id: str
    name: str
    ou_path: str  # "" for an account directly under the root
    status: str  # ACTIVE | SUSPENDED | PENDING_CLOSURE


@contextlib.contextmanager
def pinned_ids(**values: Callable[..., str]) -> Iterator[None]:
    """moto draws organization, root, OU and account ids at random: pin them while the organization is built."""
    from moto.organizations import utils

    with _PIN_LOCK:
        originals = {name: getattr(utils, name) for name in values}
        try:
            for name, value in values.items():
                setattr(utils, name, value)
            yield
        finally:
            for name, original in originals.items():
                setattr(utils, name, original)


def create_organization() -> None:
    """The organization, its OUs and accounts, straight into moto's backend (ids fixed, see the module)."""
    from moto.organizations.models import organizations_backends

    backend = organizations_backends[MANAGEMENT_ACCOUNT]["aws"]
    with pinned_ids(make_random_org_id=lambda: ORGANIZATION_ID, make_random_root_id=lambda: ROOT_ID):
        backend.create_organization(region=HOME_REGION, FeatureSet="ALL")
    management = backend.get_account_by_id(MANAGEMENT_ACCOUNT)
    management.name, management.email = "management", "management@example.com"
    for path, ou_id in OUS.items():
        parent, _, name = path.rpartition("/")
        with pinned_ids(make_random_ou_id=lambda root_id, ou_id=ou_id: ou_id):
            backend.create_organizational_unit(Name=name, ParentId=OUS[parent] if parent else ROOT_ID)
    for account_id, name, path in ACCOUNTS[1:]:
        add_account(account_id, name, path)


def add_account(account_id: str, name: str, ou_path: str, *, email: str | None = None) -> None:
    """CreateAccount with a fixed id, then MoveAccount into the OU at ``ou_path`` (the root for "")."""
    from moto.organizations.models import organizations_backends

    backend = organizations_backends[MANAGEMENT_ACCOUNT]["aws"]
    with pinned_ids(make_random_account_id=lambda: account_id):
        backend.create_account(AccountName=name, Email=email or f"{name}@example.com")
    if ou_path:
        backend.move_account(AccountId=account_id, SourceParentId=ROOT_ID, DestinationParentId=ou_id_of(ou_path))


def ou_id_of(ou_path: str) -> str:
    """The id of the OU at ``ou_path`` (names from the root down joined by ``/``); LookupError if none."""
    parent = ROOT_ID
    for name in ou_path.split("/"):
        ou = next((ou for ou in management_backend().ou if ou.parent_id == parent and ou.name == name), None)
        if ou is None:
            raise LookupError(f"no OU {ou_path!r} in organization {ORGANIZATION_ID}")
        parent = ou.id
    return parent


def ou_path_of(parent_id: str) -> str:
    """The OU path of the OU (or root) ``parent_id``."""
    names: list[str] = []
    units = {ou.id: ou for ou in management_backend().ou}
    current = units.get(parent_id)
    while current is not None and current.id != ROOT_ID:
        names.append(str(current.name))
        current = units.get(current.parent_id)
    return "/".join(reversed(names))


def accounts() -> list[OrgAccount]:
    """Every account of the organization (management included), in the order they joined."""
    return [
        OrgAccount(
            id=str(account.id), name=str(account.name), ou_path=ou_path_of(account.parent_id), status=account.status
        )
        for account in management_backend().accounts
    ]


def organization_of(account_id: str) -> str | None:
    """The id of the organization ``account_id`` is an ACTIVE member of (what ``aws:PrincipalOrgID`` holds)."""
    from moto.organizations.models import organizations_backends

    master = organizations_backends.master_accounts.get(account_id, (account_id, "aws"))[0]
    if master not in organizations_backends:
        return None
    backend = organizations_backends[master]["aws"]
    if backend.org is None:
        return None
    account = next((account for account in backend.accounts if account.id == account_id), None)
    return str(backend.org.id) if account is not None and account.status == "ACTIVE" else None


def management_backend() -> Any:
    """moto's Organizations backend of the management account (where the organization lives)."""
    from moto.organizations.models import organizations_backends

    return organizations_backends[MANAGEMENT_ACCOUNT]["aws"]
