"""AWS Organizations as CloudFormation StackSets use it: trusted access and a delegated administrator for StackSets,
read-only Organizations calls from a delegated administrator, OU trees, and a membership-change hook.

moto 5.2.5 already has EnableAWSServiceAccess and RegisterDelegatedAdministrator, but refuses
``member.org.stacksets.cloudformation.amazonaws.com`` as a delegated-administrator service, answers a delegated
administrator's ListAccounts from that account's own (empty) backend, and tells nobody when an account joins,
moves or leaves. These patches add exactly that.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from typing import Any

__all__ = [
    "STACKSETS_PRINCIPAL",
    "OrganizationMembership",
    "accounts_under",
    "create_account",
    "delegate_stacksets",
    "install",
    "management_backend",
    "move_into",
    "on_membership_change",
    "ou_subtree",
    "request_account",
]

STACKSETS_PRINCIPAL = "member.org.stacksets.cloudformation.amazonaws.com"
PARTITION = "aws"

# Organizations actions a delegated administrator may call (AWS: the read-only ones).
_READ_ACTIONS = frozenset(
    {
        "DescribeAccount",
        "DescribeOrganization",
        "DescribeOrganizationalUnit",
        "DescribePolicy",
        "ListAccounts",
        "ListAccountsForParent",
        "ListAWSServiceAccessForOrganization",
        "ListChildren",
        "ListDelegatedAdministrators",
        "ListDelegatedServicesForAccount",
        "ListOrganizationalUnitsForParent",
        "ListParents",
        "ListPolicies",
        "ListPoliciesForTarget",
        "ListRoots",
        "ListTagsForResource",
        "ListTargetsForPolicy",
    }
)

_INSTALL_LOCK = threading.Lock()
_installed = False
# Called with (management account id, account id) after an account joins, moves, closes or leaves.
_LISTENERS: list[Callable[[str, str], None]] = []


def _access_denied() -> type[Exception]:
    from moto.organizations.exceptions import OrganizationsClientError

    class AccessDenied(OrganizationsClientError):
        code = "AccessDeniedException"

    return AccessDenied


class OrganizationMembership:
    """What an organization looks like to StackSets: its management account, OUs, and ACTIVE accounts."""

    def __init__(self, backend: Any) -> None:
        self.backend = backend

    @property
    def management_account(self) -> str:
        return str(self.backend.org.master_account_id)

    def trusted_access(self, principal: str = STACKSETS_PRINCIPAL) -> bool:
        return any(service["ServicePrincipal"] == principal for service in self.backend.services)

    def is_delegated_admin(self, account_id: str, principal: str = STACKSETS_PRINCIPAL) -> bool:
        return any(admin.account.id == account_id and principal in admin.services for admin in self.backend.admins)

    def account(self, account_id: str) -> Any | None:
        return next((account for account in self.backend.accounts if account.id == account_id), None)

    def ou_exists(self, ou_id: str) -> bool:
        return any(ou.id == ou_id for ou in self.backend.ou)


def management_backend(account_id: str) -> Any | None:
    """The Organizations backend of the organization ``account_id`` belongs to (or manages); None outside one."""
    from moto.organizations.models import organizations_backends

    owner = organizations_backends.master_accounts.get(account_id)
    if owner is not None and organizations_backends[owner[0]][owner[1]].org is not None:
        return organizations_backends[owner[0]][owner[1]]
    for _, by_partition in list(organizations_backends.items()):
        backend: Any = dict.get(by_partition, PARTITION)
        if backend is None or backend.org is None:
            continue
        if backend.account_id == account_id or any(account.id == account_id for account in backend.accounts):
            return backend
    return None


def ou_subtree(backend: Any, ou_id: str) -> set[str]:
    """``ou_id`` and every OU below it."""
    found = {ou_id}
    frontier = [ou_id]
    while frontier:
        parent = frontier.pop()
        for ou in backend.ou:
            if getattr(ou, "parent_id", None) == parent and ou.id not in found:
                found.add(ou.id)
                frontier.append(ou.id)
    return found


def accounts_under(backend: Any, ou_ids: list[str]) -> list[tuple[str, str]]:
    """(account id, targeted OU id) of each ACTIVE account in those OUs or below them; never the management
    account (StackSets do not deploy to it). An account under two targeted OUs is listed once, for the first."""
    management = backend.org.master_account_id
    seen: set[str] = set()
    found: list[tuple[str, str]] = []
    for ou_id in ou_ids:
        tree = ou_subtree(backend, ou_id)
        for account in backend.accounts:
            if account.id == management or account.id in seen or account.status != "ACTIVE":
                continue
            if account.parent_id in tree:
                seen.add(account.id)
                found.append((account.id, ou_id))
    return found


def delegate_stacksets(backend: Any, account_id: str) -> None:
    """What the management account does once so that ``account_id`` may run service-managed StackSets:
    EnableAWSServiceAccess and RegisterDelegatedAdministrator for :data:`STACKSETS_PRINCIPAL` (idempotent)."""
    from moto.organizations.exceptions import AccountAlreadyRegisteredException

    backend.enable_aws_service_access(ServicePrincipal=STACKSETS_PRINCIPAL)
    with contextlib.suppress(AccountAlreadyRegisteredException):
        backend.register_delegated_administrator(AccountId=account_id, ServicePrincipal=STACKSETS_PRINCIPAL)


def on_membership_change(listener: Callable[[str, str], None]) -> None:
    """Call ``listener(management account, account)`` after each account joins, moves, closes or leaves."""
    if listener not in _LISTENERS:
        _LISTENERS.append(listener)


def _changed(backend: Any, account_id: str) -> None:
    if backend.org is None:
        return
    for listener in list(_LISTENERS):
        listener(backend.org.master_account_id, account_id)


def create_account(organizations: Any, name: str, ou_path: str, *, email: str | None = None) -> str:
    """What an administrator does on AWS: :func:`request_account`, then :func:`move_into` the OU at ``ou_path``.

    ``organizations`` is a client of the management account. Returns the new account id.
    """
    account_id = request_account(organizations, name, email=email)
    move_into(organizations, account_id, ou_path)
    return account_id


def request_account(organizations: Any, name: str, *, email: str | None = None) -> str:
    """Organizations CreateAccount (the account lands in the root) and DescribeCreateAccountStatus until it has
    succeeded; the account id. ``RuntimeError`` naming the account when the request fails."""
    request = organizations.create_account(Email=email or f"{name}@example.com", AccountName=name)
    status = request["CreateAccountStatus"]
    for _ in range(50):
        if status["State"] != "IN_PROGRESS":
            break
        time.sleep(0.01)
        status = organizations.describe_create_account_status(CreateAccountRequestId=status["Id"])[
            "CreateAccountStatus"
        ]
    if status["State"] != "SUCCEEDED":
        raise RuntimeError(f"CreateAccount {name!r} {status['State']}: {status.get('FailureReason', 'no reason')}")
    return str(status["AccountId"])


def move_into(organizations: Any, account_id: str, ou_path: str) -> None:
    """MoveAccount from the root into the OU at ``ou_path`` (``Production/Web``; ``""`` keeps it in the root);
    ``LookupError`` naming the OU path when it does not exist."""
    root = organizations.list_roots()["Roots"][0]["Id"]
    parent = root
    for part in [p for p in ou_path.split("/") if p]:
        children = organizations.list_organizational_units_for_parent(ParentId=parent)["OrganizationalUnits"]
        match = next((ou["Id"] for ou in children if ou["Name"] == part), None)
        if match is None:
            raise LookupError(f"no OU {part!r} (path {ou_path!r}) in the organization")
        parent = match
    if parent != root:
        organizations.move_account(AccountId=account_id, SourceParentId=root, DestinationParentId=parent)


def forget_organizations() -> None:
    """Forget which accounts belong to an organization: moto keeps that beside its backends, and a backend reset
    leaves it, so a later organization in the same process (``mock_aws`` in another test) would be refused."""
    from moto.organizations.models import organizations_backends

    organizations_backends.master_accounts.clear()


def install() -> None:
    """Patch moto's Organizations (idempotent)."""
    global _installed
    with _INSTALL_LOCK:
        if _installed:
            return
        from moto.organizations import models, responses

        if STACKSETS_PRINCIPAL not in models.FakeDelegatedAdministrator.SUPPORTED_SERVICES:
            models.FakeDelegatedAdministrator.SUPPORTED_SERVICES.append(STACKSETS_PRINCIPAL)
        backend_class = models.OrganizationsBackend
        originals = {
            name: getattr(backend_class, name)
            for name in ("create_account", "move_account", "close_account", "remove_account_from_organization")
        }

        def notifying(name: str) -> Callable[..., Any]:
            original = originals[name]

            def method(self: Any, **kwargs: Any) -> Any:
                result = original(self, **kwargs)
                if name == "create_account":
                    account_id = result["CreateAccountStatus"]["AccountId"]
                else:
                    account_id = kwargs["AccountId"]
                _changed(self, str(account_id))
                return result

            return method

        for name in originals:
            setattr(backend_class, name, notifying(name))

        own_backend = responses.OrganizationsResponse.organizations_backend
        AccessDenied = _access_denied()

        def organizations_backend(self: Any) -> Any:
            backend = own_backend.fget(self)  # type: ignore[attr-defined]
            if backend.org is not None:
                return backend
            action = str(self.headers.get("X-Amz-Target", "")).rpartition(".")[2]
            if action not in _READ_ACTIONS:
                return backend
            # A delegated administrator reads the organization it administers (AWS allows the read-only calls);
            # any other member may only describe the organization.
            management = management_backend(self.current_account)
            if management is None:
                return backend
            if any(admin.account.id == self.current_account for admin in management.admins):
                return management
            if action != "DescribeOrganization":
                raise AccessDenied("You don't have permissions to access this resource.")
            return backend

        setattr(responses.OrganizationsResponse, "organizations_backend", property(organizations_backend))  # noqa: B010
        _installed = True
