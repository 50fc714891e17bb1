"""The organization demo's stage: the emulated organization's accounts, acted on through the real APIs and `warden`.

It builds on the single-account stage (its timeline, alerts, grants and `warden` runs), and adds what the
organization brings: people and instances in member accounts and regions, the member StackSet, the forwarding
rules, `warden org status`, and a new account created in an OU.
"""

from __future__ import annotations

import shlex
from typing import TYPE_CHECKING, Any

from warden_cli.demo_cast import SECURITY_ROLE, SSO_PATH, Person, Tracked
from warden_cli.demo_org_cast import (
    CENTRAL,
    HOME,
    INSTANCES,
    MEMBERS,
    OUS,
    PEOPLE,
    POLICY_LINES,
    REGIONS,
    MemberInstance,
    org_policy,
)
from warden_cli.demo_stage import Stage, _listed
from warden_cli.demo_verdicts import cause_of, start_verdict
from warden_cli.output import iso_or_none
from warden_cli.timeline import INDENT, local_time

if TYPE_CHECKING:
    from warden.records import LedgerEntry
    from warden_cli.timeline import Timeline
    from warden_local import LocalCloud

OPERATOR_NAME = "sam@example.com"


class OrgStage(Stage):
    """The organization as its people use it, and what the central warden did in return, on the timeline."""

    def __init__(self, cloud: LocalCloud, timeline: Timeline) -> None:
        super().__init__(cloud, timeline)
        self.org: Any = cloud.org
        self.accounts: dict[str, tuple[str, str]] = dict(MEMBERS)  # id -> (name, OU path), new accounts too
        self.homes: dict[str, str] = {}  # person key -> account
        self.instances_at: dict[str, MemberInstance] = {}

    # -- seeding ------------------------------------------------------------------------------------------------

    def seed(self) -> None:
        cloud, outputs = self.cloud, self.outputs
        self.emit(
            "setup",
            ["Session Warden demo: one warden for a whole AWS Organization, on the embedded local cloud", ""],
            {
                "endpoint": cloud.endpoint,
                "stack": cloud.stack_name,
                "organization": self.org.organization_id,
                "central_account": CENTRAL,
                "regions": list(REGIONS),
                "start_seconds": round(cloud.start_seconds or 0, 1),
            },
            stamped=False,
        )
        self.timeline.text(
            f"  organization {self.org.organization_id}: management account {self.org.management_account}, "
            f"central (security) account {CENTRAL}",
            f"  local cloud  moto on {cloud.endpoint}; stack {cloud.stack_name} created from template.yaml in the "
            f"central account with OrganizationId={outputs.get('OrganizationId', '?')} "
            f"in {cloud.start_seconds or 0:.1f}s",
        )
        for index, (account, (name, ou)) in enumerate(MEMBERS.items()):
            self.emit(
                "account",
                [_listed("members", index, f"{account}  {name:<10} OU {ou}")],
                {"account": account, "name": name, "ou": ou},
                stamped=False,
            )
        self.emit(
            "policy",
            [_listed("policy", index, line) for index, line in enumerate(POLICY_LINES)],
            {"document": org_policy()},
            stamped=False,
        )
        credentials = cloud.role_credentials(SECURITY_ROLE, OPERATOR_NAME, path=SSO_PATH)
        arn = str(cloud.client("sts", credentials=credentials).get_caller_identity()["Arn"])
        self.people["sam"] = Person(
            OPERATOR_NAME, "security team, central account", arn, credentials, cloud.client("ssm")
        )
        for index, (key, account, region, name, tags) in enumerate(INSTANCES):
            instance_id = self.org.account(account).add_instance({"Name": name, **tags}, region=region)
            instance = MemberInstance(name, instance_id, tags, account=account, region=region)
            self.instances_at[key] = instance
            shown = ", ".join(f"{k}={v}" for k, v in tags.items())
            self.emit(
                "instance",
                [_listed("instances", index, f"{name:<10} {instance_id}  {self.where(account, region)}  {shown}")],
                {"key": key, "name": name, "id": instance_id, "account": account, "region": region, "tags": tags},
                stamped=False,
            )
        for index, (key, account, user, about) in enumerate(PEOPLE):
            view = self.org.account(account)
            credentials = view.user_credentials(user)
            arn = str(view.client("sts", credentials=credentials).get_caller_identity()["Arn"])
            self.people[key] = Person(user, about, arn, credentials, view.client("ssm", credentials=credentials))
            self.homes[key] = account
            self.emit(
                "principal",
                [_listed("people", index, f"{user:<7} {arn}  ({about})")],
                {"key": key, "name": user, "account": account, "arn": arn},
                stamped=False,
            )

    def where(self, account: str, region: str) -> str:
        name = self.accounts.get(account, ("?", ""))[0]
        return f"{name}/{region}"

    # -- the member StackSet, coverage, a new account -----------------------------------------------------------

    def push_org_policy(self) -> None:
        """``warden policy push org-demo.yaml``: the organization's one policy, to AppConfig (validated first)."""
        import tempfile
        from pathlib import Path

        with tempfile.TemporaryDirectory(prefix="warden-demo-") as folder:
            path = Path(folder) / "org-demo.yaml"
            path.write_text(org_policy(), encoding="utf-8")
            code, out, err = self._warden(["policy", "push", str(path)], self.people["sam"])
        output = [line.replace(str(path), path.name) for line in (out + err).splitlines() if line.strip()]
        self.emit(
            "policy-push",
            [
                f"{self.people['sam'].name} pushes the organization's policy  $ warden policy push org-demo.yaml",
                *(f"{INDENT}{line}" for line in output),
            ],
            {"command": ["warden", "policy", "push", "org-demo.yaml"], "exit_code": code, "output": output},
        )
        self.expect(code == 0, f"`warden policy push org-demo.yaml` to succeed (exit {code})")
        self.drain()

    def org_deploy(self) -> None:
        """``warden org deploy --ou Production Development --regions us-east-1 eu-west-1`` by the security team."""
        org_prerequisites(self.org)
        self.timeline.text(
            f"{INDENT}(once, in the management account, as the README says: StackSets trusted access, and the "
            f"central account {CENTRAL} their delegated administrator)"
        )
        argv = ["org", "deploy", "--ou", *OUS, "--regions", *REGIONS]
        code, _ = self.run_warden(argv, "deploys the member stack to the OUs")
        self.expect(code == 0, f"`warden {shlex.join(argv)}` to succeed (exit {code})")
        for account in MEMBERS:
            for region in REGIONS:
                stacks = self.member_stacks(account, region)
                self.expect(bool(stacks), f"a member stack in {self.where(account, region)} after `warden org deploy`")

    def org_status(self, *, expected: int, why: str) -> list[str]:
        code, output = self.run_warden(["org", "status"], why)
        self.expect(code == expected, f"`warden org status` to exit {expected} (got {code})")
        return output

    def run_warden(self, argv: list[str], what: str) -> tuple[int, list[str]]:
        operator = self.people["sam"]
        at = self.cloud.clock.now()
        code, out, err = self._warden(argv, operator)
        output = [line for line in (out + err).splitlines() if line.strip()]
        self.emit(
            "warden",
            [f"{operator.name} {what}  $ warden {shlex.join(argv)}", *(f"{INDENT}{line}" for line in output)],
            {"command": ["warden", *argv], "exit_code": code, "output": output},
            at=at,
        )
        self.drain()
        return code, output

    def member_stacks(self, account: str, region: str) -> list[str]:
        cloudformation = self.org.account(account).client("cloudformation", region=region)
        return [
            str(summary["StackName"])
            for summary in cloudformation.list_stacks().get("StackSummaries", [])
            if str(summary["StackName"]).startswith(f"StackSet-{self.cloud.stack_name}-members")
            and summary["StackStatus"] == "CREATE_COMPLETE"
        ]

    def delete_forward_rule(self, person_key: str, account: str, region: str) -> None:
        """An administrator of the member deletes the forwarding rule to the central bus (targets first)."""
        person = self.people[person_key]
        at = self.cloud.clock.now()
        events = self.org.account(account).client("events", region=region, credentials=person.credentials)
        central = f"arn:aws:events:{HOME}:{CENTRAL}:event-bus/{self.outputs.get('CentralEventBusName', '')}"
        deleted = None
        for rule in events.list_rules().get("Rules", []):
            targets = events.list_targets_by_rule(Rule=rule["Name"]).get("Targets", [])
            if any(target["Arn"] == central for target in targets):
                events.remove_targets(Rule=rule["Name"], Ids=[target["Id"] for target in targets])
                events.delete_rule(Name=rule["Name"])
                deleted = str(rule["Name"])
                break
        self.cloud.settle()
        self.emit(
            "rule-deleted",
            [
                f"{person.name}, administrator of {self.where(account, region)}, deletes the rule that forwards "
                f"to the central bus  $ aws events delete-rule --name {deleted}"
            ],
            {"account": account, "region": region, "rule": deleted, "principal_arn": person.arn},
            at=at,
        )
        self.expect(deleted is not None, f"a forwarding rule in {self.where(account, region)} to delete")
        self.drain()

    def create_account(self, name: str, ou: str) -> str:
        """The organization's administrators create an account in an OU (Organizations CreateAccount)."""
        at = self.cloud.clock.now()
        account = str(self.org.create_account(name, ou))
        self.accounts[account] = (name, ou)
        self.cloud.settle()
        stacks = {region: self.member_stacks(account, region) for region in REGIONS}
        enrolled = [region for region, found in stacks.items() if found]
        self.emit(
            "account-created",
            [
                f"the organization creates account {name} ({account}) in OU {ou}  ->  the StackSet deploys the "
                f"member stack there by itself: {', '.join(enrolled) or 'nowhere'}",
            ],
            {"account": account, "name": name, "ou": ou, "member_stacks": stacks},
            at=at,
        )
        self.expect(enrolled == list(REGIONS), f"the member stack in {name} in {', '.join(REGIONS)} (in {enrolled})")
        self.drain()
        return account

    # -- sessions in member accounts ----------------------------------------------------------------------------

    def start_in(self, person_key: str, instance_key: str, reason: str) -> Tracked:
        person, instance = self.people[person_key], self.instances_at[instance_key]
        self.expect(self.homes.get(person_key) == instance.account, f"{person_key} to be a user of {instance.account}")
        ssm = self.org.account(instance.account).client("ssm", region=instance.region, credentials=person.credentials)
        at = self.cloud.clock.now()
        session_id = str(ssm.start_session(Target=instance.id, Reason=reason)["SessionId"])
        self.cloud.settle()
        tracked = Tracked(session_id, person, instance, at)
        self.sessions.append(tracked)
        tracked.row = self.row(tracked)
        tracked.active = session_id in self.active_in(instance.account, instance.region)
        row = tracked.row
        tracked.outcome, verdict = start_verdict(row, tracked.active)
        tracked.allowed_at_start = row is not None and row.decision == "allow"
        if tracked.outcome in ("terminated at start", "would terminate") and row is not None:
            tracked.cause = cause_of(row)
        self.emit(
            "session-start",
            [f'{person.name} starts a session on {instance.label}, reason "{reason}"  ->  {verdict}'],
            {
                "session_id": session_id,
                "account": instance.account,
                "region": instance.region,
                "principal": person.name,
                "principal_arn": person.arn,
                "target": instance.id,
                "target_name": instance.name,
                "decision": row.decision if row else None,
                "rule": row.rule if row else None,
                "grant": row.grant if row else None,
                "deadline": iso_or_none(row.deadline) if row else None,
                "action": row.action if row else None,
                "outcome": tracked.outcome,
                "active": tracked.active,
            },
            at=at,
        )
        self.drain()
        return tracked

    def row(self, tracked: Tracked) -> LedgerEntry | None:
        """The session's ledger row, as the warden keeps it for the session's account and region."""
        from warden.adapters.ledger import DynamoLedger
        from warden.scope import Scope

        instance = tracked.instance
        assert isinstance(instance, MemberInstance)
        scope = Scope(instance.account, instance.region, org=True)
        return DynamoLedger(self.cloud.client("dynamodb"), self.outputs["LedgerTableName"], scope=scope).get(
            tracked.session_id
        )

    def active_in(self, account: str, region: str) -> set[str]:
        ssm = self.org.account(account).client("ssm", region=region)
        found: set[str] = set()
        request: dict[str, Any] = {"State": "Active", "MaxResults": 200}
        while True:
            page = ssm.describe_sessions(**request)
            found.update(str(session["SessionId"]) for session in page.get("Sessions", []))
            if not page.get("NextToken"):
                return found
            request["NextToken"] = page["NextToken"]

    # -- observing (the single-account stage's, per account and region) -------------------------------------------

    def _observe(self) -> bool:
        open_sessions = [tracked for tracked in self.sessions if tracked.active]
        happened = False
        places = {
            (t.instance.account, t.instance.region) for t in open_sessions if isinstance(t.instance, MemberInstance)
        }
        active = {place: self.active_in(*place) for place in places}
        for tracked in open_sessions:
            instance = tracked.instance
            assert isinstance(instance, MemberInstance)
            if tracked.session_id not in active[(instance.account, instance.region)]:
                self._ended_in(tracked)
                happened = True
        return self.drain() or happened

    def _ended_in(self, tracked: Tracked) -> None:
        row = self.row(tracked)
        tracked.active = False
        tracked.row = row
        at = (row.ended_at if row and row.ended_at else None) or self.cloud.clock.now()
        if row is not None and row.status == "ended" and row.ended_by == "session-warden":
            tracked.outcome, tracked.cause = "terminated", cause_of(row)
            text = f"TERMINATED by the sweeper: {tracked.cause}"
        elif row is not None and row.status == "ended":
            tracked.outcome, tracked.cause = "ended", row.end_reason
            text = f"ended ({row.end_reason or 'no reason recorded'})"
        else:
            tracked.outcome, text = "gone", "no longer active, but the ledger still shows it open"
        self.emit(
            "session-end",
            [
                f"{tracked.person.name}'s session on {tracked.instance.label}, open since "
                f"{local_time(tracked.started_at)}  ->  {text}"
            ],
            {"session_id": tracked.session_id, "outcome": tracked.outcome, "cause": tracked.cause},
            at=at,
        )


STACKSETS_PRINCIPAL = "member.org.stacksets.cloudformation.amazonaws.com"


def org_prerequisites(org: Any) -> None:
    """The README's prerequisites, once, in the management account: trusted access for StackSets
    (``aws cloudformation activate-organizations-access``) and the central account their delegated administrator."""
    management = org.account(org.management_account)
    management.client("cloudformation").activate_organizations_access()
    management.client("organizations").register_delegated_administrator(
        AccountId=org.central_account, ServicePrincipal=STACKSETS_PRINCIPAL
    )
