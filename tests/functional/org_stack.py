"""The organization on the local cloud as the organization-mode tests see it: members, sessions, ledger, alerts, CLI.

The emulated organization (contract of issue 11): management ``111111111111``, central ``123456789012`` (the SAM stack,
home region ``us-east-1``), members ``222222222222`` prod-web (``Production/Web``), ``333333333333`` prod-data
(``Production``) and ``444444444444`` dev (``Development``), guarded in ``us-east-1`` and ``eu-west-1``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from boto3.dynamodb.types import TypeDeserializer

from warden_local import LocalCloud
from warden_local.inbox import Inbox, Mail

ROOT = Path(__file__).resolve().parents[2]
_SCRIPT = Path(sys.executable).parent / "warden"
WARDEN = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "warden_cli.main"]

ORGANIZATION_ID = "o-warden0001"
MANAGEMENT = "111111111111"
CENTRAL = "123456789012"
PROD_WEB = "222222222222"
PROD_DATA = "333333333333"
DEV = "444444444444"
MEMBERS = (PROD_WEB, PROD_DATA, DEV)
HOME = "us-east-1"
EUROPE = "eu-west-1"
REGIONS = (HOME, EUROPE)
MEMBER_ROLE = "session-warden-member"
MEMBERS_STACK_SET = "session-warden-members"
# The warden's own calls in a member account, as CloudTrail names them.
WARDEN_IN_MEMBERS = f":assumed-role/{MEMBER_ROLE}/session-warden"

# Tuesday 2026-11-24 09:00 UTC: the developers' morning window closes at 09:30 UTC.
TUESDAY_MORNING = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)

ORG_POLICY = """\
version: 1
mode: enforce
default: deny
timezone: UTC
windows:
  developer-mornings:
    timezone: UTC
    weekly:
      - days: [mon, tue, wed, thu, fri]
        from: "08:00"
        to: "09:30"
rules:
  - name: no-production-shells-in-europe
    effect: deny
    accounts: ["ou:Production/*"]
    regions: ["eu-*"]
  - name: developers-in-the-morning
    principals: ["user:*"]
    accounts: ["ou:Development"]
    targets: {tags: {Team: web}}
    windows: [developer-mornings]
grants:
  max_duration: 8h
"""


@dataclass(frozen=True)
class Result:
    code: int
    stdout: str
    stderr: str

    @property
    def json(self) -> Any:
        return json.loads(self.stdout)

    @property
    def text(self) -> str:
        return self.stdout + self.stderr


class OrgStack:
    """The central stack of an emulated organization, its members, and what the warden recorded and sent."""

    def __init__(self, cloud: LocalCloud) -> None:
        self.cloud = cloud
        self.org: Any = cloud.org
        self.outputs = cloud.stack_outputs()
        self.inbox = Inbox(cloud)
        self._dynamodb = cloud.client("dynamodb")
        self._ssm: dict[tuple[str, str, str], Any] = {}
        self._prerequisites_done = False

    # -- the operator's `warden` ---------------------------------------------------------------------------------

    def warden(self, *args: str, timeout: float = 300) -> Result:
        """`warden ARGS...` as the security team runs it in the central account, against the local cloud."""
        self.cloud.settle()
        env = {key: value for key, value in os.environ.items() if not key.startswith("AWS_") and key != "COLUMNS"}
        env.update(
            {
                "AWS_ENDPOINT_URL": self.cloud.endpoint,
                "AWS_ACCESS_KEY_ID": "testing",
                "AWS_SECRET_ACCESS_KEY": "testing",
                "AWS_DEFAULT_REGION": HOME,
            }
        )
        completed = subprocess.run(
            [*WARDEN, *args], capture_output=True, text=True, env=env, cwd=ROOT, timeout=timeout, check=False
        )
        self.cloud.settle()
        return Result(completed.returncode, completed.stdout, completed.stderr)

    def deploy_members(self, *ous: str, regions: tuple[str, ...] = REGIONS) -> Result:
        """`warden org deploy --ou OUS --regions REGIONS` (default: Production and Development, both regions), after
        the README's prerequisites in the management account (once)."""
        if not self._prerequisites_done:
            from warden_cli.demo_org_stage import org_prerequisites

            org_prerequisites(self.org)
            self._prerequisites_done = True
        return self.warden("org", "deploy", "--ou", *(ous or ("Production", "Development")), "--regions", *regions)

    def org_status(self) -> tuple[int, list[dict[str, Any]]]:
        result = self.warden("org", "status", "--json")
        assert result.code in (0, 1), result.text
        return result.code, list(result.json["scopes"])

    # -- people and instances in member accounts ----------------------------------------------------------------

    def person(self, account: str, name: str, region: str) -> Any:
        """An SSM client of IAM user ``name`` of ``account``, in ``region``."""
        key = (account, name, region)
        if key not in self._ssm:
            view = self.org.account(account)
            self._ssm[key] = view.client("ssm", region=region, credentials=view.user_credentials(name))
        return self._ssm[key]

    def instance(self, account: str, region: str, tags: dict[str, str]) -> str:
        instance_id: str = self.org.account(account).add_instance(tags, region=region)
        return instance_id

    def start(self, account: str, region: str, person: str, target: str, **extra: Any) -> str:
        session_id: str = self.person(account, person, region).start_session(Target=target, **extra)["SessionId"]
        self.cloud.settle()
        return session_id

    def active(self, account: str, region: str) -> set[str]:
        """The sessions that account's DescribeSessions lists as active in ``region``."""
        self.cloud.settle()
        ssm = self.org.account(account).client("ssm", region=region)
        found: set[str] = set()
        request: dict[str, Any] = {"State": "Active", "MaxResults": 200}
        while True:
            page = ssm.describe_sessions(**request)
            found.update(str(session["SessionId"]) for session in page["Sessions"])
            if not page.get("NextToken"):
                return found
            request["NextToken"] = page["NextToken"]

    # -- what the warden recorded ----------------------------------------------------------------------------------

    def row(self, account: str, region: str, session_id: str) -> dict[str, Any]:
        """The ledger item of a member's session, as stored (key ``account/region/session``)."""
        self.cloud.settle()
        item = self._dynamodb.get_item(
            TableName=self.outputs["LedgerTableName"],
            Key={"session_id": {"S": f"{account}/{region}/{session_id}"}},
            ConsistentRead=True,
        ).get("Item")
        assert item, f"no ledger row for {session_id} of {account} in {region}"
        deserializer = TypeDeserializer()
        return {key: deserializer.deserialize(value) for key, value in item.items()}

    def mails(self, kind: str | None = None) -> list[Mail]:
        mails = self.inbox.mails()
        return [mail for mail in mails if kind is None or mail.kind == kind]

    def errors(self) -> list[str]:
        return [f"{i.function_name}: {i.error_type}: {i.error}" for i in self.cloud.invocations if not i.ok]

    # -- the member stacks -----------------------------------------------------------------------------------------

    def member_stacks(self, account: str, region: str) -> list[dict[str, Any]]:
        """The StackSet's stacks in ``account``/``region`` (StackSets name them ``StackSet-<set>-<id>``)."""
        cloudformation = self.org.account(account).client("cloudformation", region=region)
        summaries = cloudformation.list_stacks().get("StackSummaries", [])
        return [
            summary
            for summary in summaries
            if str(summary["StackName"]).startswith(f"StackSet-{MEMBERS_STACK_SET}")
            and summary["StackStatus"] != "DELETE_COMPLETE"
        ]

    def stack_instances(self) -> list[dict[str, Any]]:
        cloudformation = self.cloud.client("cloudformation")
        found: list[dict[str, Any]] = []
        request: dict[str, Any] = {"StackSetName": MEMBERS_STACK_SET, "CallAs": "DELEGATED_ADMIN"}
        while True:
            page = cloudformation.list_stack_instances(**request)
            found.extend(page.get("Summaries", []))
            if not page.get("NextToken"):
                return found
            request["NextToken"] = page["NextToken"]

    def forward_rule(self, account: str, region: str) -> str:
        """The member's default-bus rule whose target is the central bus (in the home region: one hop, as EventBridge
        passes an event on from a bus target once only)."""
        events = self.org.account(account).client("events", region=region)
        central_bus = f"arn:aws:events:{HOME}:{CENTRAL}:event-bus/{self.outputs['CentralEventBusName']}"
        for rule in events.list_rules().get("Rules", []):
            targets = events.list_targets_by_rule(Rule=rule["Name"]).get("Targets", [])
            if any(target["Arn"] == central_bus for target in targets):
                return str(rule["Name"])
        raise AssertionError(f"no rule of {account} in {region} forwards to {central_bus}")

    def delete_forward_rule(self, account: str, region: str) -> str:
        """An administrator of the member deletes the forwarding rule (targets first, as EventBridge requires)."""
        name = self.forward_rule(account, region)
        events = self.org.account(account).client("events", region=region)
        targets = events.list_targets_by_rule(Rule=name)["Targets"]
        events.remove_targets(Rule=name, Ids=[target["Id"] for target in targets])
        events.delete_rule(Name=name)
        self.cloud.settle()
        return name


def covered(row: dict[str, Any]) -> bool:
    """Whether a `warden org status --json` row says the account-region is covered."""
    return row.get("covered") is True


def status_row(rows: list[dict[str, Any]], account: str, region: str) -> dict[str, Any]:
    matching = [row for row in rows if row.get("account") == account and row.get("region") == region]
    assert len(matching) == 1, f"one `warden org status` row for {account}/{region}, got {matching} in {rows}"
    return matching[0]
