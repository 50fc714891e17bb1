"""The demo's script: the scripted Tuesday as a list of steps, each an action on the stage or a check."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from warden_cli.demo_cast import berlin, demo_policy
from warden_cli.demo_defence import canary_back, set_rule

if TYPE_CHECKING:
    from warden_cli.demo_cast import Tracked
    from warden_cli.demo_stage import Stage
    from warden_local.inbox import Mail


@dataclass
class Run:
    """A run of the script: the stage, and the sessions and grants the steps named."""

    stage: Stage
    sessions: dict[str, Tracked] = field(default_factory=dict)
    grants: dict[str, str | None] = field(default_factory=dict)
    canary_seen_at: float | None = None  # when the canary last came back, as the last CanaryBack step saw it


class Step(Protocol):
    """One step of the script: an action on the stage, or a check of what the warden did."""

    def __call__(self, run: Run) -> None: ...


@dataclass(frozen=True)
class At:
    """Let the clock run on to this time in Berlin; the sweeper runs every emulated minute."""

    hour: int
    minute: int

    def __call__(self, run: Run) -> None:
        run.stage.advance(until=berlin(self.hour, self.minute))


@dataclass(frozen=True)
class Start:
    """A person starts a session (``ssm start-session``); the warden decides ``outcome`` by ``rule`` or grant."""

    name: str  # how later steps refer to the session
    person: str
    instance: str
    reason: str
    outcome: str
    rule: str | None = None
    grant: str | None = None  # the name of the CreateGrant step

    def __call__(self, run: Run) -> None:
        stage = run.stage
        tracked = stage.start(stage.people[self.person], stage.instances[self.instance], self.reason)
        run.sessions[self.name] = tracked
        grant = run.grants.get(self.grant) if self.grant is not None else None
        expect_start(stage, tracked, self.outcome, rule=self.rule, grant=grant)


@dataclass(frozen=True)
class CreateGrant:
    """The security team runs ``warden grant create ARGUMENTS``."""

    name: str
    arguments: tuple[str, ...]

    def __call__(self, run: Run) -> None:
        run.grants[self.name] = run.stage.grant(self.arguments)


@dataclass(frozen=True)
class ExtendGrant:
    """The security team runs ``warden grant extend ID ARGUMENTS`` on the grant the CreateGrant step ``name`` made."""

    name: str
    arguments: tuple[str, ...]

    def __call__(self, run: Run) -> None:
        run.stage.extend_grant(run.grants.get(self.name), self.arguments)


@dataclass(frozen=True)
class Warned:
    """The session's terminal has shown the warning that it ends at ``ends`` (``18:00 Europe/Berlin``), and why."""

    session: str
    ends: str
    why: str

    def __call__(self, run: Run) -> None:
        tracked = run.sessions[self.session]
        wanted = f"this session ends at {self.ends} ({self.why}"
        run.stage.expect(
            any(wanted in notice for notice in tracked.notices),
            f"{tracked.what} to be warned in its terminal that it ends at {self.ends} (got {tracked.notices})",
        )
        mails = [
            mail for mail in run.stage.mails if mail.kind == "session-expiring" and tracked.session_id in mail.body
        ]
        run.stage.expect(
            any(f"Ends at:  {self.ends}" in mail.body for mail in mails),
            f"a session-expiring alert for {tracked.what} ending at {self.ends}",
        )


@dataclass(frozen=True)
class Retag:
    """Someone re-tags an instance (``ec2 create-tags``) without a thought for open sessions."""

    instance: str
    tags: dict[str, str]

    def __call__(self, run: Run) -> None:
        run.stage.retag(run.stage.instances[self.instance], self.tags)


@dataclass(frozen=True)
class PushPolicy:
    """The security team runs ``warden policy push FILE`` with the demo policy in ``mode``."""

    file: str
    mode: str

    def __call__(self, run: Run) -> None:
        run.stage.push_policy(demo_policy(self.mode), self.file)


@dataclass(frozen=True)
class SetRule:
    """A person disables or enables the stack's EventBridge rule ``<stack>-<suffix>`` (``events disable-rule``)."""

    person: str
    suffix: str
    enabled: bool
    what: str  # what the timeline says the person does

    def __call__(self, run: Run) -> None:
        set_rule(run.stage, run.stage.people[self.person], self.suffix, enabled=self.enabled, what=self.what)


@dataclass(frozen=True)
class CanaryBack:
    """The sweeper's canary came back through CloudTrail and EventBridge (again, after an earlier CanaryBack)."""

    def __call__(self, run: Run) -> None:
        run.canary_seen_at = canary_back(run.stage, after=run.canary_seen_at)


@dataclass(frozen=True)
class Tampered:
    """Exactly one ``enforcer-tampered`` alert, and it names the call, the rule ``<stack>-<suffix>`` and who."""

    call: str
    suffix: str
    person: str

    def __call__(self, run: Run) -> None:
        stage = run.stage
        rule = f"{stage.cloud.stack_name}-{self.suffix}"
        mails = [mail for mail in stage.mails if mail.kind == "enforcer-tampered"]
        if not stage.expect(len(mails) == 1, f"exactly one enforcer-tampered alert (got {len(mails)})"):
            return
        fields = {
            label.strip(): value.strip()
            for label, value in (line.split(":", 1) for line in mails[0].body.splitlines() if ":" in line)
        }
        stage.expect(
            fields.get("Call") == self.call and fields.get("Resource") == rule,
            f"the enforcer-tampered alert to name {self.call} on {rule} (got {fields.get('Call')} on "
            f"{fields.get('Resource')})",
        )
        who = stage.people[self.person].name
        stage.expect(
            who in fields.get("Who", ""), f"the enforcer-tampered alert to name {who} (got {fields.get('Who')})"
        )


@dataclass(frozen=True)
class Ended:
    """The session has been terminated by the warden because of ``cause``, with one alert that says so."""

    session: str
    cause: str

    def __call__(self, run: Run) -> None:
        stage, tracked = run.stage, run.sessions[self.session]
        what = tracked.what
        if not stage.expect(not tracked.active, f"{what} to be terminated ({self.cause}), but it is still active"):
            return
        stage.expect(
            tracked.outcome == "terminated" and self.cause in (tracked.cause or ""),
            f"{what} to be terminated because {self.cause} (got {tracked.outcome}: {tracked.cause})",
        )
        mail = expect_alert_for(stage, tracked, "session-terminated")
        if mail is not None:
            stage.expect(self.cause in mail.body, f"the TERMINATED alert for {what} to say {self.cause!r}")


@dataclass(frozen=True)
class StillOpen:
    """The session is still active."""

    session: str
    expected: str  # what the timeline says was expected, should it not be

    def __call__(self, run: Run) -> None:
        run.stage.expect(run.sessions[self.session].active, self.expected)


@dataclass(frozen=True)
class GrantAlerted:
    """An alert of ``kind`` names the grant."""

    kind: str
    grant: str

    def __call__(self, run: Run) -> None:
        grant = run.grants.get(self.grant)
        run.stage.expect(
            any(mail.kind == self.kind and (grant or "?") in mail.body for mail in run.stage.mails),
            f"a {self.kind} alert for {grant}",
        )


@dataclass(frozen=True)
class AlertCount:
    """Exactly ``count`` alerts of ``kind`` so far."""

    kind: str
    count: int
    expected: str

    def __call__(self, run: Run) -> None:
        got = sum(1 for mail in run.stage.mails if mail.kind == self.kind)
        run.stage.expect(got == self.count, f"{self.expected} (got {got})")


@dataclass(frozen=True)
class OneAlertPerTermination:
    """One TERMINATED alert for each session the warden terminated, at start or later."""

    def __call__(self, run: Run) -> None:
        kinds = Counter(mail.kind for mail in run.stage.mails)
        terminated = [t for t in run.stage.sessions if t.outcome in ("terminated", "terminated at start")]
        run.stage.expect(
            kinds["session-terminated"] == len(terminated),
            f"one TERMINATED alert per terminated session ({len(terminated)} terminated, "
            f"{kinds['session-terminated']} alerts)",
        )


@dataclass(frozen=True)
class HandlersSucceeded:
    """Every run of the stack's handlers succeeded."""

    def __call__(self, run: Run) -> None:
        failed = [f"{i.function_name}: {i.error_type}" for i in run.stage.cloud.invocations if not i.ok]
        run.stage.expect(not failed, f"every handler run succeeded (failed: {', '.join(failed[:3])})")


ANALYSTS = "analysts-on-analytics"

SCRIPT: Sequence[Step] = (
    # 1. An analyst in office hours with a ticket: allowed, open until the rule's two hours are up.
    Start("first", "alice", "analytics-1", "DATA-1042 weekly revenue report", "allowed", rule=ANALYSTS),
    # 0. The sweeper's canary: a write CloudTrail records and the tamper watch receives, timed on its way back.
    At(14, 32),
    CanaryBack(),
    # 2. Deny beats allow: card-vault is an analytics host too, but Compliance=pci.
    At(14, 35),
    Start("pci", "carol", "card-vault", "DATA-1043 reconcile card totals", "terminated at start", rule="no-pci"),
    # 3. Production only with a grant: the security team grants bob an hour, then his session outlives it.
    At(14, 40),
    CreateGrant(
        "incident",
        (
            "--principal",
            "user:bob",
            "--tag",
            "Environment=prod",
            "--for",
            "1h",
            "--reason",
            "INC-2211 disk full",
            "--tz",
            "Europe/Berlin",
        ),
    ),
    At(14, 45),
    Start("incident", "bob", "prod-db-1", "INC-2211 clean up /var/log", "allowed", grant="incident"),
    # 5. A target re-tagged mid-session: build-runner moves from Analytics to Finance.
    At(15, 0),
    Start("build", "carol", "build-runner", "DATA-1050 rebuild the nightly job", "allowed", rule=ANALYSTS),
    At(15, 20),
    Retag("build-runner", {"Department": "Finance"}),
    At(15, 21),
    Ended("build", "target re-tagged"),
    # 3, continued: ten minutes before the grant ends at 15:40, bob's terminal says so; he asks for more time and
    # the security team extends the grant in time. The sweeper ends his session at the new expiry, 16:10.
    At(15, 30),
    Warned("incident", "15:40 Europe/Berlin", "grant"),
    At(15, 32),
    ExtendGrant("incident", ("--for", "30m", "--reason", "INC-2211 log rotation still running")),
    GrantAlerted("grant-extended", "incident"),
    At(15, 41),
    StillOpen("incident", "bob's session on prod-db-1 to stay open past 15:40 once its grant was extended"),
    At(16, 11),
    Ended("incident", "grant expired"),
    GrantAlerted("grant-expired", "incident"),
    # 1, continued: alice's session is open a minute before its deadline, and ends at it.
    At(16, 29),
    StillOpen("first", "alice@example.com's first session on analytics-1 to stay open until its deadline"),
    At(16, 31),
    Ended("first", "maximum duration reached"),
    # 4. A session that outlives the business-hours window: alice reconnects at 16:35; the window closes at 18:00.
    At(16, 35),
    Start("late", "alice", "analytics-1", "DATA-1042 weekly revenue report, part 2", "allowed", rule=ANALYSTS),
    # Ten and two minutes before the window closes, her terminal warns her (and the team gets one alert).
    At(17, 50),
    Warned("late", "18:00 Europe/Berlin", "business-hours closes)"),
    At(18, 1),
    Ended("late", "window closed"),
    # 6. Monitor mode: the warden says what it would do, and leaves the session open.
    At(18, 5),
    PushPolicy("monitor.yaml", "monitor"),
    Start("watched", "dave", "prod-db-1", "OPS-88 check replication lag", "would terminate"),
    At(18, 7),
    StillOpen("watched", "dave's session on prod-db-1 to stay open through two sweeps in monitor mode"),
    AlertCount("would-terminate", 1, "exactly one WOULD TERMINATE alert"),
    # 7. Self-defence: an engineer with events:DisableRule switches off the session-start rule. The tamper watch
    # sees the call in CloudTrail and alerts at once; the security team turns the rule back on (EnableRule undoes
    # the harm, so it is not watched), and the canary still comes back through the event path.
    At(18, 10),
    SetRule("mallory", "session-started", enabled=False, what="disables the session-start rule"),
    Tampered("DisableRule", "session-started", "mallory"),
    At(18, 12),
    SetRule("sam", "session-started", enabled=True, what="turns the session-start rule back on"),
    At(18, 21),
    CanaryBack(),
    AlertCount("enforcer-tampered", 1, "exactly one enforcer-tampered alert"),
    # The day as a whole.
    OneAlertPerTermination(),
    AlertCount("grant-created", 1, "one grant-created alert"),
    HandlersSucceeded(),
)


def perform(stage: Stage, script: Sequence[Step] = SCRIPT) -> None:
    """Seed the stage, then take each step in turn."""
    stage.seed()
    stage.timeline.text(
        "",
        "Tuesday 24 November 2026, times in Europe/Berlin (UTC+01:00). The sweeper re-checks open sessions "
        "every minute.",
        "",
    )
    run = Run(stage)
    for step in script:
        step(run)


def expect_start(stage: Stage, tracked: Tracked, outcome: str, *, rule: str | None, grant: str | None) -> None:
    """The warden decided the new session as scripted, and alerted when it terminated it or would have."""
    row = tracked.row
    what = tracked.what
    stage.expect(tracked.outcome == outcome, f"{what} to be {outcome} (it was {tracked.outcome or 'unknown'})")
    if rule is not None:
        got = row.rule if row else None
        stage.expect(got == rule, f"{what} to be decided by rule {rule} (got {got})")
    if grant is not None:
        got = row.grant if row else None
        stage.expect(got == grant, f"{what} to be allowed by grant {grant} (got {got})")
    if outcome == "terminated at start":
        expect_alert_for(stage, tracked, "session-terminated")
    if outcome == "would terminate":
        expect_alert_for(stage, tracked, "would-terminate")


def expect_alert_for(stage: Stage, tracked: Tracked, kind: str) -> Mail | None:
    """Exactly one alert of ``kind`` about the session."""
    mails = [mail for mail in stage.mails if mail.kind == kind and tracked.session_id in mail.body]
    stage.expect(len(mails) == 1, f"one {kind} alert for {tracked.what} (got {len(mails)})")
    return mails[0] if mails else None
