"""The organization demo's script: one morning of a security team guarding every account and region of its
organization with one central warden, as steps on the organization stage (and the single-account demo's checks)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from warden_cli.demo_org_cast import BROKEN, CENTRAL, NEW_ACCOUNT, REGIONS, MemberInstance
from warden_cli.demo_script import (
    AlertCount,
    At,
    CreateGrant,
    Ended,
    HandlersSucceeded,
    OneAlertPerTermination,
    Run,
    Step,
    StillOpen,
    expect_start,
)

if TYPE_CHECKING:
    from warden_cli.demo_org_stage import OrgStage

NOT_COVERED = "account-not-covered"


def _stage(run: Run) -> OrgStage:
    from warden_cli.demo_org_stage import OrgStage

    assert isinstance(run.stage, OrgStage)
    return run.stage


@dataclass(frozen=True)
class PushOrgPolicy:
    """The security team pushes the organization's policy (``warden policy push``: AppConfig, validated)."""

    def __call__(self, run: Run) -> None:
        _stage(run).push_org_policy()


@dataclass(frozen=True)
class OrgDeploy:
    """The security team runs ``warden org deploy``: the member StackSet for the OUs and regions."""

    def __call__(self, run: Run) -> None:
        _stage(run).org_deploy()


@dataclass(frozen=True)
class OrgStatus:
    """The security team runs ``warden org status``; it exits ``expected``; ``covered`` / ``not_covered`` are
    (account, region) pairs whose lines must say so (``new`` stands for the account created during the morning)."""

    why: str
    expected: int
    not_covered: tuple[tuple[str, str], ...] = ()
    covered_new: bool = False

    def __call__(self, run: Run) -> None:
        stage = _stage(run)
        output = stage.org_status(expected=self.expected, why=self.why)
        for account, region in self.not_covered:
            stage.expect(
                any(line.startswith(account) and region in line and " no: " in line for line in output),
                f"`warden org status` to show {stage.where(account, region)} not covered",
            )
        if self.covered_new:
            new = run.grants.get("new-account") or "?"
            stage.expect(any(new in line for line in output), f"`warden org status` to list the new account {new}")
            stage.expect(
                sum(1 for line in output if line.startswith(new) and " yes " in line) == len(REGIONS),
                f"`warden org status` to show the new account {new} covered in {', '.join(REGIONS)}",
            )


@dataclass(frozen=True)
class StartIn:
    """A person of a member account starts a session there; the central warden decides ``outcome``."""

    name: str
    person: str
    instance: str
    reason: str
    outcome: str
    rule: str | None = None
    grant: str | None = None

    def __call__(self, run: Run) -> None:
        stage = _stage(run)
        tracked = stage.start_in(self.person, self.instance, self.reason)
        run.sessions[self.name] = tracked
        grant = run.grants.get(self.grant) if self.grant is not None else None
        expect_start(stage, tracked, self.outcome, rule=self.rule, grant=grant)
        row = tracked.row
        instance = tracked.instance
        assert isinstance(instance, MemberInstance)
        if row is not None:
            stage.expect(
                (getattr(row, "account", None), getattr(row, "region", None)) == (instance.account, instance.region),
                f"the ledger row of {tracked.what} to carry {instance.account}/{instance.region}",
            )


@dataclass(frozen=True)
class AlertNamesPlace:
    """The alerts about the session name its account and region."""

    session: str

    def __call__(self, run: Run) -> None:
        stage, tracked = run.stage, run.sessions[self.session]
        instance = tracked.instance
        assert isinstance(instance, MemberInstance)
        mails = [mail for mail in stage.mails if tracked.session_id in mail.body]
        stage.expect(
            bool(mails) and all(instance.account in m.body and instance.region in m.body for m in mails),
            f"the alerts about {tracked.what} to name account {instance.account} and region {instance.region}",
        )


@dataclass(frozen=True)
class DeleteForwardRule:
    """An administrator of a member account deletes the member stack's forwarding rule in one region."""

    person: str
    account: str
    region: str

    def __call__(self, run: Run) -> None:
        _stage(run).delete_forward_rule(self.person, self.account, self.region)


@dataclass(frozen=True)
class NotCovered:
    """Exactly one HIGH ``account-not-covered`` alert, naming the account (id, name, OU) and the region."""

    account: str
    region: str

    def __call__(self, run: Run) -> None:
        stage = _stage(run)
        mails = [mail for mail in stage.mails if mail.kind == NOT_COVERED]
        if not stage.expect(len(mails) == 1, f"exactly one {NOT_COVERED} alert (got {len(mails)})"):
            return
        text = mails[0].subject + "\n" + mails[0].body
        name, ou = stage.accounts[self.account]
        stage.expect(
            all(part in text for part in (self.account, name, ou, self.region)) and mails[0].severity == "HIGH",
            f"the {NOT_COVERED} alert to be HIGH and name {self.account} ({name}, {ou}) in {self.region}",
        )


@dataclass(frozen=True)
class CreateAccount:
    """The organization creates an account in an OU; the StackSet enrolls it with no operator action."""

    name: str
    ou: str

    def __call__(self, run: Run) -> None:
        run.grants["new-account"] = _stage(run).create_account(self.name, self.ou)


SCRIPT: Sequence[Step] = (
    # 0. One policy for the organization, then the member StackSet: forwarding rules and the member role in every
    # account and region of the OUs.
    PushOrgPolicy(),
    OrgDeploy(),
    At(9, 58),
    OrgStatus("checks that every member account and region is covered", 0),
    # 1. A production shell in Europe: decided in prod-web/eu-west-1, terminated there by the central warden.
    At(10, 0),
    StartIn(
        "web",
        "erin",
        "web",
        "WEB-12 restart nginx",
        "terminated at start",
        rule="no-production-shells-in-europe",
    ),
    AlertNamesPlace("web"),
    # 2. A developer in the morning window in dev/us-east-1: allowed, then swept when the window closes.
    At(10, 5),
    StartIn("dev", "frank", "dev-web", "DEV-3 debug the login page", "allowed", rule="developers-in-the-morning"),
    # 3. A grant for one account: grace may use prod-data's database, not dev's.
    At(10, 8),
    CreateGrant(
        "replica",
        (
            "--principal",
            "user:grace",
            "--tag",
            "Environment=prod",
            "--account",
            "333333333333",
            "--for",
            "1h",
            "--reason",
            "INC-7 replica lag",
            "--tz",
            "Europe/Berlin",
        ),
    ),
    At(10, 10),
    StartIn("data", "grace-data", "data-db", "INC-7 check replica lag", "allowed", grant="replica"),
    At(10, 12),
    StartIn("elsewhere", "grace-dev", "dev-db", "INC-7 check replica lag", "terminated at start"),
    # 2, continued: the window closes at 10:30; the sweep of dev/us-east-1 ends frank's session.
    At(10, 31),
    Ended("dev", "window closed"),
    AlertNamesPlace("dev"),
    StillOpen("data", "grace's session in prod-data to stay open under her grant"),
    # 4. A member breaks its forwarding: its canary stops coming back; one alert, and `warden org status` says so.
    At(10, 33),
    DeleteForwardRule("dan", *BROKEN),
    At(10, 46),
    NotCovered(*BROKEN),
    OrgStatus("looks at the organization", 1, not_covered=(BROKEN,)),
    # 5. A new account in Production: the StackSet enrolls it; a few minutes later it is covered.
    At(10, 48),
    CreateAccount(*NEW_ACCOUNT),
    At(10, 52),
    OrgStatus("looks again", 1, not_covered=(BROKEN,), covered_new=True),
    # The morning as a whole.
    AlertCount(NOT_COVERED, 1, f"exactly one {NOT_COVERED} alert"),
    OneAlertPerTermination(),
    HandlersSucceeded(),
)


def perform(stage: OrgStage, script: Sequence[Step] = SCRIPT) -> None:
    """Seed the organization, then take each step in turn."""
    stage.seed()
    stage.timeline.text(
        "",
        f"Tuesday 24 November 2026, times in Europe/Berlin. One central warden in account {CENTRAL}; each minute "
        f"its sweep fans out to every account in {', '.join(REGIONS)}.",
        "",
    )
    run = Run(stage)
    for step in script:
        step(run)
