"""Accounts and regions of the local cloud: each with its own Session Manager sessions, CloudTrail trail and default
bus (:class:`AccountRegion`), found for a request by its signer's account and its credential scope's region.

In one-account mode (the default) every request acts in the central account's home region, exactly as before the
organization existed. With an organization (:class:`LocalOrganization`, ``cloud.org``) a request acts in the
account moto issued its key in (an IAM user's, or an assumed role's) and in the region it was signed for.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any

from . import control_plane, inventory, organization, organizations_ext
from .clients import Clients
from .clock import EmulatedClock
from .cloudtrail import RequestInfo
from .identity import DEFAULT_USER, Credentials, IdentityResolver
from .organization import OrgAccount
from .people import People
from .resource_policy import trust_refusal
from .resources import Arns
from .session_model import Session, UnknownSessionError
from .sessions import SessionApi
from .trail_recorder import Emit, TrailRecorder, create_account_trail


class AccountRegion:
    """One account in one region: its session API state, its CloudTrail recorder and the ARNs of its resources."""

    def __init__(
        self,
        *,
        account_id: str,
        region: str,
        clock: EmulatedClock,
        identities: IdentityResolver,
        emit: Emit,
        deliver: Emit,
        terminating_seconds: float,
    ) -> None:
        self.account_id = account_id
        self.region = region
        self.arns = Arns(account_id, region)
        self.sessions = SessionApi(
            account_id=account_id,
            region=region,
            clock=clock,
            identities=identities,
            emit=emit,
            terminating_seconds=terminating_seconds,
        )
        self.trail = TrailRecorder(
            account_id=account_id, region=region, clock=clock, identities=identities, emit=emit, deliver=deliver
        )

    def trails_deliver(self) -> bool:
        """Whether a logging trail records this account's write management events in this region."""
        return control_plane.trails_deliver(self.region, self.account_id)


class Scopes:
    """Every account and region the cloud keeps state for, each made on first use."""

    def __init__(
        self,
        *,
        home_account: str,
        home_region: str,
        clock: EmulatedClock,
        identities: IdentityResolver,
        emit: Emit,
        deliver: Emit,
        terminating_seconds: float,
        multi: bool = False,
    ) -> None:
        self._parts = (clock, identities, emit, deliver, terminating_seconds)
        self.clock, self.identities = clock, identities
        self.home = self._make(home_account, home_region)
        self._scopes: dict[tuple[str, str], AccountRegion] = {(home_account, home_region): self.home}
        self._lock = threading.Lock()
        self.multi = multi  # False: every request acts in the home account and region, as with one account

    def _make(self, account_id: str, region: str) -> AccountRegion:
        clock, identities, emit, deliver, terminating_seconds = self._parts
        return AccountRegion(
            account_id=account_id,
            region=region,
            clock=clock,
            identities=identities,
            emit=emit,
            deliver=deliver,
            terminating_seconds=terminating_seconds,
        )

    def get(self, account_id: str, region: str) -> AccountRegion:
        with self._lock:
            scope = self._scopes.get((account_id, region))
            if scope is None:
                scope = self._scopes[(account_id, region)] = self._make(account_id, region)
            return scope

    def assume_role_refusal(self, access_key_id: str | None, role_arn: str) -> str | None:
        """Across accounts STS checks the role exists and its trust policy admits the caller (moto checks neither);
        with one account, moto answers as it always has."""
        if not self.multi:
            return None
        caller = self.identities.resolve(access_key_id)
        return trust_refusal(caller, role_arn, organization.organization_of(caller.account_id))

    def of(self, request: RequestInfo) -> AccountRegion:
        """Where a request acts: its key's account and its signed region (across accounts), else the home scope."""
        if not self.multi:
            return self.home
        account = self.identities.account_of(request.access_key_id or "")
        return self.get(account, request.region or self.home.region)


class AccountView:
    """One account of the emulated organization: its people, clients, instances and sessions, region by region."""

    def __init__(
        self,
        info: OrgAccount,
        *,
        admin: Credentials,
        clients: Clients,
        scopes: Scopes,
        identities: IdentityResolver,
        now: Callable[[], datetime],
        home_region: str,
    ) -> None:
        self.info = info
        self.account_id = info.id
        self.admin_credentials = admin
        self._clients = clients
        self._scopes = scopes
        self._home = home_region
        self._people = People(account_id=info.id, client=self._admin_client, identities=identities, now=now)

    def _admin_client(self, service: str, *, credentials: Credentials | None = None) -> Any:
        return self.client(service, credentials=credentials)

    def client(self, service: str, *, region: str | None = None, credentials: Credentials | None = None) -> Any:
        """A boto3 client in this account (its administrator's keys unless others are given), in ``region``."""
        return self._clients.client(
            service, credentials=credentials or self.admin_credentials, region=region or self._home
        )

    def user_credentials(self, name: str) -> Credentials:
        """Create IAM user ``name`` in this account (if needed) and a fresh access key."""
        return self._people.user(name)

    def role_credentials(self, role: str, session: str, path: str = "/") -> Credentials:
        """Create role ``role`` in this account (if needed, trusting the account) and assume it as ``session``."""
        return self._people.role(role, session, path=path)

    def add_instance(self, tags: dict[str, str], *, region: str, instance_id: str | None = None) -> str:
        """Run an EC2 instance with ``tags`` in this account and ``region``; return its id."""
        return inventory.add_instance(self.client("ec2", region=region), self.account_id, region, tags, instance_id)

    def sessions(self, region: str) -> SessionApi:
        """The Session Manager of this account in ``region``."""
        return self._scopes.get(self.account_id, region).sessions

    def session(self, session_id: str, *, region: str) -> Session:
        """The emulated session (for assertions); LookupError if this account has none by that id in ``region``."""
        found = self.sessions(region).find(session_id)
        if found is None:
            raise LookupError(f"no session {session_id} in account {self.account_id}, region {region}")
        return found

    def end_session(self, session_id: str, *, region: str) -> None:
        """End a session like ``exit`` or an idle timeout does: History/Terminated, no API call, no event."""
        try:
            self.sessions(region).end_session(session_id)
        except UnknownSessionError:
            raise LookupError(f"no session {session_id} in account {self.account_id}, region {region}") from None

    def trails_deliver(self, region: str) -> bool:
        """Whether a trail is logging this account's write management events in ``region``."""
        return self._scopes.get(self.account_id, region).trails_deliver()


class LocalOrganization:
    """The emulated organization (``cloud.org``): see :mod:`warden_local.organization` for its fixed ids."""

    organization_id = organization.ORGANIZATION_ID
    management_account = organization.MANAGEMENT_ACCOUNT
    central_account = organization.CENTRAL_ACCOUNT
    home_region = organization.HOME_REGION
    regions: tuple[str, ...] = organization.REGIONS  # add_region adds to this cloud's own

    def __init__(self, clients: Clients, scopes: Scopes, central_credentials: Credentials) -> None:
        self._clients = clients
        self._scopes = scopes
        self._identities = scopes.identities
        self._now = scopes.clock.now
        self._central = central_credentials
        self._admins: dict[str, Credentials] = {}
        self._lock = threading.Lock()

    def build(self) -> None:
        """Create the organization and, in every account and region, the logging trail and the default bus."""
        # No trusted access and no delegated administrator yet: the README's prerequisites do that, as on AWS
        # (organizations_ext.delegate_stacksets does it in one go).
        organization.create_organization()
        for account in organization.accounts():
            self.prepare_account(account.id)

    def create_account(self, name: str, ou_path: str) -> str:
        """A new account, as the management account's administrator makes one on AWS: Organizations CreateAccount,
        then MoveAccount into the OU at ``ou_path`` (``""``: the root); the account id. It has its trail, default
        bus and administrator (:meth:`prepare_account`) before it joins the OU, and a StackSet with automatic
        deployment on that OU deploys its stack instances to it by itself. ``LookupError`` for an unknown OU."""
        organizations = self.account(self.management_account).client("organizations")
        account_id = organizations_ext.request_account(organizations, name)
        self.prepare_account(account_id)
        organizations_ext.move_into(organizations, account_id, ou_path)
        return account_id

    def prepare_account(self, account_id: str, *, regions: tuple[str, ...] | None = None) -> None:
        """What an account has from the start in every region: a trail logging management events (one per region,
        so StopLogging in one region stops that region only), the default bus, and its administrator."""
        from moto.events.models import events_backends

        for region in regions or self.regions:
            create_account_trail(account_id, region, multi_region=False)
            if "default" not in events_backends[account_id][region].event_buses:  # moto makes it with the backend
                raise RuntimeError(f"moto made no default bus for {account_id}/{region}")
        self._admin(account_id)

    def add_region(self, region: str) -> None:
        """Guard one more region: every account gets its trail and default bus there (for benchmarks)."""
        if region in self.regions:
            return
        self.regions = (*self.regions, region)
        for account in organization.accounts():
            self.prepare_account(account.id, regions=(region,))

    def accounts(self) -> list[OrgAccount]:
        """Every account of the organization, management included."""
        return organization.accounts()

    def account(self, account_id: str) -> AccountView:
        """The view of one account of the organization; LookupError for an account not in it."""
        info = next((account for account in organization.accounts() if account.id == account_id), None)
        if info is None:
            raise LookupError(f"account {account_id} is not in organization {self.organization_id}")
        return self._view(info)

    def outsider(self, account_id: str = "999999999999") -> AccountView:
        """An account outside the organization (its trail and bus made on first use): for what the organization
        must refuse."""
        if any(account.id == account_id for account in organization.accounts()):
            raise ValueError(f"account {account_id} is in organization {self.organization_id}")
        with self._lock:
            known = account_id in self._admins
        if not known:
            self.prepare_account(account_id)
        return self._view(OrgAccount(id=account_id, name="outsider", ou_path="", status="NONE"))

    def organization_of(self, account_id: str) -> str | None:
        """The organization id ``aws:PrincipalOrgID`` holds for ``account_id`` (None outside, or not ACTIVE)."""
        return organization.organization_of(account_id)

    def _view(self, info: OrgAccount) -> AccountView:
        return AccountView(
            info,
            admin=self._admin(info.id),
            clients=self._clients,
            scopes=self._scopes,
            identities=self._identities,
            now=self._now,
            home_region=self.home_region,
        )

    def _admin(self, account_id: str) -> Credentials:
        """The account's administrator: the central account's test keys, else IAM user ``local-user`` with a key
        (written into the backend: the account was set up long before)."""
        if account_id == self.central_account:
            return self._central
        with self._lock:
            credentials = self._admins.get(account_id)
            if credentials is None:
                from moto.iam.models import iam_backends

                backend = iam_backends[account_id]["aws"]
                if DEFAULT_USER not in backend.users:
                    backend.create_user(region_name=self.home_region, user_name=DEFAULT_USER, path="/", tags=[])
                key = backend.create_access_key(user_name=DEFAULT_USER)
                credentials = self._admins[account_id] = Credentials(key.access_key_id, key.secret_access_key)
            return credentials
