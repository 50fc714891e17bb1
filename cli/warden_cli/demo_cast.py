"""The demo's day, people, instances and policy: who and what the scripted Tuesday is about."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    from warden.records import LedgerEntry
    from warden_local import Credentials

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

# policies/example.yaml, cut down to what the day needs.
POLICY_FILE = Path(__file__).resolve().parents[2] / "policies" / "demo.yaml"
# What the policy says, in the words of the timeline.
POLICY_LINES = (
    "business-hours: Mon-Fri 08:00-18:00 Europe/Berlin",
    "no-pci: deny every session on Compliance=pci (deny beats allow and grants)",
    "analysts-on-analytics: the Analyst role and alice@example.com on Department=Analytics,",
    "  in business hours, shell only, 2h at most, a ticket (^[A-Z]+-[0-9]+) in the reason",
    "Environment=prod: no rule, only a just-in-time grant; default deny, mode enforce",
)

# name -> tags (Name is added from the name).
INSTANCES: tuple[tuple[str, dict[str, str]], ...] = (
    ("analytics-1", {"Department": "Analytics"}),
    ("card-vault", {"Department": "Analytics", "Compliance": "pci"}),
    ("prod-db-1", {"Environment": "prod"}),
    ("build-runner", {"Department": "Analytics"}),
)
# key -> (name as the warden shows it, Identity Center role or None for an IAM user, who they are).
PEOPLE: tuple[tuple[str, str, str | None, str], ...] = (
    ("alice", "alice@example.com", ANALYST_ROLE, "IAM Identity Center user, permission set Analyst"),
    ("carol", "carol@example.com", ANALYST_ROLE, "IAM Identity Center user, permission set Analyst"),
    ("bob", "bob", None, "IAM user, on call for production"),
    ("dave", "dave", None, "IAM user, database engineer"),
    ("sam", "sam@example.com", SECURITY_ROLE, "IAM Identity Center user, security team: runs `warden`"),
    ("mallory", "mallory", None, "IAM user, platform engineer allowed events:DisableRule and EnableRule"),
)
OPERATOR = "sam"  # who runs `warden` in the demo
# The IAM permissions of a demo IAM user beyond Session Manager's (key -> actions on the stack's EventBridge rules).
RULE_ACTIONS: dict[str, tuple[str, ...]] = {"mallory": ("events:DisableRule", "events:EnableRule")}


def demo_policy(mode: str = "enforce") -> str:
    """The demo's policy document (policies/demo.yaml), in ``mode``."""
    text = POLICY_FILE.read_text(encoding="utf-8")
    return text if mode == "enforce" else text.replace("mode: enforce", f"mode: {mode}", 1)


def berlin(hour: int, minute: int) -> datetime:
    """The demo day's wall-clock time in Berlin, as UTC."""
    return datetime.combine(DAY, time(hour, minute), tzinfo=BERLIN).astimezone(UTC)


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
    notices: list[str] = field(default_factory=list)  # the warnings its terminal showed, in order

    @property
    def what(self) -> str:
        return f"{self.person.name}'s session on {self.instance.name}"
