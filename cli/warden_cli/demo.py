"""`warden demo`: one scripted Tuesday on the embedded local cloud, printed as a timeline with every alert as e-mail."""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import logging
import os
import shlex
import sys
import tempfile
import warnings
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from email.utils import format_datetime
from pathlib import Path
from time import perf_counter
from typing import TYPE_CHECKING, Any, TextIO
from zoneinfo import ZoneInfo

from warden_cli.errors import EXIT_DENIED, EXIT_OK, CliError

if TYPE_CHECKING:
    from warden.ports import LedgerEntry
    from warden_local import Credentials, LocalCloud

BERLIN = ZoneInfo("Europe/Berlin")
# Tuesday 24 November 2026, a month clear of the policy's holidays. The day starts at 14:30 in Berlin so the
# business-hours window closes (18:00) about three emulated hours later: the sweeper runs every emulated minute.
DAY = date(2026, 11, 24)
DAY_STARTS = time(14, 30)
ALERT_EMAIL = "security@example.com"
# IAM Identity Center creates its roles under this path, named after the permission set plus a suffix.
SSO_PATH = "/aws-reserved/sso.amazonaws.com/"
ANALYST_ROLE = "AWSReservedSSO_Analyst_6f1d2c3b4a5e6f70"
SECURITY_ROLE = "AWSReservedSSO_SecurityAdmin_0c9d8e7f6a5b4c3d"
# What Amazon SNS puts in From: the topic's DisplayName ("Session Warden" in template.yaml) and its sender address.
MAIL_FROM = "Session Warden <no-reply@sns.amazonaws.com>"
# Library loggers that would otherwise print request lines and warnings over the timeline.
_QUIET_LOGGERS = ("werkzeug", "moto", "warden_local", "botocore", "boto3", "urllib3", "aws_lambda_powertools")
_INDENT = " " * len("00:00 Berlin  ")  # continuation lines start under the text of a stamped line
_QUIET_STRETCH = 60  # minutes: a longer wait gets its own line in the timeline

# policies/example.yaml, cut down to what the day needs.
POLICY = """\
version: 1
mode: enforce
default: deny
timezone: UTC

windows:
  business-hours:
    timezone: Europe/Berlin
    weekly:
      - days: [mon, tue, wed, thu, fri]
        from: "08:00"
        to: "18:00"
    except: ["2026-12-24", "2026-12-25", "2026-12-31"]

rules:
  - name: no-pci
    effect: deny
    targets:
      tags: {Compliance: pci}

  - name: analysts-on-analytics
    principals: ["role:AWSReservedSSO_Analyst_*", "user:alice@example.com"]
    targets:
      tags: {Department: Analytics}
    documents: [SSM-SessionManagerRunShell]
    windows: [business-hours]
    max_duration: 2h
    require_reason: "^[A-Z]+-[0-9]+"

# Environment=prod has no allow rule: only a just-in-time grant opens it.
grants:
  max_duration: 8h
"""
MONITOR_POLICY = POLICY.replace("mode: enforce", "mode: monitor")


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="a scripted day on the embedded local cloud: sessions, terminations and alerts (no AWS account needed)",
        description="Start the local cloud in this process, deploy the stack from template.yaml, and run one "
        "Tuesday of Session Manager sessions on an emulated clock: an allowed session, a denied one, a grant that "
        "expires, a business-hours window that closes, a re-tagged instance and monitor mode. Prints the timeline "
        "and every alert as the e-mail the security team receives. Exits 1 if the day did not go as scripted.",
    )
    parser.add_argument("--json", action="store_true", help="print the timeline as JSON lines, one object per event")
    parser.set_defaults(handler=demo_command)


def demo_command(args: argparse.Namespace) -> int:
    began = perf_counter()
    timeline = Timeline(sys.stdout, as_json=args.json)
    with _quiet():
        from botocore.exceptions import BotoCoreError, ClientError

        from warden_local import LocalCloud, LocalCloudError, SettleTimeout

        try:
            with LocalCloud(
                start_at=berlin(DAY_STARTS.hour, DAY_STARTS.minute),
                frozen=True,
                policy=POLICY,
                alert_email=ALERT_EMAIL,
            ) as cloud:
                day = Day(cloud, timeline)
                day.run()
        except LocalCloudError as error:
            raise CliError(f"the local cloud did not start: {error}", code=EXIT_DENIED) from None
        except SettleTimeout as error:
            raise CliError(f"the local cloud did not settle: {error}", code=EXIT_DENIED) from None
        except (BotoCoreError, ClientError) as error:
            raise CliError(f"an AWS call of the demo failed: {error}", code=EXIT_DENIED) from None
        except Exception as error:
            # The demo doubles as a smoke test: say what broke in one line rather than in a stack trace.
            raise CliError(f"the demo stopped: {type(error).__name__}: {error}", code=EXIT_DENIED) from None
    day.summarise(seconds=perf_counter() - began)
    return EXIT_DENIED if day.unmet else EXIT_OK


# --- the timeline ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Mail:
    """One alert as the inbox received it (the SNS envelope of an SQS subscription)."""

    subject: str
    body: str
    severity: str
    kind: str


@dataclass(frozen=True)
class Event:
    """One thing that happened: lines for people, data for ``--json``."""

    at: datetime
    kind: str
    lines: Sequence[str]
    data: dict[str, Any] = field(default_factory=dict)
    stamped: bool = True  # whether the first line starts with the local time


class Timeline:
    """Prints each event as it happens: text for people, or one JSON object per line."""

    def __init__(self, stream: TextIO, *, as_json: bool) -> None:
        # Keep the real stream: the local cloud swaps sys.stdout while a handler runs.
        self._stream = stream
        self.as_json = as_json
        self.events: list[Event] = []

    def emit(self, event: Event) -> None:
        self.events.append(event)
        if self.as_json:
            from warden.timefmt import iso

            self._write(json.dumps({"at": iso(event.at), "kind": event.kind, **event.data}, ensure_ascii=False))
            return
        lines = list(event.lines)
        if not lines:
            return
        if event.stamped:
            lines[0] = f"{local_time(event.at)} Berlin  {lines[0]}"
        self._write("\n".join(lines))

    def text(self, *lines: str) -> None:
        """Lines only people see (headings, blank lines); nothing in ``--json``."""
        if not self.as_json:
            self._write("\n".join(lines))

    def _write(self, text: str) -> None:
        self._stream.write(text + "\n")
        self._stream.flush()


def berlin(hour: int, minute: int) -> datetime:
    """The demo day's wall-clock time in Berlin, as UTC."""
    return datetime.combine(DAY, time(hour, minute), tzinfo=BERLIN).astimezone(UTC)


def local_time(moment: datetime) -> str:
    return moment.astimezone(BERLIN).strftime("%H:%M")


# --- the day ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Person:
    name: str  # as the warden shows them: IAM user name, or the Identity Center e-mail (role session name)
    about: str
    arn: str
    credentials: Credentials
    ssm: Any


@dataclass(frozen=True)
class Instance:
    name: str
    id: str
    tags: dict[str, str]

    @property
    def label(self) -> str:
        return f"{self.name} ({self.id})"


@dataclass
class Tracked:
    """A session the demo started, and what became of it."""

    session_id: str
    person: Person
    instance: Instance
    started_at: datetime
    row: LedgerEntry | None = None
    active: bool = True
    outcome: str = ""  # "allowed", "terminated at start", "would terminate", "terminated", "ended", ...
    allowed_at_start: bool = False
    cause: str | None = None


class Day:
    """The scripted day: seed the cloud, drive sessions through the real API, report what the warden did."""

    def __init__(self, cloud: LocalCloud, timeline: Timeline) -> None:
        from warden.adapters.grants import DynamoGrantStore
        from warden.adapters.ledger import DynamoLedger

        self.cloud = cloud
        self.timeline = timeline
        self.outputs = cloud.stack_outputs()
        self.ledger = DynamoLedger(cloud.client("dynamodb"), self.outputs["LedgerTableName"])
        self.grants = DynamoGrantStore(cloud.client("dynamodb"), self.outputs["GrantsTableName"])
        self.inbox = Inbox(cloud, self.outputs["AlertsTopicArn"])
        self.sessions: list[Tracked] = []
        self.mails: list[Mail] = []
        self.unmet: list[str] = []
        self.sweeps = 0
        self.people: dict[str, Person] = {}
        self.instances: dict[str, Instance] = {}

    # -- the script ---------------------------------------------------------------------------------------------------

    def run(self) -> None:
        self._seed()
        self.timeline.text(
            "",
            "Tuesday 24 November 2026, times in Europe/Berlin (UTC+01:00). The sweeper re-checks open sessions "
            "every minute.",
            "",
        )
        alice, carol, bob, dave = (self.people[name] for name in ("alice", "carol", "bob", "dave"))
        analytics, vault, prod, runner = (
            self.instances[name] for name in ("analytics-1", "card-vault", "prod-db-1", "build-runner")
        )

        # 1. An analyst in office hours with a ticket: allowed, open until the rule's two hours are up.
        first = self.start(alice, analytics, "DATA-1042 weekly revenue report")
        self.expect_start(first, "allowed", rule="analysts-on-analytics")

        # 2. Deny beats allow: card-vault is an analytics host too, but Compliance=pci.
        self.advance(until=berlin(14, 35))
        pci = self.start(carol, vault, "DATA-1043 reconcile card totals")
        self.expect_start(pci, "terminated at start", rule="no-pci")

        # 3. Production only with a grant: the security team grants bob an hour, then his session outlives it.
        self.advance(until=berlin(14, 40))
        grant = self.grant(
            ["--principal", "user:bob", "--tag", "Environment=prod", "--for", "1h", "--reason", "INC-2211 disk full"]
        )
        self.advance(until=berlin(14, 45))
        incident = self.start(bob, prod, "INC-2211 clean up /var/log")
        self.expect_start(incident, "allowed", grant=grant)

        # 5. A target re-tagged mid-session: build-runner moves from Analytics to Finance.
        self.advance(until=berlin(15, 0))
        build = self.start(carol, runner, "DATA-1050 rebuild the nightly job")
        self.expect_start(build, "allowed", rule="analysts-on-analytics")
        self.advance(until=berlin(15, 20))
        self.retag(runner, {"Department": "Finance"})
        self.advance(until=berlin(15, 21))
        self.expect_end(build, "target re-tagged")

        # 3, continued: the grant ends at 15:40; the sweep of that minute ends bob's session.
        self.advance(until=berlin(15, 41))
        self.expect_end(incident, "grant expired")
        self.expect(
            any(mail.kind == "grant-expired" and (grant or "?") in mail.body for mail in self.mails),
            f"a grant-expired alert for {grant}",
        )

        # 1, continued: alice's session is open a minute before its deadline, and ends at it.
        self.advance(until=berlin(16, 29))
        self.expect(first.active, "alice@example.com's first session on analytics-1 to stay open until its deadline")
        self.advance(until=berlin(16, 31))
        self.expect_end(first, "maximum duration reached")

        # 4. A session that outlives the business-hours window: alice reconnects at 16:35; the window closes at 18:00.
        self.advance(until=berlin(16, 35))
        late = self.start(alice, analytics, "DATA-1042 weekly revenue report, part 2")
        self.expect_start(late, "allowed", rule="analysts-on-analytics")
        self.advance(until=berlin(18, 1))
        self.expect_end(late, "window closed")

        # 6. Monitor mode: the warden says what it would do, and leaves the session open.
        self.advance(until=berlin(18, 5))
        self.push_policy(MONITOR_POLICY, "monitor.yaml")
        watched = self.start(dave, prod, "OPS-88 check replication lag")
        self.expect_start(watched, "would terminate")
        self.advance(until=berlin(18, 7))
        self.expect(watched.active, "dave's session on prod-db-1 to stay open through two sweeps in monitor mode")
        would = [mail for mail in self.mails if mail.kind == "would-terminate"]
        self.expect(len(would) == 1, f"exactly one WOULD TERMINATE alert (got {len(would)})")

        kinds = Counter(mail.kind for mail in self.mails)
        terminated = [tracked for tracked in self.sessions if tracked.outcome in ("terminated", "terminated at start")]
        self.expect(
            kinds["session-terminated"] == len(terminated),
            f"one TERMINATED alert per terminated session ({len(terminated)} terminated, "
            f"{kinds['session-terminated']} alerts)",
        )
        self.expect(kinds["grant-created"] == 1, f"one grant-created alert (got {kinds['grant-created']})")
        failed = [f"{i.function_name}: {i.error_type}" for i in self.cloud.invocations if not i.ok]
        self.expect(not failed, f"every handler run succeeded (failed: {', '.join(failed[:3])})")

    # -- seeding ------------------------------------------------------------------------------------------------------

    def _seed(self) -> None:
        cloud = self.cloud
        topic = self.outputs["AlertsTopicArn"].rsplit(":", 1)[-1]
        self.emit(
            "setup",
            ["Session Warden demo: a Tuesday afternoon on the embedded local cloud (no AWS account needed)", ""],
            {
                "endpoint": cloud.endpoint,
                "stack": cloud.stack_name,
                "region": cloud.region,
                "start_seconds": round(cloud.start_seconds or 0, 1),
                "alerts_topic": self.outputs["AlertsTopicArn"],
                "alert_email": ALERT_EMAIL,
            },
            stamped=False,
        )
        self.timeline.text(
            f"  local cloud  moto on {cloud.endpoint}; stack {cloud.stack_name} created from template.yaml "
            f"in {cloud.start_seconds or 0:.1f}s",
            f"  alerts       SNS topic {topic}, e-mailed to {ALERT_EMAIL}",
        )
        self._seed_policy()
        seeds = (
            ("analytics-1", {"Department": "Analytics"}),
            ("card-vault", {"Department": "Analytics", "Compliance": "pci"}),
            ("prod-db-1", {"Environment": "prod"}),
            ("build-runner", {"Department": "Analytics"}),
        )
        for index, (name, tags) in enumerate(seeds):
            instance_id = cloud.add_instance({"Name": name, **tags})
            instance = Instance(name, instance_id, tags)
            self.instances[name] = instance
            shown = ", ".join(f"{key}={value}" for key, value in tags.items())
            lead = "  instances    " if index == 0 else "               "
            self.emit(
                "instance",
                [f"{lead}{name:<13} {instance_id}  {shown}"],
                {"name": name, "id": instance_id, "tags": {"Name": name, **tags}},
                stamped=False,
            )
        people = (
            ("alice", "alice@example.com", ANALYST_ROLE, "IAM Identity Center user, permission set Analyst"),
            ("carol", "carol@example.com", ANALYST_ROLE, "IAM Identity Center user, permission set Analyst"),
            ("bob", "bob", None, "IAM user, on call for production"),
            ("dave", "dave", None, "IAM user, database engineer"),
            ("sam", "sam@example.com", SECURITY_ROLE, "IAM Identity Center user, security team: runs `warden`"),
        )
        for index, (key, name, role, about) in enumerate(people):
            credentials = cloud.role_credentials(role, name, path=SSO_PATH) if role else cloud.user_credentials(name)
            arn = str(cloud.client("sts", credentials=credentials).get_caller_identity()["Arn"])
            person = Person(name, about, arn, credentials, cloud.client("ssm", credentials=credentials))
            self.people[key] = person
            lead = "  people       " if index == 0 else "               "
            self.emit(
                "principal",
                [f"{lead}{name:<18} {about}", f"               {'':<18} {arn}"],
                {"name": name, "about": about, "arn": arn},
                stamped=False,
            )

    def _seed_policy(self) -> None:
        self.emit(
            "policy",
            [
                "  policy       business-hours: Mon-Fri 08:00-18:00 Europe/Berlin",
                "               no-pci: deny every session on Compliance=pci (deny beats allow and grants)",
                "               analysts-on-analytics: the Analyst role and alice@example.com on Department=Analytics,",
                "                 in business hours, shell only, 2h at most, a ticket (^[A-Z]+-[0-9]+) in the reason",
                "               Environment=prod: no rule, only a just-in-time grant; default deny, mode enforce",
            ],
            {"parameter": self.outputs["PolicyParameterName"], "mode": "enforce", "document": POLICY},
            stamped=False,
        )

    # -- actions ------------------------------------------------------------------------------------------------------

    def start(self, person: Person, instance: Instance, reason: str) -> Tracked:
        """``ssm start-session`` with the person's own credentials; report the decision the warden took."""
        at = self.cloud.clock.now()
        session_id = str(person.ssm.start_session(Target=instance.id, Reason=reason)["SessionId"])
        self.cloud.settle()
        tracked = Tracked(session_id, person, instance, at)
        self.sessions.append(tracked)
        tracked.row = self.ledger.get(session_id)
        tracked.active = session_id in self._active()
        row = tracked.row
        tracked.outcome, verdict = _start_verdict(row, tracked.active)
        tracked.allowed_at_start = row is not None and row.decision == "allow"
        if tracked.outcome in ("terminated at start", "would terminate") and row is not None:
            tracked.cause = _cause_of(row)
        self.emit(
            "session-start",
            [
                f'{person.name} starts a session on {instance.label}, reason "{reason}"  ->  {verdict}',
            ],
            {
                "session_id": session_id,
                "principal": person.name,
                "principal_arn": person.arn,
                "target": instance.id,
                "target_name": instance.name,
                "reason": reason,
                "decision": row.decision if row else None,
                "rule": row.rule if row else None,
                "grant": row.grant if row else None,
                "deadline": _iso(row.deadline) if row else None,
                "action": row.action if row else None,
                "outcome": tracked.outcome,
                "active": tracked.active,
                "why": list(row.why) if row else [],
            },
            at=at,
        )
        self._drain()
        return tracked

    def grant(self, arguments: list[str]) -> str | None:
        """``warden grant create ...``, run by the security team, exactly as typed; returns the grant id."""
        sam = self.people["sam"]
        argv = ["grant", "create", *arguments]
        at = self.cloud.clock.now()
        code, out, err = self._warden(argv, sam)
        grant_id = out.strip().splitlines()[0] if code == 0 and out.strip() else None
        stored = self.grants.get(grant_id) if grant_id else None
        output = [line for line in (out + err).splitlines() if line.strip()]
        self.emit(
            "grant",
            [f"{sam.name} runs  $ warden {shlex.join(argv)}", *(f"{_INDENT}{line}" for line in output)],
            {
                "command": ["warden", *argv],
                "exit_code": code,
                "output": output,
                "grant": {
                    "id": stored.id,
                    "principal": stored.principal,
                    "targets": stored.targets.to_document(),
                    "starts_at": _iso(stored.starts_at),
                    "expires_at": _iso(stored.expires_at),
                    "reason": stored.reason,
                    "created_by": stored.created_by,
                }
                if stored
                else None,
            },
            at=at,
        )
        self.expect(code == 0 and stored is not None, f"`warden {shlex.join(argv)}` creates a grant (exit {code})")
        self._drain()
        return grant_id

    def push_policy(self, text: str, name: str) -> None:
        """``warden policy push FILE`` by the security team."""
        sam = self.people["sam"]
        at = self.cloud.clock.now()
        with tempfile.TemporaryDirectory(prefix="warden-demo-") as folder:
            path = Path(folder) / name
            path.write_text(text, encoding="utf-8")
            code, out, err = self._warden(["policy", "push", str(path)], sam)
            output = [line.replace(str(path), name) for line in (out + err).splitlines() if line.strip()]
        argv = ["policy", "push", name]
        self.emit(
            "policy-push",
            [
                f"{sam.name} switches the policy to monitor mode  $ warden {shlex.join(argv)}",
                *(f"{_INDENT}{line}" for line in output),
            ],
            {"command": ["warden", *argv], "exit_code": code, "output": output, "document": text},
            at=at,
        )
        self.expect(code == 0, f"`warden policy push {name}` succeeds (exit {code})")
        self._drain()

    def retag(self, instance: Instance, tags: dict[str, str]) -> None:
        """``ec2 create-tags`` by someone who never thinks of open sessions."""
        at = self.cloud.clock.now()
        self.cloud.client("ec2").create_tags(
            Resources=[instance.id], Tags=[{"Key": key, "Value": value} for key, value in tags.items()]
        )
        self.cloud.settle()
        before = ", ".join(f"{key}={instance.tags.get(key, '(none)')}" for key in tags)
        after = ", ".join(f"{key}={value}" for key, value in tags.items())
        self.emit(
            "retag",
            [f"an engineer re-tags {instance.label}: {before} -> {after} (ec2 create-tags)"],
            {"target": instance.id, "target_name": instance.name, "tags": tags},
            at=at,
        )
        self._drain()

    def advance(self, *, until: datetime) -> None:
        """Move the emulated clock minute by minute (the sweeper runs each minute), reporting what happens."""
        now = self.cloud.clock.now()
        end = until
        if end - now > timedelta(minutes=_QUIET_STRETCH):
            self.emit(
                "clock",
                [f"... the clock runs on to {local_time(end)}; the sweeper re-checks open sessions every minute"],
                {"from": _iso(now), "to": _iso(end)},
                at=now,
            )
        while self.cloud.clock.now() < end:
            self.sweeps += self.cloud.advance(min(timedelta(minutes=1), end - self.cloud.clock.now()))
            self._observe()

    # -- observing ----------------------------------------------------------------------------------------------------

    def _observe(self) -> bool:
        """Report sessions that stopped being active, then alerts that arrived; True if anything happened."""
        open_sessions = [tracked for tracked in self.sessions if tracked.active]
        happened = False
        if open_sessions:
            active = self._active()
            for tracked in open_sessions:
                if tracked.session_id not in active:
                    self._ended(tracked)
                    happened = True
        return self._drain() or happened

    def _ended(self, tracked: Tracked) -> None:
        tracked.active = False
        row = self.ledger.get(tracked.session_id)
        tracked.row = row
        at = (row.ended_at if row and row.ended_at else None) or self.cloud.clock.now()
        person, instance = tracked.person, tracked.instance
        if row is not None and row.status == "ended" and row.ended_by == "session-warden":
            tracked.outcome = "terminated"
            tracked.cause = _cause_of(row)
            text = f"TERMINATED by the sweeper: {tracked.cause}"
        elif row is not None and row.status == "ended":
            tracked.outcome = "ended"
            tracked.cause = row.end_reason
            text = f"ended ({row.end_reason or 'no reason recorded'})"
        else:
            tracked.outcome = "gone"
            text = "no longer active, but the ledger still shows it open"
        length = _span(at - tracked.started_at)
        self.emit(
            "session-end",
            [
                f"{person.name}'s session on {instance.label}, open since {local_time(tracked.started_at)} "
                f"({length})  ->  {text}"
            ],
            {
                "session_id": tracked.session_id,
                "principal": person.name,
                "target": instance.id,
                "target_name": instance.name,
                "started_at": _iso(tracked.started_at),
                "ended_at": _iso(at),
                "ended_by": row.ended_by if row else None,
                "outcome": tracked.outcome,
                "cause": tracked.cause,
            },
            at=at,
        )

    def _drain(self) -> bool:
        mails = self.inbox.receive()
        for mail in mails:
            self.mails.append(mail)
            at = self.cloud.clock.now()
            self.emit(
                "alert",
                _envelope(mail, at),
                {
                    "alert": {
                        "from": MAIL_FROM,
                        "to": ALERT_EMAIL,
                        "subject": mail.subject,
                        "body": mail.body,
                        "severity": mail.severity,
                        "kind": mail.kind,
                    }
                },
                at=at,
            )
        return bool(mails)

    def _active(self) -> set[str]:
        ssm = self.cloud.client("ssm")
        found: set[str] = set()
        request: dict[str, Any] = {"State": "Active", "MaxResults": 200}
        while True:
            page = ssm.describe_sessions(**request)
            found.update(str(session["SessionId"]) for session in page.get("Sessions", []))
            if not page.get("NextToken"):
                return found
            request["NextToken"] = page["NextToken"]

    def _warden(self, argv: list[str], person: Person) -> tuple[int, str, str]:
        """Run the ``warden`` command in this process, as ``person``, against the local cloud."""
        from warden_cli.main import main

        self.cloud.settle()  # no handler runs meanwhile: they share os.environ and sys.stdout with us
        env = {
            "AWS_ENDPOINT_URL": self.cloud.endpoint,
            "AWS_DEFAULT_REGION": self.cloud.region,
            "AWS_REGION": self.cloud.region,
            "AWS_SESSION_TOKEN": None,
            "AWS_PROFILE": None,
            "AWS_DEFAULT_PROFILE": None,
            **person.credentials.env(),
        }
        out, err = io.StringIO(), io.StringIO()
        with _environ(env), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main(argv)
            except SystemExit as exit_:  # argparse
                code = exit_.code if isinstance(exit_.code, int) else 2
        self.cloud.settle()
        return code, out.getvalue(), err.getvalue()

    # -- expectations -------------------------------------------------------------------------------------------------

    def expect(self, ok: bool, what: str) -> bool:
        if not ok:
            self.unmet.append(what)
            self.emit("not-as-scripted", [f"NOT AS SCRIPTED: expected {what}"], {"expected": what})
        return ok

    def expect_start(
        self, tracked: Tracked, outcome: str, *, rule: str | None = None, grant: str | None = None
    ) -> None:
        row = tracked.row
        what = f"{tracked.person.name}'s session on {tracked.instance.name}"
        self.expect(tracked.outcome == outcome, f"{what} to be {outcome} (it was {tracked.outcome or 'unknown'})")
        if rule is not None:
            got = row.rule if row else None
            self.expect(got == rule, f"{what} to be decided by rule {rule} (got {got})")
        if grant is not None:
            got = row.grant if row else None
            self.expect(got == grant, f"{what} to be allowed by grant {grant} (got {got})")
        if outcome == "terminated at start":
            self.expect_alert_for(tracked, "session-terminated")
        if outcome == "would terminate":
            self.expect_alert_for(tracked, "would-terminate")

    def expect_end(self, tracked: Tracked, cause: str) -> None:
        what = f"{tracked.person.name}'s session on {tracked.instance.name}"
        if not self.expect(not tracked.active, f"{what} to be terminated ({cause}), but it is still active"):
            return
        self.expect(
            tracked.outcome == "terminated" and cause in (tracked.cause or ""),
            f"{what} to be terminated because {cause} (got {tracked.outcome}: {tracked.cause})",
        )
        mail = self.expect_alert_for(tracked, "session-terminated")
        if mail is not None:
            self.expect(cause in mail.body, f"the TERMINATED alert for {what} to say {cause!r}")

    def expect_alert_for(self, tracked: Tracked, kind: str) -> Mail | None:
        mails = [mail for mail in self.mails if mail.kind == kind and tracked.session_id in mail.body]
        what = f"{tracked.person.name}'s session on {tracked.instance.name}"
        self.expect(len(mails) == 1, f"one {kind} alert for {what} (got {len(mails)})")
        return mails[0] if mails else None

    # -- output -------------------------------------------------------------------------------------------------------

    def emit(
        self,
        kind: str,
        lines: Sequence[str],
        data: dict[str, Any],
        *,
        at: datetime | None = None,
        stamped: bool = True,
    ) -> None:
        self.timeline.emit(Event(at or self.cloud.clock.now(), kind, lines, data, stamped=stamped))

    def summarise(self, *, seconds: float) -> None:
        outcomes = Counter(tracked.outcome for tracked in self.sessions)
        allowed = sum(1 for tracked in self.sessions if tracked.allowed_at_start)
        kinds = Counter(mail.kind for mail in self.mails)
        by_sweeper = outcomes["terminated"]
        at_start = outcomes["terminated at start"]
        data = {
            "sessions_started": len(self.sessions),
            "allowed_at_start": allowed,
            "terminated_at_start": at_start,
            "terminated_by_sweeper": by_sweeper,
            "would_terminate": outcomes["would terminate"],
            "still_open": sum(1 for tracked in self.sessions if tracked.active),
            "alerts": dict(sorted(kinds.items())),
            "sweeps": self.sweeps,
            "as_scripted": not self.unmet,
            "unmet": list(self.unmet),
            "seconds": round(seconds, 1),
        }
        alerts = ", ".join(f"{count} {kind}" for kind, count in sorted(kinds.items())) or "none"
        lines = [
            "",
            "Summary",
            f"  sessions started   {len(self.sessions)}: {allowed} allowed, {at_start} terminated at start, "
            f"{outcomes['would terminate']} left open in monitor mode",
            f"  terminated later   {by_sweeper} by the sweeper ({self.sweeps} sweeps, one per emulated minute)",
            f"  still open         {data['still_open']}",
            f"  alerts sent        {len(self.mails)}: {alerts}",
        ]
        if self.unmet:
            lines += ["", f"NOT AS SCRIPTED ({len(self.unmet)}):", *(f"  - expected {what}" for what in self.unmet)]
        else:
            lines += ["", f"The day went as scripted ({seconds:.1f}s)."]
        lines += [
            "",
            "Explore further: `warden local up` runs the same local cloud in the foreground; then export the",
            "AWS_ENDPOINT_URL it prints and use `aws ssm start-session`, `warden grant create`, `warden sessions`",
            "and `warden local advance 1h` as you would against AWS.",
        ]
        self.timeline.emit(Event(self.cloud.clock.now(), "summary", lines, data, stamped=False))


class Inbox:
    """An SQS queue subscribed to the alerts topic: what reaches the security team's mailbox, in order."""

    def __init__(self, cloud: LocalCloud, topic_arn: str) -> None:
        self._sqs = cloud.client("sqs")
        self._url = str(self._sqs.create_queue(QueueName="warden-demo-inbox")["QueueUrl"])
        attributes = self._sqs.get_queue_attributes(QueueUrl=self._url, AttributeNames=["QueueArn"])["Attributes"]
        cloud.client("sns").subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=attributes["QueueArn"])

    def receive(self) -> list[Mail]:
        mails: list[Mail] = []
        while messages := self._sqs.receive_message(QueueUrl=self._url, MaxNumberOfMessages=10).get("Messages", []):
            for message in messages:
                envelope = json.loads(message["Body"])
                attributes = envelope.get("MessageAttributes", {})
                mails.append(
                    Mail(
                        subject=str(envelope.get("Subject", "")),
                        body=str(envelope.get("Message", "")),
                        severity=str(attributes.get("severity", {}).get("Value", "")),
                        kind=str(attributes.get("kind", {}).get("Value", "")),
                    )
                )
                self._sqs.delete_message(QueueUrl=self._url, ReceiptHandle=message["ReceiptHandle"])
        return mails


# --- helpers ---------------------------------------------------------------------------------------------------------


def _start_verdict(row: LedgerEntry | None, active: bool) -> tuple[str, str]:
    """(outcome, what the timeline says) for a session just started."""
    state = "still active" if active else "no longer active"
    if row is None:
        return ("allowed" if active else "gone"), f"no decision in the ledger ({state} per DescribeSessions)"
    if row.decision == "allow":
        by = f"grant {row.grant}" if row.grant else (row.rule or "the default")
        until = f", until {local_time(row.deadline)}" if row.deadline else ""
        outcome = "allowed" if active else "gone"
        suffix = "" if active else f" (but DescribeSessions: {state})"
        return outcome, f"ALLOWED by {by}{until}{suffix}"
    denied = f"DENIED by rule {row.rule}" if row.basis == "deny-rule" else "DENIED: no rule or grant allows it"
    if row.action == "terminated":
        if active:
            return "still active", f"{denied}, yet DescribeSessions still lists it as active"
        return "terminated at start", f"{denied}  ->  TERMINATED at start"
    if row.action == "would-terminate":
        return "would terminate", f"{denied}  ->  WOULD TERMINATE (monitor mode), left open"
    if row.action == "termination-failed":
        return "termination failed", f"{denied}  ->  TERMINATION FAILED ({state})"
    return ("denied, open" if active else "denied, gone"), f"{denied} (action {row.action}; {state})"


def _cause_of(row: LedgerEntry) -> str | None:
    reason = row.end_reason or ""
    prefix = "terminated by Session Warden: "
    if reason.startswith(prefix):
        return reason[len(prefix) :]
    if row.basis == "deny-rule":
        return f"denied by rule {row.rule}"
    return reason or (row.why[0] if row.why else None)


def _envelope(mail: Mail, at: datetime) -> list[str]:
    """The alert as an e-mail client shows it: headers, a blank line, the body."""
    headers = [
        f"From:    {MAIL_FROM}",
        f"To:      {ALERT_EMAIL}",
        f"Date:    {format_datetime(at.astimezone(BERLIN))}",
        f"Subject: {mail.subject}",
        "",
    ]
    body = mail.body.rstrip("\n").splitlines()
    return [
        f"ALERT e-mail ({mail.severity}, {mail.kind})",
        *(f"      | {line}".rstrip() for line in (*headers, *body)),
    ]


def _span(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m"


def _iso(moment: datetime | None) -> str | None:
    from warden.timefmt import iso

    return None if moment is None else iso(moment)


@contextlib.contextmanager
def _environ(values: dict[str, str | None]) -> Iterator[None]:
    saved = {key: os.environ.get(key) for key in values}
    try:
        for key, value in values.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        yield
    finally:
        for key, old in saved.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """No request logs, library warnings or handler chatter over the timeline."""
    loggers = [logging.getLogger(name) for name in _QUIET_LOGGERS]
    levels = [logger.level for logger in loggers]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for logger in loggers:
            logger.setLevel(logging.CRITICAL)
        try:
            yield
        finally:
            for logger, level in zip(loggers, levels, strict=True):
                logger.setLevel(level)
