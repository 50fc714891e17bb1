"""Decision latency: decide() p50/p99 at 10, 100 and 1,000 rules, and with the worst reason regex."""

from __future__ import annotations

import random
import statistics
import string
import time
from datetime import UTC, datetime, timedelta

from warden.policy import Grant, SessionRequest, decide, load_policy, principal_from_arn

SIZES = (10, 100, 1000)
SAMPLES = 2000
# Exponential in a backtracking engine (Python's re): seconds at 25 characters. AWS caps a reason at 256.
WORST_REGEX = "^([A-Z]+-?)+[0-9]+$"
REASON_LENGTH = 256
SSO_PATH = "arn:aws:iam::123456789012:role/aws-reserved/sso.amazonaws.com/eu-west-1/"


def policy_text(rules: int) -> str:
    """A realistic policy: windowed allow rules on tags and roles, a few deny rules, one grant-only target."""
    lines = [
        "version: 1",
        "mode: enforce",
        "default: deny",
        "windows:",
        "  business-hours:",
        "    timezone: Europe/Berlin",
        "    weekly: [{days: [mon, tue, wed, thu, fri], from: '08:00', to: '18:00'}]",
        "    except: ['2026-12-24', '2026-12-25']",
        "  night:",
        "    timezone: America/New_York",
        "    weekly: [{days: [mon, tue, wed, thu, fri, sat, sun], from: '22:00', to: '06:00'}]",
        "rules:",
    ]
    for index in range(rules - 1):
        lines += [
            f"  - name: team-{index}",
            f"    principals: ['permission-set:Team{index}', 'user:user{index}@example.com']",
            f"    targets: {{tags: {{Team: 'team-{index}', Environment: ['dev', 'staging*']}}}}",
            "    windows: [business-hours]",
            "    max_duration: 4h",
        ]
    lines += ["  - name: no-pci", "    effect: deny", "    targets: {tags: {Compliance: pci}}"]
    return "\n".join(lines) + "\n"


def requests(rules: int, count: int) -> list[SessionRequest]:
    rng = random.Random(7)
    started = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
    made = []
    for _ in range(count):
        team = rng.randrange(rules)
        role = f"AWSReservedSSO_Team{team}_abc"
        arn = f"arn:aws:sts::123456789012:assumed-role/{role}/user{team}@example.com"
        tags = {"Team": f"team-{team}", "Environment": rng.choice(["dev", "staging-2", "prod"])}
        if rng.random() < 0.1:
            tags["Compliance"] = "pci"
        made.append(
            SessionRequest(
                principal=principal_from_arn(arn, role_arn=SSO_PATH + role),
                target=f"i-{rng.getrandbits(64):017x}",
                tags=tags,
                document="SSM-SessionManagerRunShell",
                reason=None,
                started=started,
            )
        )
    return made


def run() -> list[tuple[str, str, str]]:
    now = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
    grants = [
        Grant(
            id=f"g-{index}",
            principal=f"user:user{index}@example.com",
            targets={"tags": {"Environment": "prod"}},  # type: ignore[arg-type]
            starts_at=now - timedelta(hours=1),
            expires_at=now + timedelta(hours=1),
            reason="bench",
            created_by="bench",
        )
        for index in range(20)
    ]
    rows = []
    for size in SIZES:
        policy = load_policy(policy_text(size))
        batch = requests(size, SAMPLES)
        for request in batch[:200]:  # warm caches (compiled globs, zone info)
            decide(policy, request, grants, now)
        timings = []
        for request in batch:
            start = time.perf_counter_ns()
            decide(policy, request, grants, now)
            timings.append((time.perf_counter_ns() - start) / 1000)
        timings.sort()
        p50 = statistics.median(timings)
        p99 = timings[int(len(timings) * 0.99) - 1]
        target = " (target < 50 µs)" if size == 100 else ""
        rows.append(
            (
                f"decision at {size} rules",
                f"p50 {p50:.1f} µs, p99 {p99:.1f} µs",
                f"{p99 < 50}{target}" if size == 100 else "-",
            )
        )
    rows.append(worst_reason(now))
    return rows


def worst_reason(now: datetime) -> tuple[str, str, str]:
    """decide() with require_reason ^([A-Z]+-?)+[0-9]+$ and a different 256-character reason each time."""
    policy = load_policy(f"version: 1\nrules:\n  - name: ticketed\n    require_reason: '{WORST_REGEX}'\n")
    rng = random.Random(11)
    principal = principal_from_arn("arn:aws:iam::123456789012:user/alice")
    started = now - timedelta(minutes=5)
    # Upper-case letters and dashes with no digit at the end: the slowest case for a backtracking engine.
    # Every reason differs, so no memo answers for the regex.
    reasons = ["".join(rng.choices(string.ascii_uppercase + "-", k=REASON_LENGTH)) for _ in range(SAMPLES)]
    batch = [
        SessionRequest(principal, "i-0abc", {}, "SSM-SessionManagerRunShell", reason, started) for reason in reasons
    ]
    timings = []
    for request in batch:
        begin = time.perf_counter_ns()
        decision = decide(policy, request, [], now)
        timings.append((time.perf_counter_ns() - begin) / 1000)
        assert not decision.allowed
    timings.sort()
    p50 = statistics.median(timings)
    p99 = timings[int(len(timings) * 0.99) - 1]
    return (
        f"decision, require_reason {WORST_REGEX}, {REASON_LENGTH}-char reason",
        f"p50 {p50:.1f} µs, p99 {p99:.1f} µs",
        f"{p99 < 1000} (target < 1 ms: linear time)",
    )
