"""The organization demo's accounts, people, instances and policy: who and what the scripted morning is about."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from warden_cli.demo_cast import Instance, berlin

# The emulated organization of the local cloud (its ids are fixed).
ORGANIZATION_ID = "o-warden0001"
MANAGEMENT = "111111111111"
CENTRAL = "123456789012"
HOME = "us-east-1"
EUROPE = "eu-west-1"
REGIONS = (HOME, EUROPE)
OUS = ("Production", "Development")
# id -> (name, OU path)
MEMBERS: dict[str, tuple[str, str]] = {
    "222222222222": ("prod-web", "Production/Web"),
    "333333333333": ("prod-data", "Production"),
    "444444444444": ("dev", "Development"),
}
NEW_ACCOUNT = ("prod-api", "Production")  # created during the morning: enrolled with no operator action
BROKEN = ("444444444444", EUROPE)  # where an administrator deletes the forwarding rule

POLICY_FILE = Path(__file__).resolve().parents[2] / "policies" / "org-demo.yaml"
POLICY_LINES = (
    "no-production-shells-in-europe: deny on accounts ou:Production/* in regions eu-*",
    "developers-in-the-morning: IAM users on Team=web in ou:Development, 08:00-10:30 Europe/Berlin",
    "Environment=prod: no rule, only a just-in-time grant (in the accounts it names); default deny",
)

# key, account, region, name, tags
INSTANCES: tuple[tuple[str, str, str, str, dict[str, str]], ...] = (
    ("web", "222222222222", EUROPE, "web-1", {"Team": "web"}),
    ("data-db", "333333333333", HOME, "db-1", {"Environment": "prod"}),
    ("dev-web", "444444444444", HOME, "dev-web-1", {"Team": "web"}),
    ("dev-db", "444444444444", EUROPE, "db-1", {"Environment": "prod"}),
)
# key, account, IAM user name, who they are
PEOPLE: tuple[tuple[str, str, str, str], ...] = (
    ("erin", "222222222222", "erin", "IAM user of prod-web, web engineer"),
    ("frank", "444444444444", "frank", "IAM user of dev, developer"),
    ("grace-data", "333333333333", "grace", "IAM user of prod-data, database engineer"),
    ("grace-dev", "444444444444", "grace", "IAM user of dev, the same database engineer"),
    ("dan", "444444444444", "dan", "IAM user of dev, its administrator"),
)
DAY_STARTS = (9, 55)


def org_policy() -> str:
    return POLICY_FILE.read_text(encoding="utf-8")


def start_at() -> datetime:
    return berlin(*DAY_STARTS)


def account_label(account: str) -> str:
    """``prod-web (222222222222)``."""
    name = MEMBERS.get(account, ("", ""))[0]
    return f"{name} ({account})" if name else account


@dataclass(frozen=True)
class MemberInstance(Instance):
    """An instance in a member account and region."""

    account: str = ""
    region: str = ""

    @property
    def label(self) -> str:
        name = MEMBERS.get(self.account, (self.account, ""))[0]
        return f"{self.name} ({self.id}, {name} {self.region})"
