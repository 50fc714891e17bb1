"""The demo's stage: seed the local cloud, act through the real APIs and the `warden` command, observe the warden."""

from __future__ import annotations

import contextlib
import io
import shlex
import tempfile
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from warden_cli.aws import active_session_ids
from warden_cli.demo_cast import (
    ALERT_EMAIL,
    INSTANCES,
    OPERATOR,
    PEOPLE,
    POLICY_LINES,
    RULE_ACTIONS,
    SSO_PATH,
    Instance,
    Person,
    Tracked,
    demo_policy,
)
from warden_cli.demo_defence import allow_rule_actions
from warden_cli.demo_verdicts import cause_of, start_verdict
from warden_cli.output import iso_or_none
from warden_cli.timeline import INDENT, Event, Timeline, alert_event, local_time, span, summary_event

if TYPE_CHECKING:
    from warden_local import LocalCloud
    from warden_local.inbox import Mail

QUIET_STRETCH = timedelta(minutes=60)  # a longer wait gets its own line in the timeline


class Stage:
    """The local cloud as the day's people use it, and what the warden did in return, reported on the timeline."""

    def __init__(self, cloud: LocalCloud, timeline: Timeline) -> None:
        from warden.adapters.grants import DynamoGrantStore
        from warden.adapters.ledger import DynamoLedger
        from warden.adapters.state import DynamoState
        from warden_local.inbox import Inbox

        self.cloud = cloud
        self.timeline = timeline
        self.outputs = cloud.stack_outputs()
        self.ledger = DynamoLedger(cloud.client("dynamodb"), self.outputs["LedgerTableName"])
        self.grants = DynamoGrantStore(cloud.client("dynamodb"), self.outputs["GrantsTableName"])
        self.state = DynamoState(cloud.client("dynamodb"), self.outputs["StateTableName"], cloud.clock)
        self.inbox = Inbox(cloud, self.outputs["AlertsTopicArn"], queue_name="warden-demo-inbox")
        self.sessions: list[Tracked] = []
        self.unmet: list[str] = []
        self.sweeps = 0
        self.people: dict[str, Person] = {}
        self.instances: dict[str, Instance] = {}
        self._commands_seen: set[str] = set()

    @property
    def mails(self) -> list[Mail]:
        """Every alert received so far, in order of arrival."""
        return self.inbox.received

    # -- seeding ------------------------------------------------------------------------------------------------------

    def seed(self) -> None:
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
        self.emit(
            "policy",
            [_listed("policy", index, line) for index, line in enumerate(POLICY_LINES)],
            {"parameter": self.outputs["PolicyParameterName"], "mode": "enforce", "document": demo_policy()},
            stamped=False,
        )
        for index, (name, tags) in enumerate(INSTANCES):
            instance_id = cloud.add_instance({"Name": name, **tags})
            instance = Instance(name, instance_id, tags)
            self.instances[name] = instance
            shown = ", ".join(f"{key}={value}" for key, value in tags.items())
            self.emit(
                "instance",
                [_listed("instances", index, f"{name:<13} {instance_id}  {shown}")],
                {"name": name, "id": instance_id, "tags": {"Name": name, **tags}},
                stamped=False,
            )
        for index, (key, name, role, about) in enumerate(PEOPLE):
            credentials = cloud.role_credentials(role, name, path=SSO_PATH) if role else cloud.user_credentials(name)
            if key in RULE_ACTIONS:
                allow_rule_actions(cloud, name, RULE_ACTIONS[key])
            arn = str(cloud.client("sts", credentials=credentials).get_caller_identity()["Arn"])
            person = Person(name, about, arn, credentials, cloud.client("ssm", credentials=credentials))
            self.people[key] = person
            self.emit(
                "principal",
                [_listed("people", index, f"{name:<18} {about}"), f"               {'':<18} {arn}"],
                {"name": name, "about": about, "arn": arn},
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
        tracked.active = session_id in active_session_ids(self.cloud.client("ssm"))
        row = tracked.row
        tracked.outcome, verdict = start_verdict(row, tracked.active)
        tracked.allowed_at_start = row is not None and row.decision == "allow"
        if tracked.outcome in ("terminated at start", "would terminate") and row is not None:
            tracked.cause = cause_of(row)
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
                "deadline": iso_or_none(row.deadline) if row else None,
                "action": row.action if row else None,
                "outcome": tracked.outcome,
                "active": tracked.active,
                "why": list(row.why) if row else [],
            },
            at=at,
        )
        self.drain()
        return tracked

    def grant(self, arguments: Sequence[str]) -> str | None:
        """``warden grant create ...``, run by the security team, exactly as typed; returns the grant id."""
        operator = self.people[OPERATOR]
        argv = ["grant", "create", *arguments]
        at = self.cloud.clock.now()
        code, out, err = self._warden(argv, operator)
        grant_id = out.strip().splitlines()[0] if code == 0 and out.strip() else None
        stored = self.grants.get(grant_id) if grant_id else None
        output = [line for line in (out + err).splitlines() if line.strip()]
        self.emit(
            "grant",
            [f"{operator.name} runs  $ warden {shlex.join(argv)}", *(f"{INDENT}{line}" for line in output)],
            {
                "command": ["warden", *argv],
                "exit_code": code,
                "output": output,
                "grant": {
                    "id": stored.id,
                    "principal": stored.principal,
                    "targets": stored.targets.to_document(),
                    "starts_at": iso_or_none(stored.starts_at),
                    "expires_at": iso_or_none(stored.expires_at),
                    "reason": stored.reason,
                    "created_by": stored.created_by,
                }
                if stored
                else None,
            },
            at=at,
        )
        self.expect(code == 0 and stored is not None, f"`warden {shlex.join(argv)}` creates a grant (exit {code})")
        self.drain()
        return grant_id

    def extend_grant(self, grant_id: str | None, arguments: Sequence[str]) -> None:
        """``warden grant extend ID ...``, run by the security team, exactly as typed."""
        operator = self.people[OPERATOR]
        argv = ["grant", "extend", grant_id or "?", *arguments]
        at = self.cloud.clock.now()
        code, out, err = self._warden(argv, operator)
        stored = self.grants.get(grant_id) if grant_id else None
        output = [line for line in (out + err).splitlines() if line.strip()]
        self.emit(
            "grant-extend",
            [f"{operator.name} runs  $ warden {shlex.join(argv)}", *(f"{INDENT}{line}" for line in output)],
            {
                "command": ["warden", *argv],
                "exit_code": code,
                "output": output,
                "grant": grant_id,
                "expires_at": iso_or_none(stored.expires_at) if stored else None,
            },
            at=at,
        )
        self.expect(code == 0, f"`warden {shlex.join(argv)}` extends the grant (exit {code})")
        self.drain()

    def push_policy(self, text: str, name: str) -> None:
        """``warden policy push FILE`` by the security team."""
        operator = self.people[OPERATOR]
        at = self.cloud.clock.now()
        with tempfile.TemporaryDirectory(prefix="warden-demo-") as folder:
            path = Path(folder) / name
            path.write_text(text, encoding="utf-8")
            code, out, err = self._warden(["policy", "push", str(path)], operator)
            output = [line.replace(str(path), name) for line in (out + err).splitlines() if line.strip()]
        argv = ["policy", "push", name]
        self.emit(
            "policy-push",
            [
                f"{operator.name} switches the policy to monitor mode  $ warden {shlex.join(argv)}",
                *(f"{INDENT}{line}" for line in output),
            ],
            {"command": ["warden", *argv], "exit_code": code, "output": output, "document": text},
            at=at,
        )
        self.expect(code == 0, f"`warden policy push {name}` succeeds (exit {code})")
        self.drain()

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
        self.drain()

    def advance(self, *, until: datetime) -> None:
        """Move the emulated clock minute by minute (the sweeper runs each minute), reporting what happens."""
        now = self.cloud.clock.now()
        if until - now > QUIET_STRETCH:
            self.emit(
                "clock",
                [f"... the clock runs on to {local_time(until)}; the sweeper re-checks open sessions every minute"],
                {"from": iso_or_none(now), "to": iso_or_none(until)},
                at=now,
            )
        while self.cloud.clock.now() < until:
            self.sweeps += self.cloud.advance(min(timedelta(minutes=1), until - self.cloud.clock.now()))
            self._observe()

    # -- observing ----------------------------------------------------------------------------------------------------

    def _observe(self) -> bool:
        """Report warnings in terminals, sessions that stopped being active, then alerts; True if anything happened."""
        open_sessions = [tracked for tracked in self.sessions if tracked.active]
        happened = self._notices(open_sessions)
        if open_sessions:
            active = active_session_ids(self.cloud.client("ssm"))
            for tracked in open_sessions:
                if tracked.session_id not in active:
                    self._ended(tracked)
                    happened = True
        return self.drain() or happened

    def _notices(self, open_sessions: Sequence[Tracked]) -> bool:
        """The warnings the sweeper sent (SSM SendCommand with the stack's document), as the terminal shows them."""
        if not open_sessions:
            return False
        by_id = {tracked.session_id: tracked for tracked in open_sessions}
        found = False
        for command in self.cloud.client("ssm").list_commands().get("Commands", []):
            command_id = str(command["CommandId"])
            if command_id in self._commands_seen:
                continue
            self._commands_seen.add(command_id)
            parameters = command.get("Parameters", {})
            tracked = by_id.get((parameters.get("SessionId") or [""])[0])
            if tracked is None:
                continue
            notice = (parameters.get("Message") or [""])[0]
            tracked.notices.append(notice)
            found = True
            self.emit(
                "warning",
                [f"{tracked.person.name}'s terminal on {tracked.instance.label} shows:", f"{INDENT}{notice}"],
                {
                    "session_id": tracked.session_id,
                    "principal": tracked.person.name,
                    "target": tracked.instance.id,
                    "document": command.get("DocumentName"),
                    "message": notice,
                },
            )
        return found

    def _ended(self, tracked: Tracked) -> None:
        tracked.active = False
        row = self.ledger.get(tracked.session_id)
        tracked.row = row
        at = (row.ended_at if row and row.ended_at else None) or self.cloud.clock.now()
        person, instance = tracked.person, tracked.instance
        if row is not None and row.status == "ended" and row.ended_by == "session-warden":
            tracked.outcome = "terminated"
            tracked.cause = cause_of(row)
            text = f"TERMINATED by the sweeper: {tracked.cause}"
        elif row is not None and row.status == "ended":
            tracked.outcome = "ended"
            tracked.cause = row.end_reason
            text = f"ended ({row.end_reason or 'no reason recorded'})"
        else:
            tracked.outcome = "gone"
            text = "no longer active, but the ledger still shows it open"
        self.emit(
            "session-end",
            [
                f"{person.name}'s session on {instance.label}, open since {local_time(tracked.started_at)} "
                f"({span(at - tracked.started_at)})  ->  {text}"
            ],
            {
                "session_id": tracked.session_id,
                "principal": person.name,
                "target": instance.id,
                "target_name": instance.name,
                "started_at": iso_or_none(tracked.started_at),
                "ended_at": iso_or_none(at),
                "ended_by": row.ended_by if row else None,
                "outcome": tracked.outcome,
                "cause": tracked.cause,
            },
            at=at,
        )

    def drain(self) -> bool:
        mails = self.inbox.receive()
        for mail in mails:
            self.timeline.emit(alert_event(mail, self.cloud.clock.now()))
        return bool(mails)

    def _warden(self, argv: list[str], person: Person) -> tuple[int, str, str]:
        """Run the ``warden`` command in this process, as ``person``, against the local cloud."""
        from warden_cli.aws import Connection
        from warden_cli.main import main

        connection = Connection(
            endpoint_url=self.cloud.endpoint,
            region=self.cloud.region,
            access_key_id=person.credentials.access_key_id,
            secret_access_key=person.credentials.secret_access_key,
            session_token=person.credentials.session_token,
            stack=self.cloud.stack_name,
        )
        self.cloud.settle()  # no handler runs meanwhile: they share sys.stdout with us
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main(argv, connection=connection)
            except SystemExit as exit_:  # argparse
                code = exit_.code if isinstance(exit_.code, int) else 2
            # The handlers the command's calls set off (the tamper watch on a policy push) must end before the
            # redirect does: one still running would print its metrics to our stdout, over the timeline.
            self.cloud.settle()
        return code, out.getvalue(), err.getvalue()

    # -- expectations and the summary ---------------------------------------------------------------------------------

    def expect(self, ok: bool, what: str) -> bool:
        if not ok:
            self.unmet.append(what)
            self.emit("not-as-scripted", [f"NOT AS SCRIPTED: expected {what}"], {"expected": what})
        return ok

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
        self.timeline.emit(
            summary_event(self.cloud.clock.now(), self.sessions, self.mails, self.sweeps, self.unmet, seconds)
        )


def _listed(heading: str, index: int, text: str) -> str:
    """``  policy       text`` for the first line of a section of the setup, aligned continuation lines after."""
    return f"  {heading:<13}{text}" if index == 0 else f"{'':<15}{text}"
