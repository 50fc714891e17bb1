"""Warnings before a session's deadline: a notice in its terminal per threshold, one alert at the first (SPEC 9)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from warden.alerts.session import expiring_alert, extend_step
from warden.alerts.text import AlertContext
from warden.errors import AwsCallFailed, DocumentNotTrusted, describe
from warden.notifier import Notifier
from warden.observability import count, logger
from warden.policy import Decision, Policy
from warden.policy.notices import SESSION_ID_PATTERN, WarningTime, due_thresholds, notice_text
from warden.policy.windows import format_instant
from warden.ports import OnceStore, SessionNotices, WarningRecords
from warden.records import LedgerEntry
from warden.timefmt import iso

# SendCommand reaches EC2 instances and managed nodes (hybrid activations); anything else (an ECS task) cannot run it.
_INSTANCE = re.compile(r"^(i-[0-9a-f]{8}([0-9a-f]{9})?|mi-[0-9a-f]{17})$")
_SESSION_ID = re.compile(SESSION_ID_PATTERN)
# A marker outlives any deadline it guards (thresholds are at most a day ahead).
_MARKER_SECONDS = 3 * 24 * 3600
_NO_DOCUMENT = (
    "the warning document does not exist in this account and region (in organization mode: a member stack from "
    "before warnings; `warden org deploy` updates it)"
)


@dataclass
class ExpiryWarnings:
    """Sends each warning of an allowed session once, also when sweeps overrun or run twice.

    ``notices`` is None where no terminal notice can be written (no warning document in this account and region):
    the alert still goes out, and the ledger notes each warning as not sent, saying why (``unavailable``).
    """

    notices: SessionNotices | None
    records: WarningRecords
    once: OnceStore
    notifier: Notifier
    context: AlertContext
    unavailable: str = "no warning document in this account and region"

    def check(
        self, entry: LedgerEntry, row: LedgerEntry | None, decision: Decision, policy: Policy, now: datetime
    ) -> int:
        """Follow up the warnings already sent, send those now due; how many notices were sent.

        Raises :class:`AwsCallFailed` when the ledger or the marker table cannot be written; a notice SSM refuses
        is noted in the ledger instead.
        """
        if row is not None:
            self._follow_up(row)
        deadline = decision.deadline
        # In monitor mode nothing ends at the deadline: a notice saying it will would be false.
        if not decision.allowed or deadline is None or not policy.warn_before or policy.mode == "monitor":
            return 0
        due = due_thresholds(policy.warn_before, deadline, now, started=entry.started_at)
        claimed = [time for time in due if self.once.first(self._marker(entry, deadline, time), _MARKER_SECONDS)]
        if not claimed:
            return 0
        *superseded, latest = claimed
        for time in superseded:
            # Several came due at once (a late sweep, a session adopted late): only the nearest is worth saying.
            self._note(entry, deadline, time, now, "not sent", f"the {latest.label} warning was due by then")
        text = notice_text(deadline, decision.ends, now)
        status, detail, command = self._send(entry, text)
        self._note(entry, deadline, latest, now, status, detail, command)
        if status == "sent":
            count("WarningSent")
        else:
            count("WarningNotSent")
            logger.warning("session warning not sent", extra={"session_id": entry.session_id, "why": detail})
        zone = decision.ends.zone if decision.ends is not None else "UTC"
        deadline_text = format_instant(deadline.timestamp(), zone, now.timestamp())
        why = decision.ends.words if decision.ends is not None else "the allowance ends"
        done = f"{latest.label} before: " + (
            "notice sent to the terminal" if status == "sent" else f"not sent ({detail})"
        )
        self.notifier.send_once(
            f"expiring#{entry.session_id}#{int(deadline.timestamp())}",
            lambda: expiring_alert(
                self.context,
                entry,
                deadline_text=deadline_text,
                why=why,
                warnings=[done],
                extend=extend_step(
                    self.context,
                    entry,
                    ends_by_deny=decision.ends is not None and decision.ends.why == "deny-window-opens",
                ),
            ),
            ttl_seconds=_MARKER_SECONDS,
        )
        return 1 if status == "sent" else 0

    def _send(self, entry: LedgerEntry, text: str) -> tuple[str, str, str | None]:
        target = entry.target or ""
        if not _INSTANCE.fullmatch(target):
            kind = "an ECS task" if target.startswith("ecs:") else "not an EC2 instance or managed node"
            return "not sent", f"target {target or '(none)'} is {kind}: SendCommand cannot reach it", None
        if not _SESSION_ID.fullmatch(entry.session_id):
            return "not sent", "the session id is not of the form the warning document accepts", None
        if self.notices is None:
            return "not sent", self.unavailable, None
        try:
            command = self.notices.send(target, entry.session_id, text)
        except DocumentNotTrusted as error:
            # Someone replaced the document (deleted it and created another under its name): nothing is run.
            logger.error("warning document not trusted", extra={"why": str(error)})
            count("WarningDocumentRejected")
            return "not sent", f"{error}: not run (someone replaced it; deploy the stack again)", None
        except AwsCallFailed as error:
            if error.code == "InvalidDocument":
                return "failed", f"{_NO_DOCUMENT} ({describe(error)})", None
            return "failed", f"SendCommand refused: {describe(error)}", None
        return "sent", "waiting for the node's answer", command

    def _follow_up(self, row: LedgerEntry) -> None:
        """What the node answered to each notice still waiting for it."""
        if self.notices is None:
            return
        for key, record in row.warnings.items():
            command = record.get("command")
            if record.get("status") != "sent" or not command or not row.target:
                continue
            try:
                answer = self.notices.result(command, row.target)
            except AwsCallFailed as error:
                logger.warning("could not read a warning's result", extra={"error": describe(error)})
                continue
            if answer is None:
                continue
            status, detail = answer
            self.records.record_warning(row.session_id, key, {**record, "status": status, "detail": detail})

    def _note(
        self,
        entry: LedgerEntry,
        deadline: datetime,
        time: WarningTime,
        now: datetime,
        status: str,
        detail: str,
        command: str | None = None,
    ) -> None:
        record = {"at": iso(now), "status": status, "detail": detail}
        if command:
            record["command"] = command
        self.records.record_warning(entry.session_id, warning_key(time, deadline), record)

    @staticmethod
    def _marker(entry: LedgerEntry, deadline: datetime, time: WarningTime) -> str:
        # Per deadline: a grant extended past it gets its own warnings before the new one.
        return f"warning#{entry.session_id}#{int(deadline.timestamp())}#{int(time.before.total_seconds())}"


def warning_key(time: WarningTime, deadline: datetime) -> str:
    """The ledger's name of a warning: ``10m before 2026-11-24T17:00:00Z``."""
    return f"{time.label} before {iso(deadline)}"
